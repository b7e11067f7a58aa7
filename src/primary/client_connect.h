// What the primary's outgoing clients — webhook deliveries (webhook_client.h) and license emails
// (smtp_client.h) — share: their TLS context, a name resolution bounded by a deadline, a TLS
// handshake that sends SNI and verifies the chain and the host name, and how a failed step is
// told.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>

namespace le::primary {

using TlsClientStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// A client TLS context verifying peers against the system's CA certificates, and also against
// the certificates in `ca_file` when it is not empty. Throws boost::system::system_error when
// the file cannot be loaded.
boost::asio::ssl::context make_client_tls(const std::string& ca_file);

// "<step>: timed out" for a deadline that passed (or an operation cancelled by it), else
// "<step>: <the error's message>".
std::string describe_failure(const boost::system::error_code& ec, std::string_view step);

// Resolves `host`:`port`, cancelled at `deadline` (a resolver has no deadline of its own).
boost::asio::awaitable<
    std::pair<boost::system::error_code, boost::asio::ip::tcp::resolver::results_type>>
resolve_until(const std::string& host, const std::string& port,
              std::chrono::steady_clock::time_point deadline);

// The client handshake on `s` (its deadline already set): SNI for a name (not for an IP
// literal), the chain verified and `host` matched against the certificate. Empty when it
// succeeded, else what failed ("TLS handshake: …").
boost::asio::awaitable<std::string> client_handshake(TlsClientStream& s, const std::string& host);

}  // namespace le::primary
