// The usage routes in process (primary/routes_usage.cpp): GET /api/v1/licenses/{id}/usage,
// GET /api/v1/analytics and GET /api/v1/auth-logs, and the blacklist list's attempts, over a
// PrimaryStore and a UsageStore fed through UsageStore::apply(), requests dispatched through the
// management API's router as the server does. The answers' shape and numbers; bad input gets the
// spec's 4xx in its {error, code, help} format and changes nothing; without a usage store the
// routes answer 503.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/time_format.h"
#include "net/http.h"
#include "primary/ledger.h"
#include "primary/management_api.h"
#include "primary/primary_store.h"
#include "primary/usage_store.h"
#include "support/fixtures.h"
#include "support/json_answer.h"

namespace le::primary {
namespace {

using core::Mode;
using core::TkiStatus;
using core::UsageOutcome;

constexpr std::int64_t kNowMs = test::kNow * 1000;  // 2023-11-14T22:13:20Z
constexpr std::int32_t kToday = core::utc_day(test::kNow);
constexpr std::int64_t kDayMs = 86'400'000;
constexpr const char* kLiveKey = "to_live_acme";
constexpr const char* kTestKey = "to_test_acme";
constexpr const char* kOtherKey = "to_live_other";
constexpr const char* kRevokedKey = "to_live_revoked";

std::size_t vi(UsageOutcome o) { return static_cast<std::size_t>(o); }
std::size_t ai(TkiStatus s) { return static_cast<std::size_t>(s); }

core::ChangeEvent change(std::string type, auto record) {
  core::ChangeEvent ev;
  ev.type = std::move(type);
  ev.record = std::move(record);
  return ev;
}

using test::Json;

struct Reply {
  unsigned status = 0;
  std::string body;
};

core::UsageCount usage(std::string account, Mode mode, std::string license, std::string product,
                       std::int32_t day) {
  core::UsageCount c;
  c.account_id = std::move(account);
  c.mode = mode;
  c.license_id = std::move(license);
  c.product_id = std::move(product);
  c.day = day;
  return c;
}

core::AuthAttempt auth(std::int64_t at_ms, std::string account, Mode mode, std::string license,
                       std::string ip, TkiStatus status) {
  core::AuthAttempt a;
  a.at_ms = at_ms;
  a.account_id = std::move(account);
  a.mode = mode;
  a.license_id = std::move(license);
  a.product = "MyProduct";
  a.version = "1.0.0";
  a.ip = std::move(ip);
  a.user_agent = "MyApp/1.0";
  a.status = status;
  return a;
}

class UsageRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = PrimaryStore::open(dir_.path("db")).value();
    seed_records();
    UsageStoreOptions o;
    o.path = dir_.path("usage");
    o.key_sharing_threshold = 3;
    usage_ = UsageStore::open(o, clock_).value();
    seed_usage();
    ledger_ = std::make_unique<Ledger>(*store_, clock_);
    api_ = std::make_unique<ManagementApi>(*ledger_, ManagementOptions{});
    api_->set_usage(usage_.get());
    api_->register_routes(router_);
    bare_api_ = std::make_unique<ManagementApi>(*ledger_, ManagementOptions{});
    bare_api_->register_routes(bare_router_);  // no usage store
  }

  void seed_records() {
    auto tx = store_->begin();
    tx.put(change("account.created", test::account("acc_1")));
    tx.put(change("account.created", test::account("acc_2")));
    tx.put(change("api_key.created", test::api_key(kLiveKey)));
    tx.put(change("api_key.created", test::api_key(kTestKey, "acc_1", Mode::kTest)));
    tx.put(change("api_key.created", test::api_key(kOtherKey, "acc_2")));
    auto revoked = test::api_key(kRevokedKey);
    revoked.revoked = true;
    tx.put(change("api_key.created", revoked));
    tx.put(change("product.created", test::product("prod_1", "MyProduct")));
    tx.put(change("product.created", test::product("prod_2", "Second")));
    tx.put(change("product.created", test::product("prod_o", "Theirs", "acc_2")));
    auto lic = [&](std::string id, std::string product, std::string account, Mode mode) {
      auto l = test::license("KEY-" + id, id);
      l.product_id = std::move(product);
      l.account_id = std::move(account);
      l.mode = mode;
      tx.put(change("license.created", l));
      tx.index(
          Cf::kLicenseIds, l.id,
          std::string(reinterpret_cast<const char*>(l.key_digest.data()), l.key_digest.size()));
    };
    lic("lic_1", "prod_1", "acc_1", Mode::kLive);
    lic("lic_2", "prod_2", "acc_1", Mode::kLive);
    lic("lic_3", "prod_1", "acc_1", Mode::kLive);
    lic("lic_t", "prod_1", "acc_1", Mode::kTest);
    lic("lic_o", "prod_o", "acc_2", Mode::kLive);
    tx.put(change("blacklist.created",
                  test::blacklist("bl_1", core::BlacklistKind::kIp, "192.0.2.1")));
    tx.put(change("blacklist.created", test::blacklist("bl_2", core::BlacklistKind::kHwid, "hw")));
    tx.put(change("blacklist.created",
                  test::blacklist("bl_o", core::BlacklistKind::kIp, "192.0.2.1", "acc_2")));
    ASSERT_TRUE(tx.commit());
  }

