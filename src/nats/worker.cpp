#include "nats/worker.h"

#include "common/log.h"
#include "common/thread_name.h"

namespace le::nats {

void Worker::start(std::function<void()> body) {
  stop_.store(false, std::memory_order_release);
  thread_ = std::thread([name = "le-" + component_, body = std::move(body)] {
    name_this_thread(name);
    body();
  });
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

bool Worker::wait_for(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds d,
                      const std::function<bool()>& woken) {
  cv_.wait_for(lock, d, [&] { return stopping() || woken(); });
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

std::string connect_session(const NatsOptions& options, std::unique_ptr<JetStream>& into,
                            ConnectionWatch watch) {
  std::string error;
  into = JetStream::connect(options, error, watch);
  return into ? std::string() : error;
}

std::string connect_queue_session(const NatsOptions& options, std::unique_ptr<JetStream>& into,
                                  natsSubscription*& sub, const char* subject, const char* group,
                                  natsMsgHandler handler, void* closure) {
  if (std::string error = connect_session(options, into); !error.empty()) return error;
  natsStatus s =
      natsConnection_QueueSubscribe(&sub, into->connection(), subject, group, handler, closure);
  if (s == NATS_OK) s = natsConnection_Flush(into->connection());
  if (s == NATS_OK) return std::string();
  natsSubscription_Destroy(sub);
  sub = nullptr;
  into.reset();
  return "subscribe: " + status_text(s);
}

void drain_subscription(natsSubscription*& sub) {
  natsSubscription_Drain(sub);
  natsSubscription_WaitForDrainCompletion(sub, 2000);
  natsSubscription_Destroy(sub);
  sub = nullptr;
}

}  // namespace le::nats
