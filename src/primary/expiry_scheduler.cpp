#include "primary/expiry_scheduler.h"

#include "common/log.h"
#include "primary/refusal.h"

namespace le::primary {

void ExpiryScheduler::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void ExpiryScheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ExpiryScheduler::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    try {
      // A full batch means more may be due: go on without waiting.
      while (ledger_.expire_due(100) == 100) {
      }
    } catch (const Refusal& r) {
      log::warn("expiry", "recording expiries failed; retrying", {{"error", r.what()}});
    }
    try {
      for (;;) {
        const auto c = ledger_.cull_leases(256);
        culled_.fetch_add(c.recorded);
        if (c.read < 256) break;
      }
    } catch (const Refusal& r) {
      log::warn("expiry", "releasing lapsed leases failed; retrying", {{"error", r.what()}});
    }
    lock.lock();
    cv_.wait_for(lock, tick_, [this] { return stopping_; });
  }
}

}  // namespace le::primary