  void seed_usage() {
    core::EdgeReport r1;
    r1.header = {"edge-1", 1, 1};
    auto u = usage("acc_1", Mode::kLive, "lic_1", "prod_1", kToday);
    u.validations[vi(UsageOutcome::kValid)] = 5;
    u.validations[vi(UsageOutcome::kExpired)] = 1;
    u.auths[ai(TkiStatus::kSuccess)] = 2;
    u.last_validated_ms = kNowMs - 60'000;  // 2023-11-14T22:12:20Z
    for (int i = 0; i < 3; ++i) u.machines.add("m" + std::to_string(i));
    u.ips.add("10.0.0.1");
    u.ips.add("10.0.0.2");
    u.hwids.add("hw-1");
    r1.usage.push_back(u);
    u = usage("acc_1", Mode::kLive, "lic_1", "prod_1", kToday - 2);
    u.validations[vi(UsageOutcome::kValid)] = 3;
    u.last_validated_ms = (kToday - 2) * kDayMs + 3'600'000;  // 2023-11-12T01:00:00Z
    u.machines.add("m0");
    u.machines.add("m1");
    r1.usage.push_back(u);
    u = usage("acc_1", Mode::kLive, "lic_1", "prod_1", kToday + 1);  // after today: not flagged
    u.validations[vi(UsageOutcome::kValid)] = 1;
    u.machines.add("m9");
    r1.usage.push_back(u);
    u = usage("acc_1", Mode::kLive, "lic_1", "prod_1", kToday - 40);  // outside the default
    u.validations[vi(UsageOutcome::kValid)] = 1000;
    r1.usage.push_back(u);
    u = usage("acc_1", Mode::kLive, "lic_2", "prod_2", kToday - 1);
    u.validations[vi(UsageOutcome::kValid)] = 10;
    r1.usage.push_back(u);
    u = usage("acc_1", Mode::kLive, "lic_3", "prod_1", kToday);
    u.validations[vi(UsageOutcome::kValid)] = 2;
    u.validations[vi(UsageOutcome::kSuspended)] = 1;
    r1.usage.push_back(u);
    u = usage("acc_1", Mode::kLive, "", "", kToday);  // keys the account does not hold
    u.validations[vi(UsageOutcome::kNotFound)] = 4;
    r1.usage.push_back(u);
    u = usage("acc_1", Mode::kTest, "lic_t", "prod_1", kToday);
    u.validations[vi(UsageOutcome::kValid)] = 7;
    r1.usage.push_back(u);
    u = usage("acc_2", Mode::kLive, "lic_o", "prod_o", kToday);
    u.validations[vi(UsageOutcome::kValid)] = 100;
    r1.usage.push_back(u);
    r1.blacklist.push_back({"acc_1", "bl_1", 3, kNowMs - 5000});
    r1.blacklist.push_back({"acc_2", "bl_o", 50, kNowMs});
    ASSERT_EQ(usage_->apply(r1).value(), ApplyOutcome::kApplied);

    core::EdgeReport r2;
    r2.header = {"edge-2", 1, 1};
    u = usage("acc_1", Mode::kLive, "lic_1", "prod_1", kToday);
    u.validations[vi(UsageOutcome::kValid)] = 2;
    u.last_validated_ms = kNowMs - 120'000;
    u.machines.add("m2");  // seen by edge-1 too
    u.machines.add("m3");  // the fourth: over the threshold of 3
    r2.usage.push_back(u);
    // 25 TKI attempts of acc_1 (live), one a second up to now; one of acc_2's, one in test mode.
    for (int i = 0; i < 25; ++i) {
      auto a = auth(kNowMs - (24 - i) * 1000, "acc_1", Mode::kLive,
                    i % 3 == 0   ? "lic_1"
                    : i % 3 == 1 ? "lic_2"
                                 : "",
                    "10.0.0." + std::to_string(i % 5),
                    i % 4 == 0 ? TkiStatus::kExpired : TkiStatus::kSuccess);
      if (i % 2 == 0) a.hwid = "hw-" + std::to_string(i);
      if (i == 24) a.user_agent.clear();
      r2.auths.push_back(a);
    }
    r2.auths.push_back(
        auth(kNowMs, "acc_2", Mode::kLive, "lic_o", "10.9.9.9", TkiStatus::kSuccess));
    r2.auths.back().user_agent = "Bad \"agent\"\n\\ </script> \xc3\xa9";  // escaped in JSON
    r2.auths.push_back(
        auth(kNowMs, "acc_1", Mode::kTest, "lic_t", "10.8.8.8", TkiStatus::kSuccess));
    ASSERT_EQ(usage_->apply(r2).value(), ApplyOutcome::kApplied);

    core::EdgeReport r3;
    r3.header = {"edge-3", 1, 1};
    r3.blacklist.push_back({"acc_1", "bl_1", 2, kNowMs - 1000});  // 2023-11-14T22:13:19Z
    ASSERT_EQ(usage_->apply(r3).value(), ApplyOutcome::kApplied);
  }

  Reply get(const std::string& target, std::string_view api_key = kLiveKey,
            const net::Router* router = nullptr) {
    return call(target, api_key.empty() ? std::string() : "Bearer " + std::string(api_key), router);
  }
  Reply call(const std::string& target, const std::string& authorization,
             const net::Router* router = nullptr) {
    net::http::fields fields;
    if (!authorization.empty()) fields.set(net::http::field::authorization, authorization);
    net::Request req;
    req.method = net::http::verb::get;
    req.target = target;
    req.path = std::string_view(target).substr(0, target.find('?'));
    req.fields = &fields;
    std::string out;
    net::Response res(out);
    EXPECT_GE((router ? *router : router_).dispatch(req, res), 0) << target;
    return {res.status, out};
  }

