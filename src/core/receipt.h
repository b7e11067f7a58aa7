// Offline receipts: the claims of a VALID answer an app may keep and verify while offline, and
// their compact JWS (RFC 7515, EdDSA per RFC 8037) signed by an edge key whose certificate rides
// in the header (x5c). The format is the one clients/ verifies (clients/README.md).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/model.h"
#include "core/signing.h"
#include "core/validate.h"

namespace le::core {

struct ReceiptClaims {
  std::string account;
  std::string product;
  std::string license;  // the license id, never its key
  std::string status;   // "active"
  std::string type;
  std::optional<std::int64_t> expires_at;  // the license's, unix seconds
  std::string machine_id;                  // when the validation named one
  std::string domain;                      // likewise
  std::int64_t iat = 0;
  std::int64_t valid_until = 0;  // also "exp"
  std::string nonce;             // echoed when the client sent one
  std::uint64_t replica_seq = 0;
  std::int64_t replica_lag_ms = 0;
};

// When a receipt issued at `iat` stops being valid: `iat` + the grace period, or the license's
// expiry when that comes first (0: never expires).
std::int64_t receipt_valid_until(std::int64_t iat, std::uint32_t grace_hours,
                                 std::int64_t license_expires_at);

// The claims of a receipt for the VALID answer to `request` about `l`, issued at `now` with a
// grace period of `grace_hours` (the replica position left for the edge to fill in).
ReceiptClaims receipt_claims(const LicenseRecord& l, const ValidateRequest& request,
                             std::int64_t now, std::uint32_t grace_hours);

// The header's base64url part for an edge certificate (DER): computed once per certificate.
std::string receipt_header(std::string_view certificate_der);

// "<header>.<claims>.<signature>"; empty when signing fails.
std::string sign_receipt(const Ed25519Key& key, std::string_view header_b64,
                         const ReceiptClaims& claims);

// Edge → primary certificate requests over NATS request/reply, answered by one primary of the
// queue group: the request is "<edge id>\n<base64url raw Ed25519 public key>", the reply the
// certificate's DER (empty: refused).
inline constexpr const char* kCertSubject = "lice.cert";
struct CertRequest {
  std::string edge_id;  // valid_edge_id()
  std::string public_raw;
};
std::string encode_cert_request(const CertRequest& r);
std::optional<CertRequest> decode_cert_request(std::string_view text);

}  // namespace le::core
