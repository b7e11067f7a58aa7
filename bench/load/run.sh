#!/usr/bin/env bash
# Load harness (DESIGN §7): generates a replica of LE_LICENSES licenses (default 1,000,000), starts
# license-edge on it, drives POST /api/v1/validate with wrk (keep-alive, random keys, ~10% unknown)
# without and with an API key, then drives an nginx returning a fixed JSON body with the same wrk
# settings, in the same run. Prints requests/s and p50/p99 for each; the last line is the ratio.
# LE_WRITES_RATE=N (default 0): also start nats-server and license-primary, measure activation
# latency through the edge alone, then keep N activations/s (activate/deactivate pairs) running
# through the edge for the whole load run, and report their latency under that load.
# Traffic goes to 127.0.0.1 only; every wrk run is bounded by LE_DURATION.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
licenses="${LE_LICENSES:-1000000}"
duration="${LE_DURATION:-15s}"
connections="${LE_CONNECTIONS:-64}"
threads="${LE_THREADS:-2}"          # server threads (edge) and workers (nginx)
wrk_threads="${LE_WRK_THREADS:-2}"
# LE_RATE_LIMIT=1: limits on (defaults), 127.0.0.1 trusted as the proxy; use with LE_XFF=1 so
# public traffic comes from many clients. Otherwise limits are off: one wrk source would hit
# every per-client limit. The API-key run then measures mostly the 429 path (one key, one plan).
rate_limit="${LE_RATE_LIMIT:-0}"
if [[ "$rate_limit" == 1 ]]; then
  edge_flags="--trusted-proxies 127.0.0.1 ${LE_EDGE_FLAGS:-}"
else
  edge_flags="--no-rate-limit ${LE_EDGE_FLAGS:-}"
fi
out="$root/bench/results"
mkdir -p "$out"

[[ "${LE_SKIP_BUILD:-0}" == 1 ]] || bash "$root/scripts/build.sh" >/dev/null
bin="$root/build"

replica="$out/replica-$licenses"
if [[ ! -f "$replica/.complete" ]]; then
  rm -rf "$replica"
  "$bin/bench/license-gen" --db "$replica" --count "$licenses" | tee "$out/gen.txt"
  touch "$replica/.complete"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -z "${wdir:-}" ]] || rm -rf "$wdir"
}
trap cleanup EXIT

# wrk output -> "rps p50_ms p99_ms non2xx"
summarize() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 } /Non-2xx/ { non2xx = $NF }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, non2xx }' "$1"
}
drive() {  # name port [api key]
  local name="$1" port="$2" key="${3:-}"
  LE_LICENSES="$licenses" LE_API_KEY="$key" wrk -t"$wrk_threads" -c"$connections" -d"$duration" \
    --latency -s "$root/bench/load/validate.lua" "http://127.0.0.1:$port" >"$out/wrk-$name.txt"
  summarize "$out/wrk-$name.txt"
}

writes_rate="${LE_WRITES_RATE:-0}"
if [[ "$writes_rate" != 0 ]]; then
  # The primary holds its own licenses; the edge's replica does not follow this fresh stream
  # (its applied_seq is the generated one), so each activation's reply is what brings the
  # license's state to the edge — the write path exactly as it runs.
  wdir="$(mktemp -d)"
  nats_port=$(free_port); primary_port=$(free_port)
  nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$wdir/nats" 2>"$out/nats.log" &
  pids+=($!)
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break; sleep 0.05; done
  LE_ADMIN_TOKEN=bench "$bin/src/primary/license-primary" --db "$wdir/primary" --listen "127.0.0.1:$primary_port" \
    --admin-listen 127.0.0.1:0 --nats "nats://127.0.0.1:$nats_port" --activation-changes 0 2>"$out/primary.log" &
  pids+=($!)
  for _ in $(seq 200); do curl -fsS "http://127.0.0.1:$primary_port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
  python3 "$root/bench/load/activations.py" setup "http://127.0.0.1:$primary_port" bench 1000 "$wdir/keys"
  edge_flags="$edge_flags --nats nats://127.0.0.1:$nats_port"
fi

edge_port=$(free_port)
"$bin/src/edge/license-edge" --db "$replica" --listen "127.0.0.1:$edge_port" --admin-listen 127.0.0.1:0 --threads "$threads" \
  $edge_flags 2>"$out/edge.log" &
