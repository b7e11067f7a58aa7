#!/usr/bin/env bash
# Load harness (DESIGN §7): generates a replica of LE_LICENSES licenses (default 1,000,000), starts
# license-edge on it, drives POST /api/v1/validate with wrk (keep-alive, random keys, ~10% unknown)
# without and with an API key, then drives an nginx returning a fixed JSON body with the same wrk
# settings, in the same run. Prints requests/s and p50/p99 for each; the last line is the ratio.
# Traffic goes to 127.0.0.1 only; every wrk run is bounded by LE_DURATION.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
licenses="${LE_LICENSES:-1000000}"
duration="${LE_DURATION:-15s}"
connections="${LE_CONNECTIONS:-64}"
threads="${LE_THREADS:-2}"          # server threads (edge) and workers (nginx)
wrk_threads="${LE_WRK_THREADS:-2}"
edge_flags="${LE_EDGE_FLAGS:-}"
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
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
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

edge_port=$(free_port)
"$bin/src/edge/license-edge" --db "$replica" --listen "127.0.0.1:$edge_port" --threads "$threads" \
  $edge_flags 2>"$out/edge.log" &
edge_pid=$!
pids+=("$edge_pid")
for _ in $(seq 200); do curl -fsS "http://127.0.0.1:$edge_port/readyz" >/dev/null 2>&1 && break; sleep 0.05; done

# Warm the caches with the same traffic, then measure.
LE_LICENSES="$licenses" wrk -t"$wrk_threads" -c"$connections" -d"${LE_WARMUP:-10s}" \
  -s "$root/bench/load/validate.lua" "http://127.0.0.1:$edge_port" >/dev/null
read -r edge_rps edge_p50 edge_p99 edge_non2xx < <(drive edge "$edge_port")
read -r key_rps key_p50 key_p99 key_non2xx < <(drive edge-apikey "$edge_port" to_live_benchmark0000000000000000)
edge_rss_mb=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$edge_pid/status")
kill -TERM "$edge_pid"; wait "$edge_pid" 2>/dev/null || true

nginx_dir="$(mktemp -d)"
nginx_port=$(free_port)
sed -e "s|@DIR@|$nginx_dir|g" -e "s|@PORT@|$nginx_port|g" -e "s|@WORKERS@|$threads|g" \
  "$root/bench/load/nginx.conf.in" >"$nginx_dir/nginx.conf"
nginx -c "$nginx_dir/nginx.conf" -p "$nginx_dir" &
pids+=($!)
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$nginx_port/" >/dev/null 2>&1 && break; sleep 0.05; done
LE_LICENSES="$licenses" wrk -t"$wrk_threads" -c"$connections" -d"${LE_WARMUP:-10s}" \
  -s "$root/bench/load/validate.lua" "http://127.0.0.1:$nginx_port" >/dev/null
read -r nginx_rps nginx_p50 nginx_p99 nginx_non2xx < <(drive nginx "$nginx_port")

{
  echo "licenses: $licenses  connections: $connections  duration: $duration  server threads: $threads  wrk threads: $wrk_threads"
  printf "%-22s %10s %10s %10s %8s\n" "target" "req/s" "p50 ms" "p99 ms" "non-2xx"
  printf "%-22s %10s %10s %10s %8s\n" "edge (public)" "$edge_rps" "$edge_p50" "$edge_p99" "$edge_non2xx"
  printf "%-22s %10s %10s %10s %8s\n" "edge (API key)" "$key_rps" "$key_p50" "$key_p99" "$key_non2xx"
  printf "%-22s %10s %10s %10s %8s\n" "nginx (fixed body)" "$nginx_rps" "$nginx_p50" "$nginx_p99" "$nginx_non2xx"
  echo "edge RSS after warm-up: ${edge_rss_mb} MiB"
  echo "edge(API key)/nginx throughput ratio: $(awk -v a="$key_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')"
  echo "edge/nginx throughput ratio: $(awk -v a="$edge_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')"
} | tee "$out/summary.txt"
