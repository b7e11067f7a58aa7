// The webhook delivery worker: sends the deliveries queued in the primary's RocksDB
// (deliveries.h) and records every attempt's outcome there.
//
// It keeps the due entries of every endpoint in memory, in due order (read from the due index
// once at start, then told of each entry a commit writes), so finding what is due never scans
// the index's deleted entries; an entry is checked against the stored delivery before it is
// sent. Whenever something may have become due (a commit, an attempt finishing, a poll tick)
// it starts what it may:
//   - at most `max_in_flight` attempts overall and `per_endpoint` per endpoint, so a slow or
//     dead endpoint holds only its own slots and never delays another's deliveries;
//   - per endpoint, due deliveries in order of due time then event; never two of one license to
//     one endpoint at once, so a license's events reach an endpoint in the order they happened
//     unless one had to be retried (a retry comes after the later events that went through).
// An attempt signs the event as it is sent (X-TO-Timestamp is the sending time; the signature
// is hex HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's current secret, so a rotated
// secret signs every later attempt) and carries the delivery's fixed X-TO-Delivery-ID.
// The outcome is written in one Tx with the delivery's due entry, so a crash at any point leaves
// the delivery pending and it is sent again, with the same id, after a restart: at least once.
//
// Time: due times and the retry schedule use the injected core::Clock (tests set it); the
// per-attempt timeout is real time.
//
// Thread-safety: start()/stop() from one controlling thread; run_due(), stats() and backlog()
// from any thread.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "primary/deliveries.h"
#include "primary/primary_store.h"
#include "primary/webhooks.h"

namespace le::primary {

struct DeliveryOptions {
  std::size_t max_in_flight = 64;
  std::size_t per_endpoint = 4;
  std::chrono::milliseconds timeout{10'000};  // for an attempt, connect to answer header
  std::string ca_file;                        // extra CA certificates for https receivers
  bool allow_private = false;                 // deliver to private addresses (SSRF check off)
  std::chrono::milliseconds poll{250};        // how often due retries are looked for
};

struct DeliveryStats {
  std::atomic<std::uint64_t> succeeded{0};  // deliveries answered 2xx
  std::atomic<std::uint64_t> retrying{0};   // attempts that failed and were rescheduled
  std::atomic<std::uint64_t> failed{0};     // deliveries that failed their last attempt
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> store_failures{0};
};

class DeliveryWorker {
 public:
  // Throws boost::system::system_error when options.ca_file cannot be loaded.
  DeliveryWorker(PrimaryStore& store, const core::Clock& clock, DeliveryOptions options);
  ~DeliveryWorker();
  DeliveryWorker(const DeliveryWorker&) = delete;
  DeliveryWorker& operator=(const DeliveryWorker&) = delete;

  void start();
  // Stops sending; attempts under way are abandoned (their deliveries stay pending).
  void stop();

  // Starts every delivery due by the clock that the limits allow, and waits until no attempt
  // is under way (including those started meanwhile because earlier ones finished). Returns how
  // many attempts were made. Needs start().
  std::size_t run_due();

  const DeliveryStats& stats() const { return stats_; }
  struct Backlog {
    std::uint64_t pending = 0;
    std::int64_t oldest_created_ms = 0;  // 0: none pending
  };
  // Reads the due index (a pass over the pending deliveries).
  Backlog backlog() const;

 private:
  struct Attempt {
    std::string endpoint;  // its key (deliveries.h)
    WebhookEndpoint hook;
    Delivery delivery;
  };
  // Takes the attempts that may start now and counts them in flight; mu_ held.
  std::vector<Attempt> dispatch_locked();
  void spawn(std::vector<Attempt> starts);
  boost::asio::awaitable<void> send(Attempt a);
  // Records the outcome (none: the attempt could not be made) and starts what may follow.
  void finish(const Attempt& a, const std::optional<AttemptResult>& result);
  void watch();

  PrimaryStore& store_;
  const core::Clock& clock_;
  DeliveryOptions options_;
  DeliveryStats stats_;
  boost::asio::ssl::context tls_;
  boost::asio::io_context ioc_{1};

  std::mutex mu_;
  std::condition_variable idle_cv_;
  struct EndpointQueue {
    std::set<std::pair<std::int64_t, std::uint64_t>> due;  // (due ms, event seq)
    std::size_t in_flight = 0;
    bool reload = true;           // read its due entries from the store before the next pass
    std::int64_t not_before = 0;  // after a store failure: leave it until then
  };
  std::map<std::string, EndpointQueue> queues_;  // by endpoint key
  std::set<std::string> busy_;  // endpoint \0 event seq, and endpoint \1 license id, in flight
  std::size_t in_flight_ = 0;
  std::size_t attempts_ = 0;
  std::uint64_t dispatch_requests_ = 0;
  std::uint64_t dispatches_done_ = 0;
  bool loaded_ = false;  // the endpoints with pending deliveries were read at start

  std::atomic<bool> stopping_{false};
  std::atomic<bool> dispatch_posted_{false};
  std::thread io_thread_;
  std::thread watch_thread_;
};

}  // namespace le::primary
