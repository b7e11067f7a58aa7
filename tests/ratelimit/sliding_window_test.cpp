#include "ratelimit/sliding_window.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <thread>
#include <unordered_map>

namespace le::ratelimit {
namespace {

constexpr std::int64_t kW = 60'000;
constexpr std::int64_t kT0 = 1'700'000'040'000;  // a window boundary (multiple of 60 s)

SlidingWindowLimiter small(std::size_t log2 = 12) { return SlidingWindowLimiter({log2, kW, 16}); }

int admit(SlidingWindowLimiter& l, std::uint64_t key, std::uint32_t limit, std::int64_t t, int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += l.check(key, limit, t).allowed;
  return ok;
}

TEST(SlidingWindow, AdmitsUpToTheLimitWithinAWindow) {
  auto l = small();
  EXPECT_EQ(admit(l, 7, 10, kT0 + 1000, 15), 10);
  const Decision d = l.check(7, 10, kT0 + 2000);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.reset_unix_s, (kT0 + kW) / 1000);
}

TEST(SlidingWindow, RemainingCountsDown) {
  auto l = small();
  for (std::uint32_t i = 0; i < 5; ++i) {
    const Decision d = l.check(1, 5, kT0);
    ASSERT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 4 - i);
    EXPECT_EQ(d.limit, 5u);
  }
}

TEST(SlidingWindow, BurstAtWindowEdgeIsNotDoubled) {
  // A fixed window would admit 10 at 59.9 s and 10 more at 60.0 s; the sliding window does not.
  auto l = small();
  EXPECT_EQ(admit(l, 1, 10, kT0 + kW - 100, 10), 10);
  EXPECT_EQ(admit(l, 1, 10, kT0 + kW, 10), 0);
  EXPECT_EQ(admit(l, 1, 10, kT0 + kW + 100, 10), 0);  // 10 * 0.998 + 0 = 9.98 + 1 > 10
}

struct WeightCase {
  std::int64_t elapsed_ms;  // into the second window
  int admitted;             // of 10 more, with 10 in the previous window and limit 10
};

class SlidingWindowWeight : public ::testing::TestWithParam<WeightCase> {};

TEST_P(SlidingWindowWeight, PreviousWindowCountsByItsRemainingShare) {
  auto l = small();
  ASSERT_EQ(admit(l, 9, 10, kT0 + 500, 10), 10);
  // Estimate = 10 * (W - e) / W + cur: admitted while estimate + 1 <= 10.
  EXPECT_EQ(admit(l, 9, 10, kT0 + kW + GetParam().elapsed_ms, 10), GetParam().admitted);
}

