#include "primary/webhook_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <memory>

namespace le::primary {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kResponseHeaderLimit = 16 * 1024;

AttemptResult failure(std::string why) { return AttemptResult{0, std::move(why)}; }

// Writes the request and reads the answer's header on a connected (and, for TLS, handshaken)
// stream whose deadline is already set.
template <typename Stream>
asio::awaitable<AttemptResult> post_and_read_status(Stream& stream,
                                                    const http::request<http::string_body>& req) {
  if (auto [ec, n] = co_await http::async_write(stream, req, kNoThrow); ec) {
    co_return failure(describe_failure(ec, "sending"));
  }
  beast::flat_buffer buffer(kResponseHeaderLimit);
  http::response_parser<http::empty_body> parser;
  parser.header_limit(kResponseHeaderLimit);
  // The body is never read, whatever length it announces.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kNoThrow); ec) {
    co_return failure(describe_failure(ec, "reading the answer"));
  }
  co_return AttemptResult{static_cast<std::uint16_t>(parser.get().result_int()), {}};
}

}  // namespace

asio::awaitable<AttemptResult> post_webhook(const WebhookPost& post, ssl::context& tls) {
  WebhookUrl url;
  if (auto problem = parse_webhook_url(post.url, url)) co_return failure("URL " + *problem);
  auto executor = co_await asio::this_coro::executor;
  const auto deadline = Clock::now() + post.timeout;
  auto [rec, resolved] = co_await resolve_until(url.host, url.port, deadline);
  if (rec) co_return failure(describe_failure(rec, "resolving " + url.host));
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : resolved) {
    if (!post.allow_private && private_address(entry.endpoint().address())) {
      co_return failure("refused: " + url.host + " resolves to a private address");
    }
    endpoints.push_back(entry.endpoint());
  }

  http::request<http::string_body> req{http::verb::post, url.target, 11};
  const bool default_port = url.port == (url.https ? "443" : "80");
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string host_header = v6 ? "[" + url.host + "]" : url.host;
  if (!default_port) host_header += ":" + url.port;
  req.set(http::field::host, host_header);
  req.set(http::field::user_agent, "license-primary-webhooks/1");
  req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : post.headers) req.set(name, value);
  req.body() = post.body;
  req.keep_alive(false);
  req.prepare_payload();

  beast::tcp_stream stream(executor);
  stream.expires_at(deadline);
  if (auto [ec, ep] = co_await stream.async_connect(endpoints, kNoThrow); ec) {
    co_return failure(describe_failure(ec, "connecting"));
  }
  if (!url.https) {
    auto result = co_await post_and_read_status(stream, req);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return result;
  }
  TlsClientStream tls_stream(std::move(stream), tls);
  if (auto e = co_await client_handshake(tls_stream, url.host); !e.empty()) {
    co_return failure(std::move(e));
  }
  auto result = co_await post_and_read_status(tls_stream, req);
  // No close_notify exchange: a peer that never answers it would hold the attempt open.
  beast::error_code ignored;
  beast::get_lowest_layer(tls_stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return result;
}

}  // namespace le::primary
