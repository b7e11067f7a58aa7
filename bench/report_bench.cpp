// What an edge's reports cost: counting on an I/O thread (Reporter::count_failure and
// count_validation: the thread's lock, its tally, and for usage the distinct-count sketches),
// by how many distinct licenses are seen between two flushes; adding to a sketch; and encoding a
// flush's tallies into report messages.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/digest.h"
#include "core/edge_report.h"
#include "edge/reporter.h"

namespace le::bench {
namespace {

std::vector<core::Digest> digests(std::size_t n) {
  std::vector<core::Digest> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = core::sha256("BNCH-" + std::to_string(i));
  return out;
}

// Stands for what serving a request touches besides counting it: writes to a buffer of
// `bytes`, a few cache lines a call, far apart.
class Evictor {
 public:
  explicit Evictor(std::size_t bytes) : lines_(bytes / 8) {}
  void touch() {
    for (int k = 0; k < 8 && !lines_.empty(); ++k) {
      lines_[next_] += 1;
      next_ = (next_ + 4099) % lines_.size();
    }
  }

 private:
  std::vector<std::uint64_t> lines_;
  std::size_t next_ = 0;
};

std::vector<core::LicenseRecord> licenses(std::size_t n) {
  std::vector<core::LicenseRecord> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].id = "lic_" + std::to_string(1'000'000 + i);
    out[i].account_id = "acc_" + std::to_string(i % 50);
    out[i].product_id = "prod_1";
  }
  return out;
}

void BM_FailureCount(benchmark::State& state) {
  const auto keys = digests(static_cast<std::size_t>(state.range(0)));
  edge::Reporter reporter(1, {});
  std::size_t i = 0;
  for (auto _ : state) {
    reporter.count_failure(0, keys[i], core::FailureReason::kMachineNotActivated,
                           "not-a-machine-of-this-license");
    i = i + 1 == keys.size() ? 0 : i + 1;
  }
  state.counters["dropped"] =
      static_cast<double>(reporter.dropped_full(edge::ReportKind::kFailures));
}
BENCHMARK(BM_FailureCount)->ArgName("licenses")->Arg(1)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);

// One validation as the edge counts it: outcome, last time, machine and IP sketches.
void BM_UsageCount(benchmark::State& state) {
  const auto lics = licenses(static_cast<std::size_t>(state.range(0)));
  edge::Reporter reporter(1, {});
  const std::string ip("\xcb\x00\x71\x09", 4);
  std::size_t i = 0;
  std::int64_t now_ms = 1'763'856'000'000;
  for (auto _ : state) {
    const auto& l = lics[i];
    reporter.count_validation(0, l.account_id, l.mode, &l, core::UsageOutcome::kValid, ++now_ms,
                              "device-fingerprint-7", ip);
    i = i + 1 == lics.size() ? 0 : i + 1;
  }
  state.counters["dropped"] = static_cast<double>(reporter.dropped_full(edge::ReportKind::kUsage));
}
BENCHMARK(BM_UsageCount)->ArgName("licenses")->Arg(1)->Arg(10'000)->Arg(100'000);

