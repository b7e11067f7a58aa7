#!/usr/bin/env bash
# Load harness (DESIGN §7): generates a replica of LE_LICENSES licenses (default 1,000,000), starts
# license-edge on it, drives POST /api/v1/validate with wrk (keep-alive, random keys, ~10% unknown)
# without and with an API key, then drives an nginx returning a fixed JSON body with the same wrk
# settings, in the same run. Prints requests/s and p50/p99 for each; the last line is the ratio.
# Also: GET /healthz on both (HTTP alone, no validation) in the same rounds; then both at a fixed
# offered load with le-openloop (LE_FIXED_RATE req/s, default half nginx's median saturated
# req/s, for LE_FIXED_DURATION each, LE_ROUNDS times), latency counted from each request's due
# time; and the edge's time from process start to /readyz answering 200, and its RSS.
# LE_WRITES_RATE=N (default 0): also start nats-server and license-primary, measure activation
# latency through the edge alone, then keep N activations/s (activate/deactivate pairs) running
# through the edge for the whole load run, and report their latency under that load.
# Traffic goes to 127.0.0.1 only; every wrk run is bounded by LE_DURATION, every le-openloop run
# by LE_FIXED_DURATION plus 5 s for the last answers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
licenses="${LE_LICENSES:-1000000}"
duration="${LE_DURATION:-15s}"
connections="${LE_CONNECTIONS:-64}"
threads="${LE_THREADS:-2}"          # server threads (edge) and workers (nginx)
wrk_threads="${LE_WRK_THREADS:-2}"
rounds="${LE_ROUNDS:-3}"
fixed_duration="${LE_FIXED_DURATION:-10s}"
fixed_connections="${LE_FIXED_CONNECTIONS:-$connections}"
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
drive_get() {  # name port path: GET of one path, no script
  wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency "http://127.0.0.1:$2$3" \
    >"$out/wrk-$1.txt"
  summarize "$out/wrk-$1.txt"
}
# le-openloop at the fixed rate -> "sent ok non2xx errors req/s p50_ms p99_ms p999_ms max_ms"
openloop() {  # port
  local xff=()
  [[ "${LE_XFF:-0}" != 1 ]] || xff=(--xff)
  "$bin/bench/le-openloop" --host 127.0.0.1 --port "$1" --rate "$fixed_rate" \
    --duration "$fixed_duration" --connections "$fixed_connections" --licenses "$licenses" "${xff[@]}"
}
now_us() { echo "${EPOCHREALTIME//[.,]/}"; }
rss_mb() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
# One GET /readyz over bash's /dev/tcp (no process started per poll): true on a 200.
edge_ready() (
  exec 3<>"/dev/tcp/127.0.0.1/$edge_port" || exit 1
  printf 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  read -r -t 1 status <&3 || exit 1
  [[ "$status" == "HTTP/1.1 200 "* ]]
) 2>/dev/null

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

nginx_dir="$(mktemp -d)"
nginx_port=$(free_port)
sed -e "s|@DIR@|$nginx_dir|g" -e "s|@PORT@|$nginx_port|g" -e "s|@WORKERS@|$threads|g" \
  "$root/bench/load/nginx.conf.in" >"$nginx_dir/nginx.conf"
nginx -c "$nginx_dir/nginx.conf" -p "$nginx_dir" &
pids+=($!)
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$nginx_port/" >/dev/null 2>&1 && break; sleep 0.05; done

# Start to ready: from just before the edge is started until /readyz answers 200, polled every
# 10 ms; up to 300 s (a replica of tens of millions of licenses opens slower).
edge_port=$(free_port)
edge_start_us=$(now_us)
"$bin/src/edge/license-edge" --db "$replica" --listen "127.0.0.1:$edge_port" --admin-listen 127.0.0.1:0 --threads "$threads" \
  $edge_flags 2>"$out/edge.log" &
edge_pid=$!
pids+=("$edge_pid")
until edge_ready; do
  if ! kill -0 "$edge_pid" 2>/dev/null; then
    echo "license-edge exited before it was ready; see $out/edge.log" >&2
    exit 1
  fi
  if (( $(now_us) - edge_start_us > 300000000 )); then
    echo "license-edge not ready after 300 s; see $out/edge.log" >&2
    exit 1
  fi
  sleep 0.01
done
edge_ready_ms=$(( ($(now_us) - edge_start_us) / 1000 ))
edge_ready_rss_mb=$(rss_mb "$edge_pid")
secs() { local v="$1"; v="${v%s}"; echo "$v"; }
if [[ "$writes_rate" != 0 ]]; then
  # Activation latency through the edge with nothing else running: 2000 requests at 200/s.
  sleep 1
  idle_writes=$(python3 "$root/bench/load/activations.py" drive "http://127.0.0.1:$edge_port" "$wdir/keys" 200 30 2000)
  total=$(( 2 * $(secs "${LE_WARMUP:-10s}") + rounds * (5 * $(secs "$duration") + 2 * $(secs "$fixed_duration")) ))
  python3 "$root/bench/load/activations.py" drive "http://127.0.0.1:$edge_port" "$wdir/keys" "$writes_rate" "$total" \
    >"$out/writes-under-load.txt" &
  writes_pid=$!
fi

