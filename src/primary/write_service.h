// Answers the writes edges forward over NATS request/reply (DESIGN §4): activate, deactivate,
// heartbeat and TKI first-use bindings, as members of the primaries' queue group on "licw.*".
// Each request is one Ledger::execute() (one Tx); the reply carries the license's state after
// it. "licw.extend" carries a batch of lease extensions edges answered themselves
// (Ledger::extend_leases); its reply counts what was extended and refused.
//
// A request that does not decode gets a VALIDATION_ERROR reply and is counted. Connects in the
// background with backoff; after the first connection libnats reconnects and resubscribes.
//
// Thread-safety: start()/stop() from one controlling thread; stats from any thread. Requests are
// handled on libnats' delivery thread for the subscription.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "nats/jetstream.h"
#include "nats/worker.h"
#include "primary/ledger.h"

namespace le::primary {

struct WriteServiceStats {
  std::atomic<std::uint64_t> requests{0};         // answered, by any outcome
  std::atomic<std::uint64_t> undecodable{0};      // answered VALIDATION_ERROR without acting
  std::atomic<std::uint64_t> leases_extended{0};  // from edges' extension batches
  std::atomic<std::uint64_t> leases_refused{0};   // lapsed, or the seat, machine or license gone
  std::atomic<bool> connected{false};
};

class WriteService {
 public:
  WriteService(Ledger& ledger, nats::NatsOptions nats);
  ~WriteService();
  WriteService(const WriteService&) = delete;
  WriteService& operator=(const WriteService&) = delete;

  void start();
  void stop();
  const WriteServiceStats& stats() const { return stats_; }

 private:
  void run();
  static void on_request(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* closure);
  void handle(natsConnection* nc, natsMsg* msg);
  std::string extend(std::string_view body);

  Ledger& ledger_;
  nats::NatsOptions nats_;
  WriteServiceStats stats_;
  nats::Worker worker_{"writes"};
};

}  // namespace le::primary
