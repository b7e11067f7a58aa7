#!/usr/bin/env bash
# How long an empty edge takes from start to ready (/readyz 200) at N licenses: from the
# primary's newest snapshot in the Object Store, then the stream after it, against the stream
# alone (--no-snapshot-bootstrap), in the same run. Prints one line per round and the medians;
# each edge's replica is checked against the primary's digest.
#
# usage: bootstrap.sh   (LE_LICENSES=1000000 LE_ROUNDS=3 LE_STREAM_ROUNDS=LE_ROUNDS LE_SKIP_BUILD=1)
# Loopback only; every wait is bounded.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/bench/load/lib.sh"
licenses="${LE_LICENSES:-1000000}"
rounds="${LE_ROUNDS:-3}"
stream_rounds="${LE_STREAM_ROUNDS:-$rounds}"
[[ "${LE_SKIP_BUILD:-0}" == 1 ]] || bash "$root/scripts/build.sh" >/dev/null
bin="$root/build/src"
nats_port="$(free_port)"
p_port="$(free_port)"
p_admin="$(free_port)"
nats-server -js -sd "$wdir/js" -a 127.0.0.1 -p "$nats_port" >"$wdir/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break; sleep 0.05; done
LE_ADMIN_TOKEN=bench "$bin/primary/license-primary" --db "$wdir/primary" \
  --listen "127.0.0.1:$p_port" --admin-listen "127.0.0.1:$p_admin" \
  --nats "nats://127.0.0.1:$nats_port" --snapshot-interval-s 0 --no-rate-limit \
  >"$wdir/primary.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$p_port/healthz"
python3 "$root/bench/replication/bulk.py" "http://127.0.0.1:$p_port" bench "$licenses"
metric() { curl -fsS "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
for _ in $(seq 6000); do  # publishing: at most 10 minutes
  [[ "$(metric "$p_admin" le_primary_unpublished_events)" == 0 ]] && break
  sleep 0.1
done
[[ "$(metric "$p_admin" le_primary_unpublished_events)" == 0 ]] || { echo "outbox not drained" >&2; exit 1; }
curl -fsS -XPOST -H "Authorization: Bearer bench" "http://127.0.0.1:$p_port/admin/v1/snapshots" >/dev/null
for _ in $(seq 3000); do
  [[ "$(metric "$p_admin" le_primary_snapshots_total)" == 1 ]] && break
  sleep 0.1
done
echo "snapshot: $(grep '"snapshot written"' "$wdir/primary.log" | tail -1)"
kill "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
want="$("$bin/primary/license-primary" --db "$wdir/primary" --digest)"

# Starts an empty edge with "$@", prints the seconds from its start to ready.
ready_s() {
  local db="$wdir/edge" admin port start end
  rm -rf "$db"
  port="$(free_port)"
  admin="$(free_port)"
  start="$(date +%s.%N)"
  "$bin/edge/license-edge" --db "$db" --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" \
    --nats "nats://127.0.0.1:$nats_port" --no-reports --no-receipts "$@" >"$wdir/edge.log" 2>&1 &
  local pid=$!
  for _ in $(seq 30000); do  # at most 10 minutes
    curl -fsS "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1 && break
    sleep 0.02
  done
  end="$(date +%s.%N)"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  local got
  got="$("$bin/edge/license-edge" --db "$db" --digest)"
  [[ "$got" == "$want" ]] || { echo "edge digest $got differs from the primary's $want" >&2; exit 1; }
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f\n", b - a }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
: >"$wdir/snap" && : >"$wdir/stream"
for r in $(seq "$rounds"); do
  s="$(ready_s)"
  echo "$s" >>"$wdir/snap"
  line="round $r: snapshot ${s} s"
  if [[ "$r" -le "$stream_rounds" ]]; then
    t="$(ready_s --no-snapshot-bootstrap)"
    echo "$t" >>"$wdir/stream"
    line+=", stream alone ${t} s"
  fi
  echo "$line"
done
echo "licenses $licenses: median to ready from the snapshot $(median <"$wdir/snap") s," \
  "from the stream alone $( [[ -s "$wdir/stream" ]] && median <"$wdir/stream" || echo -) s"