// The worst case an edge meets: every validation a license not seen since the last flush, the
// tally taken (as a flush takes it) whenever it is three-quarters full, and a cache the size of
// a replica's working set evicted between two counts, as serving the next request would.
void BM_UsageCountDistinctFlushed(benchmark::State& state) {
  const auto lics = licenses(1'000'000);
  edge::ReporterOptions options;
  edge::Reporter reporter(1, options);
  const std::string ip("\xcb\x00\x71\x09", 4);
  Evictor evict(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0, counted = 0;
  std::int64_t now_ms = 1'763'856'000'000;
  for (auto _ : state) {
    const auto& l = lics[i];
    const std::uint64_t h = reporter.prefetch_usage(0, l, now_ms);
    evict.touch();  // serving the request
    reporter.count_validation(0, l.account_id, l.mode, &l, core::UsageOutcome::kValid, ++now_ms,
                              "device-fingerprint-7", ip, h);
    i = i + 1 == lics.size() ? 0 : i + 1;
    if (++counted == options.max_usage_per_thread * 3 / 4) {
      state.PauseTiming();
      reporter.take([](const auto&, const auto&, const auto&, const auto&) {});
      counted = 0;
      state.ResumeTiming();
    }
  }
  state.counters["dropped"] = static_cast<double>(reporter.dropped_full(edge::ReportKind::kUsage));
}
BENCHMARK(BM_UsageCountDistinctFlushed)->ArgName("evict_bytes")->Arg(0)->Arg(64 << 20);

// The same for failed validations: every one a license not seen since the last flush, prefetched
// when the failure is known and counted after a cache's worth of other work.
void BM_FailureCountDistinctFlushed(benchmark::State& state) {
  const auto keys = digests(1'000'000);
  edge::ReporterOptions options;
  edge::Reporter reporter(1, options);
  Evictor evict(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0, counted = 0;
  for (auto _ : state) {
    const std::uint64_t h = reporter.prefetch_failure(0, keys[i]);
    evict.touch();  // writing the answer
    reporter.count_failure(0, keys[i], core::FailureReason::kMachineNotActivated,
                           "not-a-machine-of-this-license", h);
    i = i + 1 == keys.size() ? 0 : i + 1;
    if (++counted == options.max_failures_per_thread * 3 / 4) {
      state.PauseTiming();
      reporter.take([](const auto&, const auto&, const auto&, const auto&) {});
      counted = 0;
      state.ResumeTiming();
    }
  }
  state.counters["dropped"] =
      static_cast<double>(reporter.dropped_full(edge::ReportKind::kFailures));
}
BENCHMARK(BM_FailureCountDistinctFlushed)->ArgName("evict_bytes")->Arg(0)->Arg(64 << 20);

void BM_HllAdd(benchmark::State& state) {
  core::Hll h;
  std::uint64_t i = 0;
  for (auto _ : state) {
    h.add_hash(core::hll_hash(std::string_view(reinterpret_cast<const char*>(&i), sizeof i)));
    if (++i % static_cast<std::uint64_t>(state.range(0)) == 0) h.clear();
  }
  benchmark::DoNotOptimize(h.estimate());
}
BENCHMARK(BM_HllAdd)->ArgName("distinct")->Arg(2)->Arg(10'000);

// A flush of 100,000 licenses' usage and failures into report messages of 512 KiB.
void BM_ReportEncode(benchmark::State& state) {
  const auto keys = digests(100'000);
  const auto lics = licenses(keys.size());
  std::vector<core::UsageCount> usage(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    usage[i].account_id = lics[i].account_id;
    usage[i].license_id = lics[i].id;
    usage[i].product_id = lics[i].product_id;
    usage[i].day = 20'415;
    usage[i].validations[0] = 12;
    usage[i].last_validated_ms = 1'763'856'000'000;
    usage[i].machines.add("device-7");
    usage[i].ips.add("203.0.113.9");
  }
  core::ReportEncoder enc(512 * 1024);
  std::string out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::uint64_t seq = 1;
    enc.begin({"edge-1", 1, seq});
    auto add = [&](const auto& e) {
      if (!enc.add(e)) {
        enc.finish(out);
        bytes += out.size();
        enc.begin({"edge-1", 1, ++seq});
        enc.add(e);
      }
    };
    for (const auto& k : keys) {
      add(core::FailureCount{k, 3, core::FailureReason::kMachineNotActivated, "device-7"});
    }
    for (const auto& u : usage) add(u);
    enc.finish(out);
    bytes += out.size();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(2 * keys.size()));
  state.counters["bytes_per_entry"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations() * 2 * keys.size());
}
BENCHMARK(BM_ReportEncode)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace le::bench
