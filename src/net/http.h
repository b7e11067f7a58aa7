// Protocol-neutral request/response views and the router. `net` knows HTTP, not licenses:
// handlers and the error-body writer are supplied by the service that uses it.
//
// Thread-safety: a Router is built before the server starts and is read-only afterwards, so it
// is shared by every I/O thread. Request/Response live on one I/O thread for one request.
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace le::net {

namespace http = boost::beast::http;

// Header fields allocated from a per-connection arena (the server's), so reading a request
// allocates nothing from the heap.
using ArenaFields = http::basic_fields<std::pmr::polymorphic_allocator<char>>;

// A request's header fields, wherever they are held: the server's ArenaFields, or plain
// http::fields (built by hand, e.g. in a test). Converts from a pointer to either; empty when
// the header was not parsed.
class HeaderFields {
 public:
  HeaderFields() = default;
  HeaderFields(std::nullptr_t) {}
  HeaderFields(const http::fields* f) : plain_(f) {}
  HeaderFields(const ArenaFields* f) : arena_(f) {}
  explicit operator bool() const { return plain_ != nullptr || arena_ != nullptr; }

  // The value of the first field `f` / `name` (case-insensitive), if present.
  std::optional<std::string_view> find(http::field f) const { return lookup(f); }
  std::optional<std::string_view> find(std::string_view name) const { return lookup(name); }

 private:
  template <typename Key>
  std::optional<std::string_view> lookup(const Key& key) const {
    if (arena_ != nullptr) return value_of(*arena_, key);
    if (plain_ != nullptr) return value_of(*plain_, key);
    return std::nullopt;
  }
  template <typename Fields, typename Key>
  static std::optional<std::string_view> value_of(const Fields& fields, const Key& key) {
    auto it = fields.find(key);
    if (it == fields.end()) return std::nullopt;
    return std::string_view(it->value().data(), it->value().size());
  }
  const http::fields* plain_ = nullptr;
  const ArenaFields* arena_ = nullptr;
};

struct Request {
  http::verb method = http::verb::unknown;
  std::string_view target;  // origin form: path and query (an absolute-form target is reduced)
  std::string_view path;    // target without the query
  std::string_view body;
  HeaderFields fields;
  boost::asio::ip::address peer;
  unsigned worker = 0;  // index of the I/O thread serving it: per-thread state lives there
  // Path segments matched by "{}" in the route pattern, in order (see Router::add).
  std::array<std::string_view, 2> params{};

  // The raw (still percent-encoded) value of query parameter `name`, if present.
  std::optional<std::string_view> query(std::string_view name) const;

  std::optional<std::string_view> header(http::field f) const { return fields.find(f); }
  std::optional<std::string_view> header(std::string_view name) const { return fields.find(name); }
};

class Response;

// The far end of a deferred response (Response::defer): hands the answer over from any thread.
class Completion {
 public:
  virtual ~Completion() = default;
  // `fill` runs later on the connection's I/O thread and writes the response (status, body,
  // headers). The first call wins; a call after the deadline passed is ignored. Thread-safe.
  virtual void complete(std::function<void(Response&)> fill) = 0;
};

// Implemented by the server: parks a response until its Completion is called or time runs out.
class Deferrer {
 public:
  virtual ~Deferrer() = default;
  virtual std::shared_ptr<Completion> defer(Response& res, std::chrono::milliseconds timeout,
                                            std::function<void(Response&)> on_timeout) = 0;
};

class Response {
 public:
  explicit Response(std::string& body, Deferrer* deferrer = nullptr)
      : body(body), deferrer_(deferrer) {}

  unsigned status = 200;
  std::string& body;  // reused per connection: handlers assign into it
  std::string_view content_type = "application/json";
  bool close = false;  // answer with Connection: close

  // `name` must outlive the response (a literal); neither may contain CR or LF.
  void add_header(std::string_view name, std::string value) {
    if (extra_count_ < extra_.size()) extra_[extra_count_++] = {name, std::move(value)};
  }
  std::span<const std::pair<std::string_view, std::string>> extra_headers() const {
    return {extra_.data(), extra_count_};
  }

  // For a handler that waits on something (a reply from another process) without blocking its
  // thread: it returns at once, and the answer is written when the returned Completion is
  // called. If that does not happen within `timeout`, the answer is what `on_timeout` writes.
  // Null where responses cannot be deferred (no server behind this response).
  std::shared_ptr<Completion> defer(std::chrono::milliseconds timeout,
                                    std::function<void(Response&)> on_timeout) {
    if (deferrer_ == nullptr) return nullptr;
    deferred_ = true;
    return deferrer_->defer(*this, timeout, std::move(on_timeout));
  }
  bool deferred() const { return deferred_; }

 private:
  std::array<std::pair<std::string_view, std::string>, 10> extra_;
  std::size_t extra_count_ = 0;
  Deferrer* deferrer_ = nullptr;
  bool deferred_ = false;
};

// Failures the server itself detects, before or instead of a handler.
enum class ProtocolError {
  kNotFound,          // 404: no route for the path
  kMethodNotAllowed,  // 405: route exists, not for this method
  kBodyTooLarge,      // 413
  kHeaderTooLarge,    // 431
  kBadRequest,        // 400: malformed HTTP
  kRequestTimeout,    // 408: request not completed in time
  kInternal,          // 500: a handler threw
  kBadApiVersion,     // 400: the version header names no version (Router::set_versioning)
};

unsigned status_of(ProtocolError e);

// What is known of a request that failed before (or instead of) a handler.
struct ErrorContext {
  std::string_view path;  // request path (origin form, no query); empty when unreadable
  boost::asio::ip::address peer;
  unsigned worker = 0;  // I/O thread answering, as in Request::worker
  HeaderFields fields;  // empty when the header was not parsed
};

using Handler = std::function<void(const Request&, Response&)>;
// Writes the error body in the protocol that `ctx.path` speaks; must set status.
using ErrorWriter = std::function<void(const ErrorContext& ctx, ProtocolError, Response&)>;

// The path of a request target, in origin form without the query: "/a/b?q" -> "/a/b"; the
// absolute form "http://host:port/a/b?q" -> "/a/b" (RFC 9112 3.2.2), "http://host" -> "/".
// Anything else (asterisk or authority form, garbage) is returned up to its query.
std::string_view path_of_target(std::string_view target);
// The target without the scheme and authority of an absolute form (a view into `target`):
// "http://host/a?q" -> "/a?q", "http://host?q" -> "?q"; other forms unchanged.
std::string_view origin_of_target(std::string_view target);
// The request target of the raw request line at the start of `raw` ("GET /x HTTP/1.1\r\n..."),
// or empty if the bytes do not start with one.
std::string_view target_of_request_line(std::string_view raw);

// Told of every answered request, on the I/O thread that answered it. `route` is the index of
// the matched route (Router::route_paths()) or -1 (no route, or a protocol error before one);
// `elapsed` runs from the dispatch to the end of the response write (0 for protocol errors).
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void observe(unsigned worker, int route, unsigned status,
                       std::chrono::nanoseconds elapsed) = 0;
};

