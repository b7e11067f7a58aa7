#include "core/tki.h"

#include <gtest/gtest.h>

#include "support/fixtures.h"

namespace le::core {
namespace {

using test::kNow;

// A world in which the spec's example request succeeds; each case changes one thing.
struct World {
  AccountRecord account = test::account();
  ApiKeyRecord key = test::api_key("your-api-key-here");
  ProductRecord product = test::product();
  LicenseRecord license = [] {
    auto l = test::license("TKI-XXXXX-XXXXX");
    l.expires_at = kNow + 86400 * 30;
    l.max_ips = 2;
    l.max_hwids = 1;
    l.ips = {"192.168.1.1"};
    l.hwids = {"unique-hardware-id"};
    l.discord_id = "123456789012345678";
    l.discord_username = "john_doe";
    l.discord_tag = "@john_doe#0001";
    return l;
  }();
  BlacklistEntry ip_block = test::blacklist("bl_ip", BlacklistKind::kIp, "192.168.1.1");
  BlacklistEntry hwid_block =
      test::blacklist("bl_hwid", BlacklistKind::kHwid, "unique-hardware-id");
  BlacklistEntry license_block = test::blacklist("bl_lic", BlacklistKind::kLicense, "digest");
  TkiRequest req{"MyProduct", "1.0.0", "TKI-XXXXX-XXXXX", "192.168.1.1", "unique-hardware-id"};
  bool request_ok = true;

