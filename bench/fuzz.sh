#!/usr/bin/env bash
# Long fuzzing runs of every libFuzzer target (fuzz/), one after another on one core:
#   bench/fuzz.sh [SECONDS_PER_TARGET=1200] [MAX_RUNS_PER_TARGET=-1 (no limit)]
# Builds build-fuzz/ (clang-14, ASan + UBSan, coverage) if needed. Each target starts from its
# seed corpus (fuzz/corpus/<target>/, never written) plus the working corpus it grew in earlier
# runs (bench/results/fuzz/<target>/corpus). Crashes and property violations are saved as
# bench/results/fuzz/<target>/crash-*; the log is bench/results/fuzz/<target>.log. Prints the
# executions each target reached. Exit status 1 when any target found something.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-1200}"
runs="${2:--1}"
bash "$root/scripts/setup.sh"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
cmake -S "$root" -B "$root/build-fuzz" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLE_FUZZ=ON -DLE_BUILD_TESTS=OFF -DLE_BUILD_BENCH=OFF \
  -DLE_WERROR=OFF >/dev/null
cmake --build "$root/build-fuzz" -j "${LE_JOBS:-2}" --target fuzzers
status=0
for dir in "$root"/fuzz/corpus/*/; do
  target="$(basename "$dir")"
  out="$root/bench/results/fuzz/$target"
  mkdir -p "$out/corpus"
  # ASan's leak check runs at exit; a leak is reported like a crash.
  if ! "$root/build-fuzz/fuzz/${target}_fuzz" -max_total_time="$seconds" -runs="$runs" \
      -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" "$dir" >"$out.log" 2>&1; then
    status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out.log")
  per_s=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out.log")
  found=$(ls "$out" | grep -c -E '^(crash|leak|timeout|oom)-' || true)
  echo "$target: ${execs:-?} executions (${per_s:-?}/s), findings: $found in $out/," \
    "corpus: $out/corpus, log: $out.log"
done
exit $status
