#include "net/server.h"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "common/log.h"
#include "common/thread_name.h"
#include "net/listen.h"

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
// Read-buffer room beyond one request's header and body: chunk lines and pipelined bytes.
constexpr std::size_t kFramingSlack = 8 * 1024;
// Chunk extensions carry nothing we use; more than this in one request is refused.
constexpr std::size_t kChunkExtensionBytes = 1024;

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

// Whether a worker's io_context still takes work. A Completion may be called from another
// thread after the server is gone; it posts only while the gate is open.
struct Gate {
  std::mutex mu;
  bool open = true;
};

// A deferred response (Response::defer). Its state is touched only on the worker's thread:
// complete() posts there.
class PendingAnswer final : public Completion, public std::enable_shared_from_this<PendingAnswer> {
 public:
  PendingAnswer(Executor ex, std::shared_ptr<Gate> gate, Response& res,
                std::chrono::milliseconds timeout, std::function<void(Response&)> on_timeout)
      : ex_(ex),
        gate_(std::move(gate)),
        res_(&res),
        timeout_(timeout),
        on_timeout_(std::move(on_timeout)) {}

  void complete(std::function<void(Response&)> fill) override {
    std::lock_guard lock(gate_->mu);
    if (!gate_->open) return;
    asio::post(ex_, [self = shared_from_this(), fill = std::move(fill)] {
      if (self->finished_ || self->res_ == nullptr) return;
      self->finished_ = true;
      fill(*self->res_);
      if (self->timer_ != nullptr) self->timer_->cancel();
    });
  }

  // Waits (on the worker's thread) for complete() or the timeout; the response is written by
  // then either way. If the session's frame is destroyed while waiting (shutdown), the answer
  // is abandoned on the way out.
  Awaitable<void> wait() {
    struct Detach {
      PendingAnswer* p;
      ~Detach() { p->abandon(); }
    } detach{this};
    Timer timer(ex_, timeout_);
    timer_ = &timer;
    if (!finished_) co_await timer.async_wait(kNoThrow);
    timer_ = nullptr;
    if (!finished_) {
      finished_ = true;
      on_timeout_(*res_);
    }
  }

  // The response it would write into is gone (its handler threw, or the session ended): a
  // later complete() is a no-op. Worker's thread only.
  void abandon() {
    finished_ = true;
    res_ = nullptr;
    timer_ = nullptr;
  }

 private:
  Executor ex_;
  std::shared_ptr<Gate> gate_;
  Response* res_;
  std::chrono::milliseconds timeout_;
  std::function<void(Response&)> on_timeout_;
  Timer* timer_ = nullptr;
  bool finished_ = false;
};

// Framing checks the parser leaves to us (RFC 9112 6.1, 6.3, 3.2). Returns false when the
// request must be answered 400 and the connection closed.
// A request read into the connection's arena: fields, target and body allocate nothing from the
// heap while they fit it.
using ArenaAllocator = std::pmr::polymorphic_allocator<char>;
using RequestParser =
    http::request_parser<http::basic_string_body<char, std::char_traits<char>, ArenaAllocator>,
                         ArenaAllocator>;
constexpr std::size_t kArenaBytes = 4096;

bool framing_ok(const RequestParser& parser) {
  const auto& req = parser.get();
  if (req.count(http::field::transfer_encoding) != 0) {
    // HTTP/1.0 has no transfer codings: the framing is faulty whatever else is present.
    if (req.version() < 11) return false;
    // The only coding we accept is exactly one "chunked": anything before it is a coding we do
    // not implement, and anything after it leaves the length unknown.
    std::size_t codings = 0;
    bool chunked_last = false;
    for (const auto& f : req) {
      if (f.name() != http::field::transfer_encoding) continue;
      for (const auto& coding : http::token_list{f.value()}) {
        ++codings;
        chunked_last = beast::iequals(coding, "chunked");
      }
    }
    if (codings != 1 || !chunked_last || !parser.chunked()) return false;
  }
  // HTTP/1.1 needs exactly one Host; HTTP/1.0 at most one.
  const auto hosts = req.count(http::field::host);
  return req.version() >= 11 ? hosts == 1 : hosts <= 1;
}