  static void expect_error(const Reply& r, unsigned status, std::string_view code,
                           std::string_view message = {}) {
    EXPECT_EQ(r.status, status) << r.body;
    const Json j(r.body);
    ASSERT_TRUE(j.ok()) << r.body;
    EXPECT_EQ(j.object_size(""), 3u) << r.body;  // exactly {error, code, help}
    EXPECT_EQ(j.str("/code"), code) << r.body;
    EXPECT_NE(j.str("/error"), "<none>") << r.body;
    EXPECT_FALSE(j.str("/error").empty()) << r.body;
    if (!message.empty()) {
      EXPECT_EQ(j.str("/error"), message) << r.body;
    }
    EXPECT_EQ(j.str("/help"), "/docs#errors") << r.body;
  }

  // What the good requests answer, and what the stores hold.
  std::string state() {
    std::string out;
    for (const char* target :
         {"/api/v1/licenses/lic_1/usage", "/api/v1/licenses/lic_1/usage?from=2023-01-01",
          "/api/v1/analytics", "/api/v1/analytics?from=2023-01-01&top=100",
          "/api/v1/auth-logs?limit=100", "/api/v1/blacklist"}) {
      const auto r = get(target);
      out.append(std::to_string(r.status)).append(" ").append(r.body).append("\n");
    }
    out.append(std::to_string(usage_->stored_rows("usage").value())).append(" ");
    out.append(std::to_string(usage_->stored_rows("auth_logs").value())).append(" ");
    out.append(std::to_string(store_->outbox_seq()));
    return out;
  }

  test::TempDir dir_;
  core::ManualClock clock_{kNowMs};
  std::unique_ptr<PrimaryStore> store_;
  std::unique_ptr<UsageStore> usage_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<ManagementApi> api_, bare_api_;
  net::Router router_, bare_router_;
};