# Warm both with the same traffic, then alternate edge and nginx over several rounds so a noisy
# moment on this shared machine hits both; each figure is the median over the rounds.
for port in "$edge_port" "$nginx_port"; do
  LE_LICENSES="$licenses" wrk -t"$wrk_threads" -c"$connections" -d"${LE_WARMUP:-10s}" \
    -s "$root/bench/load/validate.lua" "http://127.0.0.1:$port" >/dev/null
done
median() {  # target column [file] -> median over rounds
  awk -v t="$1" -v c="$2" '$1 == t { print $c }' "${3:-$out/rounds.txt}" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
: >"$out/rounds.txt"
for r in $(seq "$rounds"); do
  echo "edge $(drive "edge-$r" "$edge_port")" >>"$out/rounds.txt"
  echo "edge-apikey $(drive "edge-apikey-$r" "$edge_port" to_live_benchmark0000000000000000)" >>"$out/rounds.txt"
  echo "nginx $(drive "nginx-$r" "$nginx_port")" >>"$out/rounds.txt"
  echo "edge-healthz $(drive_get "edge-healthz-$r" "$edge_port" /healthz)" >>"$out/rounds.txt"
  echo "nginx-healthz $(drive_get "nginx-healthz-$r" "$nginx_port" /healthz)" >>"$out/rounds.txt"
done

# The same validate traffic at a fixed offered load, alternating edge and nginx.
fixed_rate="${LE_FIXED_RATE:-$(awk -v v="$(median nginx 2)" 'BEGIN { printf "%d", v / 2 }')}"
(( fixed_rate >= 1 )) || fixed_rate=1
: >"$out/fixed.txt"
for r in $(seq "$rounds"); do
  echo "edge $(openloop "$edge_port")" >>"$out/fixed.txt"
  echo "nginx $(openloop "$nginx_port")" >>"$out/fixed.txt"
done
edge_rss_mb=$(rss_mb "$edge_pid")
[[ "$writes_rate" == 0 ]] || wait "$writes_pid"

row() { printf "%-22s %10.0f %10.3f %10.3f %8.0f\n" "$1" "$(median "$2" 2)" "$(median "$2" 3)" "$(median "$2" 4)" "$(median "$2" 5)"; }
frow() {
  local f="$out/fixed.txt"
  printf "%-22s %10.0f %10.3f %10.3f %10.3f %10.3f %8.0f %8.0f\n" "$1" "$(median "$2" 6 "$f")" \
    "$(median "$2" 7 "$f")" "$(median "$2" 8 "$f")" "$(median "$2" 9 "$f")" "$(median "$2" 10 "$f")" \
    "$(median "$2" 4 "$f")" "$(median "$2" 5 "$f")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
{
  echo "licenses: $licenses  connections: $connections  duration: $duration x $rounds rounds (medians)  server threads: $threads  wrk threads: $wrk_threads"
  echo "rate limiting: $([[ "$rate_limit" == 1 ]] && echo on || echo off)  random X-Forwarded-For: $([[ "${LE_XFF:-0}" == 1 ]] && echo yes || echo no)"
  printf "%-22s %10s %10s %10s %8s\n" "target" "req/s" "p50 ms" "p99 ms" "non-2xx"
  row "edge (public)" edge
  row "edge (API key)" edge-apikey
  row "nginx (fixed body)" nginx
  row "edge GET /healthz" edge-healthz
  row "nginx GET /healthz" nginx-healthz
  echo "per round (target req/s p50 p99 non-2xx):"
  sed 's/^/  /' "$out/rounds.txt"
  echo "fixed offered load (le-openloop): $fixed_rate req/s for $fixed_duration x $rounds rounds (medians), $fixed_connections connections, latency from each request's due time"
  printf "%-22s %10s %10s %10s %10s %10s %8s %8s\n" "target" "req/s" "p50 ms" "p99 ms" "p99.9 ms" "max ms" "non-2xx" "errors"
  frow "edge (public)" edge
  frow "nginx (fixed body)" nginx
  echo "per round (target sent ok non-2xx errors req/s p50 p99 p99.9 max):"
  sed 's/^/  /' "$out/fixed.txt"
  echo "edge start to ready: ${edge_ready_ms} ms (/readyz polled every 10 ms)  RSS at ready: ${edge_ready_rss_mb} MiB"
  echo "edge RSS after the run: ${edge_rss_mb} MiB"
  if [[ "$writes_rate" != 0 ]]; then
    echo "activations through the edge (count p50_ms p99_ms max_ms non-200):"
    echo "  alone, 200/s:           $idle_writes"
    echo "  at ${writes_rate}/s during the load: $(cat "$out/writes-under-load.txt")"
  fi
  echo "healthz edge/nginx ratio: $(ratio "$(median edge-healthz 2)" "$(median nginx-healthz 2)")"
  echo "fixed-load p99 edge/nginx ratio: $(ratio "$(median edge 8 "$out/fixed.txt")" "$(median nginx 8 "$out/fixed.txt")")"
  echo "edge(API key)/nginx throughput ratio: $(awk -v a="$(median edge-apikey 2)" -v b="$(median nginx 2)" 'BEGIN { printf "%.2f", a / b }')"
  echo "edge/nginx throughput ratio: $(awk -v a="$(median edge 2)" -v b="$(median nginx 2)" 'BEGIN { printf "%.2f", a / b }')"
} | tee "$out/summary.txt"
