// Micro-benchmarks of the lookup path: per-thread cache hit, replica read on a miss, and the
// whole validate decision (parse + digest + cached lookup + decide + serialize).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>

#include "bench_data.h"
#include "cache/record_cache.h"
#include "core/validate.h"

namespace le::bench {
namespace {

constexpr std::uint64_t kLicenses = 200000;

// One replica for the whole binary, built on first use.
struct SharedReplica {
  std::string path;
  std::unique_ptr<store::RecordStore> replica;
  cache::InvalidationStamps stamps;
  SharedReplica() {
    path = (std::filesystem::temp_directory_path() / ("le-bench-" + std::to_string(::getpid())))
               .string();
    replica = std::move(store::RecordStore::open({path}).value());
    std::vector<core::ChangeEvent> batch;
    for (std::uint64_t i = 0; i < kLicenses; ++i) {
      core::ChangeEvent ev;
      ev.record = bench_license(i);
      batch.push_back(std::move(ev));
      if (batch.size() == 10000) {
        (void)replica->apply(batch, i + 1).value();
        batch.clear();
      }
    }
  }
  ~SharedReplica() {
    replica.reset();
    std::filesystem::remove_all(path);
  }
};

SharedReplica& shared() {
  static SharedReplica r;
  return r;
}

void BM_CacheHit(benchmark::State& state) {
  auto& s = shared();
  cache::RecordCache cache(*s.replica, s.stamps);
  const core::Digest d = core::sha256(bench_key(42));
  (void)cache.license(d);
  for (auto _ : state) {
    auto l = cache.license(d);
    benchmark::DoNotOptimize(l);
  }
}
BENCHMARK(BM_CacheHit);

// A replica read + decode for every lookup (cache of one entry, random keys), with p50/p99.
void BM_StoreMiss(benchmark::State& state) {
  auto& s = shared();
  cache::RecordCache cache(*s.replica, s.stamps, cache::CacheCapacity{1, 1});
  std::mt19937_64 rng(7);
  std::vector<core::Digest> keys;
  for (int i = 0; i < 4096; ++i) keys.push_back(core::sha256(bench_key(rng() % kLicenses)));
  std::vector<double> ns;
  ns.reserve(1 << 20);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto l = cache.license(keys[i++ & 4095]);
    benchmark::DoNotOptimize(l);
    ns.push_back(
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
  }
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  state.counters["p50_ns"] = ns[ns.size() / 2];
  state.counters["p99_ns"] = ns[ns.size() * 99 / 100];
}
BENCHMARK(BM_StoreMiss);

void BM_FullValidate(benchmark::State& state) {
  auto& s = shared();
  cache::RecordCache cache(*s.replica, s.stamps);
  std::vector<std::string> bodies;
  for (int i = 0; i < 1024; ++i) {
    bodies.push_back(R"({"license_key":")" + bench_key(static_cast<std::uint64_t>(i)) + R"("})");
  }
  std::string out;
  std::size_t i = 0;
  for (auto _ : state) {
    auto parsed = core::parse_validate_request(bodies[i++ & 1023]);
    const auto& req = std::get<core::ValidateRequest>(parsed);
    auto lic = cache.license(core::sha256(req.license_key)).value();
    auto d = core::decide_validate(req, nullptr, lic.get(), 1700000000);
    core::write_validate_response(out, std::get<core::ValidateOutcome>(d), req.license_key,
                                  1700000000);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_FullValidate);

}  // namespace
}  // namespace le::bench
