// The JSON Web Tokens of dashboard sessions (spec "JWT Tokens": HS256, 24 hours, "Authorization:
// Bearer <JWT>"; scopes "portal" — an account's user — and "admin" — an operator): RFC 7519
// claims in an RFC 7515 compact JWS, HMAC-SHA256 over "<header>.<payload>".
//
// The header is {"alg":"HS256","typ":"JWT","kid":"<secret id>"}. verify_jwt() reads nothing but
// HS256 — "none", RS256, EdDSA and every other algorithm are refused before any key is looked
// at — and keys by `kid` among the secrets it is given (the current one and those rotated out
// within the overlap), so a token signed with any other key, however it was chosen (a
// published public key used as an HMAC secret included), fails its signature.
//
// Claims: sub (the user id), acc (the account; portal only), scope, sid (the session the token
// was issued under, which the primary can revoke), iat, exp (unix seconds). A token whose
// lifetime is over kMaxJwtSeconds, issued in the future (beyond kJwtLeewaySeconds) or expired is
// refused; unknown claims are ignored.
//
// Thread-safety: pure functions (the verifier keeps per-thread parser state).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace le::core {

inline constexpr std::int64_t kJwtSeconds = 24 * 3600;
inline constexpr std::int64_t kMaxJwtSeconds = kJwtSeconds;
inline constexpr std::int64_t kJwtLeewaySeconds = 60;
// A token longer than this is malformed (ours are ~300 bytes).
inline constexpr std::size_t kMaxJwtBytes = 4096;

enum class JwtScope : std::uint8_t { kPortal, kAdmin };
std::string_view to_string(JwtScope s);

struct JwtClaims {
  std::string subject;  // sub
  std::string account;  // acc: the portal user's account; empty for an admin
  JwtScope scope = JwtScope::kPortal;
  std::string session;  // sid
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;

  bool operator==(const JwtClaims&) const = default;
};

// An HMAC key and its id; at least 32 bytes of randomness.
struct JwtSecret {
  std::string kid;
  std::string key;
};

std::string sign_jwt(const JwtClaims& claims, const JwtSecret& secret);

// Why a token was refused (every one is 403 INVALID_TOKEN to the client; the reason goes to the
// log and the message).
enum class JwtError : std::uint8_t {
  kMalformed,   // not three base64url parts of JSON objects, or too long
  kAlgorithm,   // alg is not HS256 (none, RS256, …), or a crit header
  kUnknownKey,  // kid names none of the secrets
  kSignature,
  kClaims,  // a claim missing, of the wrong type, or out of range
  kExpired,
  kNotYetValid,
};
std::string_view to_string(JwtError e);

std::variant<JwtClaims, JwtError> verify_jwt(std::string_view token,
                                             std::span<const JwtSecret> secrets,
                                             std::int64_t now_s);

// Whether a bearer credential has a JWT's shape (three dot-separated parts, the first a JSON
// object's base64url): such a credential is read as a token, never as an API key.
bool looks_like_jwt(std::string_view credential);

}  // namespace le::core
