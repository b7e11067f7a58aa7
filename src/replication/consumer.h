// The edge's replication consumer: follows the JetStream change stream from applied_seq + 1 and
// applies it to the replica in batches — one WriteBatch per batch that also records applied_seq,
// version-checked, tombstones included — then invalidates exactly the cache entries it changed.
//
// It runs on its own thread (NATS and RocksDB writes block; I/O threads never wait on them). A
// lost connection is retried with backoff while the edge keeps serving its replica. A message
// that does not decode is logged, counted and skipped; replication goes on.
//
// Connection health: libnats reconnects a lost connection by itself, under a session that goes
// on, so `connected` and `reconnects` are kept by the connection's callbacks (a
// nats::ConnectionWatch): `connected` is false from the moment the server is lost until it is
// back.
// While disconnected the edge cannot learn the stream's head: `head_seq` keeps the last one
// known (the lag is then a lower bound) and `last_apply_ms` stays where it was, so the time
// since the last apply keeps growing.
//
// Readiness: caught_up() turns true once the replica has reached the stream's last sequence as
// observed after connecting, and stays true (a later outage does not make a served replica
// unready).
//
// Thread-safety: start()/stop() from one controlling thread; stats() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cache/invalidation.h"
#include "core/clock.h"
#include "nats/jetstream.h"
#include "nats/worker.h"
#include "replication/snapshot.h"
#include "store/range_check.h"
#include "store/record_store.h"

namespace le::replication {

using nats::JetStream;
using nats::NatsOptions;

struct ConsumerOptions {
  NatsOptions nats;
  std::size_t batch = 4096;  // events per WriteBatch at most
  // Non-empty: nats.stream is a regional mirror of `mirror_source`, created at first connect
  // (JetStream::ensure_mirror) through this API prefix of the core's domain.
  std::string mirror_api;
  std::string mirror_source = nats::kDefaultStream;
  // Non-empty: an empty replica, or one more than `bootstrap_behind` events behind the stream,
  // first ingests the newest snapshot of the primary's records (replication/snapshot.h) from
  // the Object Store bucket `snapshot_bucket`, downloaded into this directory (on the replica's
  // filesystem), and follows the stream from the sequence after it. Without a snapshot, or when
  // it cannot be read whole, the stream alone brings the replica up.
  std::string snapshot_dir;
  std::string snapshot_bucket = "license-replica";
  std::uint64_t bootstrap_behind = 500'000;
  // A replica without a WAL holds what it applied last in memtables only: it is flushed to
  // disk after this many stream messages, or this long after the first one not yet flushed,
  // so a crash (kill -9, power) loses at most that much and a restart resumes close to where
  // it was — even with NATS down then. 0 events: never flushed by the consumer.
  std::uint64_t flush_messages = 100'000;
  std::chrono::milliseconds flush_interval{10'000};
};

struct ConsumerStats {
  std::atomic<std::uint64_t> applied_seq{0};
  std::atomic<std::uint64_t> head_seq{0};        // highest stream sequence known
  std::atomic<std::uint64_t> events_applied{0};  // changed the replica
  std::atomic<std::uint64_t> events_stale{0};    // not newer than the replica: no change
  std::atomic<std::uint64_t> undecodable{0};
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::int64_t> last_apply_ms{0};  // unix ms of the last applied batch
  // libnats' reconnects, and new connections after a session broke.
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<bool> connected{false};  // the connection is up now
  std::atomic<bool> caught_up{false};
  // Times the stream was found behind the replica and replayed from its start.
  std::atomic<std::uint64_t> stream_rewinds{0};
  // Snapshots ingested, attempts that fell back to the stream, and the last one's sequence and
  // time from the start of its download to ingested.
  std::atomic<std::uint64_t> bootstraps{0};
  std::atomic<std::uint64_t> bootstrap_failures{0};
  std::atomic<std::uint64_t> bootstrap_seq{0};
  std::atomic<std::int64_t> bootstrap_ms{0};
  // The self-check (store/range_check.h): digests compared, skipped (not comparable where met),
  // divergences found (and their key ranges), repairs from a snapshot, and repairs that found
  // no snapshot.
  std::atomic<std::uint64_t> checks{0};
  std::atomic<std::uint64_t> checks_skipped{0};
  std::atomic<std::uint64_t> divergences{0};
  std::atomic<std::uint64_t> divergent_ranges{0};
  std::atomic<std::uint64_t> repairs{0};
  std::atomic<std::uint64_t> repair_failures{0};
  // Stream messages applied since the last flush (lost to a crash without a WAL), and flushes.
  std::atomic<std::uint64_t> unflushed{0};
  std::atomic<std::uint64_t> flushes{0};
};

class Consumer {
 public:
  Consumer(store::RecordStore& replica, cache::InvalidationStamps& stamps, const core::Clock& clock,
           ConsumerOptions options);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  void start();
  void stop();
  const ConsumerStats& stats() const { return stats_; }
  bool caught_up() const { return stats_.caught_up.load(std::memory_order_acquire); }

 private:
  void run();
  // Follows the stream until stop or an error; returns the error text.
  std::string follow(JetStream& js);
  // Ingests the newest snapshot above `applied` that this stream (last sequence `head`) can be
  // followed from; its sequence, or nullopt to follow the stream alone.
  std::optional<std::uint64_t> bootstrap(JetStream& js, std::uint64_t applied, std::uint64_t head);
  // Starts computing the replica's range digests as of range digests met at stream sequence
  // `at` (`live`: comparable there), on a thread of its own; a check met while one is under
  // way is skipped.
  void start_compare(const store::RangeCheck& check, std::uint64_t at, bool live);
  // Once they are computed (or, with `wait`, after waiting for them): compares; returns the
  // ranges that differ at two checks in a row, a divergence to repair.
  std::vector<std::pair<store::KeySpace, std::size_t>> finish_compare(bool wait);
  // The newest snapshot of this stream above `after`, downloaded into options_.snapshot_dir
  // (nullopt: `error` says why, or is empty when there is none); discard_snapshot_files()
  // removes it once used.
  std::optional<FetchedSnapshot> fetch_snapshot(JetStream& js, std::uint64_t after,
                                                std::string& error);
  void discard_snapshot_files();
  // Puts back the records of `ranges` that differ from the newest snapshot (unless newer
  // here), without rewinding: the replica keeps serving what it has meanwhile.
  void repair(JetStream& js, const std::vector<std::pair<store::KeySpace, std::size_t>>& ranges);
  // Flushes the replica when options_.flush_messages or flush_interval says so.
  void maybe_flush();

  store::RecordStore& replica_;
  cache::InvalidationStamps& stamps_;
  const core::Clock& clock_;
  ConsumerOptions options_;
  ConsumerStats stats_;
  std::uint64_t startup_head_ = 0;
  bool head_known_ = false;
  bool resubscribing_ = false;
  std::chrono::steady_clock::time_point unflushed_since_{};
  // The digests being computed, for the check met at digests_at_.
  std::future<store::Result<std::optional<store::RangeDigests>>> digests_;
  store::RangeCheck digests_check_;
  std::uint64_t digests_at_ = 0;
  std::vector<std::pair<store::KeySpace, std::size_t>>
      suspect_;  // ranges differing at the last check  // the last session ended to subscribe again
                 // after a reconnect
  nats::Worker worker_{"replication"};
};

}  // namespace le::replication
