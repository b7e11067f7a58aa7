// Offline receipts through the real binaries (nats-server, license-primary, license-edge): a
// VALID answer that asks for one carries a JWS whose certificate chains to a root the primary
// publishes; refused licenses get none; bad "offline"/"nonce" input is the spec's 400; and an
// edge cut off from the primary issues receipts until its certificate nears its end, then none,
// then again once the primary is back.
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>

#include "core/signing.h"
#include "support/cluster.h"

namespace le::test {
namespace {

using namespace std::chrono_literals;
using V = http::verb;

HttpReply post_validate(unsigned short port, const std::string& body) {
  HttpClient c(port);
  return c.post("/api/v1/validate", body);
}

bool issuing(unsigned short port) {
  HttpClient c(port);
  return json_bool(c.request(V::get, "/readyz").body, "/receipts/issuing");
}

struct Token {
  std::string header, claims, signature, signed_part;
};
Token split(const std::string& token) {
  const auto a = token.find('.'), b = token.rfind('.');
  if (a == std::string::npos || a == b) throw std::runtime_error("not a JWS: " + token);
  return {core::from_base64url(token.substr(0, a)).value(),
          core::from_base64url(token.substr(a + 1, b - a - 1)).value(),
          core::from_base64url(token.substr(b + 1)).value(), token.substr(0, b)};
}

class Receipts : public ::testing::Test {
 protected:
  void start(std::vector<std::string> primary_flags = {}) {
    cluster_.start_nats();
    primary_flags_ = std::move(primary_flags);
    cluster_.start_primary(primary_flags_);
    cluster_.bootstrap();
    edge_ = cluster_.start_edge("edge-a");
    ASSERT_TRUE(eventually([&] { return issuing(edge_->port()); }, 15s));
  }
  Cluster::License license(const std::string& extra = {}) {
    auto l = cluster_.create_license(extra);
    EXPECT_TRUE(eventually([&] { return Cluster::validate(edge_->port(), l.key) != "NOT_FOUND"; }));
    return l;
  }
  std::string offline_body(const std::string& key, const std::string& extra = {}) {
    return R"({"license_key":")" + key + R"(","offline":true)" + extra + "}";
  }
  Cluster cluster_;
  std::vector<std::string> primary_flags_;
  std::unique_ptr<EdgeProcess> edge_;
};

TEST_F(Receipts, AValidAnswerCarriesAReceiptChainedToThePublishedRoot) {
  start();
  const auto l = license();
  auto r = post_validate(edge_->port(), offline_body(l.key, R"(,"nonce":"n-42")"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(json_str(r.body, "/code"), "VALID");
  const std::string token = json_str(r.body, "/offline/token");
  ASSERT_FALSE(token.empty()) << r.body;
  EXPECT_FALSE(json_str(r.body, "/offline/issuedAt").empty());
  EXPECT_FALSE(json_str(r.body, "/offline/validUntil").empty());
  EXPECT_EQ(token.find(l.key), std::string::npos);

  const Token t = split(token);
  EXPECT_EQ(json_str(t.header, "/alg"), "EdDSA");
  const std::string der = core::from_base64(json_str(t.header, "/x5c/0")).value();
  const auto jwks = cluster_.call(V::get, "/api/v1/signing-keys", {}, {}).body;
  const auto root =
      core::Ed25519Key::from_public(core::from_base64url(json_str(jwks, "/keys/0/x")).value());
  ASSERT_TRUE(root);
  const auto cert = core::read_certificate(der, &*root);
  ASSERT_TRUE(cert) << "the certificate does not verify under the published root";
  EXPECT_EQ(cert->issuer_cn, json_str(jwks, "/keys/0/kid"));
  const auto edge_key = core::Ed25519Key::from_public(cert->subject_public).value();
  EXPECT_TRUE(edge_key.verify(t.signed_part, t.signature));
  EXPECT_FALSE(root->verify(t.signed_part, t.signature));  // signed by the edge, not the root

  EXPECT_EQ(json_str(t.claims, "/account"), "acme");
  EXPECT_EQ(json_str(t.claims, "/product"), cluster_.product_id());
  EXPECT_EQ(json_str(t.claims, "/license"), l.id);
  EXPECT_EQ(json_str(t.claims, "/status"), "active");
  EXPECT_EQ(json_str(t.claims, "/nonce"), "n-42");
  const std::int64_t iat = json_int(t.claims, "/iat");
  EXPECT_EQ(json_int(t.claims, "/validUntil"), iat + 72 * 3600);
  EXPECT_GE(iat, cert->not_before);
  EXPECT_LT(iat, cert->not_after);
  EXPECT_GT(json_int(t.claims, "/replicaSeq"), 0);

  // Without "offline": no receipt.
  r = post_validate(edge_->port(), R"({"license_key":")" + l.key + R"("})");
  EXPECT_EQ(r.body.find("\"offline\""), std::string::npos) << r.body;
}

// The three client verifiers (clients/): what each says of `token` against `jwks` at `now`.
std::vector<std::string> client_verdicts(const TempDir& dir, const std::string& token,
                                         const std::string& jwks, std::int64_t now,
                                         const std::string& expected) {
  const std::string token_file = dir.path("token"), jwks_file = dir.path("jwks.json");
  std::ofstream(token_file) << token;
  std::ofstream(jwks_file) << jwks;
  const std::string args =
      " " + token_file + " " + jwks_file + " " + std::to_string(now) + " '" + expected + "' 2>&1";
  std::vector<std::string> out;
  for (const std::string& cli :
       {std::string(LE_RECEIPT_CLI),
        "python3 " + std::string(LE_CLIENTS_DIR) + "/python/verify_receipt_cli.py",
        "node " + std::string(LE_CLIENTS_DIR) + "/js/verify_receipt_cli.mjs"}) {
    out.push_back(run_for_line(cli + args));
  }
  return out;
}

TEST_F(Receipts, TheClientVerifiersAcceptALiveReceiptAndFollowRootRotation) {
  start();
  const auto l = license();
  auto r = post_validate(edge_->port(), offline_body(l.key, R"(,"nonce":"n-7","machine_id":"m1")"));
  // Not activated on m1: no receipt. Without the machine: one.
  EXPECT_EQ(r.body.find("\"offline\""), std::string::npos);
  r = post_validate(edge_->port(), offline_body(l.key, R"(,"nonce":"n-7")"));
  const std::string token = json_str(r.body, "/offline/token");
  ASSERT_FALSE(token.empty()) << r.body;
  const std::int64_t iat = json_int(split(token).claims, "/iat");
  const std::string expected = R"({"account":"acme","product":")" + cluster_.product_id() +
                               R"(","license":")" + l.id + R"(","nonce":"n-7"})";
  std::string jwks = cluster_.call(V::get, "/api/v1/signing-keys", {}, {}).body;
  for (const auto& v : client_verdicts(cluster_.dir(), token, jwks, iat + 10, expected)) {
    EXPECT_EQ(v, "ok");
  }
  for (const auto& v : client_verdicts(cluster_.dir(), token, jwks, iat + 10,
                                       R"({"account":"acme","product":"prod_other"})")) {
    EXPECT_EQ(v, "product_mismatch");
  }
  // A new root: the old one stays published until its overlap ends; the receipt verifies until
  // then and not after.
  r = cluster_.admin(V::post, "/admin/v1/signing-keys/rotate");
  ASSERT_EQ(r.status, 201u) << r.body;
  jwks = cluster_.call(V::get, "/api/v1/signing-keys", {}, {}).body;
  const std::int64_t retires = json_int(jwks, "/keys/1/exp");
  ASSERT_GT(retires, iat) << jwks;
  for (const auto& v : client_verdicts(cluster_.dir(), token, jwks, iat + 20, expected)) {
    EXPECT_EQ(v, "ok") << "during the overlap";
  }
  for (const auto& v : client_verdicts(cluster_.dir(), token, jwks, retires + 1, expected)) {
    EXPECT_EQ(v, "root_retired") << "after the overlap";
  }
}

TEST_F(Receipts, ALicenseThatIsNotValidHereGetsNone) {
  start();
  const auto suspended = license();
  const auto revoked = license();
  const auto expired = license(R"(,"expires_at":"2020-01-01T00:00:00Z")");
  const auto machine = license(R"(,"max_activations":2)");
  cluster_.api(V::post, "/api/v1/licenses/" + suspended.id + "/suspend");
  cluster_.api(V::post, "/api/v1/licenses/" + revoked.id + "/revoke");
  ASSERT_TRUE(eventually([&] {
    return Cluster::validate(edge_->port(), suspended.key) == "SUSPENDED" &&
           Cluster::validate(edge_->port(), revoked.key) == "REVOKED";
  }));
  for (const auto& [key, extra, code] :
       {std::tuple{suspended.key, std::string(), "SUSPENDED"},
        std::tuple{revoked.key, std::string(), "REVOKED"},
        std::tuple{expired.key, std::string(), "EXPIRED"},
        std::tuple{machine.key, std::string(R"(,"machine_id":"never-activated")"),
                   "MACHINE_NOT_ACTIVATED"},
        std::tuple{std::string("NOPE-NOPE-NOPE-NOPE"), std::string(), "NOT_FOUND"}}) {
    auto r = post_validate(edge_->port(), offline_body(key, extra));
    EXPECT_EQ(json_str(r.body, "/code"), code) << r.body;
    EXPECT_EQ(r.body.find("\"offline\""), std::string::npos) << r.body;
  }
}

// The grace period: the product's (72 h unless set), a license's own when it has one (0: no
// receipts), never past the license's expiry; set through the primary's API and replicated.
TEST_F(Receipts, TheGracePeriodIsTheProductsOrTheLicensesAndEndsAtTheLicensesExpiry) {
  start();
  auto grace_of = [&](const std::string& key) -> std::int64_t {
    auto r = post_validate(edge_->port(), offline_body(key));
    const std::string token = json_str(r.body, "/offline/token");
    if (token.empty()) return -1;
    const Token t = split(token);
    return json_int(t.claims, "/validUntil") - json_int(t.claims, "/iat");
  };
  auto r = cluster_.api(V::patch, "/api/v1/products/" + cluster_.product_id(),
                        R"({"offline_grace_hours":2})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(json_int(r.body, "/product/offlineGraceHours"), 2);
  const auto inherits = license();
  ASSERT_TRUE(eventually([&] { return grace_of(inherits.key) == 2 * 3600; }));
  const auto own = license(R"(,"offline_grace_hours":5)");
  EXPECT_EQ(grace_of(own.key), 5 * 3600);
  const auto none = license(R"(,"offline_grace_hours":0)");
  EXPECT_EQ(grace_of(none.key), -1) << "0 hours: no receipt";
  r = cluster_.api(V::patch, "/api/v1/licenses/" + own.id, R"({"offline_grace_hours":null})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(eventually([&] { return grace_of(own.key) == 2 * 3600; }));
  EXPECT_NE(
      cluster_.api(V::get, "/api/v1/licenses/" + own.id).body.find("\"offlineGraceHours\":null"),
      std::string::npos);
  // Expiring in an hour: the receipt ends with the license.
  const auto soon = license(R"(,"expires_at":")" + [] {
    const std::time_t t = std::time(nullptr) + 3600;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  }() + "\"");
  const std::int64_t g = grace_of(soon.key);
  EXPECT_GT(g, 3500);
  EXPECT_LE(g, 3600);
  for (const char* bad : {R"({"offline_grace_hours":-1})", R"({"offline_grace_hours":721})",
                          R"({"offline_grace_hours":"72"})", R"({"offline_grace_hours":1.5})"}) {
    r = cluster_.api(V::patch, "/api/v1/products/" + cluster_.product_id(), bad);
    EXPECT_EQ(r.status, 400u) << bad << " " << r.body;
    EXPECT_EQ(json_str(r.body, "/code"), "VALIDATION_ERROR") << r.body;
    r = cluster_.api(V::patch, "/api/v1/licenses/" + own.id, bad);
    EXPECT_EQ(r.status, 400u) << bad << " " << r.body;
  }
}

TEST_F(Receipts, BadOfflineOrNonceInputIsTheSpecs400) {
  start();
  const auto l = license();
  for (const std::string& extra :
       {std::string(R"(,"offline":"yes")"), std::string(R"(,"offline":1)"),
        std::string(R"(,"offline":true,"nonce":")") + std::string(10240, 'n') + "\"",
        std::string(R"(,"offline":true,"nonce":"a\u0001b")"),
        std::string(R"(,"offline":true,"nonce":{"x":1})")}) {
    auto r = post_validate(edge_->port(), R"({"license_key":")" + l.key + "\"" + extra + "}");
    EXPECT_EQ(r.status, 400u) << extra.substr(0, 60) << " " << r.body;
    EXPECT_EQ(json_str(r.body, "/code"), "VALIDATION_ERROR") << r.body;
    EXPECT_FALSE(json_str(r.body, "/error").empty());
  }
}

