// Counting a failed validation on an I/O thread (FailureReporter::count: the thread's lock and
// its tally), by how many distinct licenses fail between two reports, against the tally's
// bound of 100,000; and encoding a full tally into reports.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/digest.h"
#include "core/failure_report.h"
#include "edge/failure_reporter.h"

namespace le::bench {
namespace {

std::vector<core::Digest> digests(std::size_t n) {
  std::vector<core::Digest> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = core::sha256("BNCH-" + std::to_string(i));
  return out;
}

void BM_FailureCount(benchmark::State& state) {
  const auto keys = digests(static_cast<std::size_t>(state.range(0)));
  edge::FailureReporter reporter(1, {});
  std::size_t i = 0;
  for (auto _ : state) {
    reporter.count(0, keys[i], core::FailureReason::kMachineNotActivated,
                   "not-a-machine-of-this-license");
    i = i + 1 == keys.size() ? 0 : i + 1;
  }
  state.counters["dropped"] = static_cast<double>(reporter.dropped());
}
BENCHMARK(BM_FailureCount)->ArgName("licenses")->Arg(1)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);

void BM_FailureReportEncode(benchmark::State& state) {
  const auto keys = digests(100'000);
  core::FailureTally tally(keys.size());
  for (const auto& k : keys) tally.add(k, 3, core::FailureReason::kMachineNotActivated, "device-7");
  std::string out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    for (auto rest = tally.counts(); !rest.empty();) {
      rest = rest.subspan(core::encode_failure_report(rest, 512 * 1024, out));
      bytes += out.size();
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(keys.size()));
}
BENCHMARK(BM_FailureReportEncode)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace le::bench
