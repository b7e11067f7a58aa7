#include "primary/webhooks.h"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>
#include <cctype>
#include <charconv>

#include "core/json_read.h"
#include "core/json_writer.h"

namespace le::primary {
namespace {

constexpr std::string_view kEventNames[kWebhookEventCount] = {
    "license.created",   "license.activated", "license.deactivated", "license.expired",
    "license.suspended", "validation.failed", "license.renewed"};

bool private_v4(const boost::asio::ip::address_v4& a) {
  const auto b = a.to_bytes();
  return b[0] == 0 || b[0] == 10 || b[0] == 127 ||  // this network, private, loopback
         (b[0] == 100 && (b[1] & 0xC0) == 64) ||    // shared (CGNAT, some metadata)
         (b[0] == 169 && b[1] == 254) ||            // link-local, cloud metadata
         (b[0] == 172 && (b[1] & 0xF0) == 16) ||    // private
         (b[0] == 192 && b[1] == 168) || (b[0] == 192 && b[1] == 0 && b[2] == 0) ||
         (b[0] == 198 && (b[1] & 0xFE) == 18) || b[0] >= 224;  // benchmarking, multicast, reserved
}

}  // namespace

bool private_address(const boost::asio::ip::address& a) {
  if (a.is_v4()) return private_v4(a.to_v4());
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped())
    return private_v4(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6));
  const auto b = v6.to_bytes();
  return v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_multicast() ||
         (b[0] & 0xFE) == 0xFC;  // unique local (includes fd00:ec2::254, a metadata address)
}

std::string_view to_string(WebhookEvent e) { return kEventNames[static_cast<int>(e)]; }

std::optional<WebhookEvent> parse_webhook_event(std::string_view s) {
  for (int i = 0; i < kWebhookEventCount; ++i) {
    if (kEventNames[i] == s) return static_cast<WebhookEvent>(i);
  }
  return std::nullopt;
}

std::string encode_webhook(const WebhookEndpoint& w) {
  std::string out;
  core::JsonWriter j(out);
  j.begin_object().field("id", w.id).field("account_id", w.account_id);
  j.field("mode", core::to_string(w.mode)).field("url", w.url);
  j.field("events", static_cast<std::uint64_t>(w.events)).field("enabled", w.enabled);
  j.field("secret", w.secret).field("created_at", w.created_at).end_object();
  return out;
}

std::optional<WebhookEndpoint> decode_webhook(std::string_view json) {
  thread_local core::json::Parser parser;
  core::json::dom::element doc;
  if (parser.parse(json, doc)) return std::nullopt;
  WebhookEndpoint w;
  std::string_view mode;
  std::uint32_t events = 0;
  if (!core::json::read_string(doc["id"], w.id) ||
      !core::json::read_string(doc["account_id"], w.account_id) ||
      !core::json::read_string(doc["mode"], mode) || !core::json::read_string(doc["url"], w.url) ||
      !core::json::read_u32(doc["events"], events) ||
      !core::json::read_bool(doc["enabled"], w.enabled) ||
      !core::json::read_string(doc["secret"], w.secret) ||
      !core::json::read_i64(doc["created_at"], w.created_at)) {
    return std::nullopt;
  }
  auto m = core::parse_mode(mode);
  if (!m || events > kAllWebhookEvents) return std::nullopt;
  w.mode = *m;
  w.events = static_cast<std::uint8_t>(events);
  return w;
}

std::optional<std::string> parse_webhook_url(std::string_view url, WebhookUrl& out) {
  if (url.size() > kMaxUrlBytes) return "is longer than 2048 bytes";
  std::string_view rest;
  if (boost::beast::iequals(url.substr(0, 8), "https://")) {
    rest = url.substr(8);
    out.https = true;
  } else if (boost::beast::iequals(url.substr(0, 7), "http://")) {
    rest = url.substr(7);
    out.https = false;
  } else {
    return "must be an http:// or https:// URL";
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F || c == '\\') {
      return "must not contain spaces, control characters or backslashes";
    }
  }
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string_view::npos) return "must not contain user information";
  std::string_view host = authority;
  std::string_view port;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return "has a malformed host";
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && !port.starts_with(':')) return "has a malformed host";
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon);
    host = host.substr(0, colon);
  }
  if (!port.empty()) {
    port.remove_prefix(1);
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 ||
        p > 65535) {
      return "has an invalid port";
    }
  }
  if (host.empty() || host.size() > 253) return "has no valid host";
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec) {
    for (char c : host) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) {
        return "has no valid host";
      }
    }
  }
  out.host.assign(host);
  out.port = port.empty() ? (out.https ? "443" : "80") : std::string(port);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  target = target.substr(0, target.find('#'));
  out.target.clear();
  if (target.empty() || target.front() != '/') out.target.push_back('/');
  out.target.append(target);
  return std::nullopt;
}

std::optional<std::string> webhook_url_problem(std::string_view url, bool allow_private) {
  WebhookUrl parts;
  if (auto problem = parse_webhook_url(url, parts)) return problem;
  if (allow_private) return std::nullopt;
  constexpr const char* kPrivate = "names a loopback, private, link-local or metadata address";
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(parts.host, ec);
  if (!ec) return private_address(address) ? std::optional<std::string>(kPrivate) : std::nullopt;
  std::string lower(parts.host);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!lower.empty() && lower.back() == '.') lower.pop_back();
  if (lower == "localhost" || lower.ends_with(".localhost") || lower.ends_with(".internal") ||
      lower.ends_with(".local")) {
    return kPrivate;
  }
  return std::nullopt;
}

}  // namespace le::primary
