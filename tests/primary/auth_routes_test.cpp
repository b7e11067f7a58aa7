// Dashboard sign-in in process (primary/sessions.h, primary/routes_auth.cpp): users the operator
// creates sign in and get a JWT and a session cookie; the JWT acts for its account like a live
// API key and for nothing else; every token that should not pass — expired, wrong signature,
// alg none, HS256 keyed with a public key, a portal token on an admin route, account A's on
// account B's license, a signed-out session — is refused with the spec's 403 INVALID_TOKEN (404
// for another account's license); sign-in says nothing of which field was wrong and is limited;
// the cookie routes refuse cross-site requests; bad input is the spec's 4xx and stores nothing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/signing.h"
#include "net/http.h"
#include "primary/ledger.h"
#include "primary/management_api.h"
#include "primary/primary_store.h"
#include "primary/sessions.h"
#include "support/fixtures.h"
#include "support/json_answer.h"

namespace le::primary {
namespace {

using test::Json;

constexpr const char* kAdmin = "operator-token";
constexpr const char* kPassword = "correct horse battery";

core::ChangeEvent change(std::string type, auto record) {
  core::ChangeEvent ev;
  ev.type = std::move(type);
  ev.record = std::move(record);
  return ev;
}

struct Reply {
  unsigned status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;

  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "<none>";
  }
};

struct Call {
  net::http::verb method = net::http::verb::get;
  std::string target;
  std::string authorization;  // the whole header value
  std::string body;
  std::string cookie;
  bool same_site = false;  // sends X-Requested-With
  std::string peer = "192.0.2.10";
  std::string content_type = "application/json";  // sent with a body
};

class AuthRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = PrimaryStore::open(dir_.path("db")).value();
    seed();
    SessionOptions so;
    so.scrypt_log_n = 10;  // fast hashes for tests
    sessions_ = Sessions::open(*store_, clock_.now_seconds(), so).value();
    ledger_ = std::make_unique<Ledger>(*store_, clock_);
    ManagementOptions o;
    o.admin_token = kAdmin;
    o.login_per_email = 4;
    o.login_per_ip = 8;
    api_ = std::make_unique<ManagementApi>(*ledger_, o);
    api_->set_sessions(sessions_.get());
    api_->register_routes(router_);
  }

  void seed() {
    auto tx = store_->begin();
    for (const char* acc : {"acc_1", "acc_2"})
      tx.put(change("account.created", test::account(acc)));
    tx.put(change("api_key.created", test::api_key("to_live_acme")));
    tx.put(change("product.created", test::product("prod_1", "MyProduct")));
    tx.put(change("product.created", test::product("prod_2", "Theirs", "acc_2")));
    for (auto [id, account] : {std::pair{"lic_1", "acc_1"}, std::pair{"lic_2", "acc_2"}}) {
      auto l = test::license(std::string("KEY-") + id, id);
      l.account_id = account;
      l.product_id = std::string(account) == "acc_1" ? "prod_1" : "prod_2";
      tx.put(change("license.created", l));
      tx.index(
          Cf::kLicenseIds, l.id,
          std::string(reinterpret_cast<const char*>(l.key_digest.data()), l.key_digest.size()));
    }
    ASSERT_TRUE(tx.commit());
  }

  Reply call(const Call& c) {
    net::http::fields fields;
    if (!c.authorization.empty()) fields.set(net::http::field::authorization, c.authorization);
    if (!c.cookie.empty()) fields.set(net::http::field::cookie, c.cookie);
    if (c.same_site) fields.set("X-Requested-With", "fetch");
    if (!c.body.empty()) fields.set(net::http::field::content_type, c.content_type);
    net::Request req;
    req.method = c.method;
    req.target = c.target;
    req.path = std::string_view(c.target).substr(0, c.target.find('?'));
    req.body = c.body;
    req.fields = &fields;
    req.peer = boost::asio::ip::make_address(c.peer);
    std::string out;
    net::Response res(out);
    EXPECT_GE(router_.dispatch(req, res), 0) << c.target;
    Reply r{res.status, out, {}, std::string(res.content_type)};
    for (const auto& [k, v] : res.extra_headers()) r.headers.emplace_back(k, v);
    return r;
  }
  Reply post(std::string target, std::string body, std::string authorization = {}) {
    return call(
        {net::http::verb::post, std::move(target), std::move(authorization), std::move(body)});
  }
  Reply get(std::string target, const std::string& token) {
    return call({net::http::verb::get, std::move(target), "Bearer " + token});
  }

  // The operator creates a user of `account` (empty: an operator user).
  void create_user(const std::string& account, const std::string& email) {
    const auto r =
        post(account.empty() ? "/admin/v1/users" : "/admin/v1/accounts/" + account + "/users",
             R"({"email":")" + email + R"(","password":")" + kPassword + R"("})",
             std::string("Bearer ") + kAdmin);
    ASSERT_EQ(r.status, 201u) << r.body;
  }
  Reply login(const std::string& email, const std::string& password = kPassword,
              const std::string& peer = "192.0.2.10") {
    Call c{net::http::verb::post,
           "/api/v1/auth/login",
           {},
           R"({"email":")" + email + R"(","password":")" + password + R"("})"};
    c.peer = peer;
    return call(c);
  }
  std::string token_of(const std::string& email) {
    const auto r = login(email);
    EXPECT_EQ(r.status, 200u) << r.body;
    return Json(r.body).str("/data/token");
  }
  static std::string cookie_of(const Reply& r) {
    const std::string set = r.header("Set-Cookie");
    return set.substr(0, set.find(';'));
  }
  static void expect_error(const Reply& r, unsigned status, std::string_view code) {
    EXPECT_EQ(r.status, status) << r.body;
    const Json j(r.body);
    EXPECT_EQ(j.object_size(""), 3u) << r.body;  // exactly {error, code, help}
    EXPECT_EQ(j.str("/code"), code) << r.body;
  }
  std::size_t users_of(const std::string& account) {
    return sessions_->users_of(account).value().size();
  }

  test::TempDir dir_;
  core::ManualClock clock_{test::kNow * 1000};
  std::unique_ptr<PrimaryStore> store_;
  std::unique_ptr<Sessions> sessions_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<ManagementApi> api_;
  net::Router router_;
};

