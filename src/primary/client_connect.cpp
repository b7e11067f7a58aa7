#include "primary/client_connect.h"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <memory>

namespace le::primary {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

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

std::string describe_failure(const boost::system::error_code& ec, std::string_view step) {
  if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
    return std::string(step) + ": timed out";
  }
  return std::string(step) + ": " + ec.message();
}

asio::awaitable<std::pair<boost::system::error_code, tcp::resolver::results_type>> resolve_until(
    const std::string& host, const std::string& port,
    std::chrono::steady_clock::time_point deadline) {
  auto executor = co_await asio::this_coro::executor;
  // The timer's handler may run after this frame is gone (the deadline passing just as the
  // resolve fails): it holds the resolver too.
  auto resolver = std::make_shared<tcp::resolver>(executor);
  asio::steady_timer guard(executor, deadline);
  guard.async_wait([resolver](boost::system::error_code ec) {
    if (!ec) resolver->cancel();
  });
  auto [ec, resolved] = co_await resolver->async_resolve(host, port, kNoThrow);
  guard.cancel();
  co_return std::pair{ec, std::move(resolved)};
}

asio::awaitable<std::string> client_handshake(TlsClientStream& s, const std::string& host) {
  boost::system::error_code ec;
  const bool ip_literal = (asio::ip::make_address(host, ec), !ec);
  if (!ip_literal && !SSL_set_tlsext_host_name(s.native_handle(), host.c_str())) {
    co_return "TLS: cannot set the server name";
  }
  s.set_verify_mode(ssl::verify_peer);
  s.set_verify_callback(ssl::host_name_verification(host));
  if (auto [hec] = co_await s.async_handshake(ssl::stream_base::client, kNoThrow); hec) {
    co_return describe_failure(hec, "TLS handshake");
  }
  co_return std::string();
}

}  // namespace le::primary
