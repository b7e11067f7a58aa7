// Rate limiting as the edge applies it, driven in-process with an injected clock.
#include <gtest/gtest.h>

#include "cache/record_cache.h"
#include "core/clock.h"
#include "edge/edge_service.h"
#include "support/fixtures.h"

namespace le::edge {
namespace {

namespace http = boost::beast::http;
constexpr std::int64_t kStartMs = 1'700'000'040'000;  // a minute boundary

class EdgeRateLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    replica_ = std::move(store::RecordStore::open({dir_.path("db")}).value());
    auto account = test::account();
    account.plan = core::Plan::kBuilder;  // 10 requests/min per API key
    account.tki_rate_limit = true;
    auto product = test::product();
    std::vector<core::ChangeEvent> events = {
        test::event(account), test::event(test::api_key("to_live_builderkey")),
        test::event(test::api_key("tki-key")), test::event(product)};
    for (int i = 0; i < 5; ++i) {
      auto l = test::license("LIC-" + std::to_string(i), "lic_" + std::to_string(i));
      l.ips = {"1.1.1.1"};
      events.push_back(test::event(l));
    }
    ASSERT_TRUE(cache::apply_and_invalidate(*replica_, stamps_, events, 1));
  }

  std::unique_ptr<EdgeService> service(RateLimitOptions rl = {}, std::string proxies = "") {
    EdgeOptions o;
    o.rate_limit = rl;
    o.rate_limit.table.capacity_log2 = 12;
    EXPECT_TRUE(o.trusted_proxies.parse(proxies));
    return std::make_unique<EdgeService>(*replica_, stamps_, clock_, o);
  }

  struct Reply {
    unsigned status;
    std::string body;
    std::map<std::string, std::string, std::less<>> headers;
  };

  Reply call(EdgeService& s, std::string path, std::string body, std::string peer,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::fields fields;
    for (auto& [k, v] : headers) fields.set(k, v);
    net::Request req;
    req.method = http::verb::post;
    req.target = req.path = path;
    req.body = body;
    req.fields = &fields;
    req.peer = boost::asio::ip::make_address(peer);
    std::string out;
    net::Response res(out);
    if (path == "/api/license/auth") {
      s.tki_auth(req, res);
    } else {
      s.validate(req, res);
    }
    Reply r{res.status, out, {}};
    for (const auto& [k, v] : res.extra_headers()) r.headers[std::string(k)] = v;
    return r;
  }
  Reply validate(EdgeService& s, std::string key, std::string peer = "203.0.113.5",
                 std::vector<std::pair<std::string, std::string>> headers = {}) {
    return call(s, "/api/v1/validate", R"({"key":")" + key + R"("})", peer, std::move(headers));
  }

  test::TempDir dir_;
  std::unique_ptr<store::RecordStore> replica_;
  cache::InvalidationStamps stamps_{12};
  core::ManualClock clock_{kStartMs};
};

TEST_F(EdgeRateLimitTest, ApiKeyGetsItsPlanLimitWithHeaders) {
  auto s = service();
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer to_live_builderkey"}};
  for (int i = 0; i < 10; ++i) {
    auto r = validate(*s, "LIC-0", "203.0.113.5", auth);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.headers["X-RateLimit-Limit"], "10");
    EXPECT_EQ(r.headers["X-RateLimit-Remaining"], std::to_string(9 - i));
    EXPECT_EQ(r.headers["X-RateLimit-Reset"], std::to_string(kStartMs / 1000 + 60));
  }
  auto refused = validate(*s, "LIC-0", "198.51.100.7", auth);  // another IP: same key, same limit
  EXPECT_EQ(refused.status, 429u);
  EXPECT_EQ(refused.body, R"({"error":"Rate limit exceeded","code":"RATE_LIMITED","retryAfter":)" +
                              refused.headers["Retry-After"] + "}");
  EXPECT_EQ(refused.headers["X-RateLimit-Remaining"], "0");
  // The window slides: after Retry-After the key is admitted again.
  clock_.advance_ms(std::stoll(refused.headers["Retry-After"]) * 1000);
  EXPECT_EQ(validate(*s, "LIC-0", "203.0.113.5", auth).status, 200u);
}

TEST_F(EdgeRateLimitTest, PublicValidationsAreLimitedPerIpAndPerLicense) {
  RateLimitOptions rl;
  rl.public_per_ip = 3;
  rl.public_per_license = 4;
  auto s = service(rl);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(validate(*s, "LIC-" + std::to_string(i)).status, 200u);
  EXPECT_EQ(validate(*s, "LIC-3").status, 429u);  // fourth request from this IP
  // One license from many IPs: the per-license limit applies.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(validate(*s, "LIC-4", "192.0.2." + std::to_string(i)).status, 200u);
  }
  auto r = validate(*s, "LIC-4", "192.0.2.99");
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(r.headers["X-RateLimit-Limit"], "4");
}

// A 404 or 405 anywhere under /api/ counts against the client IP and says so, like the routes.
TEST_F(EdgeRateLimitTest, NotFoundAndMethodNotAllowedCarryTheLimit) {
  RateLimitOptions rl;
  rl.public_per_ip = 5;
  auto s = service(rl);
  http::fields fields;
  for (const auto& [path, e] :
       {std::pair{"/api/v1/nowhere", net::ProtocolError::kNotFound},
        std::pair{"/api/v1/validate", net::ProtocolError::kMethodNotAllowed},
        std::pair{"/api/v2/anything", net::ProtocolError::kNotFound}}) {
    net::ErrorContext ctx{path, boost::asio::ip::make_address("203.0.113.7"), 0, &fields};
    std::string out;
    net::Response res(out);
    s->write_protocol_error(ctx, e, res);
    std::map<std::string, std::string, std::less<>> headers;
    for (const auto& [k, v] : res.extra_headers()) headers[std::string(k)] = v;
    EXPECT_EQ(headers["X-RateLimit-Limit"], "5") << path;
    EXPECT_FALSE(headers["X-RateLimit-Remaining"].empty()) << path;
  }
  // Those three counted: two validations left for this address.
  EXPECT_EQ(validate(*s, "LIC-0", "203.0.113.7").status, 200u);
  EXPECT_EQ(validate(*s, "LIC-1", "203.0.113.7").status, 200u);
  EXPECT_EQ(validate(*s, "LIC-2", "203.0.113.7").status, 429u);
}

