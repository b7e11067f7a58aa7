// Traffic Orchestrator validation (POST /api/v1/validate): request parsing, the decision, and
// the response body — all pure functions of (input, records, now). No I/O; thread-safe (the
// parser keeps per-thread state only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/api_error.h"
#include "core/model.h"

namespace le::core {

// Limits on request fields; anything longer is a VALIDATION_ERROR, not a lookup.
inline constexpr std::size_t kMaxLicenseKeyBytes = 256;
inline constexpr std::size_t kMaxFieldBytes = 512;
inline constexpr std::size_t kMaxNonceBytes = 128;

// Views into the parser's per-thread storage: valid until the next parse on this thread.
struct ValidateRequest {
  std::string_view license_key;  // from "license_key" or its alias "key"
  std::optional<std::string_view> product_id;
  std::optional<std::string_view> machine_id;
  std::optional<std::string_view> domain;
  bool offline = false;  // asks for an offline receipt (core/receipt.h)
  std::optional<std::string_view>
      nonce;  // echoed in the receipt; no control characters, ≤ kMaxNonceBytes
};

std::variant<ValidateRequest, ApiError> parse_validate_request(std::string_view body);

// The credential of a validation: none (public — the license key is the credential), or an API
// key. Derived from the Authorization header by classify_authorization().
struct BearerKey {
  std::string_view key;  // "to_live_…" / "to_test_…"
  Mode mode;
};
struct NoCredential {};
using Credential = std::variant<NoCredential, BearerKey, ApiError>;

// `header` is the Authorization header value, nullopt when absent.
Credential classify_authorization(std::optional<std::string_view> header);

// After looking up the key's digest: the key record if it authenticates, else the 401.
std::variant<const ApiKeyRecord*, ApiError> check_api_key(const BearerKey& key,
                                                          const ApiKeyRecord* found);
// The same check for a key known by digest and the mode its prefix named (a write an edge
// forwards): whether `found` authenticates a caller of `mode`.
bool api_key_authenticates(const ApiKeyRecord* found, Mode mode);

enum class ValidationCode : std::uint8_t {
  kValid,
  kNotFound,
  kExpired,
  kSuspended,
  kRevoked,
  kProductMismatch,
  kMachineNotActivated,
};

std::string_view to_string(ValidationCode c);
std::string_view detail(ValidationCode c);

struct ValidateOutcome {
  ValidationCode code = ValidationCode::kNotFound;
  const LicenseRecord* license = nullptr;  // set when the license exists for this caller
  // Floating, validated with a machine_id: when its seat's lease ends (answered as
  // leaseExpiresAt); 0 otherwise.
  std::int64_t lease_expires_at = 0;
  bool valid() const { return code == ValidationCode::kValid; }
};

// The decision. `api_key` is the authenticated key or nullptr for a public validation; `license`
// is the record found by the key's digest or nullptr. Outcomes answer 200; DOMAIN_MISMATCH is a
// 403 ApiError as the spec says.
std::variant<ValidateOutcome, ApiError> decide_validate(const ValidateRequest& req,
                                                        const ApiKeyRecord* api_key,
                                                        const LicenseRecord* license,
                                                        std::int64_t now);

// True when `domain` (a host, possibly with scheme, port, path or trailing dot) is allowed by
// `patterns` (exact hosts or "*.example.com" for any subdomain); case-insensitive.
bool domain_allowed(std::string_view domain, const std::vector<std::string>& patterns);

// Status as the client should see it now: a license past expires_at is "expired".
LicenseStatus effective_status(const LicenseRecord& l, std::int64_t now);

// Serializes the 200 answer into `out` (cleared first). `key` is the key as the client sent it:
// the edge stores only its digest.
void write_validate_response(std::string& out, const ValidateOutcome& o, std::string_view key,
                             std::int64_t now);

// Adds "offline":{"token","issuedAt","validUntil"} to a 200 answer written by
// write_validate_response.
void append_offline_receipt(std::string& out, std::string_view token, std::int64_t issued_at,
                            std::int64_t valid_until);

// Serializes {"error":…,"code":…,"help":"/docs#errors"} into `out` (cleared first).
void write_api_error(std::string& out, const ApiError& e);
// The spec's 429 body: {"error":"Rate limit exceeded","code":"RATE_LIMITED","retryAfter":N}.
void write_rate_limited(std::string& out, std::uint32_t retry_after_s);

}  // namespace le::core