TEST_F(UsageRoutes, LicenseUsageShowsDailyCountsTotalsDistinctAndKeySharing) {
  ASSERT_EQ(core::date_of_day(kToday), "2023-11-14");
  auto r = get("/api/v1/licenses/lic_1/usage");
  ASSERT_EQ(r.status, 200u) << r.body;
  Json j(r.body);
  EXPECT_EQ(j.str("/data/licenseId"), "lic_1");
  EXPECT_EQ(j.str("/data/productId"), "prod_1");
  // Default range: the 30 days up to today.
  EXPECT_EQ(j.str("/data/from"), "2023-10-16");
  EXPECT_EQ(j.str("/data/to"), "2023-11-14");
  // Totals over the range: 3 on the 12th, 5 + 2 valid and 1 expired today.
  EXPECT_EQ(j.num("/data/totals/validations/total"), 11);
  EXPECT_EQ(j.num("/data/totals/validations/VALID"), 10);
  EXPECT_EQ(j.num("/data/totals/validations/EXPIRED"), 1);
  EXPECT_FALSE(j.has("/data/totals/validations/NOT_FOUND"));  // zero counts are left out
  EXPECT_EQ(j.object_size("/data/totals/validations"), 3u);
  EXPECT_EQ(j.num("/data/totals/auths/total"), 2);
  EXPECT_EQ(j.num("/data/totals/auths/SUCCESS"), 2);
  EXPECT_EQ(j.num("/data/totals/distinct/machines"), 4);  // m0..m3, the union of the days
  EXPECT_EQ(j.num("/data/totals/distinct/ips"), 2);
  EXPECT_EQ(j.num("/data/totals/distinct/hwids"), 1);
  EXPECT_EQ(j.str("/data/totals/lastValidatedAt"), "2023-11-14T22:12:20Z");
  EXPECT_TRUE(j.boolean("/data/keySharing/flagged"));
  EXPECT_EQ(j.num("/data/keySharing/threshold"), 3);
  ASSERT_EQ(j.size("/data/keySharing/days"), 1u);
  EXPECT_EQ(j.str("/data/keySharing/days/0"), "2023-11-14");
  // Days with counts only, oldest first.
  ASSERT_EQ(j.size("/data/days"), 2u);
  EXPECT_EQ(j.str("/data/days/0/date"), "2023-11-12");
  EXPECT_EQ(j.num("/data/days/0/validations/total"), 3);
  EXPECT_EQ(j.num("/data/days/0/validations/VALID"), 3);
  EXPECT_EQ(j.num("/data/days/0/auths/total"), 0);
  EXPECT_EQ(j.object_size("/data/days/0/auths"), 1u);
  EXPECT_EQ(j.str("/data/days/0/lastValidatedAt"), "2023-11-12T01:00:00Z");
  EXPECT_EQ(j.num("/data/days/0/distinct/machines"), 2);
  EXPECT_EQ(j.num("/data/days/0/distinct/ips"), 0);
  EXPECT_TRUE(j.is_bool("/data/days/0/keySharing"));
  EXPECT_FALSE(j.boolean("/data/days/0/keySharing"));
  EXPECT_EQ(j.str("/data/days/1/date"), "2023-11-14");
  EXPECT_EQ(j.num("/data/days/1/validations/total"), 8);
  EXPECT_EQ(j.num("/data/days/1/validations/VALID"), 7);
  EXPECT_EQ(j.num("/data/days/1/validations/EXPIRED"), 1);
  EXPECT_EQ(j.num("/data/days/1/auths/SUCCESS"), 2);
  EXPECT_EQ(j.str("/data/days/1/lastValidatedAt"), "2023-11-14T22:12:20Z");
  EXPECT_EQ(j.num("/data/days/1/distinct/machines"), 4);
  EXPECT_EQ(j.num("/data/days/1/distinct/ips"), 2);
  EXPECT_EQ(j.num("/data/days/1/distinct/hwids"), 1);
  EXPECT_TRUE(j.boolean("/data/days/1/keySharing"));
  EXPECT_TRUE(j.has("/data/distinctError"));

  // A range: the day 40 days back is in it; a range without counts is empty, not an error.
  r = get("/api/v1/licenses/lic_1/usage?from=2023-09-01&to=2023-11-13");
  ASSERT_EQ(r.status, 200u) << r.body;
  j.parse(r.body);
  EXPECT_EQ(j.str("/data/from"), "2023-09-01");
  EXPECT_EQ(j.str("/data/to"), "2023-11-13");
  ASSERT_EQ(j.size("/data/days"), 2u);
  EXPECT_EQ(j.str("/data/days/0/date"), core::date_of_day(kToday - 40));
  EXPECT_EQ(j.num("/data/totals/validations/VALID"), 1003);
  EXPECT_FALSE(j.boolean("/data/keySharing/flagged"));
  EXPECT_EQ(j.size("/data/keySharing/days"), 0u);
  r = get("/api/v1/licenses/lic_1/usage?from=2023-11-13&to=2023-11-13");
  ASSERT_EQ(r.status, 200u) << r.body;
  j.parse(r.body);
  EXPECT_EQ(j.size("/data/days"), 0u);
  EXPECT_EQ(j.num("/data/totals/validations/total"), 0);
  EXPECT_EQ(j.num("/data/totals/distinct/machines"), 0);
  EXPECT_TRUE(j.is_null("/data/totals/lastValidatedAt"));
  // A flagged day that is not the range's last still flags the range.
  r = get("/api/v1/licenses/lic_1/usage?from=2023-11-12&to=2023-11-15");
  ASSERT_EQ(r.status, 200u) << r.body;
  j.parse(r.body);
  ASSERT_EQ(j.size("/data/days"), 3u);
  EXPECT_EQ(j.str("/data/days/2/date"), "2023-11-15");
  EXPECT_FALSE(j.boolean("/data/days/2/keySharing"));
  EXPECT_TRUE(j.boolean("/data/keySharing/flagged"));
  ASSERT_EQ(j.size("/data/keySharing/days"), 1u);
  EXPECT_EQ(j.str("/data/keySharing/days/0"), "2023-11-14");
  EXPECT_EQ(j.num("/data/totals/validations/VALID"), 11);
  EXPECT_EQ(j.num("/data/totals/distinct/machines"), 5);
  // `to` alone: the 30 days before it.
  r = get("/api/v1/licenses/lic_1/usage?to=2023-11-12");
  j.parse(r.body);
  EXPECT_EQ(j.str("/data/from"), "2023-10-14");
  ASSERT_EQ(j.size("/data/days"), 1u);
  // Exactly 366 days is allowed.
  r = get("/api/v1/licenses/lic_1/usage?from=2022-11-14&to=2023-11-14");
  EXPECT_EQ(r.status, 200u) << r.body;

  // Another license: its own counts, no key sharing.
  r = get("/api/v1/licenses/lic_3/usage");
  j.parse(r.body);
  EXPECT_EQ(j.num("/data/totals/validations/total"), 3);
  EXPECT_EQ(j.num("/data/totals/validations/SUSPENDED"), 1);
  EXPECT_FALSE(j.boolean("/data/keySharing/flagged"));
  EXPECT_TRUE(j.is_null("/data/totals/lastValidatedAt"));
  EXPECT_TRUE(j.is_null("/data/days/0/lastValidatedAt"));
  // A test-mode license with the test key: the test-mode counts.
  r = get("/api/v1/licenses/lic_t/usage", kTestKey);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r.body).num("/data/totals/validations/VALID"), 7);
  r = get("/api/v1/licenses/lic_o/usage", kOtherKey);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r.body).num("/data/totals/validations/VALID"), 100);
}

