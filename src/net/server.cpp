#include "net/server.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

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
using Stream = beast::basic_stream<tcp, Executor>;
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

}  // namespace

class Server::Worker {
 public:
  // Each I/O object is used only on its worker's thread, so the reactor's per-object locking
  // is off; the scheduler keeps its lock for post() and stop() from other threads.
  Worker(Server& server, unsigned index)
      : server_(server),
        index_(index),
        ioc_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
        acceptor_(ioc_.get_executor()) {}

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
    thread_ = std::thread([this] { ioc_.run(); });
  }

  // Stage one and two of shutdown, on this worker's own thread.
  void begin_drain() {
    asio::post(ioc_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      for (auto* s : sessions_) {
        if (s->idle) s->stream->cancel();
      }
    });
  }
  void stop() { ioc_.stop(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::size_t connections() const { return connections_.load(std::memory_order_relaxed); }

 private:
  struct SessionState {
    Stream* stream;
    bool idle;
  };

  // The body read is bounded by its own timer rather than the stream's expiry: on expiry a
  // beast::tcp_stream closes its socket, which would leave no way to answer 408. The timer only
  // cancels the read. Shared with the timer's handler, which may run after the session ended;
  // `generation` keeps a late handler from cancelling a later operation.
  struct BodyDeadline {
    Socket* socket = nullptr;
    std::uint64_t generation = 0;
    bool fired = false;
  };

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

  Awaitable<beast::error_code> write_response(Stream& stream, unsigned version,
                                                    Response& r, bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.extra_headers()) res.set(name, value);
    res.keep_alive(keep_alive);
    res.body() = std::move(r.body);
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(stream, res, kNoThrow);
    r.body = std::move(res.body());  // hand the buffer back for reuse
    co_return ec;
  }

  // Answers a protocol error, then closes gracefully.
  Awaitable<void> fail(Stream& stream, unsigned version, std::string_view path,
                             ProtocolError e, std::string& body) {
    Response res(body);
    server_.router_.write_error(path, e, res);
    stream.expires_after(server_.config_.limits.request_timeout);
    if (auto ec = co_await write_response(stream, version, res, false)) co_return;
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(kLingerTime);
    char sink[4096];
    for (std::size_t total = 0; total < kLingerBytes;) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
      if (rec) break;
      total += n;
    }
  }

  Awaitable<void> session(Socket socket) {
    connections_.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    Stream stream(std::move(socket));
    SessionState state{&stream, true};
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
    auto deadline = std::make_shared<BodyDeadline>();
    deadline->socket = &stream.socket();
    struct DetachDeadline {
      BodyDeadline& d;
      ~DetachDeadline() { d.socket = nullptr; }
    } detach{*deadline};
    Timer body_timer(ioc_.get_executor());
    beast::flat_buffer buffer;
    std::string body;  // response body buffer, reused across the connection's requests
    while (!server_.draining()) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
      parser.body_limit(limits.body_bytes);

      state.idle = true;
      stream.expires_after(limits.idle_timeout);
      auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
      state.idle = false;
      if (hec) {
        if (hec == http::error::header_limit) {
          co_await fail(stream, kHttp11, {}, ProtocolError::kHeaderTooLarge, body);
        } else if (hec == http::error::body_limit) {
          // Beast checks Content-Length against the limit as soon as the header is complete.
          const std::string_view t(parser.get().target().data(), parser.get().target().size());
          co_await fail(stream, parser.get().version(), t.substr(0, t.find('?')),
                        ProtocolError::kBodyTooLarge, body);
        } else if (is_malformed(hec)) {
          co_await fail(stream, kHttp11, {}, ProtocolError::kBadRequest, body);
        }
        break;  // end of stream, idle timeout, cancellation: close quietly
      }
      const auto& req = parser.get();
      const std::string_view target(req.target().data(), req.target().size());
      const std::string_view path = target.substr(0, target.find('?'));

      stream.expires_after(limits.request_timeout);
      if (auto len = parser.content_length(); len && *len > limits.body_bytes) {
        co_await fail(stream, req.version(), path, ProtocolError::kBodyTooLarge, body);
        break;
      }
      if (!parser.is_done()) {
        if (beast::iequals(req[http::field::expect], "100-continue")) {
          http::response<http::empty_body> cont{http::status::continue_, req.version()};
          auto [cec, cn] = co_await http::async_write(stream, cont, kNoThrow);
          if (cec) break;
        }
        stream.expires_never();
        deadline->fired = false;
        body_timer.expires_after(limits.request_timeout);
        body_timer.async_wait([deadline, gen = ++deadline->generation](beast::error_code ec) {
          if (ec || deadline->socket == nullptr || deadline->generation != gen) return;
          deadline->fired = true;
          beast::error_code ignored;
          deadline->socket->cancel(ignored);
        });
        auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kNoThrow);
        ++deadline->generation;
        body_timer.cancel();
        stream.expires_after(limits.request_timeout);
        if (bec) {
          if (bec == http::error::body_limit) {
            co_await fail(stream, req.version(), path, ProtocolError::kBodyTooLarge, body);
          } else if (deadline->fired) {
            co_await fail(stream, req.version(), path, ProtocolError::kRequestTimeout, body);
          } else if (is_malformed(bec) || bec == http::error::partial_message) {
            // A body cut short by a half-close still gets an answer: the peer may be reading.
            co_await fail(stream, req.version(), path, ProtocolError::kBadRequest, body);
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
      std::optional<Response> res(std::in_place, body);
      try {
        server_.router_.dispatch(r, *res);
      } catch (const std::exception& ex) {
        // A handler bug, never bad input (handlers answer that themselves): report it honestly.
        log::error("net", "handler failed", {{"error", ex.what()}, {"path", path}});
        res.emplace(body);
        server_.router_.write_error(path, ProtocolError::kInternal, *res);
        res->close = true;
      }
      const bool keep_alive = req.keep_alive() && !res->close && !server_.draining();
      if (auto wec = co_await write_response(stream, req.version(), *res, keep_alive)) break;
      if (!keep_alive) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  Server& server_;
  unsigned index_;
  asio::io_context ioc_;
  Acceptor acceptor_;
  std::thread thread_;
  std::list<SessionState*> sessions_;  // touched only on this worker's thread
  std::atomic<std::size_t> connections_{0};
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
