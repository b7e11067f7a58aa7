// license-primary's management API, run as the real binary: the spec's resources, pagination,
// test/live separation, authoritative activations under concurrency, and bad input — every
// malformed, oversized or hostile request gets a 4xx in the spec's error format and changes no
// data (the digest of every record is the same before and after).
#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <thread>

#include "core/time_format.h"
#include "support/cluster.h"

namespace le::test {
namespace {

using V = http::verb;

class Management : public ::testing::Test {
 protected:
  void SetUp() override {
    // No NATS: changes stay in the outbox, which is all these tests need.
    cluster_.start_primary(primary_flags());
    cluster_.bootstrap();
  }
  virtual std::vector<std::string> primary_flags() { return {"--no-publish"}; }
  static void expect_error(const HttpReply& r, unsigned status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(json_str(r.body, "/code"), code) << r.body;
    EXPECT_FALSE(json_str(r.body, "/error").empty()) << r.body;
    EXPECT_EQ(json_str(r.body, "/help"), "/docs#errors") << r.body;
  }
  // The answer's spec pagination: {page, limit, total, totalPages, hasMore}.
  static void expect_pagination(const std::string& body, std::int64_t page, std::int64_t limit,
                                std::int64_t total, std::int64_t total_pages, bool has_more) {
    EXPECT_EQ(json_int(body, "/pagination/page"), page) << body;
    EXPECT_EQ(json_int(body, "/pagination/limit"), limit) << body;
    EXPECT_EQ(json_int(body, "/pagination/total"), total) << body;
    EXPECT_EQ(json_int(body, "/pagination/totalPages"), total_pages) << body;
    EXPECT_EQ(json_bool(body, "/pagination/hasMore"), has_more) << body;
  }
  // A live API key of a second account ("rival", starter plan), made on first use.
  std::string rival_key() {
    if (rival_key_.empty()) {
      EXPECT_EQ(cluster_.admin(V::post, "/admin/v1/accounts", R"({"id":"rival","plan":"starter"})")
                    .status,
                201u);
      rival_key_ = json_str(
          cluster_.admin(V::post, "/admin/v1/accounts/rival/api-keys", R"({"mode":"live"})").body,
          "/apiKey/key");
    }
    return rival_key_;
  }
  Cluster cluster_;
  std::string rival_key_;
};

TEST_F(Management, CreateGetListAndPaginate) {
  auto r = cluster_.api(V::post, "/api/v1/licenses",
                        R"({"product_id":")" + cluster_.product_id() +
                            R"(","type":"subscription","max_activations":3,"email":"a@b.c",
                               "expires_at":"2030-01-01T00:00:00Z","metadata":{"seat":"x"}})");
  ASSERT_EQ(r.status, 201u) << r.body;
  const std::string id = json_str(r.body, "/license/id");
  const std::string key = json_str(r.body, "/license/key");
  EXPECT_EQ(id.rfind("lic_", 0), 0u);
  ASSERT_EQ(key.size(), 19u);
  for (int i : {4, 9, 14}) EXPECT_EQ(key[i], '-');
  EXPECT_EQ(json_str(r.body, "/license/productId"), cluster_.product_id());
  EXPECT_EQ(json_str(r.body, "/license/type"), "subscription");
  EXPECT_EQ(json_str(r.body, "/license/status"), "active");
  EXPECT_EQ(json_int(r.body, "/license/maxActivations"), 3);
  EXPECT_FALSE(json_str(r.body, "/license/createdAt").empty());

  r = cluster_.api(V::get, "/api/v1/licenses/" + id);
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(json_str(r.body, "/license/expiresAt"), "2030-01-01T00:00:00Z");
  EXPECT_EQ(json_str(r.body, "/license/metadata/seat"), "x");
  EXPECT_EQ(json_str(r.body, "/license/key"), "");  // shown once, at creation

  cluster_.create_licenses(44);  // 45 in all
  r = cluster_.api(V::get, "/api/v1/licenses?page=2&limit=20");
  ASSERT_EQ(r.status, 200u) << r.body;
  expect_pagination(r.body, 2, 20, 45, 3, true);
  EXPECT_FALSE(json_str(r.body, "/data/19/id").empty());
  EXPECT_TRUE(json_str(r.body, "/data/20/id").empty());
  r = cluster_.api(V::get, "/api/v1/licenses?offset=40&limit=20");
  EXPECT_EQ(json_int(r.body, "/pagination/page"), 3);
  EXPECT_FALSE(json_bool(r.body, "/pagination/hasMore"));
  EXPECT_FALSE(json_str(r.body, "/data/4/id").empty());
  EXPECT_TRUE(json_str(r.body, "/data/5/id").empty());
  r = cluster_.api(V::get, "/api/v1/licenses");  // defaults: page 1, limit 20
  EXPECT_EQ(json_int(r.body, "/pagination/limit"), 20);
  EXPECT_EQ(json_str(r.body, "/data/0/id"), id);  // oldest first

  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + id + "/suspend").status, 200u);
  r = cluster_.api(V::get, "/api/v1/licenses?status=suspended");
  EXPECT_EQ(json_int(r.body, "/pagination/total"), 1);
  EXPECT_EQ(json_str(r.body, "/data/0/id"), id);
  r = cluster_.api(V::get, "/api/v1/licenses?status=active&product_id=" + cluster_.product_id());
  EXPECT_EQ(json_int(r.body, "/pagination/total"), 44);
  r = cluster_.api(V::get, "/api/v1/licenses?product_id=prod_other");
  EXPECT_EQ(json_int(r.body, "/pagination/total"), 0);
}

