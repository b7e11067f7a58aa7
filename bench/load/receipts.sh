#!/usr/bin/env bash
# What offline receipts cost an edge: two license-edge processes on copies of the same generated
# replica (LE_LICENSES, default 1,000,000), following a nats-server with a license-primary that
# certifies their receipt keys; one signs without limit (--receipt-rate 0), one with the default
# budget (2000 receipts a second per I/O thread). Driven in turn with the same wrk traffic over
# LE_ROUNDS rounds (default 5) of LE_DURATION (default 15s):
#   plain      the unlimited edge, validations without "offline"
#   offline    the unlimited edge, "offline":true on every request (a receipt for every VALID)
#   budgeted   the budgeted edge, "offline":true on every request
# Medians, and the ratios offline/plain and budgeted/plain.
# Traffic goes to 127.0.0.1 only; every wrk run is bounded by LE_DURATION. Each round starts
# once no process matches LE_QUIET_PATTERN (default "cc1plus|ninja|wrk"; empty: do not wait).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
licenses="${LE_LICENSES:-1000000}"
duration="${LE_DURATION:-15s}"
connections="${LE_CONNECTIONS:-64}"
threads="${LE_THREADS:-2}"
wrk_threads="${LE_WRK_THREADS:-2}"
rounds="${LE_ROUNDS:-5}"
quiet_pattern="${LE_QUIET_PATTERN-cc1plus|ninja|wrk}"
out="$root/bench/results/receipts"
mkdir -p "$out"
bin="$root/build"
[[ "${LE_SKIP_BUILD:-0}" == 1 ]] || bash "$root/scripts/build.sh" >/dev/null

replica="$root/bench/results/replica-$licenses"
if [[ ! -f "$replica/.complete" ]]; then
  rm -rf "$replica"
  "$bin/bench/license-gen" --db "$replica" --count "$licenses" >"$out/gen.txt"
  touch "$replica/.complete"
fi

# shellcheck source=bench/load/lib.sh
source "$root/bench/load/lib.sh"

nats_port=$(free_port)
nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$wdir/nats" 2>"$out/nats.log" &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break; sleep 0.05; done
primary_port=$(free_port)
LE_ADMIN_TOKEN=bench "$bin/src/primary/license-primary" --db "$wdir/primary" \
  --listen "127.0.0.1:$primary_port" --admin-listen "127.0.0.1:$(free_port)" \
  --nats "nats://127.0.0.1:$nats_port" 2>"$out/primary.log" &
pids+=($!)
wait_http "http://127.0.0.1:$primary_port/healthz"

declare -A port admin
for name in unlimited budgeted; do
  cp -r "$replica" "$wdir/replica-$name"
  port[$name]=$(free_port)
  admin[$name]=$(free_port)
  flags=()
  [[ "$name" == budgeted ]] || flags=(--receipt-rate 0)
  "$bin/src/edge/license-edge" --db "$wdir/replica-$name" --listen "127.0.0.1:${port[$name]}" \
    --admin-listen "127.0.0.1:${admin[$name]}" --threads "$threads" --no-rate-limit \
    --no-failure-reports --nats "nats://127.0.0.1:$nats_port" "${flags[@]}" \
    2>"$out/edge-$name.log" &
  pids+=($!)
  wait_http "http://127.0.0.1:${admin[$name]}/readyz"
  for _ in $(seq 200); do
    curl -fsS "http://127.0.0.1:${admin[$name]}/readyz" | grep -q '"issuing":true' && break
    sleep 0.1
  done
done

summarize() {  # wrk output -> "rps p50_ms p99_ms"
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }' "$1"
}
drive() {  # case port offline duration
  LE_LICENSES="$licenses" LE_UNKNOWN_PCT=0 LE_OFFLINE="$3" \
    wrk -t"$wrk_threads" -c"$connections" -d"$4" --latency -s "$root/bench/load/validate.lua" \
    "http://127.0.0.1:$2" >"$out/wrk-$1.txt"
  summarize "$out/wrk-$1.txt"
}
median() {  # case column
  awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$out/rounds.txt" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
scrape() { curl -fsS "http://127.0.0.1:$1/metrics" | awk -v s="$2" '$1 == s { print $2 }'; }

cases=(plain offline budgeted)
run_case() {  # case duration
  case "$1" in
    plain) drive "$1-$r" "${port[unlimited]}" 0 "$2" ;;
    offline) drive "$1-$r" "${port[unlimited]}" 1 "$2" ;;
    budgeted) drive "$1-$r" "${port[budgeted]}" 1 "$2" ;;
  esac
}
r=warm
for c in "${cases[@]}"; do run_case "$c" "${LE_WARMUP:-5s}" >/dev/null; done
: >"$out/rounds.txt"
for ((r = 0; r < rounds; r++)); do
  while busy; do sleep 5; done
  # Rotate which goes first, so a drift on this shared machine hits all alike.
  for ((i = 0; i < 3; i++)); do
    c=${cases[$(((i + r) % 3))]}
    echo "$c $(run_case "$c" "$duration")" >>"$out/rounds.txt"
  done
done

{
  echo "licenses: $licenses  connections: $connections  duration: $duration x $rounds rounds (medians)  edge threads: $threads  wrk threads: $wrk_threads"
  echo "traffic: POST /api/v1/validate, random existing keys, all VALID"
  printf "%-10s %10s %10s %10s\n" "case" "req/s" "p50 ms" "p99 ms"
  for c in "${cases[@]}"; do
    printf "%-10s %10.0f %10.3f %10.3f\n" "$c" "$(median "$c" 2)" "$(median "$c" 3)" "$(median "$c" 4)"
  done
  echo "per round (case req/s p50 p99):"
  sed 's/^/  /' "$out/rounds.txt"
  for name in unlimited budgeted; do
    echo "edge $name: $(scrape "${admin[$name]}" le_edge_receipts_signed_total) receipts signed," \
      "$(scrape "${admin[$name]}" le_edge_receipts_over_budget_total) over the budget"
  done
  awk -v p="$(median plain 2)" -v o="$(median offline 2)" -v b="$(median budgeted 2)" \
    'BEGIN { printf "offline/plain throughput ratio: %.3f\nbudgeted/plain throughput ratio: %.3f\n", o / p, b / p }'
} | tee "$out/summary.txt"
