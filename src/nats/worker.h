// The lifecycle every NATS-facing part shares (the change-stream consumer, the outbox
// publisher, the primary's write service and the edge's write client): a thread of its own; a
// stop flag set under a lock, so a waiter on that lock cannot miss it; and sessions: connect,
// with capped exponential backoff until connected or stopped, serve until the session breaks or
// the worker stops, and back off and reconnect when it broke.
//
// Thread-safety: start()/stop() from the owning thread; stopping(), mutex(), wait_for() and
// backoff() from any. The owner calls stop() in its destructor before its own members go.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "nats/jetstream.h"

namespace le::nats {

class Worker {
 public:
  // `component` names the part in its log lines.
  explicit Worker(std::string component) : component_(std::move(component)) {}
  ~Worker() { stop(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start(std::function<void()> body);
  // Sets the stop flag (under mutex()), runs `wake` (to wake what the body blocks on besides
  // this worker's waits), and joins. Idempotent.
  void stop(const std::function<void()>& wake = {});

  bool stopping() const { return stop_.load(std::memory_order_acquire); }
  // The lock stop() sets the flag under; owners may guard their own state with it.
  std::mutex& mutex() { return mu_; }
  // With `lock` held on mutex(): waits up to `d` or until stop(); returns !stopping().
  bool wait_for(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds d);
  // The same, also ending when `woken()` (checked under the lock) is true after a notify().
  bool wait_for(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds d,
                const std::function<bool()>& woken);
  // Wakes wait_for() callers; the notifier changes what `woken` reads under mutex() first.
  void notify() { cv_.notify_all(); }
  // Sleeps the next backoff step (100 ms doubling to 2 s) unless stopped; returns !stopping().
  bool backoff() { return backoff_.wait(stop_); }

  // On the worker's thread, until stopped: `connect` opens a session (empty: connected, else
  // why not, logged with `unavailable` before backing off); `serve` uses it until it breaks or
  // the worker stops (it logs its own interruption). After a broken session, back off and
  // connect again.
  void run_sessions(std::string_view unavailable, const std::function<std::string()>& connect,
                    const std::function<void()>& serve);

 private:
  std::string component_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  Backoff backoff_;
  std::thread thread_;
};

// A `connect` for Worker::run_sessions: opens `into`, its health kept in `watch`. Empty when
// connected, else why not.
std::string connect_session(const NatsOptions& options, std::unique_ptr<JetStream>& into,
                            ConnectionWatch watch = {});

// The same, then subscribes `handler` to `subject` in queue group `group` and flushes, so the
// server has the subscription before the session serves; on failure nothing is left open.
std::string connect_queue_session(const NatsOptions& options, std::unique_ptr<JetStream>& into,
                                  natsSubscription*& sub, const char* subject, const char* group,
                                  natsMsgHandler handler, void* closure);

// Stops taking messages on `sub`, lets those being handled finish (up to 2 s), and destroys it.
void drain_subscription(natsSubscription*& sub);

}  // namespace le::nats