TEST_F(AuthRoutes, SignInGivesATokenAndASessionCookieThatActForTheAccount) {
  create_user("acc_1", "Owner@Example.com");
  const auto r = login("owner@example.com");  // emails compare without case
  ASSERT_EQ(r.status, 200u) << r.body;
  const Json j(r.body);
  const std::string token = j.str("/data/token");
  EXPECT_TRUE(core::looks_like_jwt(token));
  EXPECT_EQ(j.str("/data/tokenType"), "Bearer");
  EXPECT_EQ(j.num("/data/expiresAt"), test::kNow + 86'400);
  EXPECT_EQ(j.str("/data/user/email"), "owner@example.com");
  EXPECT_EQ(j.str("/data/user/accountId"), "acc_1");
  EXPECT_EQ(j.str("/data/user/scope"), "portal");
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  const std::string set = r.header("Set-Cookie");
  EXPECT_TRUE(set.starts_with("le_session=ses_")) << set;
  for (const char* attr : {"; Path=/api/v1/auth", "; HttpOnly", "; Secure", "; SameSite=Strict",
                           "; Max-Age=2592000"}) {
    EXPECT_NE(set.find(attr), std::string::npos) << attr << " in " << set;
  }
  // The token acts for its account's live mode, like a live API key.
  const auto mine = get("/api/v1/licenses/lic_1", token);
  EXPECT_EQ(mine.status, 200u) << mine.body;
  EXPECT_EQ(get("/api/v1/licenses", token).status, 200u);
  const auto me = get("/api/v1/auth/me", token);
  ASSERT_EQ(me.status, 200u) << me.body;
  EXPECT_EQ(Json(me.body).str("/data/email"), "owner@example.com");
  // Expired a day later: refused, and the cookie gets a fresh one.
  clock_.advance_ms(86'400'000);
  expect_error(get("/api/v1/licenses", token), 403, "INVALID_TOKEN");
  const auto fresh =
      call({net::http::verb::post, "/api/v1/auth/refresh", {}, {}, cookie_of(r), true});
  ASSERT_EQ(fresh.status, 200u) << fresh.body;
  EXPECT_EQ(get("/api/v1/licenses", Json(fresh.body).str("/data/token")).status, 200u);
}

TEST_F(AuthRoutes, AWrongEmailAndAWrongPasswordAreOneAnswer) {
  create_user("acc_1", "owner@example.com");
  const auto wrong_password = login("owner@example.com", "not the password");
  const auto wrong_email = login("nobody@example.com");
  expect_error(wrong_password, 401, "INVALID_CREDENTIALS");
  EXPECT_EQ(wrong_password.body, wrong_email.body);
  EXPECT_EQ(wrong_password.header("Set-Cookie"), "<none>");
  // An invited user without a password yet cannot sign in with an empty one either.
  const auto empty = login("owner@example.com", "");
  expect_error(empty, 401, "INVALID_CREDENTIALS");
}

TEST_F(AuthRoutes, SignInIsLimitedPerEmailAndPerAddress) {
  create_user("acc_1", "owner@example.com");
  // The same email however it is written.
  for (const char* email :
       {"owner@example.com", "Owner@example.com", "OWNER@EXAMPLE.COM", "owner@Example.com"}) {
    expect_error(login(email, "a wrong guess"), 401, "INVALID_CREDENTIALS");
  }
  // The fifth attempt for that email is refused, even with the right password and from elsewhere.
  const auto limited = login("owner@example.com", kPassword, "198.51.100.7");
  expect_error(limited, 429, "RATE_LIMITED");
  EXPECT_NE(limited.header("Retry-After"), "<none>");
  // Per address: 8 attempts from one address, whatever the emails.
  create_user("acc_1", "second@example.com");
  for (int i = 0; i < 4; ++i) login("x" + std::to_string(i) + "@example.com");  // 4 + 4 = 8
  EXPECT_EQ(login("second@example.com", kPassword, "198.51.100.8").status, 200u);
  expect_error(login("second@example.com"), 429, "RATE_LIMITED");
  // A minute later both are open again.
  clock_.advance_ms(61'000);
  EXPECT_EQ(login("owner@example.com").status, 200u);
}

TEST_F(AuthRoutes, TokensThatShouldNotPassAreRefused) {
  create_user("acc_1", "owner@example.com");
  create_user("acc_2", "other@example.com");
  create_user("", "ops@example.com");
  const std::string mine = token_of("owner@example.com");
  const std::string theirs = token_of("other@example.com");
  const std::string admin = token_of("ops@example.com");
  const std::string payload = mine.substr(mine.find('.') + 1, mine.rfind('.') - mine.find('.') - 1);
  auto header = [](std::string_view h) { return core::base64url(h); };

  // Wrong signature; alg none; HS256 keyed with a public key (the receipts' JWKS root).
  std::string tampered = mine;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  const std::string none = header(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".";
  const auto key = core::Ed25519Key::generate();
  ASSERT_TRUE(key);
  const std::string kid =
      Json(core::from_base64url(mine.substr(0, mine.find('.'))).value()).str("/kid");
  const std::string unsigned_part =
      header(R"({"alg":"HS256","typ":"JWT","kid":")" + kid + R"("})") + "." + payload;
  const std::string with_public = core::sign_jwt(
      {"usr_x", "acc_1", core::JwtScope::kPortal, "ses_x", test::kNow, test::kNow + 60},
      {kid, core::base64url(key->public_raw())});
  for (const std::string& bad :
       {tampered, none, with_public, unsigned_part + ".", std::string("eyJhbGciOiJIUzI1NiJ9.e30.x"),
        std::string("eyJ") + std::string(5000, 'a') + ".a.b"}) {
    expect_error(get("/api/v1/licenses", bad), 403, "INVALID_TOKEN");
  }
  // A token whose scope is not its user's, signed with the real secret (as if it had leaked).
  std::string secret;
  ASSERT_TRUE(store_->records().scan_extra(static_cast<std::size_t>(Cf::kJwtSecrets), {}, {},
                                           [&](std::string_view, std::string_view v) {
                                             secret.assign(v.substr(16));
                                             return false;
                                           }));
  ASSERT_TRUE(kid.starts_with("jwt_")) << kid;
  const std::vector<core::JwtSecret> current = {{kid, secret}};
  auto claims = std::get<core::JwtClaims>(core::verify_jwt(mine, current, test::kNow));
  claims.scope = core::JwtScope::kAdmin;
  expect_error(post("/admin/v1/users", R"({"email":"x@example.com","password":"long enough pw"})",
                    "Bearer " + core::sign_jwt(claims, {kid, secret})),
               403, "INVALID_TOKEN");
  // A portal token on an admin route; an admin token on an account's route.
  expect_error(post("/admin/v1/users", R"({"email":"x@example.com","password":"long enough pw"})",
                    "Bearer " + mine),
               403, "INVALID_TOKEN");
  expect_error(get("/api/v1/licenses", admin), 403, "INVALID_TOKEN");
  // An admin token on an admin route passes.
  const auto by_admin =
      post("/admin/v1/accounts/acc_2/users",
           R"({"email":"made@example.com","password":"long enough pw"})", "Bearer " + admin);
  EXPECT_EQ(by_admin.status, 201u) << by_admin.body;
  // Account A's token on account B's license: not found, as with A's API key.
  expect_error(get("/api/v1/licenses/lic_2", mine), 404, "NOT_FOUND");
  EXPECT_EQ(get("/api/v1/licenses/lic_2", theirs).status, 200u);
  // A JWT-shaped credential never reads as an API key, and an API key never as a JWT.
  EXPECT_EQ(get("/api/v1/licenses", "to_live_acme").status, 200u);
  expect_error(call({net::http::verb::get, "/api/v1/auth/me", "Bearer to_live_acme"}), 403,
               "INVALID_TOKEN");
  expect_error(call({net::http::verb::get, "/api/v1/auth/me"}), 401, "AUTH_REQUIRED");
}

TEST_F(AuthRoutes, SigningOutRevokesTheSessionsTokensAndCookie) {
  create_user("acc_1", "owner@example.com");
  const auto r = login("owner@example.com");
  const std::string token = Json(r.body).str("/data/token");
  const std::string other = token_of("owner@example.com");  // another session
  const auto out = post("/api/v1/auth/logout", "", "Bearer " + token);
  EXPECT_EQ(out.status, 200u) << out.body;
  EXPECT_NE(out.header("Set-Cookie").find("Max-Age=0"), std::string::npos);
  expect_error(get("/api/v1/licenses", token), 403, "INVALID_TOKEN");
  expect_error(call({net::http::verb::post, "/api/v1/auth/refresh", {}, {}, cookie_of(r), true}),
               403, "INVALID_TOKEN");
  EXPECT_EQ(get("/api/v1/licenses", other).status, 200u);  // the other session goes on
}

TEST_F(AuthRoutes, CookieRoutesRefuseCrossSiteRequests) {
  create_user("acc_1", "owner@example.com");
  const auto r = login("owner@example.com");
  const std::string cookie = cookie_of(r);
  // Without X-Requested-With (what a cross-site form sends): refused, the session unchanged.
  expect_error(call({net::http::verb::post, "/api/v1/auth/refresh", {}, {}, cookie}), 403,
               "INVALID_TOKEN");
  expect_error(call({net::http::verb::post, "/api/v1/auth/logout", {}, {}, cookie}), 403,
               "INVALID_TOKEN");
  EXPECT_EQ(get("/api/v1/licenses", Json(r.body).str("/data/token")).status, 200u);
  // A forged or missing cookie.
  expect_error(
      call({net::http::verb::post, "/api/v1/auth/refresh", {}, {}, "le_session=ses_1.x", true}),
      403, "INVALID_TOKEN");
  const std::string forged =
      cookie.substr(0, cookie.find('.') + 1) + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  expect_error(call({net::http::verb::post, "/api/v1/auth/refresh", {}, {}, forged, true}), 403,
               "INVALID_TOKEN");
  expect_error(call({net::http::verb::post, "/api/v1/auth/refresh", {}, {}, {}, true}), 401,
               "AUTH_REQUIRED");
  // Logging out by cookie works with the header.
  EXPECT_EQ(
      call({net::http::verb::post, "/api/v1/auth/logout", {}, {}, "a=b; " + cookie, true}).status,
      200u);
  expect_error(get("/api/v1/licenses", Json(r.body).str("/data/token")), 403, "INVALID_TOKEN");
}

TEST_F(AuthRoutes, ARotatedSecretStillVerifiesForATokensLifetime) {
  create_user("acc_1", "owner@example.com");
  const std::string before = token_of("owner@example.com");
  const auto rotated = post("/admin/v1/auth/secrets/rotate", "", std::string("Bearer ") + kAdmin);
  ASSERT_EQ(rotated.status, 200u) << rotated.body;
  const std::string after = token_of("owner@example.com");
  auto kid = [](const std::string& t) {
    return Json(*core::from_base64url(t.substr(0, t.find('.')))).str("/kid");
  };
  EXPECT_NE(kid(before), kid(after));
  EXPECT_EQ(kid(after), Json(rotated.body).str("/data/kid"));
  EXPECT_EQ(get("/api/v1/licenses", before).status, 200u);
  EXPECT_EQ(get("/api/v1/licenses", after).status, 200u);
  // Reopened (a restart), the secrets are the same.
  sessions_ = Sessions::open(*store_, clock_.now_seconds()).value();
  api_->set_sessions(sessions_.get());
  router_ = net::Router();
  api_->register_routes(router_);
  EXPECT_EQ(get("/api/v1/licenses", before).status, 200u);
}

TEST_F(AuthRoutes, AUserInvitesAnotherWhoSetsAPassword) {
  create_user("acc_1", "owner@example.com");
  const std::string owner = token_of("owner@example.com");
  const auto invited =
      post("/api/v1/portal/users", R"({"email":"new@example.com"})", "Bearer " + owner);
  ASSERT_EQ(invited.status, 201u) << invited.body;
  const Json j(invited.body);
  EXPECT_EQ(j.str("/data/user/status"), "invited");
  EXPECT_EQ(j.str("/data/user/accountId"), "acc_1");
  const std::string invite = j.str("/data/inviteToken");
  expect_error(login("new@example.com", "anything at all"), 401, "INVALID_CREDENTIALS");
  const auto accepted = post("/api/v1/auth/invitations/accept",
                             R"({"token":")" + invite + R"(","password":"a new password"})");
  ASSERT_EQ(accepted.status, 200u) << accepted.body;
  EXPECT_EQ(get("/api/v1/licenses/lic_1", Json(accepted.body).str("/data/token")).status, 200u);
  // Once only.
  expect_error(post("/api/v1/auth/invitations/accept",
                    R"({"token":")" + invite + R"(","password":"another password"})"),
               404, "NOT_FOUND");
  EXPECT_EQ(login("new@example.com", "a new password").status, 200u);
  const auto users = get("/api/v1/portal/users", owner);
  ASSERT_EQ(users.status, 200u) << users.body;
  EXPECT_EQ(Json(users.body).num("/pagination/total"), 2);
  // An API key is no user: it cannot invite. Another account's users are not listed.
  expect_error(post("/api/v1/portal/users", R"({"email":"x@example.com"})", "Bearer to_live_acme"),
               403, "INVALID_TOKEN");
  create_user("acc_2", "other@example.com");
  EXPECT_EQ(Json(get("/api/v1/portal/users", token_of("other@example.com")).body)
                .num("/pagination/total"),
            1);
  // An invitation runs out after a week.
  const auto late =
      post("/api/v1/portal/users", R"({"email":"late@example.com"})", "Bearer " + owner);
  clock_.advance_ms(8 * 86'400'000LL);
  expect_error(post("/api/v1/auth/invitations/accept",
                    R"({"token":")" + Json(late.body).str("/data/inviteToken") +
                        R"(","password":"a new password"})"),
               404, "NOT_FOUND");
}

TEST_F(AuthRoutes, BadInputIsRefusedAndStoresNothing) {
  const std::string admin = std::string("Bearer ") + kAdmin;
  const std::vector<std::pair<std::string, std::string>> bad_users = {
      {"{}", "MISSING_FIELDS"},
      {R"({"email":"a@example.com"})", "MISSING_FIELDS"},
      {R"({"email":"a@example.com","password":"short"})", "VALIDATION_ERROR"},
      {R"({"email":"a@example.com","password":")" + std::string(257, 'p') + R"("})",
       "VALIDATION_ERROR"},
      {R"({"email":"not-an-email","password":"long enough pw"})", "VALIDATION_ERROR"},
      {R"({"email":"<script>alert(1)</script>@example.com","password":"long enough pw"})",
       "VALIDATION_ERROR"},
      {R"({"email":")" + std::string(300, 'a') + R"(@example.com","password":"long enough pw"})",
       "VALIDATION_ERROR"},
      {R"({"email":"a@example.com","password":"long enough pw","role":"admin"})",
       "VALIDATION_ERROR"},
      {R"({"email":7,"password":"long enough pw"})", "VALIDATION_ERROR"},
      {R"({"email":"a@example.com","password":null})", "VALIDATION_ERROR"},
      {R"({"email":"a@example.com",)", "VALIDATION_ERROR"},
      {"[1]", "VALIDATION_ERROR"},
  };
  for (const auto& [body, code] : bad_users) {
    const auto r = post("/admin/v1/accounts/acc_1/users", body, admin);
    EXPECT_EQ(r.status, 400u) << body << " " << r.body;
    EXPECT_EQ(Json(r.body).str("/code"), code) << body << " " << r.body;
  }
  EXPECT_EQ(users_of("acc_1"), 0u);
  expect_error(post("/admin/v1/accounts/acc_9/users",
                    R"({"email":"a@example.com","password":"long enough pw"})", admin),
               404, "NOT_FOUND");
  expect_error(post("/admin/v1/accounts/acc_1/users",
                    R"({"email":"a@example.com","password":"long enough pw"})"),
               401, "AUTH_REQUIRED");
  expect_error(post("/admin/v1/accounts/acc_1/users",
                    R"({"email":"a@example.com","password":"long enough pw"})", "Bearer wrong"),
               403, "INVALID_TOKEN");
  EXPECT_EQ(users_of("acc_1"), 0u);
  EXPECT_EQ(users_of("acc_9"), 0u);
  create_user("acc_1", "a@example.com");
  expect_error(post("/admin/v1/accounts/acc_2/users",
                    R"({"email":"A@EXAMPLE.COM","password":"long enough pw"})", admin),
               409, "CONFLICT");
  EXPECT_EQ(users_of("acc_2"), 0u);
  for (const std::string& body :
       {std::string("{"), std::string(R"({"email":"a@example.com"})"),
        std::string(R"({"email":"a@example.com","password":7})"),
        std::string(R"({"email":"a@example.com","password":"x","extra":1})")}) {
    const auto r = call({net::http::verb::post, "/api/v1/auth/login", {}, body});
    EXPECT_EQ(r.status, 400u) << body << " " << r.body;
    EXPECT_EQ(r.header("Set-Cookie"), "<none>");
  }
  // What a cross-site form can send — no body, text/plain, a form encoding — is not JSON: 415,
  // and no session.
  create_user("acc_1", "form@example.com");
  for (const char* type : {"", "text/plain", "application/x-www-form-urlencoded"}) {
    Call c{net::http::verb::post,
           "/api/v1/auth/login",
           {},
           *type ? R"({"email":"form@example.com","password":"correct horse battery"})" : ""};
    c.content_type = type;
    const auto r = call(c);
    EXPECT_EQ(r.status, 415u) << type << " " << r.body;
    EXPECT_EQ(r.header("Set-Cookie"), "<none>");
  }
  expect_error(post("/api/v1/auth/invitations/accept", R"({"token":"inv_x"})"), 400,
               "MISSING_FIELDS");
  expect_error(
      post("/api/v1/auth/invitations/accept", R"({"token":"inv_x","password":"long enough pw"})"),
      404, "NOT_FOUND");
}

TEST_F(AuthRoutes, ThePortalServesAnAccountsRoutesForItsTokenAndKeyAlone) {
  create_user("acc_1", "owner@example.com");
  const std::string token = token_of("owner@example.com");
  ASSERT_EQ(post("/admin/v1/accounts/acc_2/api-keys", "{}", std::string("Bearer ") + kAdmin).status,
            201u);
  EXPECT_EQ(get("/api/v1/portal/licenses/lic_1", token).status, 200u);
  EXPECT_EQ(get("/api/v1/portal/account", "to_live_acme").status, 200u);  // an API key too
  // Account B's license does not exist for A's token, read or written.
  expect_error(get("/api/v1/portal/licenses/lic_2", token), 404, "NOT_FOUND");
  expect_error(post("/api/v1/portal/licenses/lic_2/suspend", "", "Bearer " + token), 404,
               "NOT_FOUND");
  EXPECT_EQ(store_->license_by_id("lic_2").value()->status, core::LicenseStatus::kActive);
  const auto suspended = post("/api/v1/portal/licenses/lic_1/suspend", "", "Bearer " + token);
  EXPECT_EQ(suspended.status, 200u) << suspended.body;
  EXPECT_EQ(store_->license_by_id("lic_1").value()->status, core::LicenseStatus::kSuspended);
  // The account's keys: A's one, not B's.
  const auto keys = get("/api/v1/portal/api-keys", token);
  ASSERT_EQ(keys.status, 200u) << keys.body;
  EXPECT_EQ(Json(keys.body).size("/data"), 1u) << keys.body;
  EXPECT_EQ(Json(keys.body).str("/data/0/accountId"), "acc_1");
  EXPECT_EQ(keys.body.find("\"key\""), std::string::npos) << "a listed key shows its secret";
  expect_error(call({net::http::verb::get, "/api/v1/portal/licenses"}), 401, "AUTH_REQUIRED");
  std::string forged = token;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  expect_error(get("/api/v1/portal/licenses", forged), 403, "INVALID_TOKEN");
}

TEST_F(AuthRoutes, TheDashboardsPagesCarryTheirPolicyAndNothingElseIsServed) {
  const auto root = call({net::http::verb::get, "/"});
  EXPECT_EQ(root.status, 302u);
  EXPECT_EQ(root.header("Location"), "/ui/");
  const auto page = call({net::http::verb::get, "/ui/"});
  ASSERT_EQ(page.status, 200u);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("app.js"), std::string::npos);
  const std::string policy = page.header("Content-Security-Policy");
  for (const char* part : {"default-src 'none'", "script-src 'self';", "frame-ancestors 'none'"}) {
    EXPECT_NE(policy.find(part), std::string::npos) << part << " in " << policy;
  }
  EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
  const auto script = call({net::http::verb::get, "/ui/app.js"});
  EXPECT_EQ(script.status, 200u);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(script.header("Content-Security-Policy"), "<none>");
  for (const std::string& name :
       std::vector<std::string>{"..%2f..%2fetc%2fpasswd", "..", ".env", "APP.JS", "app.js.map",
                                "app.exe", "index.html%00.js", std::string(3000, 'a') + ".js"}) {
    const auto r = call({net::http::verb::get, "/ui/" + name});
    EXPECT_EQ(r.status, 404u) << name;
    EXPECT_EQ(Json(r.body).str("/code"), "NOT_FOUND") << name;
  }
}

