#include "core/tki.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "core/json_read.h"
#include "core/json_writer.h"
#include "core/time_format.h"
#include "core/validate.h"

namespace le::core {
namespace {

namespace dom = simdjson::dom;

constexpr std::size_t kMaxTkiField = 512;
constexpr std::size_t kMaxHwidBytes = 256;

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Suspended and revoked: TKI refuses both as a blocked license.
bool disabled(const LicenseRecord& l) {
  return l.status == LicenseStatus::kSuspended || l.status == LicenseStatus::kRevoked;
}

bool read_field(dom::element v, std::string_view& out) {
  return !v.get_string().get(out) && out.size() <= kMaxTkiField && !json::is_out_of_range(v);
}

// A literal IPv4 or IPv6 address, as the primary binds it.
bool is_ip_literal(std::string_view s) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return false;
  // inet_pton reads a C string: nothing it would stop at (NUL) or skip may pass.
  if (s.find_first_not_of("0123456789abcdefABCDEF.:") != std::string_view::npos) return false;
  char text[INET6_ADDRSTRLEN];
  std::memcpy(text, s.data(), s.size());
  text[s.size()] = '\0';
  unsigned char bytes[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, text, bytes) == 1 || ::inet_pton(AF_INET6, text, bytes) == 1;
}

// A hardware id is bound and shown as text: printable, no control characters (C0, DEL, C1),
// and at most kMaxHwidBytes.
bool is_printable_hwid(std::string_view s) {
  if (s.size() > kMaxHwidBytes) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    // U+0080..U+009F are encoded C2 80..C2 9F (the parse has checked the UTF-8).
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xa0) return false;
  }
  return true;
}

}  // namespace

int http_status(TkiStatus s) {
  switch (s) {
    case TkiStatus::kSuccess:
      return 200;
    case TkiStatus::kMissingAuthorization:
      return 401;
    case TkiStatus::kInvalidApiKey:
    case TkiStatus::kIpBlacklisted:
    case TkiStatus::kHwidBlacklisted:
    case TkiStatus::kLicenseBlacklisted:
      return 403;
    case TkiStatus::kMissingFields:
    case TkiStatus::kVersionNotFound:
    case TkiStatus::kProductMismatch:
    case TkiStatus::kExpired:
    case TkiStatus::kMaxIps:
    case TkiStatus::kMaxHwids:
      return 400;
    case TkiStatus::kLicenseNotFound:
    case TkiStatus::kProductNotFound:
      return 404;
    case TkiStatus::kRateLimited:
      return 429;
    case TkiStatus::kBindingRequired:
      return 503;
  }
  return 400;
}

std::string_view message(TkiStatus s) {
  switch (s) {
    case TkiStatus::kSuccess:
      return "Successful Authentication!";
    case TkiStatus::kMissingAuthorization:
      return "Authorization header is missing";
    case TkiStatus::kInvalidApiKey:
      return "Invalid API Key";
    case TkiStatus::kIpBlacklisted:
      return "Your IP is blacklisted!";
    case TkiStatus::kHwidBlacklisted:
      return "Your HWID is blacklisted!";
    case TkiStatus::kLicenseBlacklisted:
      return "Your License is blacklisted at the moment!";
    case TkiStatus::kMissingFields:
      return "Missing required fields: data.ip, data.hwid, data.product, data.version, or "
             "data.licensekey";
    case TkiStatus::kVersionNotFound:
      return "This Version does not exist!";
    case TkiStatus::kProductMismatch:
      return "License key does not match the requested product.";
    case TkiStatus::kExpired:
      return "License has expired!";
    case TkiStatus::kMaxIps:
      return "Max Amount of IP's reached!";
    case TkiStatus::kMaxHwids:
      return "Max Amount of HWIDs reached!";
    case TkiStatus::kLicenseNotFound:
      return "Invalid or non-existent license key.";
    case TkiStatus::kProductNotFound:
      return "This product does not exist!";
    case TkiStatus::kRateLimited:
      return "You have been ratelimited! Try again in 3 Minutes!";
    case TkiStatus::kBindingRequired:
      return "First use from a new IP or HWID cannot be registered right now. Try again later.";
  }
  return "Invalid API Key";
}