TEST_F(Management, TestKeysSeeOnlyTestDataAndAccountsAreIsolated) {
  auto live = cluster_.create_license();
  auto r = cluster_.admin(V::post, "/admin/v1/accounts/acme/api-keys", R"({"mode":"test"})");
  ASSERT_EQ(r.status, 201u);
  const std::string test_key = json_str(r.body, "/apiKey/key");
  ASSERT_EQ(test_key.rfind("to_test_", 0), 0u);
  r = cluster_.call(V::post, "/api/v1/licenses",
                    R"({"product_id":")" + cluster_.product_id() + R"(","type":"trial"})",
                    test_key);
  ASSERT_EQ(r.status, 201u) << r.body;
  const std::string test_id = json_str(r.body, "/license/id");
  EXPECT_EQ(json_str(r.body, "/license/mode"), "test");
  EXPECT_FALSE(json_str(r.body, "/license/expiresAt").empty());  // trials expire by default

  EXPECT_EQ(cluster_.call(V::get, "/api/v1/licenses/" + live.id, {}, test_key).status, 404u);
  EXPECT_EQ(cluster_.api(V::get, "/api/v1/licenses/" + test_id).status, 404u);
  EXPECT_EQ(
      json_int(cluster_.call(V::get, "/api/v1/licenses", {}, test_key).body, "/pagination/total"),
      1);
  EXPECT_EQ(json_int(cluster_.api(V::get, "/api/v1/licenses").body, "/pagination/total"), 1);

  // Another account sees none of acme's licenses or products.
  ASSERT_EQ(
      cluster_.admin(V::post, "/admin/v1/accounts", R"({"id":"other","plan":"starter"})").status,
      201u);
  r = cluster_.admin(V::post, "/admin/v1/accounts/other/api-keys", R"({"mode":"live"})");
  const std::string other_key = json_str(r.body, "/apiKey/key");
  EXPECT_EQ(cluster_.call(V::get, "/api/v1/licenses/" + live.id, {}, other_key).status, 404u);
  EXPECT_EQ(
      cluster_.call(V::post, "/api/v1/licenses/" + live.id + "/suspend", {}, other_key).status,
      404u);
  expect_error(
      cluster_.call(V::post, "/api/v1/licenses",
                    R"({"product_id":")" + cluster_.product_id() + R"(","type":"perpetual"})",
                    other_key),
      404, "NOT_FOUND");
  EXPECT_EQ(
      json_int(cluster_.call(V::get, "/api/v1/licenses", {}, other_key).body, "/pagination/total"),
      0);
}

