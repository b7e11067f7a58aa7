// Dashboard JWTs (core/jwt.h): what is signed verifies to the same claims; every other token —
// another algorithm (none, RS256, EdDSA), another key (a public-looking one included), a kid
// nobody has, a changed payload, a lifetime over 24 h, expired, from the future, malformed — is
// refused with its reason.
#include "core/jwt.h"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <array>
#include <string>
#include <vector>

#include "core/signing.h"

namespace le::core {
namespace {

constexpr std::int64_t kNow = 1'763'856'000;

const std::vector<JwtSecret> kSecrets = {{"jwt_old", std::string(32, 'o')},
                                         {"jwt_new", std::string(32, 'n')}};

JwtClaims claims() {
  return {"usr_1", "acc_1", JwtScope::kPortal, "ses_1", kNow - 10, kNow - 10 + kJwtSeconds};
}

std::string mac(std::string_view key, std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return base64url(std::string_view(reinterpret_cast<const char*>(out.data()), len));
}

// A token with this header and payload text, HMAC-signed with `key` (empty: no signature).
std::string forge(std::string_view header, std::string_view payload, std::string_view key) {
  std::string t = base64url(header) + "." + base64url(payload);
  return t + "." + (key.empty() ? std::string() : mac(key, t));
}

constexpr std::string_view kPayload =
    R"({"sub":"usr_1","acc":"acc_1","scope":"portal","sid":"ses_1","iat":1763855990,"exp":1763942390})";

JwtError refused(std::string_view token, std::int64_t now = kNow) {
  auto r = verify_jwt(token, kSecrets, now);
  EXPECT_TRUE(std::holds_alternative<JwtError>(r)) << token;
  return std::holds_alternative<JwtError>(r) ? std::get<JwtError>(r) : JwtError::kMalformed;
}

TEST(Jwt, WhatIsSignedVerifiesWithEitherLiveSecret) {
  for (const auto& secret : kSecrets) {
    const std::string token = sign_jwt(claims(), secret);
    EXPECT_TRUE(looks_like_jwt(token));
    auto r = verify_jwt(token, kSecrets, kNow);
    ASSERT_TRUE(std::holds_alternative<JwtClaims>(r)) << to_string(std::get<JwtError>(r));
    EXPECT_EQ(std::get<JwtClaims>(r), claims());
  }
  JwtClaims admin{"usr_9", "", JwtScope::kAdmin, "ses_9", kNow, kNow + 60};
  auto r = verify_jwt(sign_jwt(admin, kSecrets[1]), kSecrets, kNow);
  ASSERT_TRUE(std::holds_alternative<JwtClaims>(r));
  EXPECT_EQ(std::get<JwtClaims>(r), admin);
  // The hand-made token of the same text is the same token.
  EXPECT_TRUE(std::holds_alternative<JwtClaims>(
      verify_jwt(forge(R"({"alg":"HS256","typ":"JWT","kid":"jwt_new"})", kPayload, kSecrets[1].key),
                 kSecrets, kNow)));
}

TEST(Jwt, AnotherAlgorithmIsRefusedWhateverItsSignature) {
  EXPECT_EQ(refused(forge(R"({"alg":"none","typ":"JWT","kid":"jwt_new"})", kPayload, "")),
            JwtError::kAlgorithm);
  EXPECT_EQ(refused(forge(R"({"alg":"none"})", kPayload, "")), JwtError::kAlgorithm);
  EXPECT_EQ(refused(forge(R"({"alg":"None","kid":"jwt_new"})", kPayload, kSecrets[1].key)),
            JwtError::kAlgorithm);
  EXPECT_EQ(refused(forge(R"({"alg":"RS256","kid":"jwt_new"})", kPayload, kSecrets[1].key)),
            JwtError::kAlgorithm);
  EXPECT_EQ(refused(forge(R"({"alg":"EdDSA","kid":"jwt_new"})", kPayload, kSecrets[1].key)),
            JwtError::kAlgorithm);
  EXPECT_EQ(refused(forge(R"({"typ":"JWT","kid":"jwt_new"})", kPayload, kSecrets[1].key)),
            JwtError::kAlgorithm);
  EXPECT_EQ(refused(forge(R"({"alg":"HS256","kid":"jwt_new","crit":["exp"]})", kPayload,
                          kSecrets[1].key)),
            JwtError::kAlgorithm);
}

TEST(Jwt, AnotherKeyIsRefused) {
  // HS256 keyed with what a verifier might hold as a public key (the receipts' JWKS "x").
  const auto key = Ed25519Key::generate();
  ASSERT_TRUE(key);
  const std::string public_x = base64url(key->public_raw());
  for (const std::string& secret :
       {public_x, std::string(key->public_raw()), std::string("secret"), std::string(32, 'o')}) {
    EXPECT_EQ(refused(forge(R"({"alg":"HS256","typ":"JWT","kid":"jwt_new"})", kPayload, secret)),
              JwtError::kSignature);
  }
  EXPECT_EQ(refused(sign_jwt(claims(), {"jwt_gone", std::string(32, 'n')})), JwtError::kUnknownKey);
  EXPECT_EQ(refused(forge(R"({"alg":"HS256"})", kPayload, kSecrets[1].key)), JwtError::kUnknownKey);
  // The payload changed after signing.
  std::string token = sign_jwt(claims(), kSecrets[1]);
  const auto dot1 = token.find('.'), dot2 = token.rfind('.');
  JwtClaims other = claims();
  other.account = "acc_2";
  const std::string theirs = sign_jwt(other, kSecrets[1]);
  const std::string swapped =
      token.substr(0, dot1) +
      theirs.substr(theirs.find('.'), theirs.rfind('.') - theirs.find('.')) + token.substr(dot2);
  EXPECT_EQ(refused(swapped), JwtError::kSignature);
  token[dot2 + 5] = token[dot2 + 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(refused(token), JwtError::kSignature);
}

TEST(Jwt, TimesAreChecked) {
  const std::string token = sign_jwt(claims(), kSecrets[0]);
  EXPECT_EQ(refused(token, claims().expires_at), JwtError::kExpired);
  EXPECT_EQ(refused(token, claims().expires_at + 86'400), JwtError::kExpired);
  EXPECT_TRUE(
      std::holds_alternative<JwtClaims>(verify_jwt(token, kSecrets, claims().expires_at - 1)));
  EXPECT_EQ(refused(token, claims().issued_at - kJwtLeewaySeconds - 1), JwtError::kNotYetValid);
  JwtClaims longer = claims();
  longer.expires_at = longer.issued_at + kMaxJwtSeconds + 1;
  EXPECT_EQ(refused(sign_jwt(longer, kSecrets[0])), JwtError::kClaims);
  JwtClaims backwards = claims();
  backwards.expires_at = backwards.issued_at;
  EXPECT_EQ(refused(sign_jwt(backwards, kSecrets[0])), JwtError::kClaims);
}

TEST(Jwt, ClaimsAreChecked) {
  const std::string_view h = R"({"alg":"HS256","kid":"jwt_new"})";
  const std::string& k = kSecrets[1].key;
  for (
      std::string_view payload : {
          R"({"acc":"acc_1","scope":"portal","sid":"s","iat":1763855990,"exp":1763856990})",
          R"({"sub":"","acc":"acc_1","scope":"portal","sid":"s","iat":1763855990,"exp":1763856990})",
          R"({"sub":"u","scope":"portal","sid":"s","iat":1763855990,"exp":1763856990})",
          R"({"sub":"u","acc":"a","scope":"root","sid":"s","iat":1763855990,"exp":1763856990})",
          R"({"sub":"u","acc":"a","scope":"portal","iat":1763855990,"exp":1763856990})",
          R"({"sub":"u","acc":"a","scope":"portal","sid":"s","iat":"1763855990","exp":1763856990})",
          R"({"sub":"u","acc":"a","scope":"portal","sid":"s","iat":1763855990,"exp":1.7e9})",
          R"({"sub":"u","acc":7,"scope":"portal","sid":"s","iat":1763855990,"exp":1763856990})",
          R"({"sub":["u"],"acc":"a","scope":"portal","sid":"s","iat":1763855990,"exp":1763856990})",
      }) {
    EXPECT_EQ(refused(forge(h, payload, k)), JwtError::kClaims) << payload;
  }
}

TEST(Jwt, MalformedTokensAreRefused) {
  const std::string good = sign_jwt(claims(), kSecrets[1]);
  const std::vector<std::string> bad = {
      "",
      "eyJ",
      "eyJ.",
      "eyJ..",
      "a.b.c",
      good + ".",
      good.substr(0, good.rfind('.')),
      "!!!." + good.substr(good.find('.') + 1),
      forge("[1,2]", kPayload, kSecrets[1].key),
      forge("not json", kPayload, kSecrets[1].key),
      forge(R"({"alg":"HS256","kid":"jwt_new"})", "[]", kSecrets[1].key),
      forge(R"({"alg":"HS256","kid":"jwt_new"})", "{", kSecrets[1].key),
      forge(R"({"alg":"HS256","kid":"jwt_new","typ":"JWS"})", kPayload, kSecrets[1].key),
      good.substr(0, good.rfind('.') + 1) + "***",
      std::string(kMaxJwtBytes + 1, 'e'),
  };
  for (const auto& t : bad) {
    const auto e = refused(t);
    EXPECT_TRUE(e == JwtError::kMalformed || e == JwtError::kAlgorithm) << t << " " << to_string(e);
  }
  EXPECT_FALSE(looks_like_jwt("to_live_abc"));
  EXPECT_FALSE(looks_like_jwt("eyJhbGciOi"));
}

}  // namespace
}  // namespace le::core
