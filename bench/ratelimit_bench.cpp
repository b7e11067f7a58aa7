// Rate-limit check cost: one thread, and all threads on one shared key vs. a key each.
#include <benchmark/benchmark.h>

#include "ratelimit/sliding_window.h"

namespace le::bench {
namespace {

ratelimit::SlidingWindowLimiter& limiter() {
  static ratelimit::SlidingWindowLimiter l;
  return l;
}

constexpr std::int64_t kNow = 1'700'000'040'000;

void BM_RateLimitCheckDistinctKeys(benchmark::State& state) {
  auto& l = limiter();
  // Each thread cycles over its own 1024 keys (limit high enough never to refuse).
  std::uint64_t base = 0x1000000ull * static_cast<std::uint64_t>(state.thread_index() + 1);
  std::uint64_t i = 0;
  for (auto _ : state) {
    auto d = l.check(ratelimit::limiter_key('b', &(base), sizeof base) + (i++ & 1023), 50000, kNow);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_RateLimitCheckDistinctKeys)->Threads(1)->Threads(2);

void BM_RateLimitCheckSharedKey(benchmark::State& state) {
  auto& l = limiter();
  std::int64_t t = kNow;
  std::uint64_t i = 0;
  for (auto _ : state) {
    // Advance time so the shared key keeps being admitted (a fresh window every 50k checks).
    if ((++i & 0xFFFF) == 0) t += 120'000;
    auto d = l.check(0xABCDEF, ratelimit::SlidingWindowLimiter::kMaxLimit, t);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_RateLimitCheckSharedKey)->Threads(1)->Threads(2);

}  // namespace
}  // namespace le::bench
