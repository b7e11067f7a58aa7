// The in-memory view's lookup (store/memory_view.h) in a view of 1,000,000 licenses, as the edge
// does per validation: the probe alone, and the probe plus the decode into a reused record. The
// argument is how many distinct licenses the traffic asks for (uniformly): all 1,000,000 (every
// lookup goes to memory: a slot and a block, two dependent cache misses) or a hot set of
// 10,000. The keys asked for are drawn beforehand and read in order, as a request's key is in
// cache when it is looked up. Besides the mean, each reports the distribution of single lookups
// (p50_ns, p99_ns, p999_ns), timed one by one with the clock's own cost subtracted.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "bench_data.h"
#include "core/codec.h"
#include "core/digest.h"
#include "store/keys.h"
#include "store/memory_view.h"

namespace le::bench {
namespace {

constexpr std::uint64_t kViewLicenses = 1'000'000;

struct SharedView {
  store::MemoryView view;
  std::vector<core::Digest> digests;
  SharedView() {
    view.reserve(store::KeySpace::kLicense, kViewLicenses);
    digests.reserve(kViewLicenses);
    for (std::uint64_t i = 0; i < kViewLicenses; ++i) {
      const auto l = bench_license(i);
      digests.push_back(l.key_digest);
      view.load(store::KeySpace::kLicense, store::digest_key(l.key_digest), core::encode_record(l));
    }
  }
};

SharedView& shared_view() {
  static SharedView v;
  return v;
}

// `distinct` keys drawn uniformly from the first `distinct` licenses, read in order (the
// hardware prefetches them; the slots and blocks they lead to are at random).
std::vector<core::Digest> queries(std::size_t distinct, std::uint64_t seed) {
  auto& v = shared_view();
  std::mt19937_64 rng(seed);
  std::vector<core::Digest> out(distinct);
  for (auto& d : out) d = v.digests[rng() % std::min(distinct, v.digests.size())];
  return out;
}

// Per-lookup latency percentiles of `lookup(digest)` over `n` lookups of `keys`.
template <typename Lookup>
void report_percentiles(benchmark::State& state, const std::vector<core::Digest>& keys,
                        Lookup lookup, std::size_t n = 200'000) {
  std::vector<std::int64_t> samples(n), clock_cost(n);
  using Clock = std::chrono::steady_clock;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& d = keys[i % keys.size()];
    const auto t0 = Clock::now();
    lookup(d);
    const auto t1 = Clock::now();
    const auto t2 = Clock::now();
    samples[i] = (t1 - t0).count();
    clock_cost[i] = (t2 - t1).count();
  }
  std::sort(samples.begin(), samples.end());
  std::sort(clock_cost.begin(), clock_cost.end());
  const double cost = static_cast<double>(clock_cost[n / 2]);
  auto pct = [&](double p) {
    return std::max(0.0,
                    static_cast<double>(samples[static_cast<std::size_t>(p * (n - 1))]) - cost);
  };
  state.counters["p50_ns"] = pct(0.50);
  state.counters["p99_ns"] = pct(0.99);
  state.counters["p999_ns"] = pct(0.999);
}

void BM_ViewLookup(benchmark::State& state) {
  auto& v = shared_view();
  const auto keys = queries(static_cast<std::size_t>(state.range(0)), 1);
  std::size_t found = 0, i = 0;
  auto lookup = [&](const core::Digest& d) {
    found += v.view.read(store::KeySpace::kLicense, store::digest_key(d),
                         [](std::string_view value) { benchmark::DoNotOptimize(value.data()); });
  };
  for (auto _ : state) lookup(keys[i++ % keys.size()]);
  report_percentiles(state, keys, lookup);
  if (found == 0) state.SkipWithError("nothing found");
}
BENCHMARK(BM_ViewLookup)->Arg(1'000'000)->Arg(10'000);

void BM_ViewLookupAndDecode(benchmark::State& state) {
  auto& v = shared_view();
  const auto keys = queries(static_cast<std::size_t>(state.range(0)), 2);
  core::LicenseRecord scratch;
  core::StoredHeader header;
  std::size_t decoded = 0, i = 0;
  auto lookup = [&](const core::Digest& d) {
    v.view.read(store::KeySpace::kLicense, store::digest_key(d), [&](std::string_view value) {
      decoded += core::decode_record(value, scratch, header);
    });
  };
  for (auto _ : state) lookup(keys[i++ % keys.size()]);
  report_percentiles(state, keys, lookup);
  if (decoded == 0) state.SkipWithError("nothing decoded");
}
BENCHMARK(BM_ViewLookupAndDecode)->Arg(1'000'000)->Arg(10'000);

}  // namespace
}  // namespace le::bench