TEST_F(Management, ActivationLimitHoldsUnderConcurrentRequests) {
  auto lic = cluster_.create_license(R"(,"max_activations":3)");
  constexpr int kClients = 16;
  std::atomic<int> activated{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto r = cluster_.api(
          V::post, "/api/v1/activate",
          R"({"license_key":")" + lic.key + R"(","machine_id":"m-)" + std::to_string(i) + R"("})");
      if (r.status == 200 && json_bool(r.body, "/changed")) {
        ++activated;
      } else if (r.status == 403 && json_str(r.body, "/code") == "ACTIVATION_LIMIT_REACHED") {
        ++refused;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(activated.load(), 3);
  EXPECT_EQ(refused.load(), kClients - 3);
  EXPECT_EQ(other.load(), 0);
  auto r = cluster_.api(V::get, "/api/v1/licenses/" + lic.id);
  EXPECT_EQ(json_int(r.body, "/license/activations"), 3);

  // Re-activating an active machine uses no slot; deactivating frees one; repeating is safe.
  const std::string m0 = json_str(r.body, "/license/machines/0/machineId");
  r = cluster_.api(V::post, "/api/v1/activate",
                   R"({"license_key":")" + lic.key + R"(","machine_id":")" + m0 + R"("})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_FALSE(json_bool(r.body, "/changed"));
  for (int i = 0; i < 2; ++i) {
    r = cluster_.api(V::post, "/api/v1/deactivate",
                     R"({"license_key":")" + lic.key + R"(","machine_id":")" + m0 + R"("})");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(json_bool(r.body, "/changed"), i == 0);
    EXPECT_EQ(json_int(r.body, "/license/activations"), 2);
  }
  r = cluster_.api(V::post, "/api/v1/activate",
                   R"({"license_key":")" + lic.key + R"(","machine_id":"new","label":"Laptop"})");
  EXPECT_TRUE(json_bool(r.body, "/changed"));
  // Without an API key the license key is the credential; a suspended license activates nothing.
  HttpClient c(cluster_.primary().port());
  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/suspend").status, 200u);
  expect_error(
      c.post("/api/v1/activate", R"({"license_key":")" + lic.key + R"(","machine_id":"x"})"), 403,
      "SUSPENDED");
}

class ManagementLimited : public Management {
  std::vector<std::string> primary_flags() override {
    return {"--no-publish", "--activation-changes", "3"};
  }
};

// The activation-change limit counts slots taken: freeing a seat is always allowed and is not
// counted, so only activations bring a license to its limit.
TEST_F(ManagementLimited, OnlyActivationsCountAndASeatCanAlwaysBeFreed) {
  auto lic = cluster_.create_license(R"(,"max_activations":5)");
  auto write = [&](const char* op, const std::string& machine) {
    return cluster_.api(
        V::post, std::string("/api/v1/") + op,
        R"({"license_key":")" + lic.key + R"(","machine_id":")" + machine + R"("})");
  };
  // Two device switches: four changes of the machines, two of them activations.
  for (const char* device : {"d1", "d2"}) {
    auto r = write("activate", device);
    ASSERT_EQ(r.status, 200u) << device << r.body;
    EXPECT_TRUE(json_bool(r.body, "/changed")) << r.body;
    r = write("deactivate", device);
    ASSERT_EQ(r.status, 200u) << device << r.body;
    EXPECT_TRUE(json_bool(r.body, "/changed")) << r.body;
  }
  // The third activation is within the limit.
  auto r = write("activate", "d3");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(json_bool(r.body, "/changed")) << r.body;
  // Three activations: a fourth is refused although slots are free.
  auto limited = [](const HttpReply& r) {
    EXPECT_EQ(r.status, 429u) << r.body;
    EXPECT_EQ(json_str(r.body, "/code"), "RATE_LIMITED") << r.body;
    EXPECT_GT(json_int(r.body, "/retryAfter"), 86'000) << r.body;
  };
  limited(write("activate", "d4"));
  // Re-activating a machine that holds a slot takes none: not limited.
  r = write("activate", "d3");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_FALSE(json_bool(r.body, "/changed")) << r.body;
  // At the limit a seat can still be freed, and freeing it does not lift the limit.
  r = write("deactivate", "d3");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(json_bool(r.body, "/changed")) << r.body;
  EXPECT_EQ(json_int(r.body, "/license/activations"), 0);
  limited(write("activate", "d4"));
  EXPECT_EQ(
      json_int(cluster_.api(V::get, "/api/v1/licenses/" + lic.id).body, "/license/activations"), 0);
}

// X-API-Version at the primary: named on every answer; an unknown one is 400 and changes
// nothing; the event list's deprecated `after` cursor answers with Deprecation, Sunset and Link,
// its page / limit / offset without them.
TEST_F(Management, ApiVersionsAndTheDeprecatedEventCursor) {
  HttpClient c(cluster_.primary_port());
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + cluster_.api_key()}};
  auto with = [&](std::vector<std::pair<std::string, std::string>> more) {
    more.insert(more.begin(), auth.begin(), auth.end());
    return more;
  };
  const auto plain = c.request(V::get, "/api/v1/events?page=1&limit=10", {}, auth);
  EXPECT_EQ(plain.status, 200u) << plain.body;
  EXPECT_EQ(plain.headers["X-API-Version"], "2026-01-01");
  EXPECT_EQ(plain.headers.count("Deprecation"), 0u);
  EXPECT_EQ(plain.headers.count("Sunset"), 0u);
  const auto cursor = c.request(V::get, "/api/v1/events?after=0", {}, auth);
  EXPECT_EQ(cursor.status, 200u) << cursor.body;
  EXPECT_EQ(cursor.headers["Deprecation"], "@1795478400");
  EXPECT_EQ(cursor.headers["Sunset"], "Mon, 01 Mar 2027 00:00:00 GMT");
  EXPECT_NE(cursor.headers["Link"].find("rel=\"deprecation\""), std::string::npos);
  EXPECT_EQ(c.request(V::get, "/api/v1/nowhere", {}, auth).headers["X-API-Version"], "2026-01-01");
  const std::string before = cluster_.api(V::get, "/api/v1/licenses").body;
  for (const char* bad : {"garbage", "2025-12-31", "2026-13-01", "latest"}) {
    const auto r =
        c.request(V::post, "/api/v1/licenses", R"({"product_id":"nope","type":"perpetual"})",
                  with({{"X-API-Version", bad}, {"Content-Type", "application/json"}}));
    expect_error(r, 400, "VALIDATION_ERROR");
    EXPECT_NE(json_str(r.body, "/error").find("X-API-Version"), std::string::npos) << r.body;
    EXPECT_EQ(r.headers["X-API-Version"], "2026-01-01");
  }
  EXPECT_EQ(cluster_.api(V::get, "/api/v1/licenses").body, before);
}

// Plan limits at the primary (spec "Rate Limits"): a Builder key gets 10 requests per sliding
// minute on any endpoint, then the spec's 429 with retryAfter and Retry-After; every answer
// carries X-RateLimit-*, 404 and 405 included; another account's key and the operator's routes
// are not held up by it.
TEST_F(Management, PlanLimitsHoldPerApiKeyOnEveryEndpoint) {
  ASSERT_EQ(
      cluster_.admin(V::post, "/admin/v1/accounts", R"({"id":"small","plan":"builder"})").status,
      201u);
  const auto issued =
      cluster_.admin(V::post, "/admin/v1/accounts/small/api-keys", R"({"mode":"live"})");
  ASSERT_EQ(issued.status, 201u) << issued.body;
  const std::string key = json_str(issued.body, "/apiKey/key");
  auto as_builder = [&](V method, const std::string& target) {
    return cluster_.call(method, target, {}, key);
  };
  // Ten answers of any kind: a list, a 404 route, a 405, a missing license.
  const std::vector<std::pair<V, std::string>> calls = {
      {V::get, "/api/v1/licenses"},   {V::get, "/api/v1/nowhere"},
      {V::delete_, "/api/v1/events"}, {V::get, "/api/v1/licenses/lic_none"},
      {V::get, "/api/v1/products"},   {V::get, "/api/v1/events"},
      {V::get, "/api/v1/licenses"},   {V::get, "/api/v1/nowhere/else"},
      {V::get, "/api/v1/products"},   {V::get, "/api/v1/licenses"},
  };
  const std::vector<unsigned> statuses = {200, 404, 405, 404, 200, 200, 200, 404, 200, 200};
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const auto r = as_builder(calls[i].first, calls[i].second);
    EXPECT_EQ(r.status, statuses[i]) << calls[i].second << ": " << r.body;
    EXPECT_EQ(r.headers["X-RateLimit-Limit"], "10") << calls[i].second;
    EXPECT_EQ(r.headers["X-RateLimit-Remaining"], std::to_string(9 - i)) << calls[i].second;
    EXPECT_GT(std::stoll(std::string(r.headers["X-RateLimit-Reset"])), 1'700'000'000);
  }
  for (const auto& [method, target] : {std::pair{V::get, std::string("/api/v1/licenses")},
                                       std::pair{V::get, std::string("/api/v1/nowhere")}}) {
    const auto r = as_builder(method, target);
    EXPECT_EQ(r.status, 429u) << r.body;
    EXPECT_EQ(json_str(r.body, "/code"), "RATE_LIMITED");
    EXPECT_EQ(json_str(r.body, "/error"), "Rate limit exceeded");
    const auto retry = json_int(r.body, "/retryAfter");
    // At most a window and a tenth of one: the ten requests may all fall at the start of a
    // minute, and the next minute still counts the previous one by its remaining share.
    EXPECT_GE(retry, 1);
    EXPECT_LE(retry, 67);
    EXPECT_EQ(r.headers["Retry-After"], std::to_string(retry));
    EXPECT_EQ(r.headers["X-RateLimit-Remaining"], "0");
  }
  // The enterprise key of another account, and the operator, go on.
  const auto other = cluster_.api(V::get, "/api/v1/licenses");
  EXPECT_EQ(other.status, 200u);
  EXPECT_EQ(other.headers["X-RateLimit-Limit"], "50000");
  EXPECT_EQ(
      cluster_.admin(V::post, "/admin/v1/accounts/small/api-keys", R"({"mode":"test"})").status,
      201u);
}

// Products have plans; the portal creates a license from one with the spec's Stripe example
// body, and lists licenses with the spec's pagination.
TEST_F(Management, PortalLicensesFromAProductsPlan) {
  const std::string plans =
      R"({"plans":[{"id":"pro","type":"subscription","max_activations":3,"duration_days":365,)"
      R"("metadata":{"tier":"pro"}},{"id":"site","type":"floating","max_activations":25,)"
      R"("duration_days":0,"offline_grace_hours":24}]})";
  const auto updated = cluster_.api(V::patch, "/api/v1/products/" + cluster_.product_id(), plans);
  ASSERT_EQ(updated.status, 200u) << updated.body;
  EXPECT_EQ(json_str(updated.body, "/product/plans/0/id"), "pro");
  EXPECT_EQ(json_int(updated.body, "/product/plans/1/offline_grace_hours"), 24);
  // The spec's Stripe example, as its handler sends it.
  const auto created = cluster_.api(V::post, "/api/v1/portal/licenses", R"({
        "product": ")" + cluster_.product_id() + R"(",
        "plan": "pro",
        "customer_email": "buyer@example.com",
        "metadata": {"stripeCustomerId": "cus_123", "stripeSubscriptionId": "sub_456"}})");
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(json_str(created.body, "/plan"), "pro");
  EXPECT_EQ(json_str(created.body, "/license/type"), "subscription");
  EXPECT_EQ(json_int(created.body, "/license/maxActivations"), 3);
  EXPECT_FALSE(json_str(created.body, "/license/key").empty());
  EXPECT_EQ(json_str(created.body, "/license/metadata/stripeCustomerId"), "cus_123");
  const auto expires = core::parse_iso8601(json_str(created.body, "/license/expiresAt"));
  ASSERT_TRUE(expires.has_value()) << created.body;
  EXPECT_NEAR(static_cast<double>(*expires - std::time(nullptr)), 365.0 * 86400, 120);
  const std::string id = json_str(created.body, "/license/id");
  const auto got = cluster_.api(V::get, "/api/v1/licenses/" + id);
  EXPECT_EQ(json_str(got.body, "/license/email"), "buyer@example.com") << got.body;
  // By product name, the other plan: floating, no expiry.
  const auto by_name =
      cluster_.api(V::post, "/api/v1/portal/licenses",
                   R"({"product":"Acme App","plan":"site","customer_email":"it@example.org"})");
  ASSERT_EQ(by_name.status, 201u) << by_name.body;
  EXPECT_EQ(json_str(by_name.body, "/license/type"), "floating");
  EXPECT_EQ(json_int(by_name.body, "/license/maxActivations"), 25);
  // The spec's pagination example's shape: page 2 of 1-item pages.
  const auto page = cluster_.api(V::get, "/api/v1/portal/licenses?page=2&limit=1");
  ASSERT_EQ(page.status, 200u) << page.body;
  expect_pagination(page.body, 2, 1, 2, 2, false);
  EXPECT_EQ(json_str(page.body, "/data/0/id"), json_str(by_name.body, "/license/id"));

  // Bad input: the spec's 4xx, and no license or product changes.
  const std::string before = cluster_.api(V::get, "/api/v1/licenses?limit=100").body;
  const std::string product_before =
      cluster_.api(V::get, "/api/v1/products/" + cluster_.product_id()).body;
  const std::string good_product = R"("product":")" + cluster_.product_id() + R"(")";
  struct Case {
    std::string body;
    unsigned status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"{" + good_product + R"(,"plan":"gold","customer_email":"a@b.co"})", 400,
       "VALIDATION_ERROR"},
      {R"({"product":"prod_nope","plan":"pro","customer_email":"a@b.co"})", 404, "NOT_FOUND"},
      {"{" + good_product + R"(,"plan":"pro","customer_email":"not-an-email"})", 400,
       "VALIDATION_ERROR"},
      {"{" + good_product + R"(,"plan":"pro","customer_email":"a@@b.co"})", 400,
       "VALIDATION_ERROR"},
      {"{" + good_product + R"(,"plan":"pro","customer_email":"a b@c.co"})", 400,
       "VALIDATION_ERROR"},
      {"{" + good_product + R"(,"plan":"pro","customer_email":7})", 400, "VALIDATION_ERROR"},
      {"{" + good_product + R"(,"plan":"pro"})", 400, "MISSING_FIELDS"},
      {"{}", 400, "MISSING_FIELDS"},
      {"{" + good_product + R"(,"plan":["pro"],"customer_email":"a@b.co"})", 400,
       "VALIDATION_ERROR"},
      {"{" + good_product + R"(,"plan":"pro","customer_email":"a@b.co","metadata":[1]})", 400,
       "VALIDATION_ERROR"},
      {"{" + good_product + R"(,"plan":"pro","customer_email":"a@b.co","extra":1})", 400,
       "VALIDATION_ERROR"},
      {"{" + good_product + R"(,"plan":"pro","customer_email":")" + std::string(300, 'a') +
           R"(@b.co"})",
       400, "VALIDATION_ERROR"},
      {"[not json", 400, "VALIDATION_ERROR"},
  };
  for (const auto& c : cases) {
    expect_error(cluster_.api(V::post, "/api/v1/portal/licenses", c.body), c.status, c.code);
  }
  // Another account's product does not exist for the caller.
  expect_error(cluster_.call(V::post, "/api/v1/portal/licenses",
                             "{" + good_product + R"(,"plan":"pro","customer_email":"a@b.co"})",
                             rival_key()),
               404, "NOT_FOUND");
  for (const char* bad_plans :
       {R"({"plans":{}})",
        R"({"plans":[{"id":"a","type":"subscription"},{"id":"a","type":"trial"}]})",
        R"({"plans":[{"id":"a","type":"lifetime"}]})", R"({"plans":[{"type":"trial"}]})",
        R"({"plans":[{"id":"a b","type":"trial"}]})",
        R"({"plans":[{"id":"a","type":"trial","max_activations":-1}]})",
        R"({"plans":[{"id":"a","type":"trial","duration_days":99999999}]})",
        R"({"plans":[{"id":"a","type":"trial","offline_grace_hours":100000}]})",
        R"({"plans":[{"id":"a","type":"trial","color":"red"}]})", R"({"plans":[7]})"}) {
    const auto r = cluster_.api(V::patch, "/api/v1/products/" + cluster_.product_id(), bad_plans);
    EXPECT_EQ(r.status, 400u) << bad_plans << ": " << r.body;
  }
  std::string many = R"({"plans":[)";
  for (int i = 0; i < 21; ++i)
    many += std::string(i ? "," : "") + R"({"id":"p)" + std::to_string(i) + R"(","type":"trial"})";
  EXPECT_EQ(cluster_.api(V::patch, "/api/v1/products/" + cluster_.product_id(), many + "]}").status,
            400u);
  EXPECT_EQ(cluster_.api(V::get, "/api/v1/licenses?limit=100").body, before);
  EXPECT_EQ(cluster_.api(V::get, "/api/v1/products/" + cluster_.product_id()).body, product_before);
}

