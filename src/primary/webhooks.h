// Webhook endpoints (spec "Webhooks"): where an account's events are delivered, per account and
// mode. An endpoint holds its URL, the events it takes (any of the six; all by default), whether
// it is enabled, and its signing secret ("whsec_…", shown once when created or rotated; kept
// as it must be to sign). Endpoints live only at the primary, in their own column family, as
// JSON; they are not part of the change stream.
//
// URLs are checked when registered: http or https, a host, at most kMaxUrlBytes, no user info.
// Unless the operator allows it (--webhooks-allow-private), a host that is, or names,
// a loopback, private, link-local, unspecified or cloud-metadata address is refused (SSRF).
//
// Pure functions and value types; thread-safe.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/model.h"

namespace le::primary {

enum class WebhookEvent : std::uint8_t {
  kLicenseCreated,
  kLicenseActivated,
  kLicenseDeactivated,
  kLicenseExpired,
  kLicenseSuspended,
  kValidationFailed,
  kLicenseRenewed,
};
inline constexpr int kWebhookEventCount = 7;
inline constexpr std::uint8_t kAllWebhookEvents = (1u << kWebhookEventCount) - 1;
inline constexpr std::size_t kMaxUrlBytes = 2048;

std::string_view to_string(WebhookEvent e);
std::optional<WebhookEvent> parse_webhook_event(std::string_view s);

struct WebhookEndpoint {
  std::string id;  // "wh_…"
  std::string account_id;
  core::Mode mode = core::Mode::kLive;
  std::string url;
  std::uint8_t events = kAllWebhookEvents;  // bit per WebhookEvent
  bool enabled = true;
  std::string secret;  // "whsec_…"
  std::int64_t created_at = 0;

  bool takes(WebhookEvent e) const { return (events >> static_cast<int>(e)) & 1u; }
};

// Storage form (JSON with every field) and back; nullopt when the text is not one.
std::string encode_webhook(const WebhookEndpoint& w);
std::optional<WebhookEndpoint> decode_webhook(std::string_view json);

// A URL's parts as a delivery needs them.
struct WebhookUrl {
  bool https = false;
  std::string host;    // without brackets for an IPv6 literal
  std::string port;    // "443" or "80" when the URL names none
  std::string target;  // path and query ("/" when empty), never the fragment
};
// The parts of `url`, or why it cannot be an endpoint (a message naming the reason). Checks
// the form only: see webhook_url_problem for the addresses it may name.
std::optional<std::string> parse_webhook_url(std::string_view url, WebhookUrl& out);

// Why `url` cannot be an endpoint (a message naming the reason), or nullopt when it can.
std::optional<std::string> webhook_url_problem(std::string_view url, bool allow_private);

// A loopback, private, link-local, unspecified, multicast, reserved or cloud-metadata address:
// refused as a webhook receiver unless the operator allows private addresses (SSRF), both when
// a URL is registered and for every address its host resolves to when a delivery is sent.
bool private_address(const boost::asio::ip::address& a);

}  // namespace le::primary
