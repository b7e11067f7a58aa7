// The HTTP/1.1 server: one io_context per thread (concurrency hint 1), each with its own
// SO_REUSEPORT acceptor on the same address, so the kernel spreads connections and threads share
// nothing. Each connection is one coroutine that owns its stream.
//
// Limits (documented in README "Limits"): header bytes, body bytes, idle time between requests
// (the next request's header must arrive within it), and request time (body read + handling +
// response write). A request over a limit gets the protocol's error answer and the connection is
// closed; the server never crashes or hangs on it.
//
// Shutdown is staged: stop accepting, close idle keep-alive connections, let in-flight requests
// finish within the drain deadline, then stop what remains.
//
// Thread-safety: start()/shutdown()/join() from one controlling thread. open_connections() from
// any.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/http.h"

namespace le::net {

struct Limits {
  std::size_t header_bytes = 8 * 1024;
  std::size_t body_bytes = 16 * 1024;
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds request_timeout{10'000};
};

struct ServerConfig {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;  // 0 = pick a free port (see Server::port())
  unsigned threads = 1;
  Limits limits;
};

class Server {
 public:
  Server(ServerConfig config, const Router& router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Set before start(); told of every answered request (metrics). nullptr: none.
  void set_observer(RequestObserver* observer) { observer_ = observer; }
  RequestObserver* observer() const { return observer_; }

  // Binds every acceptor and starts the I/O threads. Throws std::system_error if binding fails.
  void start();
  unsigned short port() const { return port_; }
  unsigned threads() const { return config_.threads; }

  // Staged shutdown; returns when every I/O thread has stopped. Idempotent.
  void shutdown(std::chrono::milliseconds drain);
  bool draining() const { return draining_.load(std::memory_order_acquire); }

  std::size_t open_connections() const;

  // One connection through the server's whole request path (framing, limits, routing, error
  // answers) on the calling thread, over a UNIX socket pair and without a listener: `input` in,
  // what the server wrote and whether it still serves the connection after it out. Timeouts do
  // not run. Connections run one after another on one reused worker. For fuzzing and tests; do
  // not mix with start().
  struct Exchange {
    std::string output;
    bool kept_open = false;
  };
  Exchange exchange(std::string_view input);

 private:
  class Worker;
  ServerConfig config_;
  const Router& router_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Worker> exchange_worker_;  // exchange()'s, created on first use
  unsigned short port_ = 0;
  std::atomic<bool> draining_{false};
  RequestObserver* observer_ = nullptr;
  bool stopped_ = false;
};

}  // namespace le::net
