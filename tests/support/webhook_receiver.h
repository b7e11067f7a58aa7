// A webhook receiver for tests: a real HTTP server (net::Server) on a loopback port that records
// every POST to /hook (delivery id, event, timestamp, signature, body, arrival time) and answers
// the status the test sets. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/server.h"

namespace le::test {

struct ReceivedWebhook {
  std::string delivery_id;
  std::string event;
  std::string timestamp;
  std::string signature;
  std::string content_type;
  std::string body;
  std::chrono::system_clock::time_point at;
};

class WebhookReceiver {
 public:
  // port 0: a free one. Each request is answered after `hold`.
  explicit WebhookReceiver(unsigned short port = 0, std::chrono::milliseconds hold = {}) {
    router_.add(net::http::verb::post, "/hook",
                [this, hold](const net::Request& req, net::Response& res) {
                  const int now_open = ++open_;
                  for (int seen = max_open_.load();
                       now_open > seen && !max_open_.compare_exchange_weak(seen, now_open);) {
                  }
                  ReceivedWebhook r;
                  auto header = [&](std::string_view name) {
                    auto v = req.header(name);
                    return v ? std::string(*v) : std::string();
                  };
                  r.delivery_id = header("X-TO-Delivery-ID");
                  r.event = header("X-TO-Event");
                  r.timestamp = header("X-TO-Timestamp");
                  r.signature = header("X-TO-Signature");
                  r.content_type = header("Content-Type");
                  r.body = std::string(req.body);
                  r.at = std::chrono::system_clock::now();
                  {
                    std::lock_guard<std::mutex> g(mu_);
                    received_.push_back(std::move(r));
                  }
                  cv_.notify_all();
                  auto answer = [this](net::Response& r) {
                    --open_;
                    r.status = status_.load();
                    r.body = R"({"received":true})";
                  };
                  // Held without blocking the thread: requests overlap whatever thread serves them.
                  if (hold.count() > 0 && res.defer(hold, answer)) return;
                  answer(res);
                });
    net::ServerConfig config;
    config.address = "127.0.0.1";
    config.port = port;
    config.threads = 1;
    server_ = std::make_unique<net::Server>(config, router_);
    server_->start();
  }
  ~WebhookReceiver() { server_->shutdown(std::chrono::milliseconds(0)); }

  unsigned short port() const { return server_->port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/hook"; }
  void answer(unsigned status) { status_ = status; }
  // The most requests that were being served at the same time.
  int max_concurrent() const { return max_open_.load(); }

  std::vector<ReceivedWebhook> received() const {
    std::lock_guard<std::mutex> g(mu_);
    return received_;
  }
  std::size_t count() const {
    std::lock_guard<std::mutex> g(mu_);
    return received_.size();
  }
  // Waits until at least `n` requests arrived; false at the timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
  }

 private:
  net::Router router_;
  std::unique_ptr<net::Server> server_;
  std::atomic<unsigned> status_{200};
  std::atomic<int> open_{0};
  std::atomic<int> max_open_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedWebhook> received_;
};

}  // namespace le::test