edge_pid=$!
pids+=("$edge_pid")
nginx_dir="$(mktemp -d)"
nginx_port=$(free_port)
sed -e "s|@DIR@|$nginx_dir|g" -e "s|@PORT@|$nginx_port|g" -e "s|@WORKERS@|$threads|g" \
  "$root/bench/load/nginx.conf.in" >"$nginx_dir/nginx.conf"
nginx -c "$nginx_dir/nginx.conf" -p "$nginx_dir" &
pids+=($!)
for _ in $(seq 200); do curl -fsS "http://127.0.0.1:$edge_port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
secs() { local v="$1"; v="${v%s}"; echo "$v"; }
if [[ "$writes_rate" != 0 ]]; then
  # Activation latency through the edge with nothing else running: 2000 requests at 200/s.
  sleep 1
  idle_writes=$(python3 "$root/bench/load/activations.py" drive "http://127.0.0.1:$edge_port" "$wdir/keys" 200 30 2000)
  total=$(( 2 * $(secs "${LE_WARMUP:-10s}") + ${LE_ROUNDS:-3} * 3 * $(secs "$duration") ))
  python3 "$root/bench/load/activations.py" drive "http://127.0.0.1:$edge_port" "$wdir/keys" "$writes_rate" "$total" \
    >"$out/writes-under-load.txt" &
  writes_pid=$!
fi
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$nginx_port/" >/dev/null 2>&1 && break; sleep 0.05; done

# Warm both with the same traffic, then alternate edge and nginx over several rounds so a noisy
# moment on this shared machine hits both; each figure is the median over the rounds.
for port in "$edge_port" "$nginx_port"; do
  LE_LICENSES="$licenses" wrk -t"$wrk_threads" -c"$connections" -d"${LE_WARMUP:-10s}" \
    -s "$root/bench/load/validate.lua" "http://127.0.0.1:$port" >/dev/null
done
rounds="${LE_ROUNDS:-3}"
: >"$out/rounds.txt"
for r in $(seq "$rounds"); do
  echo "edge $(drive "edge-$r" "$edge_port")" >>"$out/rounds.txt"
  echo "edge-apikey $(drive "edge-apikey-$r" "$edge_port" to_live_benchmark0000000000000000)" >>"$out/rounds.txt"
  echo "nginx $(drive "nginx-$r" "$nginx_port")" >>"$out/rounds.txt"
done
edge_rss_mb=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$edge_pid/status")
[[ "$writes_rate" == 0 ]] || wait "$writes_pid"

median() {  # target column -> median over rounds
  awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$out/rounds.txt" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
row() { printf "%-22s %10.0f %10.3f %10.3f %8.0f\n" "$1" "$(median "$2" 2)" "$(median "$2" 3)" "$(median "$2" 4)" "$(median "$2" 5)"; }
{
  echo "licenses: $licenses  connections: $connections  duration: $duration x $rounds rounds (medians)  server threads: $threads  wrk threads: $wrk_threads"
  echo "rate limiting: $([[ "$rate_limit" == 1 ]] && echo on || echo off)  random X-Forwarded-For: $([[ "${LE_XFF:-0}" == 1 ]] && echo yes || echo no)"
  printf "%-22s %10s %10s %10s %8s\n" "target" "req/s" "p50 ms" "p99 ms" "non-2xx"
  row "edge (public)" edge
  row "edge (API key)" edge-apikey
  row "nginx (fixed body)" nginx
  echo "per round (target req/s p50 p99 non-2xx):"
  sed 's/^/  /' "$out/rounds.txt"
  echo "edge RSS after the run: ${edge_rss_mb} MiB"
  if [[ "$writes_rate" != 0 ]]; then
    echo "activations through the edge (count p50_ms p99_ms max_ms non-200):"
    echo "  alone, 200/s:           $idle_writes"
    echo "  at ${writes_rate}/s during the load: $(cat "$out/writes-under-load.txt")"
  fi
  echo "edge(API key)/nginx throughput ratio: $(awk -v a="$(median edge-apikey 2)" -v b="$(median nginx 2)" 'BEGIN { printf "%.2f", a / b }')"
  echo "edge/nginx throughput ratio: $(awk -v a="$(median edge 2)" -v b="$(median nginx 2)" 'BEGIN { printf "%.2f", a / b }')"
} | tee "$out/summary.txt"
