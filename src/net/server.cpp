#include "net/server.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <list>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include "common/log.h"

namespace le::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
// Everything runs on one concrete executor type: no any_io_executor type erasure per operation.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
template <typename T>
using Awaitable = asio::awaitable<T, Executor>;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable_t<Executor>{});
constexpr unsigned kHttp11 = 11;
// After an error answer the peer may still be sending; read and drop at most this much, for at
// most kLingerTime, so it sees the answer instead of a connection reset.
constexpr std::size_t kLingerBytes = 1 << 20;
constexpr auto kLingerTime = std::chrono::seconds(1);

bool is_malformed(const beast::error_code& ec) {
  return ec.category() == beast::http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message &&
         ec != http::error::need_more && ec != http::error::body_limit &&
         ec != http::error::header_limit;
}

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error("net", "coroutine failed", {{"error", ex.what()}});
  }
}

// A deferred response (Response::defer). Its state is touched only on the worker's thread:
// complete() posts there.
class PendingAnswer final : public Completion, public std::enable_shared_from_this<PendingAnswer> {
 public:
  PendingAnswer(Executor ex, Response& res, std::chrono::milliseconds timeout,
                std::function<void(Response&)> on_timeout)
      : ex_(ex), res_(&res), timeout_(timeout), on_timeout_(std::move(on_timeout)) {}

  void complete(std::function<void(Response&)> fill) override {
    asio::post(ex_, [self = shared_from_this(), fill = std::move(fill)] {
      if (self->finished_ || self->res_ == nullptr) return;
      self->finished_ = true;
      fill(*self->res_);
      if (self->timer_ != nullptr) self->timer_->cancel();
    });
  }

  // Waits (on the worker's thread) for complete() or the timeout; the response is written by
  // then either way.
  Awaitable<void> wait() {
    Timer timer(ex_, timeout_);
    timer_ = &timer;
    if (!finished_) co_await timer.async_wait(kNoThrow);
    timer_ = nullptr;
    if (!finished_) {
      finished_ = true;
      on_timeout_(*res_);
    }
    res_ = nullptr;  // a late complete() finds nothing to write into
  }

 private:
  Executor ex_;
  Response* res_;
  std::chrono::milliseconds timeout_;
  std::function<void(Response&)> on_timeout_;
  Timer* timer_ = nullptr;
  bool finished_ = false;
};

}  // namespace

class Server::Worker final : public Deferrer {
 public:
  // Each I/O object is used only on its worker's thread, so the reactor's per-object locking
  // is off; the scheduler keeps its lock for post() and stop() from other threads.
  Worker(Server& server, unsigned index)
      : server_(server),
        index_(index),
        ioc_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
        acceptor_(ioc_.get_executor()),
        sweep_timer_(ioc_.get_executor()) {}

