// TKI license authentication (POST /api/license/auth): request parsing, the decision, and the
// reply bodies with TKI's own status codes and message strings, letter for letter.
// Pure functions of (input, records, now); thread-safe (per-thread parser state only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/model.h"

namespace le::core {

enum class TkiStatus : std::uint8_t {
  kSuccess,
  kMissingAuthorization,  // 401
  kInvalidApiKey,         // 403
  kIpBlacklisted,         // 403
  kHwidBlacklisted,       // 403
  kLicenseBlacklisted,    // 403
  kMissingFields,         // 400
  kVersionNotFound,       // 400
  kProductMismatch,       // 400
  kExpired,               // 400
  kMaxIps,                // 400
  kMaxHwids,              // 400
  kLicenseNotFound,       // 404
  kProductNotFound,       // 404
  kRateLimited,           // 429
  kBindingRequired,       // a new IP/HWID must be bound at the primary first (503 until then)
};

int http_status(TkiStatus s);
// The exact "message" of a failed reply.
std::string_view message(TkiStatus s);

// Views into per-thread parser storage: valid until the next parse on this thread.
struct TkiRequest {
  std::string_view product;
  std::string_view version;
  std::string_view licensekey;
  std::string_view ip;
  std::optional<std::string_view> hwid;  // absent or empty = not given
};

// nullopt when the body is not JSON, lacks `data`, or a field is missing, empty, of the wrong
// type or oversized: TKI answers all of these with its single "Missing required fields" 400.
// hwid is checked against RequireHWID by the decision, which knows the account.
std::optional<TkiRequest> parse_tki_request(std::string_view body);

// What the handler looked up before deciding. Pointers may be null (not found / not looked up
// because an earlier check already fails).
struct TkiRecords {
  bool authorization_present = false;
  bool rate_limited = false;  // the account limits TKI per IP and this IP is over it
  const ApiKeyRecord* api_key = nullptr;
  const AccountRecord* account = nullptr;
  const LicenseRecord* license = nullptr;  // by digest of data.licensekey
  const ProductRecord* product = nullptr;  // by (account, data.product)
  const BlacklistEntry* ip_block = nullptr;
  const BlacklistEntry* hwid_block = nullptr;
  const BlacklistEntry* license_block = nullptr;
};

struct TkiDecision {
  TkiStatus status = TkiStatus::kInvalidApiKey;
  bool bind_ip = false;    // with kBindingRequired: the IP is new and within the limit
  bool bind_hwid = false;  // likewise for the HWID
  const BlacklistEntry* blacklist_hit = nullptr;  // the entry whose attempt must be counted
};

// `request` is nullopt when parse_tki_request() rejected the body.
TkiDecision decide_tki(const std::optional<TkiRequest>& request, const TkiRecords& records,
                       std::int64_t now);

// Whether `ip` and `hwid` (absent or empty: none) may be bound to `license` at `now`, the part
// of decide_tki() that the primary decides again under its writer lock before it binds: a
// suspended or revoked license is refused as blacklisted, an expired one as expired, a new IP or
// HWID beyond the license's limit as kMaxIps / kMaxHwids. kSuccess when both are bound already,
// kBindingRequired (with bind_ip / bind_hwid) when one is new and within its limit.
TkiDecision decide_binding(const LicenseRecord& license, std::string_view ip,
                           std::optional<std::string_view> hwid, std::int64_t now);

// The "Authorization" header carries the raw API key; surrounding spaces are ignored.
std::optional<std::string_view> tki_api_key(std::optional<std::string_view> header);

// Reply bodies, written into `out` (cleared first).
void write_tki_success(std::string& out, const TkiRequest& req, const LicenseRecord& license);
void write_tki_failure(std::string& out, TkiStatus s);

inline constexpr std::string_view kTkiNoExpiry = "Never";

}  // namespace le::core
