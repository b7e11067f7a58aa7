#include "core/jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

#include "core/digest.h"
#include "core/json_read.h"
#include "core/json_writer.h"
#include "core/signing.h"

namespace le::core {
namespace {

std::string hs256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &len);
  return {reinterpret_cast<const char*>(mac.data()), len};
}

// The object a base64url part decodes to, parsed into `doc`; false when it is not one.
bool read_part(json::Parser& parser, std::string_view part, std::string& text,
               json::dom::element& doc) {
  auto decoded = from_base64url(part);
  if (!decoded) return false;
  text = std::move(*decoded);
  return !parser.parse(text, doc) && doc.is_object();
}

}  // namespace

std::string_view to_string(JwtScope s) { return s == JwtScope::kAdmin ? "admin" : "portal"; }

std::string_view to_string(JwtError e) {
  switch (e) {
    case JwtError::kMalformed:
      return "JWT token is malformed";
    case JwtError::kAlgorithm:
      return "JWT algorithm is not accepted";
    case JwtError::kUnknownKey:
      return "JWT key is unknown";
    case JwtError::kSignature:
      return "JWT signature is invalid";
    case JwtError::kClaims:
      return "JWT claims are invalid";
    case JwtError::kExpired:
      return "JWT token is expired";
    case JwtError::kNotYetValid:
      return "JWT token is not yet valid";
  }
  return "JWT token is invalid";
}

std::string sign_jwt(const JwtClaims& c, const JwtSecret& secret) {
  std::string header;
  JsonWriter(header)
      .begin_object()
      .field("alg", "HS256")
      .field("typ", "JWT")
      .field("kid", secret.kid)
      .end_object();
  std::string payload;
  JsonWriter w(payload);
  w.begin_object().field("sub", c.subject);
  if (!c.account.empty()) w.field("acc", c.account);
  w.field("scope", to_string(c.scope)).field("sid", c.session);
  w.field("iat", c.issued_at).field("exp", c.expires_at).end_object();
  std::string token = base64url(header);
  token.push_back('.');
  token.append(base64url(payload));
  const std::string mac = hs256(secret.key, token);
  token.push_back('.');
  token.append(base64url(mac));
  return token;
}

std::variant<JwtClaims, JwtError> verify_jwt(std::string_view token,
                                             std::span<const JwtSecret> secrets,
                                             std::int64_t now_s) {
  if (token.size() > kMaxJwtBytes) return JwtError::kMalformed;
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return JwtError::kMalformed;
  }
  thread_local json::Parser parser;
  std::string text;
  json::dom::element doc;
  if (!read_part(parser, token.substr(0, dot1), text, doc)) return JwtError::kMalformed;
  std::string_view alg, kid, typ;
  if (doc["alg"].get_string().get(alg) || alg != "HS256" || !doc["crit"].error()) {
    return JwtError::kAlgorithm;
  }
  if (!doc["typ"].error() && (doc["typ"].get_string().get(typ) || typ != "JWT")) {
    return JwtError::kMalformed;
  }
  if (doc["kid"].get_string().get(kid)) return JwtError::kUnknownKey;
  const JwtSecret* secret = nullptr;
  for (const auto& s : secrets) {
    if (s.kid == kid) secret = &s;
  }
  if (secret == nullptr) return JwtError::kUnknownKey;
  const auto sig = from_base64url(token.substr(dot2 + 1));
  if (!sig) return JwtError::kMalformed;
  if (!constant_time_equal(*sig, hs256(secret->key, token.substr(0, dot2)))) {
    return JwtError::kSignature;
  }
  if (!read_part(parser, token.substr(dot1 + 1, dot2 - dot1 - 1), text, doc)) {
    return JwtError::kMalformed;
  }
  JwtClaims c;
  std::string_view scope;
  if (doc["sub"].get_string().get(scope) || scope.empty()) return JwtError::kClaims;
  c.subject.assign(scope);
  if (doc["scope"].get_string().get(scope)) return JwtError::kClaims;
  if (scope == "portal") {
    c.scope = JwtScope::kPortal;
  } else if (scope == "admin") {
    c.scope = JwtScope::kAdmin;
  } else {
    return JwtError::kClaims;
  }
  std::string_view s;
  if (!doc["acc"].error()) {
    if (doc["acc"].get_string().get(s)) return JwtError::kClaims;
    c.account.assign(s);
  }
  if (c.scope == JwtScope::kPortal && c.account.empty()) return JwtError::kClaims;
  if (doc["sid"].get_string().get(s) || s.empty()) return JwtError::kClaims;
  c.session.assign(s);
  if (doc["iat"].get_int64().get(c.issued_at) || doc["exp"].get_int64().get(c.expires_at)) {
    return JwtError::kClaims;
  }
  if (c.expires_at <= c.issued_at || c.expires_at - c.issued_at > kMaxJwtSeconds) {
    return JwtError::kClaims;
  }
  if (c.issued_at > now_s + kJwtLeewaySeconds) return JwtError::kNotYetValid;
  if (now_s >= c.expires_at) return JwtError::kExpired;
  return c;
}

bool looks_like_jwt(std::string_view credential) {
  // "eyJ" is the base64url of '{"'; a JWT header always starts so.
  if (!credential.starts_with("eyJ")) return false;
  const auto dot1 = credential.find('.');
  return dot1 != std::string_view::npos && credential.find('.', dot1 + 1) != std::string_view::npos;
}

}  // namespace le::core
