// Writes snapshots of the primary's records to the JetStream Object Store for edges to start
// from (replication/snapshot.h): every `interval` when the stream moved on since the last one,
// and when asked (POST /admin/v1/snapshots). Each is exported at one point in time from
// RocksDB (PrimaryStore::export_snapshot) into a scratch directory, uploaded as one object, and
// all but the newest `keep` are deleted.
//
// Thread-safety: start()/stop() from one controlling thread; request() and stats from any.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "nats/jetstream.h"
#include "nats/worker.h"
#include "primary/primary_store.h"

namespace le::primary {

struct SnapshotWriterOptions {
  nats::NatsOptions nats;
  std::string dir;  // scratch directory for the files (emptied before and after each snapshot)
  std::string bucket = "license-replica";
  std::chrono::seconds interval{300};  // 0: only when asked
  std::size_t keep = 3;
};

struct SnapshotWriterStats {
  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> last_seq{0};  // stream sequence the last snapshot covers
  std::atomic<std::uint64_t> last_bytes{0};
  std::atomic<std::uint64_t> last_records{0};
  std::atomic<std::int64_t> last_ms{0};      // export and upload
  std::atomic<std::int64_t> last_unix_s{0};  // when it was written
};

class SnapshotWriter {
 public:
  SnapshotWriter(PrimaryStore& store, SnapshotWriterOptions options);
  ~SnapshotWriter();
  void start();
  void stop();
  // Writes one at the next opportunity, whether or not the stream moved.
  void request();
  const SnapshotWriterStats& stats() const { return stats_; }
  const SnapshotWriterOptions& options() const { return options_; }

 private:
  void run();
  // Exports, uploads and prunes one snapshot; empty on success.
  std::string write_one(nats::JetStream& js);

  PrimaryStore& store_;
  SnapshotWriterOptions options_;
  SnapshotWriterStats stats_;
  bool requested_ = false;  // under worker_.mutex()
  // A snapshot of stats_.last_seq is in the bucket (written, or found there): the worker's own.
  bool covered_ = false;
  nats::Worker worker_{"snapshots"};
};

}  // namespace le::primary
