#include "core/receipt.h"

#include <cctype>

#include "core/json_writer.h"

namespace le::core {

std::int64_t receipt_valid_until(std::int64_t iat, std::uint32_t grace_hours,
                                 std::int64_t license_expires_at) {
  const std::int64_t grace_end = iat + static_cast<std::int64_t>(grace_hours) * 3600;
  return license_expires_at > 0 && license_expires_at < grace_end ? license_expires_at : grace_end;
}

ReceiptClaims receipt_claims(const LicenseRecord& l, const ValidateRequest& request,
                             std::int64_t now, std::uint32_t grace_hours) {
  ReceiptClaims c;
  c.account = l.account_id;
  c.product = l.product_id;
  c.license = l.id;
  c.status = "active";
  c.type = std::string(to_string(l.type));
  if (l.expires_at != 0) c.expires_at = l.expires_at;
  if (request.machine_id) c.machine_id = *request.machine_id;
  if (request.domain) c.domain = *request.domain;
  if (request.nonce) c.nonce = *request.nonce;
  c.iat = now;
  c.valid_until = receipt_valid_until(now, grace_hours, l.expires_at);
  return c;
}

std::string receipt_header(std::string_view certificate_der) {
  std::string header;
  JsonWriter w(header);
  w.begin_object().field("alg", "EdDSA").field("typ", "JWT");
  w.key("x5c").begin_array().value(base64(certificate_der)).end_array();
  w.end_object();
  return base64url(header);
}

std::string sign_receipt(const Ed25519Key& key, std::string_view header_b64,
                         const ReceiptClaims& c) {
  std::string claims;
  JsonWriter w(claims);
  w.begin_object()
      .field("account", c.account)
      .field("product", c.product)
      .field("license", c.license)
      .field("status", c.status)
      .field("type", c.type);
  w.key("expiresAt");
  if (c.expires_at) {
    w.value(*c.expires_at);
  } else {
    w.null();
  }
  if (!c.machine_id.empty()) w.field("machineId", c.machine_id);
  if (!c.domain.empty()) w.field("domain", c.domain);
  w.field("iat", c.iat).field("exp", c.valid_until).field("validUntil", c.valid_until);
  if (!c.nonce.empty()) w.field("nonce", c.nonce);
  w.field("replicaSeq", c.replica_seq).field("replicaLagMs", c.replica_lag_ms);
  w.end_object();
  std::string token(header_b64);
  token.push_back('.');
  token.append(base64url(claims));
  const std::string signature = key.sign(token);
  if (signature.empty()) return {};
  token.push_back('.');
  token.append(base64url(signature));
  return token;
}

std::string encode_cert_request(const CertRequest& r) {
  return r.edge_id + "\n" + base64url(r.public_raw);
}

std::optional<CertRequest> decode_cert_request(std::string_view text) {
  const auto nl = text.find('\n');
  if (nl == std::string_view::npos || !valid_edge_id(text.substr(0, nl))) return std::nullopt;
  CertRequest r;
  r.edge_id.assign(text.substr(0, nl));
  auto key = from_base64url(text.substr(nl + 1));
  if (!key || key->size() != 32) return std::nullopt;
  r.public_raw = std::move(*key);
  return r;
}

}  // namespace le::core
