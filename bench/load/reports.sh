#!/usr/bin/env bash
# What an edge's reports cost it (usage tracking, auth logs, failed validations): two
# license-edge processes on copies of the same generated replica (LE_LICENSES, default
# 1,000,000), both following a nats-server with a license-primary taking their reports, one
# reporting (every LE_REPORT_MS, default 5000) and one with --no-reports, driven alternately
# with the same wrk traffic over LE_ROUNDS rounds (default 5) of LE_DURATION (default 15s);
# medians, CPU seconds per validation of each edge, and the last line
# `reports on/off throughput ratio: X.XX`.
# The traffic: random keys (LE_UNKNOWN_PCT, default 10, unknown), each validation a usage entry
# of its license and day, so each thread's usage tally fills with distinct licenses every
# interval. LE_MACHINE_ID=<id> names a machine no license holds: every validation of an existing
# license then also fails (MACHINE_NOT_ACTIVATED) and is counted for validation.failed.
# LE_LICENSES=1 LE_UNKNOWN_PCT=0 sends one license only (one tally entry). LE_EXTRA_FLAGS go to
# both edges.
# In a deployment the primary runs elsewhere; here it would share the two cores with the edges
# and wrk, and apply the "on" rounds' reports during the "off" rounds as well. So by default it
# is stopped (SIGSTOP) during the rounds — the reports wait in their JetStream stream, as they
# would for a slow primary — then resumed, and the CPU it spends applying them all is reported.
# LE_PRIMARY_DURING=1 keeps it running through the rounds. LE_PERF=1 profiles the reporting
# edge during its first round (perf-on.txt, by thread and symbol).
# Besides the ratios over the whole run, the median of each round's on/off ratios of throughput
# and of CPU per validation (the two runs of a round are next to each other in time, so a drift
# of this shared machine cancels out more).
# Traffic goes to 127.0.0.1 only; every wrk run is bounded by LE_DURATION.
# On a shared machine a compiler running meanwhile skews one side: each round starts once no
# process matches LE_QUIET_PATTERN (default "cc1plus|ninja"; empty: do not wait), and a round
# during which one ran is measured again (up to 3 x LE_ROUNDS rounds in all).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
licenses="${LE_LICENSES:-1000000}"
duration="${LE_DURATION:-15s}"
connections="${LE_CONNECTIONS:-64}"
threads="${LE_THREADS:-2}"
wrk_threads="${LE_WRK_THREADS:-2}"
rounds="${LE_ROUNDS:-5}"
report_ms="${LE_REPORT_MS:-5000}"
quiet_pattern="${LE_QUIET_PATTERN-cc1plus|ninja}"
out="$root/bench/results/reports"
mkdir -p "$out"
rm -f "$out/perf-on.data" "$out/perf-on.txt"  # a profile is of this run only
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
primary_admin=$(free_port)
LE_ADMIN_TOKEN=bench "$bin/src/primary/license-primary" --db "$wdir/primary" \
  --listen "127.0.0.1:$primary_port" --admin-listen "127.0.0.1:$primary_admin" \
  --nats "nats://127.0.0.1:$nats_port" 2>"$out/primary.log" &
pids+=($!)
wait_http "http://127.0.0.1:$primary_port/healthz"

nats_pid=${pids[0]}
primary_pid=${pids[1]}
declare -A port admin pid
for name in on off; do
  cp -r "$replica" "$wdir/replica-$name"
  port[$name]=$(free_port)
  admin[$name]=$(free_port)
  flags=(--report-ms "$report_ms" --edge-id "bench-$name")
  [[ "$name" == on ]] || flags=(--no-reports)
  "$bin/src/edge/license-edge" --db "$wdir/replica-$name" --listen "127.0.0.1:${port[$name]}" \
    --admin-listen "127.0.0.1:${admin[$name]}" --threads "$threads" --no-rate-limit \
    --nats "nats://127.0.0.1:$nats_port" "${flags[@]}" ${LE_EXTRA_FLAGS:-} 2>"$out/edge-$name.log" &
  pids+=($!)
  pid[$name]=$!
  wait_http "http://127.0.0.1:${admin[$name]}/readyz"
done

