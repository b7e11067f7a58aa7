#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, integration, end-to-end,
# fuzz) twice: on the Release build, then on an AddressSanitizer + UndefinedBehaviorSanitizer
# build (build-asan/), and the lock-free structures' tests (rate limiter, record cache) and the
# deferred responses once more under ThreadSanitizer (build-tsan/). LE_SKIP_SANITIZERS=1 runs the Release suite only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${LE_JOBS:-2}"
bash "$root/scripts/build.sh"
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
  echo "== the rate limiter, record cache and deferred-response tests under ThreadSanitizer"
  cmake -S "$root" -B "$root/build-tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLE_TSAN=ON -DLE_BUILD_BENCH=OFF -DLE_WERROR=OFF >/dev/null
  cmake --build "$root/build-tsan" -j "$jobs" --target ratelimit_test cache_test deferred_test
  (cd "$root/build-tsan" && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest -j "$jobs" --output-on-failure --timeout 900 -R '^(SlidingWindow|RecordCacheTest|Doorkeeper|Deferred)')
fi
