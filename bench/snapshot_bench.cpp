// What the replica's snapshots and self-check cost per record, over a store of 200,000
// licenses in RocksDB: the self-check's range digests (a full scan at one point in time, on the
// primary's publisher thread and the edge's consumer thread once per --check-interval-s), the
// primary's export as SST files, and an empty edge's ingestion of them with its memory view.
// items_per_second is records.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "bench_data.h"
#include "store/record_store.h"

namespace le::bench {
namespace {

constexpr std::uint64_t kRecords = 200'000;

std::string scratch(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("le-snapshot-bench-" + std::to_string(::getpid())) / name)
      .string();
}

struct Source {
  std::unique_ptr<store::RecordStore> db;
  Source() {
    std::filesystem::create_directories(scratch(""));
    store::RecordStoreOptions o{scratch("source")};
    o.extra_column_families = {"meta"};
    db = store::RecordStore::open(o).value();
    std::vector<core::ChangeEvent> batch;
    for (std::uint64_t i = 0; i < kRecords; ++i) {
      batch.push_back(core::ChangeEvent{i + 1, "", false, bench_license(i)});
      if (batch.size() == 10'000) {
        db->apply(batch, i + 1).value();
        batch.clear();
      }
    }
    db->compact().value();
  }
  ~Source() {
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(scratch(""), ec);
  }
};

Source& source() {
  static Source s;
  return s;
}

void BM_RangeDigests(benchmark::State& state) {
  auto& db = *source().db;
  for (auto _ : state) benchmark::DoNotOptimize(db.range_digests().value());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRecords));
}
BENCHMARK(BM_RangeDigests)->Unit(benchmark::kMillisecond);

void BM_ExportSnapshot(benchmark::State& state) {
  auto& db = *source().db;
  for (auto _ : state) {
    benchmark::DoNotOptimize(db.export_snapshot(scratch("export"), 0, "none").value());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRecords));
}
BENCHMARK(BM_ExportSnapshot)->Unit(benchmark::kMillisecond);

void BM_IngestSnapshotIntoAnEmptyEdge(benchmark::State& state) {
  auto& db = *source().db;
  int round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string dir = scratch("ingest-" + std::to_string(round));
    auto files = db.export_snapshot(dir + "-files", 0, "none").value();
    store::RecordStoreOptions o{dir};
    o.memory_view = true;
    o.wal = false;
    auto edge = store::RecordStore::open(o).value();
    state.ResumeTiming();
    benchmark::DoNotOptimize(edge->ingest_snapshot(files.files, 1).value());
    state.PauseTiming();
    edge.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::remove_all(dir + "-files", ec);
    ++round;
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRecords));
}
BENCHMARK(BM_IngestSnapshotIntoAnEmptyEdge)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace le::bench