// (Beside the portal's routes: deleting a product from the dashboard meets this first.)
TEST_F(AuthRoutes, AProductIsDeletedOnlyOnceItHasNoLicenses) {
  const auto del = [&](const std::string& target) {
    return call({net::http::verb::delete_, target, "Bearer to_live_acme"});
  };
  const auto made = post("/api/v1/licenses", R"({"product_id":"prod_1","type":"perpetual"})",
                         "Bearer to_live_acme");
  ASSERT_EQ(made.status, 201u) << made.body;
  expect_error(del("/api/v1/portal/products/prod_1"), 409, "CONFLICT");
  EXPECT_TRUE(store_->records().product("prod_1").value().has_value());
  EXPECT_EQ(del("/api/v1/licenses/" + Json(made.body).str("/license/id")).status, 200u);
  EXPECT_EQ(del("/api/v1/portal/products/prod_1").status, 200u);
  EXPECT_FALSE(store_->records().product("prod_1").value().has_value());
}

TEST_F(AuthRoutes, ACustomerSeesTheirLicenseByItsKeyAndNothingMore) {
  const auto made =
      post("/api/v1/licenses",
           R"({"product_id":"prod_1","type":"perpetual","email":"buyer@example.com"})",
           "Bearer to_live_acme");
  ASSERT_EQ(made.status, 201u) << made.body;
  const auto seen = post("/api/v1/customer/license",
                         R"({"license_key":")" + Json(made.body).str("/license/key") + R"("})");
  ASSERT_EQ(seen.status, 200u) << seen.body;
  const Json j(seen.body);
  EXPECT_EQ(j.str("/license/status"), "active");
  EXPECT_EQ(j.str("/product/name"), "MyProduct");
  EXPECT_TRUE(j.has("/branding/productName"));
  for (const char* hidden : {"buyer@example.com", "acc_1", "metadata", "\"key\""}) {
    EXPECT_EQ(seen.body.find(hidden), std::string::npos) << hidden << " in " << seen.body;
  }
  EXPECT_EQ(seen.header("Cache-Control"), "no-store");
  // No relay configured here: no email was queued, so its state is 404 — as is another
  // account's license's, and a license that does not exist.
  const std::string id = Json(made.body).str("/license/id");
  expect_error(get("/api/v1/licenses/" + id + "/email", "to_live_acme"), 404, "NOT_FOUND");
  expect_error(get("/api/v1/portal/licenses/lic_2/email", "to_live_acme"), 404, "NOT_FOUND");
  expect_error(get("/api/v1/licenses/lic_none/email", "to_live_acme"), 404, "NOT_FOUND");
  expect_error(call({net::http::verb::get, "/api/v1/licenses/" + id + "/email"}), 401,
               "AUTH_REQUIRED");
  expect_error(post("/api/v1/customer/license", R"({"license_key":"NOPE-NOPE"})"), 404,
               "NOT_FOUND");
  for (const std::string& bad : std::vector<std::string>{
           "{", "[]", "{}", R"({"license_key":""})", R"({"license_key":7})",
           R"({"license_key":"A","x":1})", R"({"license_key":")" + std::string(200, 'A') + R"("})",
           R"({"license_key":"A\u0000B"})"}) {
    const auto r = post("/api/v1/customer/license", bad);
    EXPECT_EQ(r.status, 400u) << bad << " " << r.body;
  }
}

TEST(PasswordHash, VerifiesItsOwnPasswordOnlyAndRefusesDamagedHashes) {
  const std::string h = hash_password("correct horse battery", 10);
  EXPECT_TRUE(h.starts_with("scrypt$10$8$1$"));
  EXPECT_TRUE(password_matches("correct horse battery", h));
  EXPECT_FALSE(password_matches("correct horse batterY", h));
  EXPECT_FALSE(password_matches("", h));
  EXPECT_NE(hash_password("correct horse battery", 10), h);  // a salt of its own
  for (const std::string& bad :
       {std::string(), std::string("scrypt$10$8$1$"), h.substr(0, h.rfind('$')),
        std::string("bcrypt") + h.substr(6), std::string("scrypt$40$8$1$AAAA$AAAA"),
        std::string("scrypt$10$8$1$!!!$AAAA")}) {
    EXPECT_FALSE(password_matches("correct horse battery", bad)) << bad;
  }
}

}  // namespace
}  // namespace le::primary