summarize() {  # wrk output -> "rps p50_ms p99_ms non2xx"
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 } /Non-2xx/ { non2xx = $NF }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, non2xx }' "$1"
}
drive() {  # name port duration
  LE_LICENSES="$licenses" LE_MACHINE_ID="${LE_MACHINE_ID:-}" \
    wrk -t"$wrk_threads" -c"$connections" -d"$3" --latency -s "$root/bench/load/validate.lua" \
    "http://127.0.0.1:$2" >"$out/wrk-$1.txt"
  summarize "$out/wrk-$1.txt"
}
median() {  # target column
  awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$out/rounds.txt" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
scrape() { curl -fsS "http://127.0.0.1:$1/metrics" | awk -v s="$2" '$1 == s { print $2 }'; }
validations() {  # validations an edge answered
  curl -fsS "http://127.0.0.1:$1/metrics" |
    awk '/^le_edge_http_requests_total\{route="\/api\/v1\/validate"/ { n += $2 } END { printf "%.0f", n }'
}

watch_busy() { while sleep 0.5; do busy && touch "$wdir/busy"; done; }

for name in on off; do drive "warm-$name" "${port[$name]}" "${LE_WARMUP:-10s}" >/dev/null; done
: >"$out/rounds.txt"
declare -A cpu0 cpu1 req0 req1
for name in on off; do
  cpu0[$name]=$(cpu_s "${pid[$name]}")
  req0[$name]=$(validations "${admin[$name]}")
  thread_cpu_s "${pid[$name]}" >"$out/threads0-$name.txt"
done
cpu0[nats]=$(cpu_s "$nats_pid")
cpu0[primary]=$(cpu_s "$primary_pid")
primary_during="${LE_PRIMARY_DURING:-0}"
[[ "$primary_during" == 1 ]] || kill -STOP "$primary_pid"
r=0
tries=0
while (( r < rounds && tries < 3 * rounds )); do
  tries=$((tries + 1))
  while busy; do sleep 5; done
  rm -f "$wdir/busy"
  watch_busy &
  watcher=$!
  # Alternate which goes first, so a drift on this shared machine hits both alike.
  order=(on off)
  (( r % 2 == 0 )) || order=(off on)
  lines=()
  for name in "${order[@]}"; do
    # LE_PERF=1: a profile of the reporting edge during its first round, by thread and symbol
    # (perf-on.txt). It costs that round some throughput: the ratios then mean less.
    if [[ "${LE_PERF:-0}" == 1 && "$name" == on && ! -e "$out/perf-on.data" ]]; then
      perf record -F 499 -p "${pid[on]}" -o "$out/perf-on.data" -- sleep "${duration%s}" \
        >/dev/null 2>&1 &
      perf_pid=$!
    fi
    c0=$(cpu_s "${pid[$name]}")
    q0=$(validations "${admin[$name]}")
    line="$(drive "$name-$tries" "${port[$name]}" "$duration")"
    c1=$(cpu_s "${pid[$name]}")
    q1=$(validations "${admin[$name]}")
    lines+=("$name $line $(awk -v c0="$c0" -v c1="$c1" -v q0="$q0" -v q1="$q1" \
      'BEGIN { printf "%.3f", (q1 > q0) ? (c1 - c0) * 1e6 / (q1 - q0) : 0 }')")
    if [[ -n "${perf_pid:-}" ]]; then
      wait "$perf_pid" || true
      perf_pid=""
    fi
  done
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  if [[ -e "$wdir/busy" ]]; then
    echo "round $tries measured again: a process matching '$quiet_pattern' ran during it" >&2
    continue
  fi
  printf '%s\n' "${lines[@]}" >>"$out/rounds.txt"
  r=$((r + 1))
done
sleep "$(( report_ms / 1000 + 1 ))"  # the last report leaves
for name in on off; do
  cpu1[$name]=$(cpu_s "${pid[$name]}")
  req1[$name]=$(validations "${admin[$name]}")
  thread_cpu_s "${pid[$name]}" >"$out/threads1-$name.txt"
done
cpu1[nats]=$(cpu_s "$nats_pid")
applied() { scrape "$primary_admin" 'le_primary_reports_total{result="applied"}'; }
if [[ "$primary_during" != 1 ]]; then
  kill -CONT "$primary_pid"
  published=$(scrape "${admin[on]}" le_edge_reports_total)
  for _ in $(seq 1200); do  # at most 10 minutes
    (( $(applied || echo 0) >= published )) && break
    sleep 0.5
  done
fi
cpu1[primary]=$(cpu_s "$primary_pid")

if [[ -e "$out/perf-on.data" ]]; then
  { perf report -i "$out/perf-on.data" --stdio --no-children --sort comm,symbol 2>/dev/null || true; } |
    grep -v '^#' | grep -v '^$' | sed 's/  */ /g' | head -60 >"$out/perf-on.txt" || true
fi
{
  echo "licenses: $licenses  connections: $connections  duration: $duration x $rounds rounds (medians)  edge threads: $threads  wrk threads: $wrk_threads  report every: ${report_ms} ms"
  echo "traffic: POST /api/v1/validate, random keys (${LE_UNKNOWN_PCT:-10}% unknown), machine_id: '${LE_MACHINE_ID:-}'"
  printf "%-24s %10s %10s %10s %8s\n" "edge" "req/s" "p50 ms" "p99 ms" "non-2xx"
  for name in on off; do
    printf "%-24s %10.0f %10.3f %10.3f %8.0f\n" "reports $name" "$(median "$name" 2)" \
      "$(median "$name" 3)" "$(median "$name" 4)" "$(median "$name" 5)"
  done
  echo "per round (edge req/s p50 p99 non-2xx CPU-us-per-validation):"
  sed 's/^/  /' "$out/rounds.txt"
  echo "edge with reports: $(scrape "${admin[on]}" le_edge_reports_total) reports," \
    "$(scrape "${admin[on]}" le_edge_validation_failures_reported_total) failures reported," \
    "usage entries dropped: $(scrape "${admin[on]}" 'le_edge_report_entries_dropped_total{kind="usage",reason="full"}') (tally full)," \
    "$(scrape "${admin[on]}" 'le_edge_report_entries_dropped_total{kind="usage",reason="buffer"}') (buffer)"
  if [[ "$primary_during" == 1 ]]; then
    echo "primary: running during the rounds"
  else
    echo "primary: stopped during the rounds, then applied the waiting reports"
  fi
  echo "primary: $(applied) reports applied," \
    "$(scrape "$primary_admin" le_primary_usage_entries_total) usage entries," \
    "$(scrape "$primary_admin" le_primary_validation_failures_received_total) failures received"
  echo "CPU seconds over the rounds (user + system):"
  for name in on off; do
    awk -v n="$name" -v c0="${cpu0[$name]}" -v c1="${cpu1[$name]}" -v r0="${req0[$name]}" \
      -v r1="${req1[$name]}" 'BEGIN { printf "  edge %-3s %8.2f s for %d validations: %.2f us each\n",
        n, c1 - c0, r1 - r0, (r1 > r0) ? (c1 - c0) * 1e6 / (r1 - r0) : 0 }'
  done
  for name in on off; do
    # The edge's CPU by thread, in µs per validation: where reporting costs what it costs.
    join -a 2 -e 0 -o 0,1.2,2.2 "$out/threads0-$name.txt" "$out/threads1-$name.txt" |
      awk -v n="$name" -v r="$(( ${req1[$name]} - ${req0[$name]} ))" '
        { d = $3 - $2; if (d > 0) printf "%s %.3f\n", $1, d * 1e6 / r }' |
      sort -k2 -gr | awk -v n="$name" '{ t = t sprintf(" %s %s", $1, $2) }
        END { printf "  edge %-3s by thread (us per validation):%s\n", n, t }'
  done
  for name in nats primary; do
    awk -v n="$name" -v c0="${cpu0[$name]}" -v c1="${cpu1[$name]}" \
      'BEGIN { printf "  %-8s %8.2f s\n", n, c1 - c0 }'
  done
  awk -v on0="${cpu0[on]}" -v on1="${cpu1[on]}" -v onr0="${req0[on]}" -v onr1="${req1[on]}" \
    -v off0="${cpu0[off]}" -v off1="${cpu1[off]}" -v offr0="${req0[off]}" -v offr1="${req1[off]}" \
    'BEGIN { printf "reports on/off CPU per validation ratio: %.3f\n",
      ((on1 - on0) / (onr1 - onr0)) / ((off1 - off0) / (offr1 - offr0)) }'
  round_ratio() {  # column what: the median over the rounds of on/off in that column
    awk -v c="$1" '$1 == "on" { on = $c } $1 == "off" { off = $c } NR % 2 == 0 { print on / off }' \
      "$out/rounds.txt" | sort -g | awk -v w="$2" '{ v[NR] = $1 } END {
        printf "reports on/off %s, median of the rounds: %.3f\n", w,
          (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
  }
  round_ratio 6 "CPU per validation ratio"
  round_ratio 2 "throughput ratio"
  awk -v a="$(median on 2)" -v b="$(median off 2)" \
    'BEGIN { printf "reports on/off throughput ratio: %.3f\n", a / b }'
} | tee "$out/summary.txt"
