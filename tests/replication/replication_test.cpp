// Integration: a real nats-server, license-primary and license-edge processes. Changes made at the
// primary's management API must become visible at the edge, through every failure the design
// names: edge killed mid catch-up, primary killed between its write and its publish, NATS down.
#include <gtest/gtest.h>

#include <random>

#include "nats/jetstream.h"
#include "support/cluster.h"

namespace le::test {
namespace {

using V = http::verb;
constexpr auto kPropagation = std::chrono::seconds(10);

class Replication : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.start_nats();
    cluster_.start_primary();
    cluster_.bootstrap();
  }
  bool edge_says(const EdgeProcess& edge, const std::string& key, const std::string& code,
                 const std::string& bearer = {}) {
    return eventually([&] { return Cluster::validate(edge.port(), key, bearer) == code; },
                      kPropagation);
  }
  Cluster cluster_;
};

TEST_F(Replication, CreatedLicenseIsValidAtEdgeAndEveryRefusalPropagates) {
  auto edge = cluster_.start_edge("edge");
  auto lic = cluster_.create_license();
  ASSERT_TRUE(edge_says(*edge, lic.key, "VALID"));
  EXPECT_TRUE(Cluster::edge_ready(edge->port()));

  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/suspend").status, 200u);
  EXPECT_TRUE(edge_says(*edge, lic.key, "SUSPENDED"));
  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/reinstate").status, 200u);
  EXPECT_TRUE(edge_says(*edge, lic.key, "VALID"));

  auto r = cluster_.api(V::patch, "/api/v1/licenses/" + lic.id,
                        R"({"expires_at":"2020-01-01T00:00:00Z"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(edge_says(*edge, lic.key, "EXPIRED"));
  ASSERT_EQ(cluster_.api(V::patch, "/api/v1/licenses/" + lic.id, R"({"expires_at":null})").status,
            200u);
  EXPECT_TRUE(edge_says(*edge, lic.key, "VALID"));

  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/revoke").status, 200u);
  EXPECT_TRUE(edge_says(*edge, lic.key, "REVOKED"));
  // Revoked is final.
  EXPECT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/reinstate").status, 400u);

  auto gone = cluster_.create_license();
  ASSERT_TRUE(edge_says(*edge, gone.key, "VALID"));
  ASSERT_EQ(cluster_.api(V::delete_, "/api/v1/licenses/" + gone.id).status, 200u);
  EXPECT_TRUE(edge_says(*edge, gone.key, "NOT_FOUND"));
  EXPECT_EQ(cluster_.api(V::get, "/api/v1/licenses/" + gone.id).status, 404u);
}

TEST_F(Replication, ApiKeyRotationRevocationAndProductChangesPropagate) {
  auto edge = cluster_.start_edge("edge");
  auto lic = cluster_.create_license();
  const std::string old_key = cluster_.api_key();
  ASSERT_TRUE(edge_says(*edge, lic.key, "VALID", old_key));

  // Rotation: a second key works at the edge while the first still does; then the first is
  // revoked and refused.
  auto r = cluster_.api(V::post, "/api/v1/api-keys", "");
  ASSERT_EQ(r.status, 201u) << r.body;
  const std::string new_key = json_str(r.body, "/apiKey/key");
  ASSERT_TRUE(edge_says(*edge, lic.key, "VALID", new_key));
  EXPECT_EQ(Cluster::validate(edge->port(), lic.key, old_key), "VALID");
  r = cluster_.admin(V::post, "/admin/v1/api-keys/" + cluster_.api_key_id() + "/revoke");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(edge_says(*edge, lic.key, "INVALID_API_KEY", old_key));
  EXPECT_EQ(Cluster::validate(edge->port(), lic.key, new_key), "VALID");

  // A product renamed at the primary is found by its new name at the edge (TKI looks products
  // up by name) and no longer by the old one.
  auto tki = [&](const std::string& product) {
    HttpClient c(edge->port());
    return c.post("/api/license/auth",
                  R"({"data":{"product":")" + product + R"(","version":"1.0.0","licensekey":")" +
                      lic.key + R"(","ip":"10.0.0.1","hwid":"hw-1"}})",
                  {{"Authorization", new_key}, {"Content-Type", "application/json"}});
  };
  const auto unknown_product = tki("Renamed App");
  r = cluster_.call(V::patch, "/api/v1/products/" + cluster_.product_id(),
                    R"({"name":"Renamed App"})", new_key);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(
      eventually([&] { return tki("Renamed App").body != unknown_product.body; }, kPropagation));
  EXPECT_EQ(tki("Acme App").body, unknown_product.body);
}