class Router {
 public:
  // `path` is exact, or a pattern whose "{}" segments match one non-empty segment each (at most
  // two), e.g. "/api/v1/licenses/{}/suspend". Exact routes are tried before patterns.
  void add(http::verb method, std::string path, Handler handler);
  void set_error_writer(ErrorWriter w) { error_writer_ = std::move(w); }
  // Serves every route whose path starts with `from` and passes `include` at the same path
  // with `from` replaced by `to` too, by the same handler — but for a (method, path) already
  // served there.
  void mirror(std::string_view from, std::string_view to,
              const std::function<bool(std::string_view path)>& include);

  // API versions: `select` maps the request's `header` (nullopt: not sent) to the version that
  // serves it, or to nullopt for a value naming none — answered kBadApiVersion. Every answer
  // written through the router, errors included, then carries `header` with the version
  // (`current` where the request's is unknown).
  struct Versioning {
    std::string_view header;  // literals
    std::string_view current;
    std::optional<std::string_view> (*select)(std::optional<std::string_view>) = nullptr;
  };
  void set_versioning(Versioning v) { versioning_ = v; }

  // Runs before every dispatch, so its headers are on every answer — 404, 405 and a bad
  // version's 400 included. Returns false when it has written the answer itself (a 429): then no
  // route runs.
  using Admission = std::function<bool(const Request&, Response&)>;
  void set_admission(Admission a) { admission_ = std::move(a); }

  // Returns the index of the matched route, or -1.
  // HEAD is served by the route's GET handler (the server sends no body for it).
  int dispatch(const Request& req, Response& res) const;
  // Route paths (patterns as registered), by index.
  std::vector<std::string> route_paths() const;
  // Every (method, path pattern) served, as registered.
  std::vector<std::pair<http::verb, std::string>> routes() const;
  void write_error(const ErrorContext& ctx, ProtocolError e, Response& res) const;

 private:
  struct Route {
    std::string path;
    std::vector<std::pair<http::verb, Handler>> methods;
    bool pattern = false;
  };
  static bool match(std::string_view pattern, std::string_view path,
                    std::array<std::string_view, 2>& params);
  const Route* find(std::string_view path, std::array<std::string_view, 2>& params) const;
  std::vector<Route> routes_;  // a handful of routes: a linear scan beats hashing
  ErrorWriter error_writer_;
  Versioning versioning_;
  Admission admission_;
};

}  // namespace le::net
