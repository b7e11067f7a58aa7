// Notices licenses whose expiry passes and floating seats whose lease lapsed: a thread that asks
// the Ledger twice a second to record license.expired for every license due
// (Ledger::expire_due) and license.deactivated for every lease released (Ledger::cull_leases).
// Both read an index up to now, so a tick costs what is due, not a pass over the licenses. A
// store failure is logged and tried again on the next tick.
//
// Thread-safety: start()/stop() from one controlling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "primary/ledger.h"

namespace le::primary {

class ExpiryScheduler {
 public:
  explicit ExpiryScheduler(Ledger& ledger,
                           std::chrono::milliseconds tick = std::chrono::milliseconds(500))
      : ledger_(ledger), tick_(tick) {}
  ~ExpiryScheduler() { stop(); }
  ExpiryScheduler(const ExpiryScheduler&) = delete;
  ExpiryScheduler& operator=(const ExpiryScheduler&) = delete;

  void start();
  void stop();
  // Leases culled since start (le_primary_leases_culled_total).
  std::uint64_t leases_culled() const { return culled_.load(); }

 private:
  void run();

  Ledger& ledger_;
  std::chrono::milliseconds tick_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<std::uint64_t> culled_{0};
};

}  // namespace le::primary
