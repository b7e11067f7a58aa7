#include "primary/webhook_client.h"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
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

std::string describe(const boost::system::error_code& ec, std::string_view step) {
  if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
    return std::string(step) + ": timed out";
  }
  return std::string(step) + ": " + ec.message();
}

// Writes the request and reads the answer's header on a connected (and, for TLS, handshaken)
// stream whose deadline is already set.
template <typename Stream>
asio::awaitable<AttemptResult> post_and_read_status(Stream& stream,
                                                    const http::request<http::string_body>& req) {
  if (auto [ec, n] = co_await http::async_write(stream, req, kNoThrow); ec) {
    co_return failure(describe(ec, "sending"));
  }
  beast::flat_buffer buffer(kResponseHeaderLimit);
  http::response_parser<http::empty_body> parser;
  parser.header_limit(kResponseHeaderLimit);
  // The body is never read, whatever length it announces.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kNoThrow); ec) {
    co_return failure(describe(ec, "reading the answer"));
  }
  co_return AttemptResult{static_cast<std::uint16_t>(parser.get().result_int()), {}};
}

}  // namespace

ssl::context make_client_tls(const std::string& ca_file) {
  ssl::context tls(ssl::context::tls_client);
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  tls.set_default_verify_paths();
  if (!ca_file.empty()) tls.load_verify_file(ca_file);
  tls.set_verify_mode(ssl::verify_peer);
  return tls;
}

asio::awaitable<AttemptResult> post_webhook(const WebhookPost& post, ssl::context& tls) {
  WebhookUrl url;
  if (auto problem = parse_webhook_url(post.url, url)) co_return failure("URL " + *problem);
  auto executor = co_await asio::this_coro::executor;
  const auto deadline = Clock::now() + post.timeout;

  // The resolver is not a stream with a deadline: a timer cancels it. The timer's handler may
  // run after this frame is gone (the deadline passing just as the resolve fails): it holds the
  // resolver too.
  auto resolver = std::make_shared<tcp::resolver>(executor);
  asio::steady_timer guard(executor, deadline);
  guard.async_wait([resolver](boost::system::error_code ec) {
    if (!ec) resolver->cancel();
  });
  auto [rec, resolved] = co_await resolver->async_resolve(url.host, url.port, kNoThrow);
  guard.cancel();
  if (rec) co_return failure(describe(rec, "resolving " + url.host));
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
    co_return failure(describe(ec, "connecting"));
  }
  if (!url.https) {
    auto result = co_await post_and_read_status(stream, req);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return result;
  }
  beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(stream), tls);
  boost::system::error_code ec;
  const bool ip_literal = (asio::ip::make_address(url.host, ec), !ec);
  if (!ip_literal && !SSL_set_tlsext_host_name(tls_stream.native_handle(), url.host.c_str())) {
    co_return failure("TLS: cannot set the server name");
  }
  tls_stream.set_verify_mode(ssl::verify_peer);
  tls_stream.set_verify_callback(ssl::host_name_verification(url.host));
  if (auto [hec] = co_await tls_stream.async_handshake(ssl::stream_base::client, kNoThrow); hec) {
    co_return failure(describe(hec, "TLS handshake"));
  }
  auto result = co_await post_and_read_status(tls_stream, req);
  // No close_notify exchange: a peer that never answers it would hold the attempt open.
  beast::error_code ignored;
  beast::get_lowest_layer(tls_stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return result;
}

}  // namespace le::primary