TEST_F(UsageRoutes, AnalyticsSumsTheAccountsDaysAndRanksItsLicenses) {
  auto r = get("/api/v1/analytics");
  ASSERT_EQ(r.status, 200u) << r.body;
  Json j(r.body);
  EXPECT_EQ(j.str("/data/from"), "2023-10-16");
  EXPECT_EQ(j.str("/data/to"), "2023-11-14");
  EXPECT_TRUE(j.is_null("/data/productId"));
  // 3 (12th) + 10 (13th) + today 5 + 2 + 1 expired, lic_3's 2 + 1 suspended, 4 not found.
  EXPECT_EQ(j.num("/data/totals/validations/total"), 28);
  EXPECT_EQ(j.num("/data/totals/validations/VALID"), 22);
  EXPECT_EQ(j.num("/data/totals/validations/EXPIRED"), 1);
  EXPECT_EQ(j.num("/data/totals/validations/SUSPENDED"), 1);
  EXPECT_EQ(j.num("/data/totals/validations/NOT_FOUND"), 4);
  EXPECT_EQ(j.num("/data/totals/auths/total"), 2);
  EXPECT_EQ(j.num("/data/totals/auths/SUCCESS"), 2);
  ASSERT_EQ(j.size("/data/days"), 3u);
  EXPECT_EQ(j.str("/data/days/0/date"), "2023-11-12");
  EXPECT_EQ(j.num("/data/days/0/validations/total"), 3);
  EXPECT_EQ(j.str("/data/days/1/date"), "2023-11-13");
  EXPECT_EQ(j.num("/data/days/1/validations/VALID"), 10);
  EXPECT_TRUE(j.is_null("/data/days/1/lastValidatedAt"));
  EXPECT_EQ(j.str("/data/days/2/date"), "2023-11-14");
  EXPECT_EQ(j.num("/data/days/2/validations/total"), 15);
  EXPECT_EQ(j.num("/data/days/2/validations/NOT_FOUND"), 4);
  EXPECT_EQ(j.str("/data/days/2/lastValidatedAt"), "2023-11-14T22:12:20Z");
  // lic_1 3 + 8 = 11, lic_2 10, lic_3 3.
  ASSERT_EQ(j.size("/data/topLicenses"), 3u);
  EXPECT_EQ(j.str("/data/topLicenses/0/licenseId"), "lic_1");
  EXPECT_EQ(j.str("/data/topLicenses/0/productId"), "prod_1");
  EXPECT_EQ(j.num("/data/topLicenses/0/validations"), 11);
  EXPECT_EQ(j.str("/data/topLicenses/1/licenseId"), "lic_2");
  EXPECT_EQ(j.num("/data/topLicenses/1/validations"), 10);
  EXPECT_EQ(j.str("/data/topLicenses/2/licenseId"), "lic_3");
  EXPECT_EQ(j.num("/data/topLicenses/2/validations"), 3);

  r = get("/api/v1/analytics?top=2");
  j.parse(r.body);
  ASSERT_EQ(j.size("/data/topLicenses"), 2u);
  EXPECT_EQ(j.str("/data/topLicenses/1/licenseId"), "lic_2");
  r = get("/api/v1/analytics?top=1&from=2023-09-01");
  j.parse(r.body);
  ASSERT_EQ(j.size("/data/topLicenses"), 1u);
  EXPECT_EQ(j.num("/data/topLicenses/0/validations"), 1011);
  EXPECT_EQ(j.size("/data/days"), 4u);
  r = get("/api/v1/analytics?top=100");
  EXPECT_EQ(Json(r.body).size("/data/topLicenses"), 3u);

  // One product's licenses.
  r = get("/api/v1/analytics?product_id=prod_2");
  ASSERT_EQ(r.status, 200u) << r.body;
  j.parse(r.body);
  EXPECT_EQ(j.str("/data/productId"), "prod_2");
  EXPECT_EQ(j.num("/data/totals/validations/total"), 10);
  ASSERT_EQ(j.size("/data/days"), 1u);
  EXPECT_EQ(j.str("/data/days/0/date"), "2023-11-13");
  ASSERT_EQ(j.size("/data/topLicenses"), 1u);
  EXPECT_EQ(j.str("/data/topLicenses/0/licenseId"), "lic_2");
  r = get("/api/v1/analytics?product_id=prod_1&to=2023-11-13");
  j.parse(r.body);
  EXPECT_EQ(j.num("/data/totals/validations/total"), 3);
  EXPECT_EQ(j.size("/data/topLicenses"), 1u);

  // The test key sees test mode; another account its own.
  r = get("/api/v1/analytics", kTestKey);
  j.parse(r.body);
  EXPECT_EQ(j.num("/data/totals/validations/total"), 7);
  EXPECT_EQ(j.str("/data/topLicenses/0/licenseId"), "lic_t");
  r = get("/api/v1/analytics", kOtherKey);
  j.parse(r.body);
  EXPECT_EQ(j.num("/data/totals/validations/total"), 100);
  ASSERT_EQ(j.size("/data/topLicenses"), 1u);
  EXPECT_EQ(j.str("/data/topLicenses/0/licenseId"), "lic_o");
  // Exactly 366 days is allowed.
  r = get("/api/v1/analytics?from=2022-11-14&to=2023-11-14");
  EXPECT_EQ(r.status, 200u) << r.body;
  // An empty range.
  r = get("/api/v1/analytics?from=2023-01-01&to=2023-01-31");
  j.parse(r.body);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(j.size("/data/days"), 0u);
  EXPECT_EQ(j.size("/data/topLicenses"), 0u);
  EXPECT_EQ(j.num("/data/totals/validations/total"), 0);
}

