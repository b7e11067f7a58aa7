// X-TO-Signature as the spec's verifiers recompute it: HMAC-SHA256 (RFC 4231's vector), over
// "<timestamp>.<body>" keyed with the secret's text — the expected value below is what the
// spec's Flask verifier's expression, hmac.new(secret.encode(), f"{timestamp}.{body}".encode(),
// hashlib.sha256).hexdigest(), gives for these inputs.
#include "primary/webhook_signing.h"

#include <gtest/gtest.h>

namespace le::primary {
namespace {

TEST(WebhookSigning, HmacSha256MatchesRfc4231) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookSigning, SignatureIsOverTimestampDotBodyWithTheSecretsText) {
  const std::string body = R"({"event":"license.created"})";
  EXPECT_EQ(webhook_signature("whsec_test", 1700000000, body),
            "7b238e1e29a6a6516f1bb4235273ad0e5a25302f2dc71b9740aa07c86101bdc4");
  // Any change to the body, the time or the secret changes it.
  EXPECT_NE(webhook_signature("whsec_test", 1700000000, body + " "),
            webhook_signature("whsec_test", 1700000000, body));
  EXPECT_NE(webhook_signature("whsec_test", 1700000001, body),
            webhook_signature("whsec_test", 1700000000, body));
  EXPECT_NE(webhook_signature("whsec_tesT", 1700000000, body),
            webhook_signature("whsec_test", 1700000000, body));
}

}  // namespace
}  // namespace le::primary