// A subscription renews by its plan's period (or the caller's), from its expiry or, once
// lapsed, from now; license.renewed is recorded. Bad input changes nothing.
TEST_F(Management, SubscriptionRenewsByItsPlansPeriod) {
  ASSERT_EQ(cluster_
                .api(V::patch, "/api/v1/products/" + cluster_.product_id(),
                     R"({"plans":[{"id":"month","type":"subscription","duration_days":30},)"
                     R"({"id":"forever","type":"subscription","duration_days":0}]})")
                .status,
            200u);
  auto portal = [&](const char* plan) {
    return cluster_.api(V::post, "/api/v1/portal/licenses",
                        R"({"product":"Acme App","plan":")" + std::string(plan) +
                            R"(","customer_email":"buyer@example.com"})");
  };
  const auto created = portal("month");
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(json_str(created.body, "/license/plan"), "month");
  const std::string id = json_str(created.body, "/license/id");
  const auto expiry = [&](const std::string& body) {
    const auto t = core::parse_iso8601(json_str(body, "/license/expiresAt"));
    EXPECT_TRUE(t.has_value()) << body;
    return t.value_or(0);
  };
  const std::int64_t first = expiry(created.body);
  const auto renewed = cluster_.api(V::post, "/api/v1/licenses/" + id + "/renew");
  ASSERT_EQ(renewed.status, 200u) << renewed.body;
  EXPECT_EQ(expiry(renewed.body), first + 30 * 86'400);
  const auto week =
      cluster_.api(V::post, "/api/v1/licenses/" + id + "/renew", R"({"duration_days":7})");
  ASSERT_EQ(week.status, 200u) << week.body;
  EXPECT_EQ(expiry(week.body), first + 37 * 86'400);
  // A lapsed subscription renews from now, not from its old expiry.
  const auto lapsed =
      cluster_.api(V::post, "/api/v1/licenses",
                   R"({"product_id":")" + cluster_.product_id() +
                       R"(","type":"subscription","expires_at":"2020-01-01T00:00:00Z"})");
  ASSERT_EQ(lapsed.status, 201u) << lapsed.body;
  const std::string lapsed_id = json_str(lapsed.body, "/license/id");
  // No plan: the caller names the period.
  expect_error(cluster_.api(V::post, "/api/v1/licenses/" + lapsed_id + "/renew"), 400,
               "VALIDATION_ERROR");
  const auto back =
      cluster_.api(V::post, "/api/v1/licenses/" + lapsed_id + "/renew", R"({"duration_days":10})");
  ASSERT_EQ(back.status, 200u) << back.body;
  EXPECT_NEAR(static_cast<double>(expiry(back.body) - std::time(nullptr)), 10.0 * 86'400, 120);
  const auto events = cluster_.api(V::get, "/api/v1/events?limit=100").body;
  std::size_t renewals = 0;
  for (std::size_t at = 0; (at = events.find("\"license.renewed\"", at)) != std::string::npos;
       ++at) {
    ++renewals;
  }
  EXPECT_EQ(renewals, 3u) << events;

  // Bad input: the spec's 4xx, and no license changes.
  const auto perpetual = cluster_.create_license();
  const auto forever = portal("forever");
  ASSERT_EQ(forever.status, 201u) << forever.body;
  const std::string forever_id = json_str(forever.body, "/license/id");
  const auto revoked = portal("month");
  const std::string revoked_id = json_str(revoked.body, "/license/id");
  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + revoked_id + "/revoke").status, 200u);
  const std::string before = cluster_.api(V::get, "/api/v1/licenses?limit=100").body;
  const std::string path = "/api/v1/licenses/" + id + "/renew";
  for (const char* body :
       {R"({"duration_days":0})", R"({"duration_days":-1})", R"({"duration_days":36501})",
        R"({"duration_days":"30"})", R"({"duration_days":1e999})", R"({"days":30})", "[30]",
        "{not json", R"({"duration_days":30,"duration_days":31,"x":1})"}) {
    expect_error(cluster_.api(V::post, path, body), 400, "VALIDATION_ERROR");
  }
  expect_error(cluster_.api(V::post, path, "{" + std::string(2 << 20, ' ') + "}"), 413,
               "PAYLOAD_TOO_LARGE");
  for (const std::string& other : {perpetual.id, forever_id, revoked_id}) {
    expect_error(cluster_.api(V::post, "/api/v1/licenses/" + other + "/renew"), 400,
                 "VALIDATION_ERROR");
  }
  expect_error(cluster_.api(V::post, "/api/v1/licenses/lic_nope/renew"), 404, "NOT_FOUND");
  expect_error(cluster_.call(V::post, path, "", rival_key()), 404, "NOT_FOUND");
  EXPECT_EQ(cluster_.api(V::get, "/api/v1/licenses?limit=100").body, before);
}