TEST_F(UsageRoutes, AuthLogsAreNewestFirstFilteredAndPaginatedAsTheSpecSays) {
  auto r = get("/api/v1/auth-logs");
  ASSERT_EQ(r.status, 200u) << r.body;
  Json j(r.body);
  ASSERT_EQ(j.size("/data"), 20u);  // default limit
  EXPECT_EQ(j.num("/pagination/page"), 1);
  EXPECT_EQ(j.num("/pagination/limit"), 20);
  EXPECT_EQ(j.num("/pagination/total"), 25);
  EXPECT_EQ(j.num("/pagination/totalPages"), 2);
  EXPECT_TRUE(j.boolean("/pagination/hasMore"));
  // The newest (i = 24): lic_1, 10.0.0.4, EXPIRED, a HWID, no User-Agent.
  EXPECT_EQ(j.str("/data/0/timestamp"), "2023-11-14T22:13:20Z");
  EXPECT_EQ(j.str("/data/0/licenseId"), "lic_1");
  EXPECT_EQ(j.str("/data/0/product"), "MyProduct");
  EXPECT_EQ(j.str("/data/0/version"), "1.0.0");
  EXPECT_EQ(j.str("/data/0/ip"), "10.0.0.4");
  EXPECT_EQ(j.str("/data/0/hwid"), "hw-24");
  EXPECT_TRUE(j.is_null("/data/0/userAgent"));
  EXPECT_EQ(j.str("/data/0/outcome"), "failed");
  EXPECT_EQ(j.str("/data/0/code"), "EXPIRED");
  EXPECT_EQ(j.str("/data/0/message"), core::message(TkiStatus::kExpired));
  // i = 23: no license, no HWID, a success.
  EXPECT_EQ(j.str("/data/1/timestamp"), "2023-11-14T22:13:19Z");
  EXPECT_TRUE(j.is_null("/data/1/licenseId"));
  EXPECT_TRUE(j.is_null("/data/1/hwid"));
  EXPECT_EQ(j.str("/data/1/userAgent"), "MyApp/1.0");
  EXPECT_EQ(j.str("/data/1/outcome"), "success");
  EXPECT_EQ(j.str("/data/1/code"), "SUCCESS");
  EXPECT_EQ(j.str("/data/1/message"), "Successful Authentication!");
  EXPECT_EQ(j.str("/data/19/timestamp"), "2023-11-14T22:13:01Z");  // i = 5

  // page 2: the last 5.
  r = get("/api/v1/auth-logs?page=2");
  j.parse(r.body);
  ASSERT_EQ(j.size("/data"), 5u);
  EXPECT_EQ(j.num("/pagination/page"), 2);
  EXPECT_EQ(j.num("/pagination/total"), 25);
  EXPECT_FALSE(j.boolean("/pagination/hasMore"));
  EXPECT_EQ(j.str("/data/0/timestamp"), "2023-11-14T22:13:00Z");  // i = 4
  EXPECT_EQ(j.str("/data/4/timestamp"), "2023-11-14T22:12:56Z");  // i = 0, the oldest
  // limit + page, limit + offset.
  r = get("/api/v1/auth-logs?limit=10&page=3");
  j.parse(r.body);
  ASSERT_EQ(j.size("/data"), 5u);
  EXPECT_EQ(j.num("/pagination/page"), 3);
  EXPECT_EQ(j.num("/pagination/limit"), 10);
  EXPECT_EQ(j.num("/pagination/totalPages"), 3);
  EXPECT_FALSE(j.boolean("/pagination/hasMore"));
  r = get("/api/v1/auth-logs?limit=5&offset=5");
  j.parse(r.body);
  ASSERT_EQ(j.size("/data"), 5u);
  EXPECT_EQ(j.num("/pagination/page"), 2);
  EXPECT_EQ(j.num("/pagination/totalPages"), 5);
  EXPECT_TRUE(j.boolean("/pagination/hasMore"));
  EXPECT_EQ(j.str("/data/0/timestamp"), "2023-11-14T22:13:15Z");  // the sixth newest, i = 19
  r = get("/api/v1/auth-logs?offset=24&limit=100");
  j.parse(r.body);
  ASSERT_EQ(j.size("/data"), 1u);
  EXPECT_EQ(j.num("/pagination/page"), 1);  // offset 24 / limit 100 + 1
  EXPECT_FALSE(j.boolean("/pagination/hasMore"));
  r = get("/api/v1/auth-logs?page=9");
  j.parse(r.body);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(j.size("/data"), 0u);
  EXPECT_EQ(j.num("/pagination/total"), 25);
  EXPECT_FALSE(j.boolean("/pagination/hasMore"));

  // Filters: outcome (failed: i % 4 == 0, 7 of them), license, IP, together.
  r = get("/api/v1/auth-logs?outcome=failed");
  j.parse(r.body);
  EXPECT_EQ(j.num("/pagination/total"), 7);
  ASSERT_EQ(j.size("/data"), 7u);
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(j.str("/data/" + std::to_string(i) + "/outcome"), "failed");
  }
  r = get("/api/v1/auth-logs?outcome=success&limit=5");
  j.parse(r.body);
  EXPECT_EQ(j.num("/pagination/total"), 18);
  EXPECT_EQ(j.num("/pagination/totalPages"), 4);
  EXPECT_EQ(j.size("/data"), 5u);
  r = get("/api/v1/auth-logs?license_id=lic_1");
  j.parse(r.body);
  EXPECT_EQ(j.num("/pagination/total"), 9);  // i % 3 == 0
  for (std::size_t i = 0; i < 9; ++i) {
    EXPECT_EQ(j.str("/data/" + std::to_string(i) + "/licenseId"), "lic_1");
  }
  r = get("/api/v1/auth-logs?ip=10.0.0.4");
  j.parse(r.body);
  EXPECT_EQ(j.num("/pagination/total"), 5);  // i % 5 == 4
  // Percent-encoded as clients send it (an IPv6 address's colons): the same filter.
  r = get("/api/v1/auth-logs?ip=10%2E0%2e0.4");
  EXPECT_EQ(Json(r.body).num("/pagination/total"), 5) << r.body;
  // lic_1 and 10.0.0.4: i = 9, 24; failed too: 24 only.
  r = get("/api/v1/auth-logs?license_id=lic_1&ip=10.0.0.4");
  EXPECT_EQ(Json(r.body).num("/pagination/total"), 2);
  r = get("/api/v1/auth-logs?license_id=lic_1&ip=10.0.0.4&outcome=failed");
  j.parse(r.body);
  EXPECT_EQ(j.num("/pagination/total"), 1);
  EXPECT_EQ(j.str("/data/0/timestamp"), "2023-11-14T22:13:20Z");
  r = get("/api/v1/auth-logs?license_id=lic_o");  // another account's: none of ours
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(Json(r.body).num("/pagination/total"), 0);
  EXPECT_EQ(Json(r.body).num("/pagination/totalPages"), 0);
  // Other account, test mode.
  r = get("/api/v1/auth-logs", kOtherKey);
  j.parse(r.body);
  EXPECT_EQ(j.num("/pagination/total"), 1);
  EXPECT_EQ(j.str("/data/0/licenseId"), "lic_o");
  EXPECT_EQ(j.str("/data/0/userAgent"), "Bad \"agent\"\n\\ </script> \xc3\xa9");
  r = get("/api/v1/auth-logs", kTestKey);
  j.parse(r.body);
  EXPECT_EQ(j.num("/pagination/total"), 1);
  EXPECT_EQ(j.str("/data/0/licenseId"), "lic_t");
}