  TkiRecords records;
  World() {
    records.authorization_present = true;
    records.api_key = &key;
    records.account = &account;
    records.license = &license;
    records.product = &product;
  }
  TkiDecision decide() {
    return decide_tki(request_ok ? std::optional<TkiRequest>(req) : std::nullopt, records, kNow);
  }
};

struct TkiCase {
  std::string name;
  std::function<void(World&)> edit;
  TkiStatus status;
  int http;
  std::string_view message;
};

class TkiDecisionTest : public ::testing::TestWithParam<TkiCase> {};

TEST_P(TkiDecisionTest, AnswersWithTkiStatusAndMessage) {
  const auto& c = GetParam();
  World w;
  if (c.edit) c.edit(w);
  const TkiDecision d = w.decide();
  EXPECT_EQ(d.status, c.status);
  EXPECT_EQ(http_status(d.status), c.http);
  EXPECT_EQ(message(d.status), c.message);
}

INSTANTIATE_TEST_SUITE_P(
    SpecMessages, TkiDecisionTest,
    ::testing::Values(
        TkiCase{"Success", nullptr, TkiStatus::kSuccess, 200, "Successful Authentication!"},
        TkiCase{"MissingAuthorization", [](World& w) { w.records.authorization_present = false; },
                TkiStatus::kMissingAuthorization, 401, "Authorization header is missing"},
        TkiCase{"UnknownApiKey", [](World& w) { w.records.api_key = nullptr; },
                TkiStatus::kInvalidApiKey, 403, "Invalid API Key"},
        TkiCase{"RevokedApiKey", [](World& w) { w.key.revoked = true; }, TkiStatus::kInvalidApiKey,
                403, "Invalid API Key"},
        TkiCase{"RateLimited", [](World& w) { w.records.rate_limited = true; },
                TkiStatus::kRateLimited, 429, "You have been ratelimited! Try again in 3 Minutes!"},
        TkiCase{"IpBlacklisted", [](World& w) { w.records.ip_block = &w.ip_block; },
                TkiStatus::kIpBlacklisted, 403, "Your IP is blacklisted!"},
        TkiCase{"HwidBlacklisted", [](World& w) { w.records.hwid_block = &w.hwid_block; },
                TkiStatus::kHwidBlacklisted, 403, "Your HWID is blacklisted!"},
        TkiCase{"LicenseBlacklisted", [](World& w) { w.records.license_block = &w.license_block; },
                TkiStatus::kLicenseBlacklisted, 403, "Your License is blacklisted at the moment!"},
        TkiCase{"SuspendedLicenseIsBlocked",
                [](World& w) { w.license.status = LicenseStatus::kSuspended; },
                TkiStatus::kLicenseBlacklisted, 403, "Your License is blacklisted at the moment!"},
        TkiCase{"MissingFields", [](World& w) { w.request_ok = false; }, TkiStatus::kMissingFields,
                400,
                "Missing required fields: data.ip, data.hwid, data.product, data.version, or "
                "data.licensekey"},
        TkiCase{"RequireHwidWithoutHwid",
                [](World& w) {
                  w.account.tki_require_hwid = true;
                  w.req.hwid.reset();
                },
                TkiStatus::kMissingFields, 400,
                "Missing required fields: data.ip, data.hwid, data.product, data.version, or "
                "data.licensekey"},
        TkiCase{"HwidOptionalWhenNotRequired", [](World& w) { w.req.hwid.reset(); },
                TkiStatus::kSuccess, 200, "Successful Authentication!"},
        TkiCase{"UnknownVersion", [](World& w) { w.req.version = "9.9.9"; },
                TkiStatus::kVersionNotFound, 400, "This Version does not exist!"},
        TkiCase{"ProductMismatch", [](World& w) { w.license.product_id = "prod_other"; },
                TkiStatus::kProductMismatch, 400,
                "License key does not match the requested product."},
        TkiCase{"Expired", [](World& w) { w.license.expires_at = kNow - 1; }, TkiStatus::kExpired,
                400, "License has expired!"},
        TkiCase{"MaxIps",
                [](World& w) {
                  w.license.ips = {"10.0.0.1", "10.0.0.2"};
                  w.req.ip = "10.0.0.3";
                },
                TkiStatus::kMaxIps, 400, "Max Amount of IP's reached!"},
        TkiCase{"MaxHwids", [](World& w) { w.req.hwid = "other-hwid"; }, TkiStatus::kMaxHwids, 400,
                "Max Amount of HWIDs reached!"},
        TkiCase{"UnknownLicense", [](World& w) { w.records.license = nullptr; },
                TkiStatus::kLicenseNotFound, 404, "Invalid or non-existent license key."},
        TkiCase{"LicenseOfOtherAccount", [](World& w) { w.license.account_id = "acc_2"; },
                TkiStatus::kLicenseNotFound, 404, "Invalid or non-existent license key."},
        TkiCase{"TestLicenseWithLiveKey", [](World& w) { w.license.mode = Mode::kTest; },
                TkiStatus::kLicenseNotFound, 404, "Invalid or non-existent license key."},
        TkiCase{"UnknownProduct", [](World& w) { w.records.product = nullptr; },
                TkiStatus::kProductNotFound, 404, "This product does not exist!"},
        TkiCase{"StaffSkipsProductAndVersion",
                [](World& w) {
                  w.license.staff = true;
                  w.records.product = nullptr;
                  w.req.version = "anything";
                },
                TkiStatus::kSuccess, 200, "Successful Authentication!"},
        TkiCase{"StaffStillExpires",
                [](World& w) {
                  w.license.staff = true;
                  w.license.expires_at = kNow - 5;
                },
                TkiStatus::kExpired, 400, "License has expired!"},
        TkiCase{"NewIpWithinLimitNeedsBinding", [](World& w) { w.req.ip = "10.0.0.9"; },
                TkiStatus::kBindingRequired, 503,
                "First use from a new IP or HWID cannot be registered right now. Try again later."},
        TkiCase{
            "UnlimitedIps",
            [](World& w) {
              w.license.max_ips = 0;
              w.license.ips = {"a", "b", "c"};
              w.req.ip = "d";
            },
            TkiStatus::kBindingRequired, 503,
            "First use from a new IP or HWID cannot be registered right now. Try again later."}),
    [](const auto& info) { return info.param.name; });

TEST(TkiDecision, BindingNamesWhatIsNew) {
  World w;
  w.license.max_hwids = 2;
  w.req.ip = "10.1.1.1";
  w.req.hwid = "new-hwid";
  auto d = w.decide();
  EXPECT_EQ(d.status, TkiStatus::kBindingRequired);
  EXPECT_TRUE(d.bind_ip);
  EXPECT_TRUE(d.bind_hwid);
  w.req.ip = "192.168.1.1";
  d = w.decide();
  EXPECT_FALSE(d.bind_ip);
  EXPECT_TRUE(d.bind_hwid);
}

TEST(TkiDecision, BlacklistHitNamesTheEntryToCount) {
  World w;
  w.records.hwid_block = &w.hwid_block;
  EXPECT_EQ(w.decide().blacklist_hit, &w.hwid_block);
  w.records.ip_block = &w.ip_block;  // IP is checked first
  EXPECT_EQ(w.decide().blacklist_hit, &w.ip_block);
}

TEST(TkiDecision, ChecksRunInSpecOrder) {
  World w;
  // Everything wrong at once: the header check wins, then the key, then the fields.
  w.records.authorization_present = false;
  w.records.api_key = nullptr;
  w.request_ok = false;
  EXPECT_EQ(w.decide().status, TkiStatus::kMissingAuthorization);
  w.records.authorization_present = true;
  EXPECT_EQ(w.decide().status, TkiStatus::kInvalidApiKey);
  w.records.api_key = &w.key;
  EXPECT_EQ(w.decide().status, TkiStatus::kMissingFields);
}

// The primary decides a binding again on its own record (no product, version or blacklist
// lookups: the edge did those): the license's state, expiry and limits, in TKI's order.
TEST(TkiBinding, PrimaryDecidesStateExpiryAndLimitsOnItsRecord) {
  World w;
  const auto& l = w.license;  // ips {192.168.1.1} of 2, hwids {unique-hardware-id} of 1
  auto d = decide_binding(l, "192.168.1.1", "unique-hardware-id", kNow);
  EXPECT_EQ(d.status, TkiStatus::kSuccess);
  EXPECT_FALSE(d.bind_ip || d.bind_hwid);
  d = decide_binding(l, "10.0.0.2", std::nullopt, kNow);
  EXPECT_EQ(d.status, TkiStatus::kBindingRequired);
  EXPECT_TRUE(d.bind_ip);
  EXPECT_FALSE(d.bind_hwid);
  // Nothing to bind (no IP, an empty HWID) is not a binding.
  EXPECT_EQ(decide_binding(l, "", "", kNow).status, TkiStatus::kSuccess);
  EXPECT_EQ(decide_binding(l, "192.168.1.1", "second-hwid", kNow).status, TkiStatus::kMaxHwids);
  auto full = l;
  full.ips.push_back("10.0.0.2");
  EXPECT_EQ(decide_binding(full, "10.0.0.3", std::nullopt, kNow).status, TkiStatus::kMaxIps);
  full.max_ips = 0;  // unlimited
  EXPECT_TRUE(decide_binding(full, "10.0.0.3", std::nullopt, kNow).bind_ip);
  // State before expiry before limits.
  auto expired = full;
  expired.max_ips = 2;
  expired.expires_at = kNow - 1;
  EXPECT_EQ(decide_binding(expired, "10.0.0.3", std::nullopt, kNow).status, TkiStatus::kExpired);
  for (auto s : {LicenseStatus::kSuspended, LicenseStatus::kRevoked}) {
    auto disabled = expired;
    disabled.status = s;
    EXPECT_EQ(decide_binding(disabled, "10.0.0.3", std::nullopt, kNow).status,
              TkiStatus::kLicenseBlacklisted);
  }
}

TEST(TkiParse, AcceptsTheSpecBodyAndRejectsTheRest) {
  const std::string spec = R"({
"data": {
"product": "MyProduct",
"version": "1.0.0",
"licensekey": "TKI-XXXXX-XXXXX",
"ip": "192.168.1.1",
"hwid": "unique-hardware-id"
}
})";
  auto r = parse_tki_request(spec);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->product, "MyProduct");
  EXPECT_EQ(r->version, "1.0.0");
  EXPECT_EQ(r->licensekey, "TKI-XXXXX-XXXXX");
  EXPECT_EQ(r->ip, "192.168.1.1");
  EXPECT_EQ(*r->hwid, "unique-hardware-id");

  EXPECT_TRUE(parse_tki_request(
      R"({"data":{"product":"P","version":"1","licensekey":"K","ip":"1.2.3.4"}})"));
  for (const std::string& bad : std::vector<std::string>{
           "", "null", "[]", R"({"data":null})", R"({"data":[]})", R"({"product":"P"})",
           R"({"data":{"product":"P","version":"1","licensekey":"K"}})",
           R"({"data":{"product":"P","version":"1","licensekey":"","ip":"1"}})",
           R"({"data":{"product":1,"version":"1","licensekey":"K","ip":"1"}})",
           R"({"data":{"product":"P","version":"1","licensekey":"K","ip":"1","hwid":7}})",
           R"({"data":{"product":"P","version":"1","licensekey":"K","ip":"1"}} trailing)",
           R"({"data":{"product":"P","version":"1","licensekey":"K","ip":"1")",
           "{\"data\":{\"product\":\"\xc3\x28\",\"version\":\"1\",\"licensekey\":\"K\",\"ip\":"
           "\"1\"}}",
           R"({"data":{"product":")" + std::string(600, 'p') +
               R"(","version":"1","licensekey":"K","ip":"1"}})"}) {
    EXPECT_FALSE(parse_tki_request(bad)) << bad;
  }
}

