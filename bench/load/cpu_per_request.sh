#!/usr/bin/env bash
# CPU time the edge spends per request under the load harness's traffic, for two flag sets,
# alternated over rounds: steadier than throughput on a shared machine, because it does not
# depend on how much CPU the machine happens to give the run.
#   bench/load/cpu_per_request.sh "" "--no-metrics"
# Needs the replica bench/load/run.sh generates (bench/results/replica-1000000). Loopback only;
# each wrk run is bounded by LE_DURATION (default 8s).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
replica="$root/bench/results/replica-${LE_LICENSES:-1000000}"
duration="${LE_DURATION:-8s}"
rounds="${LE_ROUNDS:-3}"
[[ -d "$replica" ]] || { echo "no replica at $replica: run bench/load/run.sh first"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() {  # flags → "µs of CPU per request"
  local port pid t0 t1 requests
  port=$(free_port)
  # shellcheck disable=SC2086
  "$root/build/src/edge/license-edge" --db "$replica" --listen "127.0.0.1:$port" \
    --admin-listen 127.0.0.1:0 --threads 2 --no-rate-limit $1 2>/dev/null &
  pid=$!
  for _ in $(seq 200); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
  LE_LICENSES=1000000 wrk -t2 -c64 -d3s -s "$root/bench/load/validate.lua" "http://127.0.0.1:$port" >/dev/null
  t0=$(ticks "$pid")
  requests=$(LE_LICENSES=1000000 wrk -t2 -c64 -d"$duration" -s "$root/bench/load/validate.lua" \
    "http://127.0.0.1:$port" | awk '/requests in/ {print $1}')
  t1=$(ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c "print(f'{($t1 - $t0) * 1e6 / $(getconf CLK_TCK) / $requests:.2f}')"
}

for ((r = 1; r <= rounds; r++)); do
  for flags in "$@"; do
    echo "round $r  flags [${flags}]  cpu_us_per_request $(measure "$flags")"
  done
done
