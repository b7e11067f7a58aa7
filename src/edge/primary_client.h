// The edge's side of edge → primary writes (DESIGN §4): sends a core::WriteCommand over NATS
// request/reply to the primaries' queue group and hands back the reply — after applying the
// license state it carries to the local replica, through the version check, and invalidating
// the cache. So a request on this edge that starts after the reply sees the write
// (read-your-writes), and the same state arriving later from the stream changes nothing.
//
// Never blocks the caller: send() publishes and returns; replies arrive on a libnats thread.
// Every send's callback runs exactly once: with the reply, or with nullopt when the primary
// cannot be reached (NATS down, or no primary subscribed — the server says so — at once; no
// reply within the timeout: when it passes; stop()).
// Replies are matched to requests through one wildcard inbox subscription.
//
// Lease extensions (floating seats: heartbeats the edge answered from its replica, core/lease.h)
// are queued by extend_lease() and sent together every lease_batch on "licw.extend", one
// request per batch; a batch that fails (NATS down, no primary, no reply in time) is queued
// again, since extending twice changes nothing. At most kMaxQueuedExtensions wait; beyond that
// the oldest are dropped and counted (their holders' next heartbeat extends again).
//
// Thread-safety: send() from any thread; start()/stop() from one controlling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cache/invalidation.h"
#include "core/write_protocol.h"
#include "nats/jetstream.h"
#include "nats/worker.h"
#include "store/record_store.h"

namespace le::edge {

using nats::JetStream;
using nats::NatsOptions;

struct PrimaryClientOptions {
  NatsOptions nats;
  std::chrono::milliseconds timeout{2000};      // a write not answered by then fails
  std::chrono::milliseconds lease_batch{1000};  // lease extensions are sent this often
  std::string edge_id;                          // named in extension batches (the primary's logs)
};

struct PrimaryClientStats {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> replied{0};
  std::atomic<std::uint64_t> unreachable{0};  // not sent (NATS down) or not answered in time
  std::atomic<std::uint64_t> bad_replies{0};  // undecodable replies (answered as unreachable)
  std::atomic<bool> connected{false};         // the connection is up now (nats::ConnectionWatch)
  // Lease extensions: sent in a batch the primary answered; refused there (the seat had lapsed
  // or is gone); dropped here (the queue was full); waiting now.
  std::atomic<std::uint64_t> extensions_sent{0};
  std::atomic<std::uint64_t> extensions_refused{0};
  std::atomic<std::uint64_t> extensions_dropped{0};
  std::atomic<std::uint64_t> extensions_queued{0};
};

class PrimaryClient {
 public:
  using Done = std::function<void(std::optional<core::WriteReply>)>;

  PrimaryClient(store::RecordStore& replica, cache::InvalidationStamps& stamps,
                PrimaryClientOptions options);
  ~PrimaryClient();
  PrimaryClient(const PrimaryClient&) = delete;
  PrimaryClient& operator=(const PrimaryClient&) = delete;

  // Connects in the background (retrying with backoff) and starts the timeout sweep.
  void start();
  // Fails every pending write with nullopt; no callback runs after it returns.
  void stop();

  void send(const core::WriteCommand& cmd, Done done);
  // Queues an extension for the next batch. Never blocks on NATS.
  void extend_lease(core::LeaseExtension e);
  static constexpr std::size_t kMaxQueuedExtensions = 1 << 18;

  // The connection to NATS is up (the primary may still be away: then writes fail fast).
  bool connected() const { return stats_.connected.load(std::memory_order_relaxed); }

  const PrimaryClientStats& stats() const { return stats_; }
  std::chrono::milliseconds timeout() const { return options_.timeout; }

 private:
  struct Pending {
    std::chrono::steady_clock::time_point deadline;
    Done done;                                   // a write
    std::vector<core::LeaseExtension> extended;  // or an extension batch (done empty)
  };
  void run();
  static void on_reply(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* closure);
  void handle_reply(natsMsg* msg);
  // Publishes `body` on `subject` with the reply subject <inbox><tag><id>, keeping `p` (its
  // deadline set) until the reply; `p` back when it could not be sent.
  std::optional<Pending> request(const std::string& subject, const std::string& body,
                                 std::string_view tag, Pending p);
  std::optional<Pending> take(std::uint64_t id);
  void fail_expired(bool all);
  // Sends the queued extensions, in batches of at most core::kMaxLeaseExtensions.
  void flush_extensions();
  // Puts a failed batch back at the front of the queue (bounded).
  void requeue(std::vector<core::LeaseExtension> items);

  store::RecordStore& replica_;
  cache::InvalidationStamps& stamps_;
  PrimaryClientOptions options_;
  PrimaryClientStats stats_;

  nats::Worker worker_{"writes"};
  // The worker's lock (its stop flag is set under it): guards everything below; never held
  // while a callback runs.
  std::mutex& mu_ = worker_.mutex();
  std::unique_ptr<JetStream> nats_;  // set once connected
  std::string inbox_;                // "<unique inbox>." — reply subjects are inbox_ + id
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, Pending> pending_;
  natsSubscription* sub_ = nullptr;

  std::mutex ext_mu_;  // guards queued_ (never held with mu_ taken after it)
  std::vector<core::LeaseExtension> queued_;
  std::chrono::steady_clock::time_point next_flush_{};
};

}  // namespace le::edge
