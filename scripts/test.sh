#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, integration, end-to-end,
# fuzz) twice: on the Release build, then on an AddressSanitizer + UndefinedBehaviorSanitizer
# build (build-asan/), and the lock-free structures' tests (rate limiter, record cache) and the
# deferred responses and webhook deliveries once more under ThreadSanitizer (build-tsan/), and every libFuzzer target
# for a few seconds from its seed corpus (build-fuzz/, clang; bench/fuzz.sh runs them long).
# LE_SKIP_SANITIZERS=1 runs the Release suite only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${LE_JOBS:-2}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}" CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
bash "$root/scripts/build.sh"
echo "== our C++ is formatted as .clang-format says"
(cd "$root" && git ls-files '*.cpp' '*.h' | grep -E '^(src|tests|fuzz|bench)/' |
  xargs clang-format-14 --dry-run --Werror)
# Label "scale": the 1M-license and latency runs (minutes); see README "Measuring".
(cd "$root/build" && ctest -j "$jobs" --output-on-failure --timeout 600 -LE scale "$@")

if [[ "${LE_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "== the same suite under AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLE_SANITIZE=ON -DLE_BUILD_BENCH=OFF -DLE_WERROR=OFF >/dev/null
  cmake --build "$root/build-asan" -j "$jobs"
  (cd "$root/build-asan" &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest -j "$jobs" --output-on-failure --timeout 900 -LE scale "$@")
fi

if [[ "${LE_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "== the rate limiter, record cache, memory view, deferred-response, webhook delivery and edge report tests under ThreadSanitizer"
  cmake -S "$root" -B "$root/build-tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLE_TSAN=ON -DLE_BUILD_BENCH=OFF -DLE_WERROR=OFF >/dev/null
  cmake --build "$root/build-tsan" -j "$jobs" --target ratelimit_test cache_test deferred_test store_test delivery_test \
    edge_failure_counting_test
  (cd "$root/build-tsan" && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp \
    ctest -j "$jobs" --output-on-failure --timeout 900 -R '^(SlidingWindow|RecordCacheTest|Doorkeeper|Deferred|MemoryView|Deliveries|Reporter)')
fi

if [[ "${LE_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "== every fuzz target briefly (libFuzzer, ASan + UBSan), from its seed corpus"
  cmake -S "$root" -B "$root/build-fuzz" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLE_FUZZ=ON -DLE_BUILD_TESTS=OFF -DLE_BUILD_BENCH=OFF \
    -DLE_WERROR=OFF >/dev/null
  cmake --build "$root/build-fuzz" -j "$jobs" --target fuzzers
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  artifacts="$root/build-fuzz/artifacts"
  mkdir -p "$artifacts"
  for dir in "$root"/fuzz/corpus/*/; do
    target="$(basename "$dir")"
    mkdir -p "$scratch/$target"
    # The seed corpus is read only; new inputs go to the scratch directory, a crashing input to
    # build-fuzz/artifacts/ (kept for reproduction: <target>_fuzz <file>).
    if ! "$root/build-fuzz/fuzz/${target}_fuzz" -max_total_time="${LE_FUZZ_SECONDS:-5}" \
        -artifact_prefix="$artifacts/$target-" "$scratch/$target" "$dir" \
        >"$scratch/$target.log" 2>&1; then
      tail -40 "$scratch/$target.log"
      echo "fuzz target $target failed; input saved under $artifacts/$target-*" >&2
      exit 1
    fi
    echo "fuzz $target: $(grep -o 'Done [0-9]* runs' "$scratch/$target.log")"
  done
fi