TEST_F(Replication, EdgeKilledRepeatedlyDuringCatchUpConvergesExactly) {
  cluster_.create_licenses(60'000);
  std::mt19937 rng(12345);
  std::int64_t progress = 0;
  for (int i = 0; i < 6; ++i) {
    auto edge = cluster_.start_edge("edge");
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 300)(rng)));
    progress = std::max(progress, Cluster::edge_applied_seq(edge->port()));
    edge->kill9();  // SIGKILL: no flush, no clean shutdown
  }
  EXPECT_GT(progress, 0);
  // Changes keep coming while the edge is down.
  auto lic = cluster_.create_license();
  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/suspend").status, 200u);

  auto edge = cluster_.start_edge("edge");
  ASSERT_TRUE(
      eventually([&] { return Cluster::edge_ready(edge->port()); }, std::chrono::seconds(60)));
  EXPECT_EQ(Cluster::validate(edge->port(), lic.key), "SUSPENDED");
  ASSERT_EQ(edge->terminate(), 0);
  cluster_.stop_primary();
  const std::string primary = cluster_.primary_digest();
  ASSERT_EQ(primary.size(), 64u);
  EXPECT_EQ(cluster_.edge_digest("edge"), primary);
}

TEST_F(Replication, PrimaryKilledBetweenWriteAndPublishLosesNoEvent) {
  auto edge = cluster_.start_edge("edge");
  auto before = cluster_.create_license();
  ASSERT_TRUE(edge_says(*edge, before.key, "VALID"));
  // With NATS down the write commits (record + outbox row) but cannot be published; the primary
  // is then killed with the event still unpublished.
  cluster_.stop_nats();
  auto lic = cluster_.create_license();
  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + before.id + "/suspend").status, 200u);
  cluster_.kill_primary();
  cluster_.start_nats();
  EXPECT_EQ(Cluster::validate(edge->port(), lic.key), "NOT_FOUND");
  cluster_.start_primary();
  EXPECT_TRUE(edge_says(*edge, lic.key, "VALID"));
  EXPECT_TRUE(edge_says(*edge, before.key, "SUSPENDED"));
}

TEST_F(Replication, NatsOutageEdgeKeepsServingThenCatchesUp) {
  auto edge = cluster_.start_edge("edge");
  auto lic = cluster_.create_license();
  ASSERT_TRUE(edge_says(*edge, lic.key, "VALID"));
  cluster_.stop_nats();
  // Served from the replica throughout, and still ready: the replica was caught up.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Cluster::validate(edge->port(), lic.key), "VALID");
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(Cluster::edge_ready(edge->port()));
  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/suspend").status, 200u);
  auto added = cluster_.create_license();
  cluster_.start_nats();
  EXPECT_TRUE(edge_says(*edge, lic.key, "SUSPENDED", {}));
  EXPECT_TRUE(edge_says(*edge, added.key, "VALID"));
}

TEST_F(Replication, EdgeNotReadyUntilCaughtUp) {
  cluster_.create_licenses(5'000);
  ASSERT_TRUE(eventually([&] {
    auto r = cluster_.admin(V::get, "/readyz");
    return json_int(r.body, "/publishedSeq") == json_int(r.body, "/outboxSeq");
  }));
  cluster_.stop_nats();
  // A new edge that cannot reach the stream serves (an empty replica) but is not ready.
  auto edge = cluster_.start_edge("edge");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  HttpClient c(edge->port());
  auto r = c.request(V::get, "/readyz");
  EXPECT_EQ(r.status, 503u) << r.body;
  EXPECT_EQ(json_str(r.body, "/status"), "not_ready");
  cluster_.start_nats();
  EXPECT_TRUE(
      eventually([&] { return Cluster::edge_ready(edge->port()); }, std::chrono::seconds(30)));
  EXPECT_EQ(Cluster::edge_applied_seq(edge->port()),
            json_int(cluster_.admin(V::get, "/readyz").body, "/outboxSeq"));
}

TEST_F(Replication, UndecodableStreamMessageIsCountedSkippedAndReplicationGoesOn) {
  auto edge = cluster_.start_edge("edge");
  auto lic = cluster_.create_license();
  ASSERT_TRUE(edge_says(*edge, lic.key, "VALID"));
  // Garbage published straight into the stream, as a broken or hostile publisher would; each on
  // its own subject (the stream keeps one message per subject, so a second one on a subject could
  // replace the first before the edge reads it).
  {
    nats::NatsOptions o;
    o.url = cluster_.nats_url();
    std::string error;
    auto js = nats::JetStream::connect(o, error);
    ASSERT_TRUE(js) << error;
    int n = 0;
    for (std::string body :
         {std::string("not json"), std::string(R"({"kind":"license","version":1})"),
          std::string(R"({"kind":"planet","type":"x","version":1,"deleted":false,"data":{}})")}) {
      jsErrCode jerr;
      jsPubAck* ack = nullptr;
      const std::string subject = "lic.license.bogus" + std::to_string(++n);
      ASSERT_EQ(js_Publish(&ack, js->context(), subject.c_str(), body.data(),
                           static_cast<int>(body.size()), nullptr, &jerr),
                NATS_OK);
      jsPubAck_Destroy(ack);
    }
  }
  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/suspend").status, 200u);
  EXPECT_TRUE(edge_says(*edge, lic.key, "SUSPENDED"));
  HttpClient admin(edge->admin_port());
  const std::string text = admin.request(V::get, "/metrics").body;
  EXPECT_NE(text.find("\nle_replication_undecodable_total 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nle_replication_lag_events 0\n"), std::string::npos);
}

}  // namespace
}  // namespace le::test