  void bind(const tcp::endpoint& ep) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    int one = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
    }
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }
  unsigned short local_port() const { return acceptor_.local_endpoint().port(); }

  void run() {
    asio::co_spawn(ioc_.get_executor(), accept_loop(), log_exception);
    asio::co_spawn(ioc_.get_executor(), sweep_loop(), log_exception);
    thread_ = std::thread([this] { ioc_.run(); });
  }

  // Stage one and two of shutdown, on this worker's own thread.
  void begin_drain() {
    asio::post(ioc_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      sweep_timer_.cancel();
      for (auto* s : sessions_) {
        if (s->idle) s->socket->cancel(ec);
      }
    });
  }
  void stop() { ioc_.stop(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::size_t connections() const { return connections_.load(std::memory_order_relaxed); }

  std::shared_ptr<Completion> defer(Response& res, std::chrono::milliseconds timeout,
                                    std::function<void(Response&)> on_timeout) override {
    pending_ = std::make_shared<PendingAnswer>(ioc_.get_executor(), res, timeout, std::move(on_timeout));
    return pending_;
  }

 private:
  using Clock = std::chrono::steady_clock;

  // Timeouts work like nginx's: an operation only records its deadline; one sweeper per worker
  // cancels the operations of connections past theirs. No timer per read or write.
  struct SessionState {
    Socket* socket;
    bool idle = true;
    bool timed_out = false;
    Clock::time_point deadline;

    void expires_after(Clock::duration d) {
      deadline = Clock::now() + d;
      timed_out = false;
    }
  };

  Clock::duration sweep_period() const {
    const auto& l = server_.config_.limits;
    const auto shortest = std::min(l.idle_timeout, l.request_timeout);
    return std::clamp<Clock::duration>(shortest / 8, std::chrono::milliseconds(5),
                                       std::chrono::milliseconds(250));
  }

  Awaitable<void> sweep_loop() {
    const auto period = sweep_period();
    while (!server_.draining()) {
      sweep_timer_.expires_after(period);
      auto [ec] = co_await sweep_timer_.async_wait(kNoThrow);
      if (ec) co_return;
      const auto now = Clock::now();
      for (auto* s : sessions_) {
        if (!s->timed_out && s->deadline <= now) {
          s->timed_out = true;
          beast::error_code ignored;
          s->socket->cancel(ignored);
        }
      }
    }
  }

  Awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) {
        if (!acceptor_.is_open() || ec == asio::error::operation_aborted) co_return;
        // Out of descriptors or similar: back off instead of spinning.
        log::warn("net", "accept failed", {{"error", ec.message()}});
        Timer t(ioc_.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(kNoThrow);
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(ioc_.get_executor(), session(std::move(socket)), log_exception);
    }
  }

  // Writes the status line and headers into `head` (a per-connection buffer) and sends them with
  // the body in one gather write. Cheaper than a beast::http::response per request, whose
  // fields are allocated node by node; the format is the plain HTTP/1.1 one.
  Awaitable<beast::error_code> write_response(Socket& socket, std::string& head, unsigned version,
                                              Response& r, bool keep_alive) {
    head.clear();
    head.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    char num[24];
    auto end = std::to_chars(num, num + sizeof num, r.status).ptr;
    head.append(num, end).push_back(' ');
    const auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
    head.append(reason.data(), reason.size());
    head.append("\r\nContent-Type: ").append(r.content_type);
    end = std::to_chars(num, num + sizeof num, r.body.size()).ptr;
    head.append("\r\nContent-Length: ").append(num, end);
    for (const auto& [name, value] : r.extra_headers()) {
      head.append("\r\n").append(name).append(": ").append(value);
    }
    if (!keep_alive) {
      head.append("\r\nConnection: close");
    } else if (version == 10) {
      head.append("\r\nConnection: keep-alive");
    }
    head.append("\r\n\r\n");
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(r.body)};
    auto [ec, n] = co_await asio::async_write(socket, buffers, kNoThrow);
    co_return ec;
  }

  // Answers a protocol error, then closes gracefully.
  Awaitable<void> fail(Socket& socket, SessionState& state, unsigned version,
                       std::string_view path, ProtocolError e, std::string& body) {
    Response res(body);
    server_.router_.write_error(path, e, res);
    if (auto* o = server_.observer()) o->observe(index_, -1, res.status, std::chrono::nanoseconds(0));
    state.expires_after(server_.config_.limits.request_timeout);
    std::string head;
    if (auto ec = co_await write_response(socket, head, version, res, false)) co_return;
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    state.expires_after(kLingerTime);
    char sink[4096];
    for (std::size_t total = 0; total < kLingerBytes;) {
      auto [rec, n] = co_await socket.async_read_some(asio::buffer(sink), kNoThrow);
      if (rec) break;
      total += n;
    }
  }

  Awaitable<void> session(Socket socket) {
    connections_.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    SessionState state{&socket};
    auto registration = sessions_.insert(sessions_.end(), &state);
    struct Cleanup {
      Worker* w;
      std::list<SessionState*>::iterator it;
      ~Cleanup() {
        w->sessions_.erase(it);
        w->connections_.fetch_sub(1, std::memory_order_relaxed);
      }
    } cleanup{this, registration};

    const Limits& limits = server_.config_.limits;
    beast::flat_buffer buffer;
    std::string body;  // response body buffer, reused across the connection's requests
    std::string head;  // response status line and headers, likewise
    while (!server_.draining()) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
      parser.body_limit(limits.body_bytes);

      state.idle = true;
      state.expires_after(limits.idle_timeout);
      auto [hec, hn] = co_await http::async_read_header(socket, buffer, parser, kNoThrow);
      state.idle = false;
      if (hec) {
        if (hec == http::error::header_limit) {
          co_await fail(socket, state, kHttp11, {}, ProtocolError::kHeaderTooLarge, body);
        } else if (hec == http::error::body_limit) {
          // Beast checks Content-Length against the limit as soon as the header is complete.
          const std::string_view t(parser.get().target().data(), parser.get().target().size());
          co_await fail(socket, state, parser.get().version(), t.substr(0, t.find('?')),
                        ProtocolError::kBodyTooLarge, body);
        } else if (is_malformed(hec)) {
          co_await fail(socket, state, kHttp11, {}, ProtocolError::kBadRequest, body);
        }
        break;  // end of stream, idle timeout, cancellation: close quietly
      }
      const auto& req = parser.get();
      const std::string_view target(req.target().data(), req.target().size());
      const std::string_view path = target.substr(0, target.find('?'));

      state.expires_after(limits.request_timeout);
      if (!parser.is_done()) {
        // Usually the body arrived with the header: parse what is buffered synchronously, and
        // go asynchronous only for bytes that have not arrived yet.
        parser.eager(true);
        beast::error_code pec;
        while (!parser.is_done() && buffer.size() > 0) {
          const std::size_t used = parser.put(buffer.data(), pec);
          buffer.consume(used);
          if (pec == http::error::need_more) {
            pec = {};
            break;
          }
          if (pec) break;
        }
        if (pec) {
          co_await fail(socket, state, req.version(), path,
                        pec == http::error::body_limit ? ProtocolError::kBodyTooLarge
                                                       : ProtocolError::kBadRequest,
                        body);
          break;
        }
      }
      if (!parser.is_done()) {
        if (beast::iequals(req[http::field::expect], "100-continue")) {
          http::response<http::empty_body> cont{http::status::continue_, req.version()};
          auto [cec, cn] = co_await http::async_write(socket, cont, kNoThrow);
          if (cec) break;
        }
        auto [bec, bn] = co_await http::async_read(socket, buffer, parser, kNoThrow);
        if (bec) {
          if (bec == http::error::body_limit) {
            co_await fail(socket, state, req.version(), path, ProtocolError::kBodyTooLarge, body);
          } else if (state.timed_out) {
            co_await fail(socket, state, req.version(), path, ProtocolError::kRequestTimeout,
                          body);
          } else if (is_malformed(bec) || bec == http::error::partial_message) {
            // A body cut short by a half-close still gets an answer: the peer may be reading.
            co_await fail(socket, state, req.version(), path, ProtocolError::kBadRequest, body);
          }
          break;
        }
      }

      Request r;
      r.method = req.method();
      r.target = target;
      r.path = path;
      r.body = req.body();
      r.fields = &req;
      r.peer = peer.address();
      r.worker = index_;
      std::optional<Response> res(std::in_place, body, this);
      RequestObserver* const observer = server_.observer();
      const auto started = observer ? std::chrono::steady_clock::now()
                                    : std::chrono::steady_clock::time_point();
      int route = -1;
      try {
        route = server_.router_.dispatch(r, *res);
      } catch (const std::exception& ex) {
        // A handler bug, never bad input (handlers answer that themselves): report it honestly.
        log::error("net", "handler failed", {{"error", ex.what()}, {"path", path}});
        res.emplace(body);
        server_.router_.write_error(path, ProtocolError::kInternal, *res);
        res->close = true;
        pending_.reset();
      }
      if (pending_ != nullptr) {
        // The handler deferred its answer: wait for it without blocking the thread.
        const auto pending = std::move(pending_);
        co_await pending->wait();
      }
      const bool keep_alive = req.keep_alive() && !res->close && !server_.draining();
      const auto wec = co_await write_response(socket, head, req.version(), *res, keep_alive);
      if (observer) {
        observer->observe(index_, route, res->status, std::chrono::steady_clock::now() - started);
      }
      if (wec) break;
      if (!keep_alive) break;
    }
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  Server& server_;
  unsigned index_;
  // Declared before ioc_ so they outlive it: destroying the io_context destroys the frames of
  // sessions still suspended, whose cleanup touches these.
  std::list<SessionState*> sessions_;  // touched only on this worker's thread
  std::atomic<std::size_t> connections_{0};
  // Set by defer() during a dispatch, taken by the session right after it.
  std::shared_ptr<PendingAnswer> pending_;
  asio::io_context ioc_;
  Acceptor acceptor_;
  Timer sweep_timer_;
  std::thread thread_;
};

Server::Server(ServerConfig config, const Router& router)
    : config_(std::move(config)), router_(router) {
  if (config_.threads == 0) config_.threads = 1;
}

Server::~Server() { shutdown(std::chrono::milliseconds(0)); }

void Server::start() {
  const auto address = asio::ip::make_address(config_.address);
  port_ = config_.port;
  for (unsigned i = 0; i < config_.threads; ++i) {
    auto w = std::make_unique<Worker>(*this, i);
    w->bind(tcp::endpoint(address, port_));
    if (port_ == 0) port_ = w->local_port();  // the others join the port the first one got
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) w->run();
}

void Server::shutdown(std::chrono::milliseconds drain) {
  if (stopped_) return;
  stopped_ = true;
  draining_.store(true, std::memory_order_release);
  for (auto& w : workers_) w->begin_drain();
  const auto deadline = std::chrono::steady_clock::now() + drain;
  while (open_connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
}

std::size_t Server::open_connections() const {
  std::size_t n = 0;
  for (const auto& w : workers_) n += w->connections();
  return n;
}

}  // namespace le::net