// The IP and HWID a request names are bound at the primary as given: only a literal address and
// a printable, bounded id may get that far.
TEST(TkiParse, IpMustBeALiteralAddressAndHwidPrintableAndBounded) {
  // JSON text: the escapes below reach the parser as JSON escapes, which decode to the
  // control characters a hostile client would send.
  auto body = [](std::string ip, std::string hwid) {
    return R"({"data":{"product":"P","version":"1","licensekey":"K","ip":")" + ip +
           R"(","hwid":")" + hwid + R"("}})";
  };
  using Strings = std::vector<std::string>;
  for (const auto& ip : Strings{"192.168.1.1", "2001:db8::1", "::ffff:10.0.0.1", "::1"}) {
    EXPECT_TRUE(parse_tki_request(body(ip, "hw-1"))) << ip;
  }
  for (const auto& ip : Strings{"1.2.3.4\\r\\nX-Injected: 1", "1.2.3.4\\u0000", "1", "localhost",
                                "1.2.3.4 ", " 1.2.3.4", "1.2.3.256", "10.0.0.1/8", "fe80::1%eth0",
                                "\\u00001.2.3.4", std::string(100, '1')}) {
    EXPECT_FALSE(parse_tki_request(body(ip, "hw-1"))) << ip;
  }
  for (const auto& hwid : Strings{"unique-hardware-id", "\u00dcn\u00efc\u00f8d\u00e9 id", "a b c",
                                  std::string(256, 'h')}) {
    EXPECT_TRUE(parse_tki_request(body("1.2.3.4", hwid))) << hwid;
  }
  for (const auto& hwid : Strings{"hw\\r\\nX: 1", "hw\\u0000", "hw\\u007f", "hw\\u0085", "\\t",
                                  std::string(257, 'h')}) {
    EXPECT_FALSE(parse_tki_request(body("1.2.3.4", hwid))) << hwid;
  }
  EXPECT_FALSE(
      parse_tki_request(R"({"data":{"product":"P","version":"1","licensekey":"K","ip":1e999}})"));
  EXPECT_FALSE(parse_tki_request(
      R"({"data":{"product":"P","version":"1","licensekey":1e999,"ip":"1.2.3.4"}})"));
}

