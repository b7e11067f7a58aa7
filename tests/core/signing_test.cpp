// Ed25519 keys, certificates and receipts (core/signing.h, core/receipt.h): what the primary
// issues and an edge signs verifies as a client would verify it, and nothing altered does.
#include "core/signing.h"

#include <gtest/gtest.h>

#include "core/receipt.h"

namespace le::core {
namespace {

TEST(Base64, RoundTripsAndRefusesWhatIsNotCanonical) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    EXPECT_EQ(from_base64url(base64url(s)), s);
    EXPECT_EQ(from_base64(base64(s)), s);
  }
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
  EXPECT_FALSE(from_base64url("Zm8="));  // padding is not base64url
  EXPECT_FALSE(from_base64url("Zm9"));   // 'Zm9' leaves bits set in the tail
  EXPECT_FALSE(from_base64url("Z"));
  EXPECT_FALSE(from_base64url("Zm+v"));
  EXPECT_FALSE(from_base64("Zm8"));
}

TEST(Ed25519, SignsAndVerifiesAndRoundTripsItsRawForms) {
  auto key = Ed25519Key::generate().value();
  const std::string sig = key.sign("hello");
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_TRUE(key.verify("hello", sig));
  EXPECT_FALSE(key.verify("hellO", sig));
  auto again = Ed25519Key::from_private(key.private_raw()).value();
  EXPECT_EQ(again.public_raw(), key.public_raw());
  auto pub = Ed25519Key::from_public(key.public_raw()).value();
  EXPECT_TRUE(pub.verify("hello", sig));
  EXPECT_TRUE(pub.private_raw().empty());
  EXPECT_FALSE(Ed25519Key::from_private("short"));
}

TEST(Certificate, IssuedForAnEdgeKeyReadsBackAndVerifiesOnlyUnderItsRoot) {
  auto root = Ed25519Key::generate().value();
  auto other = Ed25519Key::generate().value();
  auto edge = Ed25519Key::generate().value();
  const std::string der =
      issue_certificate(root, "root-1", edge.public_raw(), "edge-a", 1'700'000'000, 1'700'086'400);
  ASSERT_FALSE(der.empty());
  auto info = read_certificate(der, &root);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->subject_public, edge.public_raw());
  EXPECT_EQ(info->issuer_cn, "root-1");
  EXPECT_EQ(info->subject_cn, "edge-a");
  EXPECT_EQ(info->not_before, 1'700'000'000);
  EXPECT_EQ(info->not_after, 1'700'086'400);
  EXPECT_FALSE(read_certificate(der, &other));
  std::string flipped = der;
  flipped[flipped.size() - 10] ^= 1;  // inside the signature
  EXPECT_FALSE(read_certificate(flipped, &root));
  EXPECT_FALSE(read_certificate(der.substr(0, der.size() - 1), nullptr));
  EXPECT_FALSE(read_certificate("garbage", nullptr));
}

TEST(Receipt, IsAJwsOverHeaderAndClaimsSignedByTheEdgeKey) {
  auto root = Ed25519Key::generate().value();
  auto edge = Ed25519Key::generate().value();
  const std::string der =
      issue_certificate(root, "root-1", edge.public_raw(), "edge-a", 1'700'000'000, 1'700'086'400);
  ReceiptClaims c;
  c.account = "acme";
  c.product = "prod_1";
  c.license = "lic_1";
  c.status = "active";
  c.type = "subscription";
  c.iat = 1'700'000'100;
  c.valid_until = receipt_valid_until(c.iat, 72, 0);
  c.nonce = "n-1";
  const std::string token = sign_receipt(edge, receipt_header(der), c);
  const auto dot1 = token.find('.'), dot2 = token.rfind('.');
  ASSERT_NE(dot1, dot2);
  const auto header = from_base64url(token.substr(0, dot1)).value();
  EXPECT_EQ(header, R"({"alg":"EdDSA","typ":"JWT","x5c":[")" + base64(der) + R"("]})");
  const auto claims = from_base64url(token.substr(dot1 + 1, dot2 - dot1 - 1)).value();
  EXPECT_EQ(claims, R"({"account":"acme","product":"prod_1","license":"lic_1","status":"active",)"
                    R"("type":"subscription","expiresAt":null,"iat":1700000100,"exp":1700259300,)"
                    R"("validUntil":1700259300,"nonce":"n-1","replicaSeq":0,"replicaLagMs":0})");
  const auto sig = from_base64url(token.substr(dot2 + 1)).value();
  EXPECT_TRUE(edge.verify(token.substr(0, dot2), sig));
  EXPECT_FALSE(root.verify(token.substr(0, dot2), sig));
}

TEST(Receipt, ValidUntilIsTheGraceOrTheLicenseExpiryWhicheverComesFirst) {
  EXPECT_EQ(receipt_valid_until(1000, 72, 0), 1000 + 72 * 3600);
  EXPECT_EQ(receipt_valid_until(1000, 72, 5000), 5000);
  EXPECT_EQ(receipt_valid_until(1000, 1, 1'000'000), 1000 + 3600);
}

}  // namespace
}  // namespace le::core