// Stream operations the session needs beyond reading and writing, for TCP and UNIX sockets.
template <typename Sock>
void cancel_socket(void* s) {
  beast::error_code ignored;
  static_cast<Sock*>(s)->cancel(ignored);
}

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
  ~Worker() override { close_gate(); }

  void bind(const tcp::endpoint& ep) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    set_reuse_port(acceptor_.native_handle());
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }
  unsigned short local_port() const { return acceptor_.local_endpoint().port(); }

  void run() {
    asio::co_spawn(ioc_.get_executor(), accept_loop(), log_exception);
    asio::co_spawn(ioc_.get_executor(), sweep_loop(), log_exception);
    thread_ = std::thread([this] {
      name_this_thread("le-io");
      ioc_.run();
    });
  }

  // Stage one and two of shutdown, on this worker's own thread.
  void begin_drain() {
    asio::post(ioc_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      sweep_timer_.cancel();
      for (auto* s : sessions_) {
        if (s->idle) s->cancel(s->socket);
      }
    });
  }
  void stop() {
    close_gate();
    ioc_.stop();
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::size_t connections() const { return connections_.load(std::memory_order_relaxed); }

  std::shared_ptr<Completion> defer(Response& res, std::chrono::milliseconds timeout,
                                    std::function<void(Response&)> on_timeout) override {
    pending_ = std::make_shared<PendingAnswer>(ioc_.get_executor(), gate_, res, timeout,
                                               std::move(on_timeout));
    return pending_;
  }

  // One connection over a connected UNIX socket pair, run on the calling thread (Server::exchange).
  Exchange exchange(std::string_view input) {
    using Local = asio::basic_stream_socket<asio::local::stream_protocol, Executor>;
    Local server_end(ioc_.get_executor()), client(ioc_.get_executor());
    asio::local::connect_pair(server_end, client);
    client.non_blocking(true);
    bool done = false;
    asio::co_spawn(ioc_.get_executor(),
                   session(std::move(server_end), asio::ip::make_address("127.0.0.1")),
                   [&done](std::exception_ptr e) {
                     log_exception(e);
                     done = true;
                   });
    Exchange out;
    bool closed = false;  // the server shut its sending side (it may still drain ours)
    auto drain = [&] {
      char buf[4096];
      beast::error_code ec;
      for (;;) {
        const std::size_t n = client.read_some(asio::buffer(buf), ec);
        if (ec == asio::error::eof) closed = true;
        if (ec) break;
        out.output.append(buf, n);
      }
    };
    auto settle = [&] {
      ioc_.restart();
      while (ioc_.poll() > 0) drain();
      drain();
    };
    while (!input.empty() && !done) {
      beast::error_code ec;
      const std::size_t n = client.write_some(asio::buffer(input.data(), input.size()), ec);
      if (ec && ec != asio::error::would_block) break;
      input.remove_prefix(n);
      settle();
    }
    settle();
    out.kept_open = !done && !closed;
    beast::error_code ignored;
    client.close(ignored);  // the session sees the end of the stream and ends
    settle();
    return out;
  }

 private:
  using Clock = std::chrono::steady_clock;

  // Timeouts work like nginx's: an operation only records its deadline; one sweeper per worker
  // cancels the operations of connections past theirs. No timer per read or write.
  struct SessionState {
    void* socket;
    void (*cancel)(void*);
    bool idle = true;
    bool timed_out = false;
    Clock::time_point deadline;

    void expires_after(Clock::duration d) {
      deadline = Clock::now() + d;
      timed_out = false;
    }
  };

  void close_gate() {
    std::lock_guard lock(gate_->mu);
    gate_->open = false;
  }

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
          s->cancel(s->socket);
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
      const auto peer = socket.remote_endpoint(ec);
      asio::co_spawn(ioc_.get_executor(), session(std::move(socket), peer.address()),
                     log_exception);
    }
  }

  // Writes the status line and headers into `head` (a per-connection buffer) and sends them with
  // the body in one gather write. Cheaper than a beast::http::response per request, whose
  // fields are allocated node by node; the format is the plain HTTP/1.1 one. The answer to HEAD
  // has the headers GET would have, and no body (RFC 9110 9.3.2).
  template <typename Sock>
  Awaitable<beast::error_code> write_response(Sock& socket, std::string& head, unsigned version,
                                              Response& r, bool keep_alive, bool head_only) {
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
    const std::array<asio::const_buffer, 2> buffers{
        asio::buffer(head), head_only ? asio::const_buffer() : asio::buffer(r.body)};
    auto [ec, n] = co_await asio::async_write(socket, buffers, kNoThrow);
    co_return ec;
  }

  // Answers a protocol error, then closes gracefully.
  template <typename Sock>
  Awaitable<void> fail(Sock& socket, SessionState& state, unsigned version, const ErrorContext& ctx,
                       ProtocolError e, std::string& body, bool head_only = false) {
    Response res(body);
    server_.router_.write_error(ctx, e, res);
    if (auto* o = server_.observer())
      o->observe(index_, -1, res.status, std::chrono::nanoseconds(0));
    state.expires_after(server_.config_.limits.request_timeout);
    std::string head;
    if (auto ec = co_await write_response(socket, head, version, res, false, head_only)) co_return;
    beast::error_code ec;
    socket.shutdown(Sock::shutdown_send, ec);
    state.expires_after(kLingerTime);
    char sink[4096];
    for (std::size_t total = 0; total < kLingerBytes;) {
      auto [rec, n] = co_await socket.async_read_some(asio::buffer(sink), kNoThrow);
      if (rec) break;
      total += n;
    }
  }

  template <typename Sock>
  Awaitable<void> session(Sock socket, asio::ip::address peer) {
    connections_.fetch_add(1, std::memory_order_relaxed);
    SessionState state{&socket, &cancel_socket<Sock>};
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
    // Every byte a request makes us hold is in this buffer or the parsed message: a header over
    // its limit, a chunk line or trailer that never ends, or pipelined bytes beyond one
    // request's worth fail the read instead of growing it.
    beast::flat_buffer buffer(limits.header_bytes + limits.body_bytes + kFramingSlack);
    std::string body;  // response body buffer, reused across the connection's requests
    std::string head;  // response status line and headers, likewise
    ErrorContext ctx{{}, peer, index_, nullptr};
    // The path of a request whose header could not be parsed, so the error is answered in the
    // protocol that path speaks: from the parsed request line, or while that is incomplete
    // (a header over its limit) from the raw bytes.
    auto error_path = [&buffer](const RequestParser& parser) {
      const auto parsed = parser.get().target();
      if (!parsed.empty()) return path_of_target(std::string_view(parsed.data(), parsed.size()));
      const auto data = buffer.cdata();
      return path_of_target(target_of_request_line(
          std::string_view(static_cast<const char*>(data.data()), data.size())));
    };
    std::size_t extension_bytes = 0;
    auto count_extensions = [&extension_bytes](std::uint64_t, std::string_view ext,
                                               beast::error_code& ec) {
      extension_bytes += ext.size();
      if (extension_bytes > kChunkExtensionBytes) ec = http::error::bad_chunk_extension;
    };
    // Each request's fields and body, released before the next one is read; larger requests
    // borrow from the heap beyond it.
    alignas(std::max_align_t) std::array<std::byte, kArenaBytes> arena_bytes;
    std::pmr::monotonic_buffer_resource arena(arena_bytes.data(), arena_bytes.size());
    while (!server_.draining()) {
      arena.release();
      RequestParser parser(std::piecewise_construct, std::make_tuple(ArenaAllocator(&arena)),
                           std::make_tuple(ArenaAllocator(&arena)));
      parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
      parser.body_limit(limits.body_bytes);
      extension_bytes = 0;
      parser.on_chunk_header(count_extensions);  // held by reference: outlives the parser
      ctx.path = {};
      ctx.fields = nullptr;

      state.idle = true;
      state.expires_after(limits.idle_timeout);
      auto [hec, hn] = co_await http::async_read_header(socket, buffer, parser, kNoThrow);
      state.idle = false;
      if (hec) {
        if (hec == http::error::header_limit) {
          ctx.path = error_path(parser);
          co_await fail(socket, state, kHttp11, ctx, ProtocolError::kHeaderTooLarge, body);
        } else if (hec == http::error::body_limit) {
          // Beast checks Content-Length against the limit as soon as the header is complete.
          ctx.path = error_path(parser);
          co_await fail(socket, state, parser.get().version(), ctx, ProtocolError::kBodyTooLarge,
                        body, parser.get().method() == http::verb::head);
        } else if (is_malformed(hec) || hec == http::error::buffer_overflow) {
          ctx.path = error_path(parser);
          co_await fail(socket, state, kHttp11, ctx, ProtocolError::kBadRequest, body);
        }
        break;  // end of stream, idle timeout, cancellation: close quietly
      }
      const auto& req = parser.get();
      const std::string_view raw_target(req.target().data(), req.target().size());
      // Origin form from here on: an absolute-form target is reduced to its path and query.
      const std::string_view path = path_of_target(raw_target);
      const std::string_view target = origin_of_target(raw_target);
      const bool head_only = req.method() == http::verb::head;
      ctx.path = path;
      ctx.fields = &req;

      state.expires_after(limits.request_timeout);
      if (!framing_ok(parser)) {
        co_await fail(socket, state, req.version(), ctx, ProtocolError::kBadRequest, body,
                      head_only);
        break;
      }
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
          co_await fail(socket, state, req.version(), ctx,
                        pec == http::error::body_limit ? ProtocolError::kBodyTooLarge
                                                       : ProtocolError::kBadRequest,
                        body, head_only);
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
            co_await fail(socket, state, req.version(), ctx, ProtocolError::kBodyTooLarge, body,
                          head_only);
          } else if (state.timed_out) {
            co_await fail(socket, state, req.version(), ctx, ProtocolError::kRequestTimeout, body,
                          head_only);
          } else if (is_malformed(bec) || bec == http::error::partial_message ||
                     bec == http::error::buffer_overflow) {
            // A body cut short by a half-close still gets an answer: the peer may be reading.
            co_await fail(socket, state, req.version(), ctx, ProtocolError::kBadRequest, body,
                          head_only);
          }
          break;
        }
      }

      Request r;
      r.method = req.method();
      r.target = target;
      r.path = path;
      r.body = std::string_view(req.body().data(), req.body().size());
      r.fields = &req;
      r.peer = peer;
      r.worker = index_;
      std::optional<Response> res(std::in_place, body, this);
      RequestObserver* const observer = server_.observer();
      const auto started =
          observer ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
      int route = -1;
      try {
        route = server_.router_.dispatch(r, *res);
      } catch (const std::exception& ex) {
        // A handler bug, never bad input (handlers answer that themselves): report it honestly.
        log::error("net", "handler failed", {{"error", ex.what()}, {"path", path}});
        // A handler that deferred before throwing may still be completed: that must not reach
        // the response it was given, which is replaced here.
        if (pending_ != nullptr) pending_->abandon();
        pending_.reset();
        res.emplace(body);
        server_.router_.write_error(ctx, ProtocolError::kInternal, *res);
        res->close = true;
      }
      if (pending_ != nullptr) {
        // The handler deferred its answer: wait for it without blocking the thread.
        const auto pending = std::move(pending_);
        co_await pending->wait();
      }
      const bool keep_alive = req.keep_alive() && !res->close && !server_.draining();
      const auto wec =
          co_await write_response(socket, head, req.version(), *res, keep_alive, head_only);
      if (observer) {
        observer->observe(index_, route, res->status, std::chrono::steady_clock::now() - started);
      }
      if (wec) break;
      if (!keep_alive) break;
    }
    beast::error_code ec;
    socket.shutdown(Sock::shutdown_both, ec);
  }

  Server& server_;
  unsigned index_;
  // Declared before ioc_ so they outlive it: destroying the io_context destroys the frames of
  // sessions still suspended, whose cleanup touches these.
  std::list<SessionState*> sessions_;  // touched only on this worker's thread
  std::atomic<std::size_t> connections_{0};
  // Set by defer() during a dispatch, taken by the session right after it.
  std::shared_ptr<PendingAnswer> pending_;
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
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
  if (port_ != 0) refuse_if_served(tcp::endpoint(address, port_));
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

Server::Exchange Server::exchange(std::string_view input) {
  if (exchange_worker_ == nullptr) exchange_worker_ = std::make_unique<Worker>(*this, 0);
  return exchange_worker_->exchange(input);
}

std::size_t Server::open_connections() const {
  std::size_t n = 0;
  for (const auto& w : workers_) n += w->connections();
  return n;
}

}  // namespace le::net
