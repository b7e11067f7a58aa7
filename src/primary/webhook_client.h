// One webhook POST, as a delivery attempt makes it: resolve the URL's host, refuse it when any
// address it resolves to is private (unless the operator allows that; see private_address),
// connect, for https a TLS handshake that verifies the certificate chain and the host name (SNI
// sent), write the request, and read the response's status line and header only. The body is
// never read, so a receiver answering with a huge body, or never answering, or never closing,
// costs this one connection until the deadline and nothing more. Every step runs within the one
// `timeout`.
//
// Thread-safety: concurrent posts on any executors; the ssl::context is shared read-only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "primary/client_connect.h"
#include "primary/deliveries.h"

namespace le::primary {

struct WebhookPost {
  std::string url;
  std::string body;  // sent as application/json
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10'000};
  bool allow_private = false;
};

// The receiver's HTTP status, or 0 with the reason there was none (timeout, refused, TLS, ...).
boost::asio::awaitable<AttemptResult> post_webhook(const WebhookPost& post,
                                                   boost::asio::ssl::context& tls);

}  // namespace le::primary
