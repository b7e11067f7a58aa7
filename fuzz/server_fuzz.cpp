// The server's whole request path: bytes in (one connection, any number of requests), what the
// server writes and whether it keeps the connection out (Server::exchange, no sockets bound).
//
// Properties: the output is a sequence of whole HTTP/1.x responses, each with a Content-Length
// its body matches; every status is one the server or the routes below give; nothing follows an
// answer that says Connection: close; a connection kept open last said keep-alive; a 500 only
// ever comes from the route that throws.
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/log.h"
#include "net/server.h"

namespace {

using namespace le::net;

void check(bool ok) {
  if (!ok) std::abort();
}

const Router& router() {
  static const Router r = [] {
    Router r;
    auto echo = [](const Request& req, Response& res) {
      res.body = "{\"len\":" + std::to_string(req.body.size()) + "}";
    };
    r.add(http::verb::post, "/api/v1/validate", echo);
    r.add(http::verb::post, "/api/license/auth", echo);
    r.add(http::verb::get, "/healthz", [](const Request&, Response& res) { res.body = "{}"; });
    r.add(http::verb::post, "/throws",
          [](const Request&, Response&) { throw std::runtime_error("bug"); });
    // Deferred and completed at once: the answer is written after the handler returned.
    r.add(http::verb::post, "/defer", [](const Request&, Response& res) {
      auto c = res.defer(std::chrono::milliseconds(60'000), [](Response& r) { r.status = 504; });
      c->complete([](Response& r) { r.body = "{\"deferred\":true}"; });
    });
    r.add(http::verb::post, "/items/{}/x/{}", [](const Request& req, Response& res) {
      res.body = std::string(req.params[0].size() + req.params[1].size(), 'p');
    });
    r.set_error_writer([](const ErrorContext& ctx, ProtocolError e, Response& res) {
      res.status = status_of(e);
      res.body =
          ctx.path.starts_with("/api/license/") ? "{\"message\":\"m\"}" : "{\"error\":\"e\"}";
    });
    return r;
  }();
  return r;
}

bool allowed(unsigned status) {
  switch (status) {
    case 200:
    case 400:
    case 404:
    case 405:
    case 408:
    case 413:
    case 431:
    case 500:
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  le::log::set_min_level(le::log::Level::kOff);  // the throwing route logs each time
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  static Server& server = *[] {
    ServerConfig config;
    config.limits.header_bytes = 1024;
    config.limits.body_bytes = 2048;
    return new Server(config, router());  // lives for the process: one worker, reused
  }();
  const auto x = server.exchange(in);

  // Answers to HEAD have a Content-Length and no body; with HEAD anywhere in the input the
  // split below cannot tell them apart, so only the framing-independent checks run.
  const bool may_head =
      in.find("HEAD") != std::string_view::npos || in.find("head") != std::string_view::npos;
  std::string_view out = x.output;
  bool last_closed = false;
  std::size_t answers = 0;
  while (!out.empty()) {
    check(!last_closed);  // nothing after Connection: close
    const auto end = out.find("\r\n\r\n");
    check(end != std::string_view::npos);
    const std::string_view head = out.substr(0, end + 2);
    out.remove_prefix(end + 4);
    check(head.starts_with("HTTP/1.1 ") || head.starts_with("HTTP/1.0 "));
    unsigned status = 0;
    check(head.size() > 12 &&
          std::from_chars(head.data() + 9, head.data() + 12, status).ec == std::errc());
    if (status == 100) continue;  // 100 Continue: an interim answer
    check(allowed(status));
    const auto cl = head.find("\r\nContent-Length: ");
    check(cl != std::string_view::npos);
    std::size_t length = 0;
    std::from_chars(head.data() + cl + 18, head.data() + head.size(), length);
    last_closed = head.find("\r\nConnection: close\r\n") != std::string_view::npos;
    ++answers;
    if (may_head) break;
    check(out.size() >= length);
    const std::string_view body = out.substr(0, length);
    out.remove_prefix(length);
    check(!body.empty() && (body.front() == '{' || body.front() == 'p'));
    if (status == 500) check(body == "{\"error\":\"e\"}" && last_closed);
  }
  if (x.kept_open && !may_head) check(!last_closed);
  return 0;
}