std::optional<TkiRequest> parse_tki_request(std::string_view body) {
  thread_local json::Parser parser;
  dom::element doc;
  dom::object data;
  if (parser.parse(body, doc) || !doc.is_object() || doc["data"].get_object().get(data)) {
    return std::nullopt;
  }
  TkiRequest req;
  bool has_product = false, has_version = false, has_key = false, has_ip = false;
  for (const auto field : data) {
    const std::string_view k = field.key;
    const dom::element fv = field.value;
    if (k == "product") {
      if (!(has_product = read_field(fv, req.product))) return std::nullopt;
    } else if (k == "version") {
      if (!(has_version = read_field(fv, req.version))) return std::nullopt;
    } else if (k == "licensekey") {
      if (!(has_key = read_field(fv, req.licensekey))) return std::nullopt;
    } else if (k == "ip") {
      if (!(has_ip = read_field(fv, req.ip)) || !is_ip_literal(req.ip)) return std::nullopt;
    } else if (k == "hwid") {
      if (fv.is_null()) continue;
      std::string_view h;
      if (!read_field(fv, h) || !is_printable_hwid(h)) return std::nullopt;
      if (!h.empty()) req.hwid = h;
    }
  }
  if (!has_product || !has_version || !has_key || !has_ip || req.product.empty() ||
      req.version.empty() || req.licensekey.empty() || req.ip.empty()) {
    return std::nullopt;
  }
  return req;
}

std::optional<std::string_view> tki_api_key(std::optional<std::string_view> header) {
  if (!header) return std::nullopt;
  std::string_view h = *header;
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  if (h.empty()) return std::nullopt;
  return h;
}

TkiDecision decide_tki(const std::optional<TkiRequest>& request, const TkiRecords& r,
                       std::int64_t now) {
  if (!r.authorization_present) return {TkiStatus::kMissingAuthorization};
  if (r.api_key == nullptr || r.api_key->revoked || r.account == nullptr ||
      r.account->id != r.api_key->account_id) {
    return {TkiStatus::kInvalidApiKey};
  }
  if (r.rate_limited) return {TkiStatus::kRateLimited};
  if (!request || (r.account->tki_require_hwid && !request->hwid)) {
    return {TkiStatus::kMissingFields};
  }
  const TkiRequest& req = *request;
  if (r.ip_block != nullptr) return {TkiStatus::kIpBlacklisted, false, false, r.ip_block};
  if (r.hwid_block != nullptr) return {TkiStatus::kHwidBlacklisted, false, false, r.hwid_block};

  const LicenseRecord* l = r.license;
  if (l == nullptr || !visible_to(*r.api_key, *l)) return {TkiStatus::kLicenseNotFound};
  if (r.license_block != nullptr) {
    return {TkiStatus::kLicenseBlacklisted, false, false, r.license_block};
  }
  // Suspended and revoked licenses are refused the way TKI refuses a blocked license, before
  // the product is looked at.
  if (disabled(*l)) return {TkiStatus::kLicenseBlacklisted};
  if (!l->staff) {  // staff licenses skip product and version validation
    const ProductRecord* p = r.product;
    if (p == nullptr || !visible_to(*r.api_key, *p)) return {TkiStatus::kProductNotFound};
    if (!contains(p->tki_versions, req.version)) return {TkiStatus::kVersionNotFound};
    if (l->product_id != p->id) return {TkiStatus::kProductMismatch};
  }
  return decide_binding(*l, req.ip, req.hwid, now);
}

TkiDecision decide_binding(const LicenseRecord& l, std::string_view ip,
                           std::optional<std::string_view> hwid, std::int64_t now) {
  if (disabled(l)) return {TkiStatus::kLicenseBlacklisted};
  if (effective_status(l, now) == LicenseStatus::kExpired) return {TkiStatus::kExpired};
  TkiDecision d{TkiStatus::kSuccess};
  if (!ip.empty() && !contains(l.ips, ip)) {
    if (l.max_ips != 0 && l.ips.size() >= l.max_ips) return {TkiStatus::kMaxIps};
    d.bind_ip = true;
  }
  if (hwid && !hwid->empty() && !contains(l.hwids, *hwid)) {
    if (l.max_hwids != 0 && l.hwids.size() >= l.max_hwids) return {TkiStatus::kMaxHwids};
    d.bind_hwid = true;
  }
  if (d.bind_ip || d.bind_hwid) d.status = TkiStatus::kBindingRequired;
  return d;
}

void write_tki_success(std::string& out, const TkiRequest& req, const LicenseRecord& l) {
  out.clear();
  JsonWriter w(out);
  w.begin_object();
  w.field("status_msg", message(TkiStatus::kSuccess)).field("status_overview", "success");
  w.field("status_code", 200);
  // The version matched one stored for the product (or, for staff, is the requested one): the
  // same text either way.
  w.field("version", req.version);
  w.field("discord_id", l.discord_id).field("discord_username", l.discord_username);
  w.field("discord_tag", l.discord_tag);
  if (l.expires_at == 0) {
    w.field("expire_date", kTkiNoExpiry);
  } else {
    w.field("expire_date", mmddyyyy(l.expires_at));
  }
  w.field("staff_license", l.staff);
  // Staff licenses authenticate against any product: the answer names the one requested.
  if (l.staff) w.field("product", req.product);
  w.end_object();
}

void write_tki_failure(std::string& out, TkiStatus s) {
  out.clear();
  JsonWriter w(out);
  w.begin_object().field("message", message(s)).field("status_overview", "failed").end_object();
}

}  // namespace le::core