TEST_F(EdgeRateLimitTest, BadApiKeysAreLimitedPerIp) {
  RateLimitOptions rl;
  rl.public_per_ip = 2;
  auto s = service(rl);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"Authorization", "Bearer to_live_guess"}};
  EXPECT_EQ(validate(*s, "LIC-0", "203.0.113.5", bad).status, 401u);
  EXPECT_EQ(validate(*s, "LIC-0", "203.0.113.5", bad).status, 401u);
  EXPECT_EQ(validate(*s, "LIC-0", "203.0.113.5", bad).status, 429u);
}

TEST_F(EdgeRateLimitTest, ClientIpComesFromTheHeaderOnlyBehindATrustedProxy) {
  RateLimitOptions rl;
  rl.public_per_ip = 1;
  rl.public_per_license = 1000;
  auto s = service(rl, "10.0.0.0/8");
  auto via = [&](std::string peer, std::string xff) {
    return validate(*s, "LIC-0", peer, {{"X-Forwarded-For", xff}}).status;
  };
  // Behind the trusted CDN (10.x), each client has its own limit.
  EXPECT_EQ(via("10.1.1.1", "198.51.100.1"), 200u);
  EXPECT_EQ(via("10.1.1.2", "198.51.100.2"), 200u);
  EXPECT_EQ(via("10.1.1.1", "198.51.100.1"), 429u);
  // A spoofed header from an untrusted peer is ignored: the peer itself is limited.
  EXPECT_EQ(via("203.0.113.9", "198.51.100.3"), 200u);
  EXPECT_EQ(via("203.0.113.9", "198.51.100.4"), 429u);
  // A client writing its own X-Forwarded-For in front of the CDN's entry gains nothing.
  EXPECT_EQ(via("10.1.1.3", "1.2.3.4, 198.51.100.5"), 200u);
  EXPECT_EQ(via("10.1.1.3", "5.6.7.8, 198.51.100.5"), 429u);
}

TEST(ClientIp, WalksPastTrustedHops) {
  TrustedProxies t;
  ASSERT_TRUE(t.parse("10.0.0.0/8, 2001:db8::/32 ,127.0.0.1"));
  auto ip = [](const char* s) { return boost::asio::ip::make_address(s); };
  EXPECT_EQ(client_ip(ip("10.0.0.1"), "198.51.100.1, 10.2.2.2", t), ip("198.51.100.1"));
  EXPECT_EQ(client_ip(ip("2001:db8::1"), "198.51.100.1", t), ip("198.51.100.1"));
  EXPECT_EQ(client_ip(ip("203.0.113.1"), "198.51.100.1", t), ip("203.0.113.1"));
  EXPECT_EQ(client_ip(ip("10.0.0.1"), "garbage, 10.3.3.3", t), ip("10.3.3.3"));
  EXPECT_EQ(client_ip(ip("10.0.0.1"), std::nullopt, t), ip("10.0.0.1"));
  EXPECT_TRUE(t.contains(ip("::ffff:10.9.9.9")));
  TrustedProxies bad;
  EXPECT_FALSE(bad.parse("10.0.0.0/33"));
  EXPECT_FALSE(bad.parse("not-an-ip"));
}

TEST_F(EdgeRateLimitTest, TkiIsLimitedPerIpWhenTheAccountEnablesIt) {
  RateLimitOptions rl;
  rl.tki_per_ip = 2;
  auto s = service(rl);
  const std::string body =
      R"({"data":{"product":"MyProduct","version":"1.0.0","licensekey":"LIC-0","ip":"1.1.1.1"}})";
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(
        call(*s, "/api/license/auth", body, "203.0.113.5", {{"Authorization", "tki-key"}}).status,
        200u);
  }
  auto r = call(*s, "/api/license/auth", body, "203.0.113.5", {{"Authorization", "tki-key"}});
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(
      r.body,
      R"({"message":"You have been ratelimited! Try again in 3 Minutes!","status_overview":"failed"})");
  EXPECT_FALSE(r.headers["Retry-After"].empty());
}

TEST_F(EdgeRateLimitTest, FleetSizeSplitsEachLimit) {
  RateLimitOptions rl;
  rl.fleet_size = 3;  // builder plan: ceil(10 / 3) = 4 per edge
  auto s = service(rl);
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer to_live_builderkey"}};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(validate(*s, "LIC-0", "203.0.113.5", auth).status, 200u);
  auto r = validate(*s, "LIC-0", "203.0.113.5", auth);
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(r.headers["X-RateLimit-Limit"], "4");
}

TEST_F(EdgeRateLimitTest, DisabledMeansNoLimitAndNoHeaders) {
  RateLimitOptions rl;
  rl.enabled = false;
  rl.public_per_ip = 1;
  auto s = service(rl);
  for (int i = 0; i < 5; ++i) {
    auto r = validate(*s, "LIC-0");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.headers.count("X-RateLimit-Limit"), 0u);
  }
}

}  // namespace
}  // namespace le::edge