TEST_F(Receipts, AnEdgeCutOffFromThePrimaryIssuesUntilItsCertificateNearsItsEndThenRecovers) {
  // 12-second certificates: renewed after 6 s, unusable in the last second.
  start({"--edge-cert-seconds", "12"});
  const auto l = license();
  cluster_.stop_primary();
  const auto stopped = std::chrono::steady_clock::now();
  auto r = post_validate(edge_->port(), offline_body(l.key));
  EXPECT_FALSE(json_str(r.body, "/offline/token").empty()) << "still within the certificate";
  ASSERT_TRUE(eventually([&] { return !issuing(edge_->port()); }, 20s));
  // Issued on until the certificate's last second (it was received just before the stop).
  EXPECT_GT(std::chrono::steady_clock::now() - stopped, 8s);
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 13s);
  r = post_validate(edge_->port(), offline_body(l.key));
  EXPECT_EQ(json_str(r.body, "/code"), "VALID") << "validation goes on without receipts";
  EXPECT_EQ(r.body.find("\"offline\""), std::string::npos) << r.body;
  cluster_.start_primary(primary_flags_);
  ASSERT_TRUE(eventually([&] { return issuing(edge_->port()); }, 20s));
  r = post_validate(edge_->port(), offline_body(l.key));
  EXPECT_FALSE(json_str(r.body, "/offline/token").empty()) << r.body;
}

}  // namespace
}  // namespace le::test