TEST_F(UsageRoutes, BlacklistListShowsAttemptsSummedOverEdges) {
  auto r = get("/api/v1/blacklist");
  ASSERT_EQ(r.status, 200u) << r.body;
  Json j(r.body);
  ASSERT_EQ(j.size("/data"), 2u);
  EXPECT_EQ(j.num("/pagination/total"), 2);
  int seen = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string p = "/data/" + std::to_string(i);
    if (j.str(p + "/id") == "bl_1") {
      ++seen;
      EXPECT_EQ(j.str(p + "/type"), "ip");
      EXPECT_EQ(j.num(p + "/attempts"), 5);  // 3 + 2
      EXPECT_EQ(j.str(p + "/lastAttemptAt"), "2023-11-14T22:13:19Z");
    } else if (j.str(p + "/id") == "bl_2") {
      ++seen;
      EXPECT_EQ(j.num(p + "/attempts"), 0);
      EXPECT_TRUE(j.is_null(p + "/lastAttemptAt"));
    }
  }
  EXPECT_EQ(seen, 2) << r.body;
  r = get("/api/v1/blacklist", kOtherKey);
  j.parse(r.body);
  ASSERT_EQ(j.size("/data"), 1u);
  EXPECT_EQ(j.str("/data/0/id"), "bl_o");
  EXPECT_EQ(j.num("/data/0/attempts"), 50);
  EXPECT_EQ(j.str("/data/0/lastAttemptAt"), "2023-11-14T22:13:20Z");
}