TEST(TkiReply, SuccessBodyHasEveryField) {
  World w;
  std::string out;
  write_tki_success(out, w.req, w.license);
  EXPECT_EQ(out, R"({"status_msg":"Successful Authentication!","status_overview":"success",)"
                 R"("status_code":200,"version":"1.0.0","discord_id":"123456789012345678",)"
                 R"("discord_username":"john_doe","discord_tag":"@john_doe#0001",)"
                 R"("expire_date":"12/14/2023","staff_license":false})");
  w.license.expires_at = 0;
  write_tki_success(out, w.req, w.license);
  EXPECT_NE(out.find(R"("expire_date":"Never")"), std::string::npos);
}

TEST(TkiReply, StaffAnswerNamesTheRequestedProduct) {
  World w;
  w.license.staff = true;
  w.req.product = "AnyOtherProduct";
  w.req.version = "9.9";
  std::string out;
  write_tki_success(out, w.req, w.license);
  EXPECT_NE(out.find(R"("version":"9.9")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("staff_license":true,"product":"AnyOtherProduct"})"), std::string::npos)
      << out;
}

TEST(TkiReply, FailureBodyIsMessageAndStatusOverview) {
  std::string out;
  write_tki_failure(out, TkiStatus::kInvalidApiKey);
  EXPECT_EQ(out, R"({"message":"Invalid API Key","status_overview":"failed"})");
}

}  // namespace
}  // namespace le::core
