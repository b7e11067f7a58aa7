#include "nats/worker.h"

#include "common/log.h"

namespace le::nats {

void Worker::start(std::function<void()> body) {
  stop_.store(false, std::memory_order_release);
  thread_ = std::thread(std::move(body));
}

void Worker::stop(const std::function<void()>& wake) {
  {
    std::lock_guard lock(mu_);
    stop_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  if (wake) wake();
  if (thread_.joinable()) thread_.join();
}

bool Worker::wait_for(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds d) {
  cv_.wait_for(lock, d, [this] { return stopping(); });
  return !stopping();
}

void Worker::run_sessions(std::string_view unavailable, const std::function<std::string()>& connect,
                          const std::function<void()>& serve) {
  while (!stopping()) {
    const std::string error = connect();
    if (!error.empty()) {
      log::warn(component_, unavailable, {{"error", error}});
      if (!backoff()) return;
      continue;
    }
    if (stopping()) return;
    serve();
    if (!backoff()) return;
  }
}

}  // namespace le::nats