TEST_F(UsageRoutes, BadInputGetsTheSpecsErrorsAndChangesNothing) {
  const std::string before = state();
  const std::string lic = "/api/v1/licenses/lic_1/usage";
  const std::string very_long(5000, '2');
  struct Case {
    std::string target;
    unsigned status;
    std::string code;
    std::string message;  // checked when not empty
  };
  std::vector<Case> cases;
  // Dates, on each of the two ranged routes.
  for (const std::string& base : {lic + "?", std::string("/api/v1/analytics?")}) {
    for (const char* field : {"from", "to"}) {
      for (const std::string& bad :
           {std::string("2025-13-01"), std::string("2025-02-30"), std::string("2023-02-29"),
            std::string("20251123"), std::string(""), std::string("garbage"),
            std::string("2025-1-01"), std::string("2025-01-01T00:00:00Z"),
            std::string("1969-12-31"), std::string("%32025-01-01"), std::string("2025-01-01x"),
            std::string(" 2025-01-01"), std::string("-2025-01-01"), very_long}) {
        cases.push_back({base + field + "=" + bad, 400, "VALIDATION_ERROR",
                         std::string("Field '") + field + "' must be a date, YYYY-MM-DD"});
      }
      cases.push_back({base + field, 400, "VALIDATION_ERROR", ""});  // no value at all
    }
    cases.push_back({base + "from=2023-11-14&to=2023-11-13", 400, "VALIDATION_ERROR",
                     "Field 'from' must not be after 'to'"});
    cases.push_back({base + "from=2023-12-01", 400, "VALIDATION_ERROR",
                     "Field 'from' must not be after 'to'"});  // after today, `to`'s default
    cases.push_back({base + "from=2022-11-13&to=2023-11-14", 400, "VALIDATION_ERROR",
                     "A range covers at most 366 days"});  // 367
    cases.push_back(
        {base + "from=1970-01-01", 400, "VALIDATION_ERROR", "A range covers at most 366 days"});
    cases.push_back({base + "from=1970-01-01&to=9999-12-31", 400, "VALIDATION_ERROR",
                     "A range covers at most 366 days"});
  }
  // top.
  for (const char* bad : {"0", "101", "-1", "99999999999999999999", "18446744073709551617", "abc",
                          "", "1.5", "10x", "+5", " 5"}) {
    cases.push_back({std::string("/api/v1/analytics?top=") + bad, 400, "VALIDATION_ERROR",
                     "Query parameter 'top' must be an integer from 1 to 100"});
  }
  // Products: another account's or unknown, 404; not an id, 400.
  cases.push_back({"/api/v1/analytics?product_id=prod_o", 404, "NOT_FOUND", "Product not found"});
  cases.push_back(
      {"/api/v1/analytics?product_id=prod_missing", 404, "NOT_FOUND", "Product not found"});
  cases.push_back({"/api/v1/analytics?product_id=", 400, "VALIDATION_ERROR", ""});
  cases.push_back(
      {"/api/v1/analytics?product_id=" + std::string(65, 'p'), 400, "VALIDATION_ERROR", ""});
  // Paging, filters.
  const std::string logs = "/api/v1/auth-logs?";
  for (const char* param : {"limit", "page"}) {
    for (const char* bad : {"0", "-1", "99999999999999999999", "abc", ""}) {
      cases.push_back({logs + param + "=" + bad, 400, "VALIDATION_ERROR", ""});
    }
  }
  for (const char* bad : {"101", "1000", "1e2"}) {
    cases.push_back({logs + "limit=" + bad, 400, "VALIDATION_ERROR",
                     "Query parameter 'limit' must be an integer from 1 to 100"});
  }
  for (const char* bad : {"-1", "99999999999999999999", "abc", "4294967296"}) {
    cases.push_back({logs + "offset=" + bad, 400, "VALIDATION_ERROR", ""});
  }
  cases.push_back({logs + "page=4294967296", 400, "VALIDATION_ERROR", ""});
  for (const char* bad : {"SUCCESS", "failure", "ok", "", "success,failed", "true"}) {
    cases.push_back({logs + "outcome=" + bad, 400, "VALIDATION_ERROR",
                     "Field 'outcome' must be one of: success, failed"});
  }
  cases.push_back({logs + "license_id=", 400, "VALIDATION_ERROR", ""});
  cases.push_back({logs + "license_id=" + std::string(65, 'l'), 400, "VALIDATION_ERROR", ""});
  cases.push_back({logs + "ip=", 400, "VALIDATION_ERROR", ""});
  cases.push_back({logs + "ip=10.0.0%2", 400, "VALIDATION_ERROR", ""});
  cases.push_back({logs + "ip=%zz", 400, "VALIDATION_ERROR", ""});
  cases.push_back({logs + "ip=" + std::string(257, '1'), 400, "VALIDATION_ERROR", ""});
  // Licenses that are not the caller's: 404, as own_license answers.
  for (const char* id : {"lic_o", "lic_t", "lic_missing", "KEY-lic_1"}) {
    cases.push_back(
        {std::string("/api/v1/licenses/") + id + "/usage", 404, "NOT_FOUND", "License not found"});
  }
  cases.push_back({"/api/v1/licenses/" + std::string(300, 'x') + "/usage", 404, "NOT_FOUND",
                   "License not found"});

  for (const auto& c : cases) {
    SCOPED_TRACE(c.target.substr(0, 120));
    expect_error(get(c.target), c.status, c.code, c.message);
  }
  // Another account's license, the test-mode license under the live key and a live license
  // under the test key.
  expect_error(get(lic, kOtherKey), 404, "NOT_FOUND", "License not found");
  expect_error(get("/api/v1/licenses/lic_1/usage", kTestKey), 404, "NOT_FOUND",
               "License not found");
  expect_error(get("/api/v1/licenses/lic_t/usage", kLiveKey), 404, "NOT_FOUND",
               "License not found");
  expect_error(get("/api/v1/analytics?product_id=prod_1", kOtherKey), 404, "NOT_FOUND",
               "Product not found");

  // Authentication, on every route.
  for (const std::string& target :
       {lic, std::string("/api/v1/analytics"), std::string("/api/v1/auth-logs")}) {
    SCOPED_TRACE(target);
    expect_error(get(target, ""), 401, "AUTH_REQUIRED");
    expect_error(call(target, "Bearer "), 401, "AUTH_REQUIRED");
    expect_error(call(target, "Bearer to_live_forged"), 401, "INVALID_API_KEY");
    expect_error(call(target, "Basic dXNlcjpwYXNz"), 401, "INVALID_API_KEY");
    expect_error(call(target, "Bearer sk_live_something"), 401, "INVALID_API_KEY");
    expect_error(get(target, kRevokedKey), 401, "INVALID_API_KEY");
    // Authentication comes before input: a bad date without a key is a 401.
    expect_error(get(target + "?from=garbage", ""), 401, "AUTH_REQUIRED");
  }
  EXPECT_EQ(state(), before);
}

TEST_F(UsageRoutes, WithoutAUsageStoreTheRoutesAnswer503) {
  for (const std::string& target :
       {std::string("/api/v1/licenses/lic_1/usage"), std::string("/api/v1/analytics"),
        std::string("/api/v1/auth-logs"), std::string("/api/v1/analytics?from=garbage")}) {
    SCOPED_TRACE(target);
    expect_error(get(target, kLiveKey, &bare_router_), 503, "SERVICE_UNAVAILABLE",
                 "Usage tracking is not enabled on this server");
    // Still authenticated first.
    expect_error(get(target, "", &bare_router_), 401, "AUTH_REQUIRED");
  }
  // The blacklist is listed without attempts.
  const auto r = get("/api/v1/blacklist", kLiveKey, &bare_router_);
  ASSERT_EQ(r.status, 200u) << r.body;
  const Json j(r.body);
  ASSERT_EQ(j.size("/data"), 2u);
  for (const char* i : {"0", "1"}) {
    EXPECT_EQ(j.num(std::string("/data/") + i + "/attempts"), 0);
    EXPECT_TRUE(j.is_null(std::string("/data/") + i + "/lastAttemptAt"));
  }
}

}  // namespace
}  // namespace le::primary