TEST_F(Management, BadInputGetsSpecErrorsAndChangesNothing) {
  auto lic = cluster_.create_license();
  cluster_.stop_primary();
  const std::string before = cluster_.primary_digest();
  ASSERT_EQ(before.size(), 64u);
  cluster_.start_primary({"--no-publish"});

  const std::string prod = cluster_.product_id();
  const std::string lic_path = "/api/v1/licenses/" + lic.id;
  const std::string deep(5000, '[');
  const std::string huge_meta = R"({"product_id":")" + prod +
                                R"(","type":"perpetual","metadata":{"x":")" +
                                std::string(9000, 'a') + R"("}})";
  std::string too_many = R"({"licenses":[)";
  for (int i = 0; i < 1001; ++i)
    too_many +=
        std::string(i ? "," : "") + R"({"product_id":")" + prod + R"(","type":"perpetual"})";
  too_many += "]}";
  struct Case {
    V method;
    std::string path, body;
    unsigned status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {V::post, "/api/v1/licenses", "{", 400, "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses", "", 400, "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses", "[1,2]", 400, "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses", deep, 400, "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses", "{\"type\":\"perpetual\",\"email\":\"\xff\xfe\"}", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses", "{}", 400, "MISSING_FIELDS"},
      {V::post, "/api/v1/licenses", R"({"type":"perpetual"})", 400, "MISSING_FIELDS"},
      {V::post, "/api/v1/licenses", R"({"product_id":")" + prod + R"("})", 400, "MISSING_FIELDS"},
      {V::post, "/api/v1/licenses", R"({"product_id":")" + prod + R"(","type":"forever"})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses",
       R"({"product_id":")" + prod + R"(","type":"perpetual","max_activations":-1})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses",
       R"({"product_id":")" + prod + R"(","type":"perpetual","max_activations":"3"})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses",
       R"({"product_id":")" + prod + R"(","type":"perpetual","max_activations":1e12})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses",
       R"({"product_id":")" + prod + R"(","type":"perpetual","expires_at":"tomorrow"})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses",
       R"({"product_id":")" + prod + R"(","type":"perpetual","metadata":[1]})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses", huge_meta, 400, "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses",
       R"({"product_id":")" + prod + R"(","type":"perpetual","email":"a\u0000b"})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses",
       R"({"product_id":")" + prod + R"(","type":"perpetual","colour":"red"})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses", R"({"product_id":"prod_nope","type":"perpetual"})", 404,
       "NOT_FOUND"},
      {V::post, "/api/v1/licenses", R"({"product_id":"../../etc","type":"perpetual"})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses/batch", too_many, 400, "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses/batch", R"({"licenses":[]})", 400, "MISSING_FIELDS"},
      {V::post, "/api/v1/licenses/batch", R"({"licenses":[1]})", 400, "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses/batch",
       R"({"licenses":[{"product_id":")" + prod + R"(","type":"perpetual"},{"type":"x"}]})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/licenses", std::string(1100 * 1024, ' '), 413, "PAYLOAD_TOO_LARGE"},
      {V::get, "/api/v1/licenses?limit=0", "", 400, "VALIDATION_ERROR"},
      {V::get, "/api/v1/licenses?limit=101", "", 400, "VALIDATION_ERROR"},
      {V::get, "/api/v1/licenses?page=0", "", 400, "VALIDATION_ERROR"},
      {V::get, "/api/v1/licenses?page=abc", "", 400, "VALIDATION_ERROR"},
      {V::get, "/api/v1/licenses?offset=-1", "", 400, "VALIDATION_ERROR"},
      {V::get, "/api/v1/licenses?page=99999999999999999999", "", 400, "VALIDATION_ERROR"},
      {V::get, "/api/v1/licenses?status=bogus", "", 400, "VALIDATION_ERROR"},
      {V::get, "/api/v1/licenses/lic_missing", "", 404, "NOT_FOUND"},
      {V::get, "/api/v1/licenses/", "", 404, "NOT_FOUND"},
      {V::patch, lic_path, R"({"status":"active"})", 400, "VALIDATION_ERROR"},
      {V::patch, lic_path, R"({"max_activations":true})", 400, "VALIDATION_ERROR"},
      {V::patch, lic_path, R"({"allowed_domains":"example.com"})", 400, "VALIDATION_ERROR"},
      {V::patch, lic_path, "not json", 400, "VALIDATION_ERROR"},
      {V::put, lic_path, "{}", 405, "METHOD_NOT_ALLOWED"},
      {V::post, lic_path + "/explode", "", 404, "NOT_FOUND"},
      {V::post, "/api/v1/products", R"({"platforms":["windows"]})", 400, "MISSING_FIELDS"},
      {V::post, "/api/v1/products", R"({"name":"Acme App"})", 400, "VALIDATION_ERROR"},
      {V::post, "/api/v1/products", R"({"name":"X","platforms":["amiga"]})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/products", R"({"name":""})", 400, "VALIDATION_ERROR"},
      {V::patch, "/api/v1/products/prod_missing", R"({"name":"Y"})", 404, "NOT_FOUND"},
      {V::post, "/api/v1/blacklist", R"({"type":"planet","value":"x"})", 400, "VALIDATION_ERROR"},
      {V::post, "/api/v1/blacklist", R"({"type":"ip","value":"999.1.1.1"})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/blacklist", R"({"type":"ip"})", 400, "MISSING_FIELDS"},
      {V::delete_, "/api/v1/blacklist/bl_missing", "", 404, "NOT_FOUND"},
      {V::patch, "/api/v1/account/settings", R"({"plan":"enterprise"})", 400, "VALIDATION_ERROR"},
      {V::patch, "/api/v1/account/settings", R"({"tki_require_hwid":"yes"})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/activate", R"({"license_key":"ABCD"})", 400, "MISSING_FIELDS"},
      {V::post, "/api/v1/activate", R"({"machine_id":"m"})", 400, "MISSING_FIELDS"},
      {V::post, "/api/v1/activate", R"({"license_key":"NOPE-NOPE-NOPE-NOPE","machine_id":"m"})",
       404, "NOT_FOUND"},
      {V::post, "/api/v1/activate",
       R"({"license_key":")" + lic.key + R"(","machine_id":")" + std::string(300, 'm') + R"("})",
       400, "VALIDATION_ERROR"},
      {V::post, "/api/v1/deactivate", R"({"license_key":5,"machine_id":"m"})", 400,
       "VALIDATION_ERROR"},
      {V::post, "/api/v1/api-keys/key_missing/revoke", "", 404, "NOT_FOUND"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(http::to_string(c.method)) + " " + c.path + " " +
                 c.body.substr(0, 80));
    expect_error(cluster_.api(c.method, c.path, c.body), c.status, c.code);
  }
  // Authentication.
  expect_error(cluster_.call(V::get, "/api/v1/licenses", {}, {}), 401, "AUTH_REQUIRED");
  expect_error(cluster_.call(V::get, "/api/v1/licenses", {}, "to_live_forged"), 401,
               "INVALID_API_KEY");
  expect_error(cluster_.call(V::get, "/api/v1/licenses", {}, "sk_something"), 401,
               "INVALID_API_KEY");
  expect_error(
      cluster_.call(V::post, "/admin/v1/accounts", R"({"id":"x","plan":"builder"})", "wrong"), 403,
      "INVALID_TOKEN");
  expect_error(cluster_.call(V::post, "/admin/v1/accounts", R"({"id":"x","plan":"builder"})",
                             cluster_.api_key()),
               403, "INVALID_TOKEN");
  expect_error(cluster_.admin(V::post, "/admin/v1/accounts", R"({"id":"acme","plan":"builder"})"),
               409, "CONFLICT");
  expect_error(cluster_.admin(V::post, "/admin/v1/accounts", R"({"id":"a b","plan":"builder"})"),
               400, "VALIDATION_ERROR");
  expect_error(cluster_.admin(V::post, "/admin/v1/accounts", R"({"id":"x","plan":"platinum"})"),
               400, "VALIDATION_ERROR");
  expect_error(cluster_.admin(V::post, "/admin/v1/accounts/nobody/api-keys", R"({"mode":"live"})"),
               404, "NOT_FOUND");
  expect_error(cluster_.admin(V::post, "/admin/v1/accounts/acme/api-keys", R"({"mode":"prod"})"),
               400, "VALIDATION_ERROR");
  {
    HttpClient c(cluster_.primary().port());
    c.send_raw(
        "GET /api/v1/licenses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \x01\x02\r\n\r\n");
    EXPECT_LT(c.read().status, 500u);
  }
  EXPECT_TRUE(cluster_.primary().alive());

  cluster_.stop_primary();
  EXPECT_EQ(cluster_.primary_digest(), before);
}

}  // namespace
}  // namespace le::test
