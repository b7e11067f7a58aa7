// Webhook endpoints at license-primary, run as the real binary: register, list, get, update,
// rotate and delete an account's endpoints, each shown to its own account and mode only; every
// malformed, oversized or hostile body is a 400 in the spec's format that stores nothing; and
// the license events the spec lists are recorded with the change that causes them.
#include <gtest/gtest.h>

#include <ctime>
#include <thread>

#include "support/cluster.h"
#include "support/webhook_receiver.h"

namespace le::test {
namespace {

using V = http::verb;

class Webhooks : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.start_primary({"--no-publish"});
    cluster_.bootstrap();
  }
  static void expect_error(const HttpReply& r, unsigned status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(json_str(r.body, "/code"), code) << r.body;
    EXPECT_FALSE(json_str(r.body, "/error").empty()) << r.body;
  }
  int endpoints() {
    return static_cast<int>(
        json_int(cluster_.api(V::get, "/api/v1/webhooks").body, "/pagination/total"));
  }
  Cluster cluster_;
};

TEST_F(Webhooks, RegisterListGetUpdateRotateDelete) {
  auto r = cluster_.api(V::post, "/api/v1/webhooks", R"({"url":"https://hooks.example.com/to"})");
  ASSERT_EQ(r.status, 201u) << r.body;
  const std::string id = json_str(r.body, "/webhook/id");
  const std::string secret = json_str(r.body, "/webhook/secret");
  EXPECT_EQ(id.rfind("wh_", 0), 0u);
  EXPECT_EQ(secret.rfind("whsec_", 0), 0u);
  EXPECT_EQ(secret.size(), 38u);
  EXPECT_EQ(json_str(r.body, "/webhook/url"), "https://hooks.example.com/to");
  EXPECT_TRUE(json_bool(r.body, "/webhook/enabled"));
  // All six events by default, in the spec's order.
  EXPECT_EQ(json_str(r.body, "/webhook/events/0"), "license.created");
  EXPECT_EQ(json_str(r.body, "/webhook/events/5"), "validation.failed");

  // The secret is shown once: not by get or list.
  r = cluster_.api(V::get, "/api/v1/webhooks/" + id);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(json_str(r.body, "/webhook/url"), "https://hooks.example.com/to");
  EXPECT_EQ(r.body.find("whsec_"), std::string::npos);
  r = cluster_.api(V::get, "/api/v1/webhooks");
  EXPECT_EQ(json_int(r.body, "/pagination/total"), 1);
  EXPECT_EQ(json_str(r.body, "/data/0/id"), id);
  EXPECT_EQ(r.body.find("whsec_"), std::string::npos);

  r = cluster_.api(V::patch, "/api/v1/webhooks/" + id,
                   R"({"events":["license.suspended","license.activated"],"enabled":false,)"
                   R"("url":"http://hooks.example.com:8443/v2?x=1"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(json_str(r.body, "/webhook/events/0"), "license.activated");
  EXPECT_EQ(json_str(r.body, "/webhook/events/1"), "license.suspended");
  EXPECT_EQ(json_str(r.body, "/webhook/events/2"), "");
  EXPECT_FALSE(json_bool(r.body, "/webhook/enabled"));
  EXPECT_EQ(json_str(cluster_.api(V::get, "/api/v1/webhooks/" + id).body, "/webhook/url"),
            "http://hooks.example.com:8443/v2?x=1");

  r = cluster_.api(V::post, "/api/v1/webhooks/" + id + "/rotate-secret");
  ASSERT_EQ(r.status, 200u) << r.body;
  const std::string rotated = json_str(r.body, "/webhook/secret");
  EXPECT_EQ(rotated.rfind("whsec_", 0), 0u);
  EXPECT_NE(rotated, secret);

  // Another account, and the same account's test mode, do not see it.
  cluster_.bootstrap("other", "Other App");
  EXPECT_EQ(cluster_.api(V::get, "/api/v1/webhooks/" + id).status, 404u);
  EXPECT_EQ(endpoints(), 0);
  auto test_key = cluster_.admin(V::post, "/admin/v1/accounts/acme/api-keys", R"({"mode":"test"})");
  r = cluster_.call(V::get, "/api/v1/webhooks/" + id, {}, json_str(test_key.body, "/apiKey/key"));
  EXPECT_EQ(r.status, 404u);
}

TEST_F(Webhooks, DeletedEndpointIsGone) {
  auto r = cluster_.api(V::post, "/api/v1/webhooks", R"({"url":"https://a.example.com/"})");
  ASSERT_EQ(r.status, 201u) << r.body;
  const std::string id = json_str(r.body, "/webhook/id");
  EXPECT_EQ(cluster_.api(V::delete_, "/api/v1/webhooks/" + id).status, 200u);
  expect_error(cluster_.api(V::get, "/api/v1/webhooks/" + id), 404, "NOT_FOUND");
  expect_error(cluster_.api(V::delete_, "/api/v1/webhooks/" + id), 404, "NOT_FOUND");
  expect_error(cluster_.api(V::post, "/api/v1/webhooks/" + id + "/rotate-secret"), 404,
               "NOT_FOUND");
  EXPECT_EQ(endpoints(), 0);
}

TEST_F(Webhooks, BadInputIsRefusedAndStoresNothing) {
  const std::string long_url = "https://example.com/" + std::string(10 * 1024, 'a');
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "VALIDATION_ERROR"},
      {"not json", "VALIDATION_ERROR"},
      {"[]", "VALIDATION_ERROR"},
      {"{}", "MISSING_FIELDS"},
      {R"({"url":7})", "VALIDATION_ERROR"},
      {R"({"url":""})", "VALIDATION_ERROR"},
      {R"({"url":"example.com/hook"})", "VALIDATION_ERROR"},
      {R"({"url":"ftp://example.com/hook"})", "VALIDATION_ERROR"},
      {R"j({"url":"javascript:alert(1)"})j", "VALIDATION_ERROR"},
      {R"({"url":"file:///etc/passwd"})", "VALIDATION_ERROR"},
      {R"({"url":"https://"})", "VALIDATION_ERROR"},
      {R"({"url":"https://user:pw@example.com/"})", "VALIDATION_ERROR"},
      {R"({"url":"https://exa mple.com/"})", "VALIDATION_ERROR"},
      {R"({"url":"https://example.com:99999/"})", "VALIDATION_ERROR"},
      {R"({"url":"https://example.com:0/"})", "VALIDATION_ERROR"},
      {R"({"url":"https://[::1/"})", "VALIDATION_ERROR"},
      {R"({"url":"https://example.com/\u0000"})", "VALIDATION_ERROR"},
      {R"({"url":")" + long_url + R"("})", "VALIDATION_ERROR"},
      // SSRF: loopback, private, link-local, metadata addresses and names.
      {R"({"url":"http://127.0.0.1/hook"})", "VALIDATION_ERROR"},
      {R"({"url":"http://localhost:8080/hook"})", "VALIDATION_ERROR"},
      {R"({"url":"http://api.localhost/hook"})", "VALIDATION_ERROR"},
      {R"({"url":"http://10.1.2.3/"})", "VALIDATION_ERROR"},
      {R"({"url":"http://172.16.0.1/"})", "VALIDATION_ERROR"},
      {R"({"url":"http://192.168.1.1/"})", "VALIDATION_ERROR"},
      {R"({"url":"http://169.254.169.254/latest/meta-data/"})", "VALIDATION_ERROR"},
      {R"({"url":"http://metadata.google.internal/"})", "VALIDATION_ERROR"},
      {R"({"url":"http://[::1]/"})", "VALIDATION_ERROR"},
      {R"({"url":"http://[fd00:ec2::254]/"})", "VALIDATION_ERROR"},
      {R"({"url":"http://[::ffff:127.0.0.1]/"})", "VALIDATION_ERROR"},
      {R"({"url":"http://0.0.0.0/"})", "VALIDATION_ERROR"},
      // Events and other fields.
      {R"({"url":"https://example.com/","events":[]})", "VALIDATION_ERROR"},
      {R"({"url":"https://example.com/","events":["license.exploded"]})", "VALIDATION_ERROR"},
      {R"({"url":"https://example.com/","events":"license.created"})", "VALIDATION_ERROR"},
      {R"({"url":"https://example.com/","events":[1]})", "VALIDATION_ERROR"},
      {R"({"url":"https://example.com/","enabled":"yes"})", "VALIDATION_ERROR"},
      {R"({"url":"https://example.com/","secret":"whsec_mine"})", "VALIDATION_ERROR"},
      {std::string(3000, '[') + std::string(3000, ']'), "VALIDATION_ERROR"},
  };
  for (const auto& [body, code] : bad) {
    auto r = cluster_.api(V::post, "/api/v1/webhooks", body);
    expect_error(r, 400, code);
    if (r.status != 400) ADD_FAILURE() << "accepted: " << body.substr(0, 120);
  }
  EXPECT_EQ(endpoints(), 0);
  // An update with bad input changes nothing.
  auto r = cluster_.api(V::post, "/api/v1/webhooks", R"({"url":"https://ok.example.com/"})");
  ASSERT_EQ(r.status, 201u) << r.body;
  const std::string id = json_str(r.body, "/webhook/id");
  const std::string before = cluster_.api(V::get, "/api/v1/webhooks/" + id).body;
  for (const std::string body :
       {R"({"url":"http://127.0.0.1/"})", R"({"enabled":true,"events":["nope"]})",
        R"({"id":"wh_other"})", R"({"url":null})"}) {
    expect_error(cluster_.api(V::patch, "/api/v1/webhooks/" + id, body), 400, "VALIDATION_ERROR");
  }
  EXPECT_EQ(cluster_.api(V::get, "/api/v1/webhooks/" + id).body, before);
  // Without an API key: 401.
  expect_error(cluster_.call(V::get, "/api/v1/webhooks", {}, ""), 401, "AUTH_REQUIRED");
}

TEST_F(Webhooks, AnAccountHasAtMostTwentyEndpointsPerMode) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(cluster_
                  .api(V::post, "/api/v1/webhooks",
                       R"({"url":"https://h)" + std::to_string(i) + R"(.example.com/"})")
                  .status,
              201u);
  }
  expect_error(cluster_.api(V::post, "/api/v1/webhooks", R"({"url":"https://x.example.com/"})"),
               400, "VALIDATION_ERROR");
  EXPECT_EQ(endpoints(), 20);
}

TEST_F(Webhooks, LicenseCreatedAndSuspendedAreRecordedWithTheChange) {
  auto lic = cluster_.create_license();
  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/suspend").status, 200u);
  // Suspending again changes nothing and records nothing; revoking is not one of the six.
  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/suspend").status, 200u);
  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/revoke").status, 200u);
  auto r = cluster_.api(V::get, "/api/v1/events");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(json_str(r.body, "/data/0/event"), "license.created");
  EXPECT_EQ(json_str(r.body, "/data/0/data/licenseId"), lic.id);
  EXPECT_EQ(json_str(r.body, "/data/0/data/productId"), cluster_.product_id());
  EXPECT_EQ(json_str(r.body, "/data/1/event"), "license.suspended");
  EXPECT_EQ(json_str(r.body, "/data/1/data/licenseId"), lic.id);
  EXPECT_EQ(json_str(r.body, "/data/2/event"), "");
  // A batch records one creation per license.
  ASSERT_EQ(cluster_
                .api(V::post, "/api/v1/licenses/batch",
                     R"({"licenses":[{"product_id":")" + cluster_.product_id() +
                         R"(","type":"perpetual"},{"product_id":")" + cluster_.product_id() +
                         R"(","type":"trial"}]})")
                .status,
            201u);
  r = cluster_.api(V::get, "/api/v1/events?limit=10");
  EXPECT_EQ(json_str(r.body, "/data/2/event"), "license.created");
  EXPECT_EQ(json_str(r.body, "/data/3/event"), "license.created");
  EXPECT_EQ(json_str(r.body, "/data/4/event"), "");
}

}  // namespace
}  // namespace le::test

namespace le::test {
namespace {

// The operator's flag lets local receivers in (tests, the demo); the other checks still hold.
TEST(WebhooksPrivateAllowed, LoopbackReceiversAreAcceptedWithTheFlag) {
  Cluster cluster;
  cluster.start_primary({"--no-publish", "--webhooks-allow-private"});
  cluster.bootstrap();
  auto r = cluster.api(V::post, "/api/v1/webhooks", R"({"url":"http://127.0.0.1:9/hook"})");
  EXPECT_EQ(r.status, 201u) << r.body;
  r = cluster.api(V::post, "/api/v1/webhooks", R"({"url":"http://localhost:9/hook"})");
  EXPECT_EQ(r.status, 201u) << r.body;
  r = cluster.api(V::post, "/api/v1/webhooks", R"({"url":"ftp://127.0.0.1/hook"})");
  EXPECT_EQ(r.status, 400u) << r.body;
}

// Deliveries through the API: listed with status, attempts, last status code and next attempt;
// redelivered with the same id; unknown or malformed ids are 404s and change nothing.
TEST(WebhookDeliveries, AreListedAndRedeliveredThroughTheApi) {
  WebhookReceiver receiver;
  receiver.answer(503);
  Cluster cluster;
  cluster.start_primary({"--no-publish", "--webhooks-allow-private"});
  cluster.bootstrap();
  auto r = cluster.api(V::post, "/api/v1/webhooks",
                       R"({"url":")" + receiver.url() + R"(","events":["license.created"]})");
  ASSERT_EQ(r.status, 201u) << r.body;
  const std::string hook = json_str(r.body, "/webhook/id");
  const std::string deliveries = "/api/v1/webhooks/" + hook + "/deliveries";
  const auto lic = cluster.create_license();
  cluster.api(V::post, "/api/v1/licenses/" + lic.id + "/suspend");  // not subscribed
  ASSERT_TRUE(receiver.wait_for(1));
  ASSERT_TRUE(eventually(
      [&] { return json_int(cluster.api(V::get, deliveries).body, "/data/0/attempts") == 1; }));
  r = cluster.api(V::get, deliveries);
  EXPECT_EQ(json_int(r.body, "/pagination/total"), 1) << r.body;
  const std::string id = json_str(r.body, "/data/0/id");
  EXPECT_EQ(id, receiver.received()[0].delivery_id);
  EXPECT_EQ(json_str(r.body, "/data/0/status"), "pending");
  EXPECT_EQ(json_str(r.body, "/data/0/event"), "license.created");
  EXPECT_EQ(json_str(r.body, "/data/0/licenseId"), lic.id);
  EXPECT_EQ(json_int(r.body, "/data/0/lastStatusCode"), 503);
  EXPECT_FALSE(json_str(r.body, "/data/0/nextAttemptAt").empty()) << r.body;

  receiver.answer(200);
  r = cluster.api(V::post, deliveries + "/" + id + "/redeliver");
  EXPECT_EQ(r.status, 202u) << r.body;
  EXPECT_EQ(json_str(r.body, "/delivery/id"), id);
  ASSERT_TRUE(receiver.wait_for(2));
  EXPECT_EQ(receiver.received()[1].delivery_id, id);
  ASSERT_TRUE(eventually([&] {
    return json_str(cluster.api(V::get, deliveries).body, "/data/0/status") == "succeeded";
  }));
  r = cluster.api(V::get, deliveries);
  EXPECT_EQ(json_int(r.body, "/data/0/lastStatusCode"), 200);
  EXPECT_TRUE(json_str(r.body, "/data/0/nextAttemptAt").empty()) << "null once delivered";

  // Unknown, malformed, hostile and oversized ids: 404 in the spec's format; paging checked.
  const std::string before = cluster.api(V::get, deliveries).body;
  for (const std::string& bad :
       {std::string("whd_00000000000000ff12345678"), std::string("nonsense"), std::string("%00"),
        std::string("whd_zzzzzzzzzzzzzzzz12345678"), std::string(4000, 'x'),
        id.substr(0, id.size() - 1) + (id.back() == '0' ? "1" : "0")}) {
    r = cluster.api(V::post, deliveries + "/" + bad + "/redeliver");
    EXPECT_EQ(r.status, 404u) << bad << " " << r.body;
    EXPECT_EQ(json_str(r.body, "/code"), "NOT_FOUND") << r.body;
  }
  r = cluster.api(V::get, "/api/v1/webhooks/wh_nope/deliveries");
  EXPECT_EQ(r.status, 404u) << r.body;
  r = cluster.api(V::post, "/api/v1/webhooks/wh_nope/deliveries/" + id + "/redeliver");
  EXPECT_EQ(r.status, 404u) << r.body;
  for (const char* q : {"?limit=0", "?limit=abc", "?page=-1", "?offset=x"}) {
    r = cluster.api(V::get, deliveries + q);
    EXPECT_EQ(r.status, 400u) << q << " " << r.body;
    EXPECT_EQ(json_str(r.body, "/code"), "VALIDATION_ERROR") << r.body;
  }
  EXPECT_EQ(cluster.api(V::get, deliveries).body, before);
  EXPECT_EQ(receiver.count(), 2u);

  // Another account's key sees no such endpoint.
  cluster.bootstrap("other", "Other App");
  r = cluster.api(V::get, deliveries);
  EXPECT_EQ(r.status, 404u) << r.body;
  r = cluster.api(V::post, deliveries + "/" + id + "/redeliver");
  EXPECT_EQ(r.status, 404u) << r.body;
}

}  // namespace
}  // namespace le::test

namespace le::test {
namespace {

// "YYYY-MM-DDTHH:MM:SSZ", `seconds` from now.
std::string iso_in(int seconds) {
  const std::time_t t = std::time(nullptr) + seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class Expiry : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.start_primary({"--no-publish"});
    cluster_.bootstrap();
  }
  Cluster::License license_expiring(const std::string& when) {
    return cluster_.create_license(R"(,"expires_at":")" + when + "\"");
  }
  // license.expired events recorded for `license_id`.
  int expired_events(const std::string& license_id) {
    const auto r = cluster_.api(V::get, "/api/v1/events?limit=100");
    int n = 0;
    for (int i = 0; !json_str(r.body, "/data/" + std::to_string(i) + "/event").empty(); ++i) {
      const std::string at = "/data/" + std::to_string(i);
      n += json_str(r.body, at + "/event") == "license.expired" &&
           json_str(r.body, at + "/data/licenseId") == license_id;
    }
    return n;
  }
  Cluster cluster_;
};

TEST_F(Expiry, ALicenseExpiringRecordsExactlyOneExpiredEventAcrossARestart) {
  const auto lic = license_expiring(iso_in(2));
  ASSERT_TRUE(eventually([&] { return expired_events(lic.id) > 0; }, std::chrono::seconds(15)));
  // A witness expiring later: once its event is there, every earlier expiry was handled.
  const auto witness = license_expiring(iso_in(1));
  ASSERT_TRUE(eventually([&] { return expired_events(witness.id) > 0; }, std::chrono::seconds(15)));
  EXPECT_EQ(expired_events(lic.id), 1);
  cluster_.stop_primary();
  cluster_.start_primary({"--no-publish"});
  const auto after_restart = license_expiring(iso_in(1));
  ASSERT_TRUE(
      eventually([&] { return expired_events(after_restart.id) > 0; }, std::chrono::seconds(15)));
  EXPECT_EQ(expired_events(lic.id), 1);
  EXPECT_EQ(expired_events(witness.id), 1);
}

TEST_F(Expiry, ALicenseThatExpiredWhileThePrimaryWasDownIsRecordedAtStart) {
  const auto lic = license_expiring(iso_in(3));
  cluster_.stop_primary();
  std::this_thread::sleep_for(std::chrono::seconds(4));  // the expiry passes while it is down
  cluster_.start_primary({"--no-publish"});
  ASSERT_TRUE(eventually([&] { return expired_events(lic.id) > 0; }, std::chrono::seconds(15)));
  const auto witness = license_expiring(iso_in(1));
  ASSERT_TRUE(eventually([&] { return expired_events(witness.id) > 0; }, std::chrono::seconds(15)));
  EXPECT_EQ(expired_events(lic.id), 1);
}

TEST_F(Expiry, AMovedOrDeletedExpiryRecordsNothingAndAPastOneAtOnce) {
  const auto moved = license_expiring(iso_in(1));
  const auto deleted = license_expiring(iso_in(1));
  ASSERT_EQ(
      cluster_
          .api(V::patch, "/api/v1/licenses/" + moved.id, R"({"expires_at":"2030-01-01T00:00:00Z"})")
          .status,
      200u);
  ASSERT_EQ(cluster_.api(V::delete_, "/api/v1/licenses/" + deleted.id).status, 200u);
  const auto past = license_expiring("2020-01-01T00:00:00Z");
  // Brought forward from far away: its new expiry is the one noticed.
  const auto sooner = license_expiring("2031-01-01T00:00:00Z");
  ASSERT_EQ(
      cluster_
          .api(V::patch, "/api/v1/licenses/" + sooner.id, R"({"expires_at":")" + iso_in(1) + "\"}")
          .status,
      200u);
  const auto witness = license_expiring(iso_in(2));
  ASSERT_TRUE(eventually([&] { return expired_events(witness.id) > 0; }, std::chrono::seconds(15)));
  EXPECT_EQ(expired_events(past.id), 1);
  EXPECT_EQ(expired_events(sooner.id), 1);
  EXPECT_EQ(expired_events(moved.id), 0);
  EXPECT_EQ(expired_events(deleted.id), 0);
}

}  // namespace
}  // namespace le::test
