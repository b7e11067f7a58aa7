// Publishes the primary's outbox to the JetStream change stream, in outbox order, and deletes
// rows once JetStream has acknowledged them.
//
// Each message carries the entity's state as stored when it is sent (never older than the row's
// change), with Nats-Msg-Id "<subject>@<version>". So a row re-sent after a crash or an outage
// is deduplicated by the stream, and since every send reads the current state, the last message
// per subject is always the newest version: a failed send followed by a later successful one
// can never leave an older state as the subject's last message.
//
// `connected` follows the connection itself, through libnats' callbacks (a
// nats::ConnectionWatch): it turns false as soon as the server is lost, while libnats
// reconnects under the running session, and changes wait in the outbox until it is back.
//
// Thread-safety: start()/stop() from one controlling thread; stats from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <thread>

#include "nats/jetstream.h"
#include "nats/worker.h"
#include "primary/primary_store.h"

namespace le::primary {

struct PublisherOptions {
  nats::NatsOptions nats;
  std::size_t batch = 2048;  // rows published before waiting for their acks
  // Acknowledged rows are kept this long before they are deleted. JetStream acknowledges a
  // message once its servers (a majority of them, clustered) have written it, and fsyncs every
  // 2 minutes: a server that loses power can come back without messages it acknowledged. The
  // stream is then behind the highest sequence it acknowledged, and the retained rows are
  // published again.
  std::chrono::seconds retain{150};
  // When the outbox is drained, this often (0: never) the self-check's range digests of the
  // records are published on store::kCheckSubject, for edges to compare with their replicas.
  std::chrono::seconds check_interval{60};
};

struct PublisherStats {
  std::atomic<std::uint64_t> published{0};   // messages acknowledged by JetStream
  std::atomic<std::uint64_t> failures{0};    // batches that had to be retried
  std::atomic<std::uint64_t> outbox_seq{0};  // last outbox row published
  std::atomic<bool> connected{false};        // the connection is up now
  // Times the stream was found behind what it had acknowledged (retained rows sent again).
  std::atomic<std::uint64_t> rewinds{0};
  std::atomic<std::uint64_t> checks{0};  // range digests published
};

class Publisher {
 public:
  Publisher(PrimaryStore& store, PublisherOptions options);
  ~Publisher();
  void start();
  void stop();
  const PublisherStats& stats() const { return stats_; }

 private:
  using Clock = std::chrono::steady_clock;
  void run();
  // Publishes until stop or a failure; returns the error text.
  std::string drain(nats::JetStream& js);
  // Makes sure the stream exists and holds what it acknowledged: when its last sequence is
  // below the highest one it acknowledged, publishing starts again from the oldest retained
  // row. Empty on success.
  std::string check_stream(nats::JetStream& js);
  // Deletes the rows acknowledged longer than options_.retain ago.
  void prune();
  // Publishes the range digests when the outbox is drained. Empty on success (or nothing to do).
  std::string publish_check(nats::JetStream& js);

  PrimaryStore& store_;
  PublisherOptions options_;
  PublisherStats stats_;
  std::uint64_t cursor_ = 0;            // outbox rows <= cursor_ are acknowledged
  std::uint64_t acked_stream_seq_ = 0;  // the highest stream sequence acknowledged
  std::uint64_t retained_from_ = 1;     // the oldest outbox row not deleted
  Clock::time_point last_check_ = Clock::now();
  std::deque<std::pair<std::uint64_t, Clock::time_point>> acked_;  // (last row, when) per batch
  nats::Worker worker_{"publisher"};
};

}  // namespace le::primary