INSTANTIATE_TEST_SUITE_P(PointsOfAWindow, SlidingWindowWeight,
                         ::testing::Values(WeightCase{0, 0}, WeightCase{5'999, 0},
                                           WeightCase{6'000, 1}, WeightCase{15'000, 2},
                                           WeightCase{30'000, 5}, WeightCase{45'000, 7},
                                           WeightCase{54'000, 9}, WeightCase{59'999, 9},
                                           WeightCase{60'000, 10}));

TEST(SlidingWindow, RolloverForgetsAfterTwoWindows) {
  auto l = small();
  ASSERT_EQ(admit(l, 3, 10, kT0, 10), 10);
  EXPECT_EQ(admit(l, 3, 10, kT0 + 2 * kW, 10), 10);  // previous window empty, current fresh
}

TEST(SlidingWindow, RetryAfterPointsAtTheFirstAdmission) {
  for (std::int64_t start : {std::int64_t{0}, std::int64_t{20'000}, std::int64_t{59'000}}) {
    auto l = small();
    ASSERT_EQ(admit(l, 4, 10, kT0 + start, 10), 10);
    const std::int64_t now = kT0 + kW + 1'000;
    const Decision d = l.check(4, 10, now);
    ASSERT_FALSE(d.allowed);
    ASSERT_GE(d.retry_after_s, 1u);
    EXPECT_TRUE(l.check(4, 10, now + d.retry_after_s * 1000).allowed) << start;
    // And not much earlier: a second before that, still refused (when retry > 1 s).
    if (d.retry_after_s > 1) {
      auto l2 = small();
      ASSERT_EQ(admit(l2, 4, 10, kT0 + start, 10), 10);
      EXPECT_FALSE(l2.check(4, 10, now + (d.retry_after_s - 1) * 1000 - 1).allowed) << start;
    }
  }
}

TEST(SlidingWindow, DistinctKeysHaveDistinctCounters) {
  auto l = small();
  EXPECT_EQ(admit(l, limiter_key('i', "1.2.3.4", 7), 3, kT0, 5), 3);
  EXPECT_EQ(admit(l, limiter_key('l', "1.2.3.4", 7), 3, kT0, 5), 3);  // same bytes, other kind
  EXPECT_EQ(admit(l, limiter_key('i', "1.2.3.5", 7), 3, kT0, 5), 3);
}

TEST(SlidingWindow, ManyKeysEachGetExactlyTheirLimit) {
  SlidingWindowLimiter l({18, kW, 32});
  std::mt19937_64 rng(5);
  std::vector<std::uint64_t> keys(100'000);
  for (auto& k : keys) k = rng();
  for (int round = 0; round < 7; ++round) {
    for (auto k : keys) (void)l.check(k, 5, kT0 + round);
  }
  for (auto k : keys) ASSERT_FALSE(l.check(k, 5, kT0 + 10).allowed);
  EXPECT_EQ(l.evictions(), 0u);
  EXPECT_EQ(l.untracked(), 0u);
}

TEST(SlidingWindow, FullTableEvictsTheQuietestKey) {
  SlidingWindowLimiter l({2, kW, 4});  // 4 slots, one probe run
  for (std::uint64_t k = 1; k <= 3; ++k) ASSERT_EQ(admit(l, k * 0x1000, 10, kT0, 5), 5);
  ASSERT_TRUE(l.check(0x4000, 10, kT0).allowed);  // the quietest: one request
  const Decision d = l.check(0x5000, 1, kT0);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.tracked);
  EXPECT_EQ(l.evictions(), 1u);
  EXPECT_FALSE(l.check(0x5000, 1, kT0).allowed);  // the newcomer is limited exactly
  // The busy keys kept their counts: 5 more each, then refused.
  for (std::uint64_t k = 1; k <= 3; ++k) EXPECT_EQ(admit(l, k * 0x1000, 10, kT0, 8), 5);
  EXPECT_EQ(l.untracked(), 0u);
}

TEST(SlidingWindow, FloodOfDistinctKeysCannotUnlimitABusyKey) {
  SlidingWindowLimiter l({8, kW, 16});  // 256 slots
  std::mt19937_64 rng(9);
  int busy_allowed = 0;
  for (int i = 0; i < 100'000; ++i) {
    (void)l.check(rng() | 1, 100, kT0 + i / 10);  // one-off keys, far more than slots
    if (i % 100 == 0) busy_allowed += l.check(0xB05Bull << 20, 100, kT0 + i / 10).allowed;
  }
  EXPECT_EQ(busy_allowed, 100);  // 1000 attempts within one window: exactly the limit
  EXPECT_GT(l.evictions(), 0u);
}

TEST(SlidingWindow, IdleEntriesAreReclaimed) {
  SlidingWindowLimiter l({2, kW, 4});
  for (std::uint64_t k = 1; k <= 4; ++k) ASSERT_TRUE(l.check(k * 0x1000, 1, kT0).tracked);
  // Two windows later every entry is idle: new keys take their slots without evicting anyone.
  for (std::uint64_t k = 5; k <= 8; ++k) {
    ASSERT_TRUE(l.check(k * 0x1000, 1, kT0 + 2 * kW).tracked);
    EXPECT_FALSE(l.check(k * 0x1000, 1, kT0 + 2 * kW).allowed);
  }
  EXPECT_EQ(l.evictions(), 0u);
  // An old key coming back finds a full run of busy keys: it evicts the quietest and starts over.
  EXPECT_TRUE(l.check(0x1000, 1, kT0 + 2 * kW).allowed);
  EXPECT_EQ(l.evictions(), 1u);
}

TEST(SlidingWindow, ConcurrentChecksLoseNoCount) {
  SlidingWindowLimiter l({12, kW, 16});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50'000;
  std::atomic<int> shared_allowed{0};
  std::atomic<int> own_allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int shared = 0, own = 0;
      for (int i = 0; i < kPerThread; ++i) {
        shared += l.check(42, 60'000, kT0 + 1).allowed;     // one key, all threads
        own += l.check(1000 + t, 30'000, kT0 + 1).allowed;  // a key per thread
      }
      shared_allowed += shared;
      own_allowed += own;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(shared_allowed.load(), 60'000);  // exactly the limit of 200,000 attempts
  EXPECT_EQ(own_allowed.load(), kThreads * 30'000);
  EXPECT_FALSE(l.check(42, 60'000, kT0 + 2).allowed);
}

TEST(SlidingWindow, ConcurrentEvictionKeepsBusyKeysExact) {
  // 64 slots churned by one-off keys from every thread while all threads hammer one busy key:
  // the busy key is never the quietest, so it is never evicted and its count stays exact.
  SlidingWindowLimiter l({6, kW, 16});
  constexpr int kThreads = 4;
  std::atomic<int> busy_allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      int allowed = 0;
      for (int i = 0; i < 20'000; ++i) {
        (void)l.check(rng() | 1, 1000, kT0 + 1);
        allowed += l.check(0xB05Bull << 40, 1000, kT0 + 1).allowed;
      }
      busy_allowed += allowed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(busy_allowed.load(), 1000);
  EXPECT_GT(l.evictions(), 0u);
}

// --- Accuracy against an exact sliding-window log --------------------------------------------

struct ExactLog {
  std::deque<std::int64_t> admitted;
  bool would_admit(std::uint32_t limit, std::int64_t now) {
    while (!admitted.empty() && admitted.front() <= now - kW) admitted.pop_front();
    return admitted.size() < limit;
  }
};

// Two measures. Per decision: was this decision the one an exact sliding log over the requests
// actually admitted would make? Independent: an exact limiter run on its own history beside the
// approximation (their histories drift apart after a difference, which compounds).
struct Accuracy {
  std::uint64_t requests = 0, wrongly_allowed = 0, wrongly_refused = 0;
  std::uint64_t independent_differ = 0;
  double allowed_share() const { return 100.0 * wrongly_allowed / requests; }
  double refused_share() const { return 100.0 * wrongly_refused / requests; }
  double independent_share() const { return 100.0 * independent_differ / requests; }
};

// Each key sends requests at `rate_of(key)` per window, either spread (Poisson) or in bursts.
template <typename RateOf>
Accuracy simulate(int keys, std::uint32_t limit, int windows, bool bursty, RateOf rate_of,
                  std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  struct Event {
    std::int64_t t;
    int key;
  };
  std::vector<Event> events;
  for (int k = 0; k < keys; ++k) {
    const double per_ms = rate_of(k, rng) / static_cast<double>(kW);
    std::exponential_distribution<double> gap(bursty ? per_ms / 20 : per_ms);
    for (double t = gap(rng); t < windows * kW; t += gap(rng)) {
      const int n = bursty ? 20 : 1;  // a burst: 20 requests within ~200 ms
      for (int i = 0; i < n; ++i)
        events.push_back({kT0 + static_cast<std::int64_t>(t) + i * 10, k});
    }
  }
  std::sort(events.begin(), events.end(), [](auto& a, auto& b) { return a.t < b.t; });
  SlidingWindowLimiter approx({16, kW, 32});
  std::vector<ExactLog> history(keys);      // what the approximation admitted
  std::vector<ExactLog> independent(keys);  // an exact limiter's own admissions
  Accuracy a;
  for (const auto& e : events) {
    const bool exact = history[e.key].would_admit(limit, e.t);
    const bool y =
        approx.check(static_cast<std::uint64_t>(e.key) * 0x9E3779B97F4A7C15ull + 1, limit, e.t)
            .allowed;
    if (y) history[e.key].admitted.push_back(e.t);
    const bool z = independent[e.key].would_admit(limit, e.t);
    if (z) independent[e.key].admitted.push_back(e.t);
    ++a.requests;
    a.wrongly_allowed += (y && !exact);
    a.wrongly_refused += (!y && exact);
    a.independent_differ += (y != z);
  }
  return a;
}

void report(const char* name, const Accuracy& a) {
  std::printf(
      "[accuracy] %-30s requests %8llu  per decision: wrongly allowed %.4f%%, wrongly refused "
      "%.4f%%  independent exact limiter differs %.3f%%\n",
      name, static_cast<unsigned long long>(a.requests), a.allowed_share(), a.refused_share(),
      a.independent_share());
}

TEST(SlidingWindowAccuracy, AgainstExactLog) {
  // Keys under their limit: neither limiter may refuse anything.
  auto under = simulate(
      2000, 100, 30, false,
      [](int, auto& rng) { return std::uniform_real_distribution<double>(1, 40)(rng); }, 5);
  // Most keys far below their limit, 2% sustained at 1.5x: the shape of real API traffic.
  auto mixed = simulate(
      2000, 100, 30, false,
      [](int k, auto& rng) {
        return k % 50 == 0 ? 150.0 : std::uniform_real_distribution<double>(1, 60)(rng);
      },
      1);
  auto steady = simulate(
      300, 100, 30, false, [](int, auto&) { return 100.0; }, 2);
  auto near = simulate(
      300, 100, 30, false,
      [](int, auto& rng) { return std::uniform_real_distribution<double>(80, 120)(rng); }, 3);
  auto bursty = simulate(
      300, 100, 30, true,
      [](int, auto& rng) { return std::uniform_real_distribution<double>(50, 150)(rng); }, 4);
  report("all keys under their limit", under);
  report("mixed (2% of keys at 1.5x)", mixed);
  report("steady at the limit", steady);
  report("many keys near their limit", near);
  report("bursty around the limit", bursty);
  EXPECT_EQ(under.wrongly_allowed + under.wrongly_refused + under.independent_differ, 0u);
  // Every difference comes from keys at or over their limit, where each request is a boundary
  // decision. The simulation is deterministic; these bounds (measured + ~10%) guard the
  // arithmetic against regressions.
  EXPECT_LT(mixed.allowed_share(), 0.8);
  EXPECT_LT(mixed.refused_share(), 2.2);
  EXPECT_LT(steady.allowed_share() + steady.refused_share(), 15.5);
  EXPECT_LT(near.allowed_share() + near.refused_share(), 14.0);
  EXPECT_LT(bursty.allowed_share() + bursty.refused_share(), 26.5);
}

}  // namespace
}  // namespace le::ratelimit
