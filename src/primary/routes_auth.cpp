// Dashboard sign-in (sessions.h; spec "JWT Tokens"):
//
//   POST /api/v1/auth/login                {email, password} → {data: {token, expiresAt, user}}
//                                          and the session cookie
//   POST /api/v1/auth/refresh              the session cookie → a fresh token
//   POST /api/v1/auth/logout               a token or the cookie → the session is revoked
//   GET  /api/v1/auth/me                   a token → its user
//   POST /api/v1/auth/invitations/accept   {token, password} → signed in, like login
//   GET  /api/v1/portal/users              a portal token → the account's users
//   POST /api/v1/portal/users              a portal token, {email} → the invited user and the
//                                          invitation token (shown once)
//   POST /admin/v1/accounts/{id}/users     operator, {email, password} → the account's user
//   POST /admin/v1/users                   operator, {email, password} → an operator user
//   POST /admin/v1/auth/secrets/rotate     operator → a new JWT secret (the old one verifies
//                                          for a token's lifetime)
//
// Wrong email and wrong password are one answer, 401 INVALID_CREDENTIALS. Sign-in is limited per
// email and per client address (429 RATE_LIMITED with Retry-After). The cookie routes (refresh,
// logout by cookie) require an X-Requested-With header, which no cross-site form or image can
// send and no cross-site script may without a CORS preflight this server never grants: with
// SameSite=Strict that is two guards against cross-site requests.
#include <cctype>

#include "primary/handlers.h"
#include "primary/sessions.h"

namespace le::primary {
namespace {

using core::ApiError;
using core::JsonWriter;

constexpr std::string_view kCookie = "le_session";
constexpr std::size_t kMinPasswordBytes = 10;
constexpr std::size_t kMaxPasswordBytes = 256;

Sessions& sessions_of(const RouteContext& ctx) {
  if (ctx.sessions == nullptr) refuse({503, "SERVICE_UNAVAILABLE", "Sign-in is not available"});
  return *ctx.sessions;
}

std::string read_password(dom::element v, std::string_view name) {
  std::string_view s;
  if (v.get_string().get(s)) bad_field(name, "must be a string");
  if (s.size() < kMinPasswordBytes) bad_field(name, "must be at least 10 characters");
  if (s.size() > kMaxPasswordBytes) bad_field(name, "is too long");
  return std::string(s);
}

void require_json(const net::Request& req);

// {email, password} (both required), or {email} alone when `password` is false.
struct Credentials {
  std::string email, password;
};
Credentials read_credentials(const net::Request& req, bool password, bool check_password) {
  require_json(req);
  Credentials c;
  bool have_email = false, have_password = false;
  for (auto field : body_object(req)) {
    if (field.key == "email") {
      c.email = read_email(field.value, "email");
      for (char& ch : c.email) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      have_email = true;
    } else if (field.key == "password" && password) {
      // Sign-in reads any string (a policy check would tell which accounts exist); new
      // passwords meet the policy.
      if (check_password) {
        c.password = read_password(field.value, "password");
      } else {
        c.password = read_str(field.value, "password", kMaxPasswordBytes);
      }
      have_password = true;
    } else {
      unknown_field(field.key);
    }
  }
  if (!have_email || (password && !have_password)) {
    refuse({400, "MISSING_FIELDS",
            password ? "Required fields: email, password" : "Required fields: email"});
  }
  return c;
}

// A body that a cross-site form could send (text/plain, form encodings) is refused: a page of
// another site cannot send application/json without a CORS preflight this server never grants.
void require_json(const net::Request& req) {
  auto type = req.header(net::http::field::content_type);
  if (!type || !type->starts_with("application/json")) {
    refuse(ApiError::unsupported_media_type());
  }
}

void write_user(JsonWriter& w, const UserRecord& u) {
  w.begin_object().field("id", u.id).field("email", u.email);
  if (u.account_id.empty()) {
    w.key("accountId").null();
  } else {
    w.field("accountId", u.account_id);
  }
  w.field("scope", core::to_string(u.scope()));
  w.field("status", u.password.empty() ? "invited" : "active");
  w.field("createdAt", u.created_at).end_object();
}

void set_cookie(net::Response& res, std::string_view value, std::int64_t max_age) {
  res.add_header("Set-Cookie", std::string(kCookie) + "=" + std::string(value) +
                                   "; Path=/api/v1/auth; Max-Age=" + std::to_string(max_age) +
                                   "; HttpOnly; Secure; SameSite=Strict");
}

void reply_sign_in(net::Response& res, const SignIn& s, std::int64_t now) {
  set_cookie(res, s.cookie, s.session_expires_at - now);
  res.add_header("Cache-Control", "no-store");
  reply(res, 200, "data", [&](JsonWriter& w) {
    w.begin_object().field("token", s.token).field("tokenType", "Bearer");
    w.field("expiresAt", s.expires_at).key("user");
    write_user(w, s.user);
    w.end_object();
  });
}

// The session cookie's value, from the Cookie header; empty when there is none.
std::string_view session_cookie(const net::Request& req) {
  auto h = req.header(net::http::field::cookie);
  if (!h) return {};
  for (std::string_view rest = *h; !rest.empty();) {
    const auto semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > kCookie.size() && pair.starts_with(kCookie) && pair[kCookie.size()] == '=') {
      return pair.substr(kCookie.size() + 1);
    }
  }
  return {};
}

void check_same_site(const net::Request& req) {
  if (!req.header("X-Requested-With")) {
    refuse({403, "INVALID_TOKEN", "A cookie request must carry X-Requested-With"});
  }
}

// Sign-in attempts: per email (or invitation) and per client address, each over a sliding
// minute.
void limit_login(const RouteContext& ctx, const net::Request& req, std::string_view email,
                 net::Response& res) {
  if (ctx.login_limiter == nullptr) return;
  const std::int64_t now_ms = ctx.ledger.clock().now_ms();
  const auto digest = core::sha256(email);
  const auto by_email =
      ctx.login_limiter->check(ratelimit::limiter_key('e', digest.data(), digest.size()),
                               ctx.options.login_per_email, now_ms);
  const auto peer = req.peer.to_string();
  const auto by_ip = ctx.login_limiter->check(ratelimit::limiter_key('l', peer.data(), peer.size()),
                                              ctx.options.login_per_ip, now_ms);
  for (const auto& d : {by_email, by_ip}) {
    if (d.allowed) continue;
    res.add_header("Retry-After", std::to_string(d.retry_after_s));
    refuse({429, "RATE_LIMITED",
            "Too many sign-in attempts; retry in " + std::to_string(d.retry_after_s) + " s"});
  }
}

}  // namespace

void add_auth_routes(net::Router& router, const RouteContext& ctx) {
  using V = net::http::verb;
  auto now_s = [ctx] { return ctx.ledger.clock().now_ms() / 1000; };

  router.add(V::post, "/api/v1/auth/login",
             guarded([ctx, now_s](const net::Request& req, net::Response& res) {
               Sessions& sessions = sessions_of(ctx);
               const auto c = read_credentials(req, true, false);
               limit_login(ctx, req, c.email, res);
               auto s = must(sessions.sign_in(c.email, c.password, now_s()));
               if (!s) refuse({401, "INVALID_CREDENTIALS", "Invalid email or password"});
               reply_sign_in(res, *s, now_s());
             }));

  router.add(V::post, "/api/v1/auth/refresh",
             guarded([ctx, now_s](const net::Request& req, net::Response& res) {
               Sessions& sessions = sessions_of(ctx);
               check_same_site(req);
               const auto cookie = session_cookie(req);
               if (cookie.empty()) refuse(ApiError::auth_required());
               auto s = must(sessions.refresh(cookie, now_s()));
               if (!s) {
                 set_cookie(res, "", 0);
                 refuse({403, "INVALID_TOKEN", "The session is over; sign in again"});
               }
               reply_sign_in(res, *s, now_s());
             }));

  router.add(V::post, "/api/v1/auth/logout",
             guarded([ctx, now_s](const net::Request& req, net::Response& res) {
               Sessions& sessions = sessions_of(ctx);
               std::string session;
               if (auto bearer = bearer_token(req); !bearer.empty()) {
                 session = verify_user(ctx, bearer).claims.session;
               } else {
                 check_same_site(req);
                 const auto cookie = session_cookie(req);
                 if (cookie.empty()) refuse(ApiError::auth_required());
                 if (!must(sessions.refresh(cookie, now_s()))) {
                   refuse({403, "INVALID_TOKEN", "The session is over"});
                 }
                 session.assign(cookie.substr(0, cookie.find('.')));
               }
               must(sessions.revoke(session));
               set_cookie(res, "", 0);
               reply(res, 200, "data",
                     [](JsonWriter& w) { w.begin_object().field("signedOut", true).end_object(); });
             }));

  router.add(V::get, "/api/v1/auth/me", guarded([ctx](const net::Request& req, net::Response& res) {
               const auto v = verify_user(ctx, bearer_token(req));
               reply(res, 200, "data", [&](JsonWriter& w) { write_user(w, v.user); });
             }));

  router.add(V::post, "/api/v1/auth/invitations/accept",
             guarded([ctx, now_s](const net::Request& req, net::Response& res) {
               Sessions& sessions = sessions_of(ctx);
               require_json(req);
               std::string token, password;
               bool have_token = false, have_password = false;
               for (auto field : body_object(req)) {
                 if (field.key == "token") {
                   token = read_str(field.value, "token", 64, false);
                   have_token = true;
                 } else if (field.key == "password") {
                   password = read_password(field.value, "password");
                   have_password = true;
                 } else {
                   unknown_field(field.key);
                 }
               }
               if (!have_token || !have_password) {
                 refuse({400, "MISSING_FIELDS", "Required fields: token, password"});
               }
               limit_login(ctx, req, token, res);  // per invitation and per address
               auto user = must(sessions.accept_invite(token, password, now_s()));
               if (!user) refuse({404, "NOT_FOUND", "Invitation not found or expired"});
               auto s = must(sessions.sign_in(user->email, password, now_s()));
               if (!s) refuse({401, "INVALID_CREDENTIALS", "Invalid email or password"});
               reply_sign_in(res, *s, now_s());
             }));

  router.add(
      V::get, "/api/v1/portal/users", guarded([ctx](const net::Request& req, net::Response& res) {
        const auto key = authenticate(ctx, req);
        const auto users = must(sessions_of(ctx).users_of(key.account_id));
        const auto page = page_request(req);
        std::vector<UserRecord> items;
        for (std::size_t i = page.offset; i < users.size() && items.size() < page.limit; ++i) {
          items.push_back(users[i]);
        }
        reply_page(res, page, users.size(), items, write_user);
      }));

  router.add(V::post, "/api/v1/portal/users",
             guarded([ctx, now_s](const net::Request& req, net::Response& res) {
               const auto v = verify_user(ctx, bearer_token(req));
               if (v.claims.scope != core::JwtScope::kPortal) {
                 refuse({403, "INVALID_TOKEN", "Only an account's user invites to it"});
               }
               const auto c = read_credentials(req, false, false);
               auto invited = must(sessions_of(ctx).invite(v.user, c.email, now_s()));
               if (!invited) refuse({409, "CONFLICT", "A user with this email exists"});
               reply(res, 201, "data", [&](JsonWriter& w) {
                 w.begin_object().key("user");
                 write_user(w, invited->user);
                 w.field("inviteToken", invited->token);
                 w.field("inviteExpiresAt", invited->user.invite_expires_at).end_object();
               });
             }));

  auto create_user = [ctx, now_s](const net::Request& req, net::Response& res,
                                  std::string_view account_id) {
    const auto c = read_credentials(req, true, true);
    auto user = must(sessions_of(ctx).create_user(account_id, c.email, c.password, now_s()));
    if (!user) refuse({409, "CONFLICT", "A user with this email exists"});
    reply(res, 201, "data", [&](JsonWriter& w) { write_user(w, *user); });
  };
  router.add(V::post, "/admin/v1/accounts/{}/users",
             guarded([ctx, create_user](const net::Request& req, net::Response& res) {
               check_admin(ctx, req);
               const std::string_view id = req.params[0];
               if (!must(ctx.ledger.store().records().account(id))) {
                 refuse(ApiError::not_found("Account not found"));
               }
               create_user(req, res, id);
             }));
  router.add(V::post, "/admin/v1/users",
             guarded([ctx, create_user](const net::Request& req, net::Response& res) {
               check_admin(ctx, req);
               create_user(req, res, "");
             }));
  router.add(V::post, "/admin/v1/auth/secrets/rotate",
             guarded([ctx, now_s](const net::Request& req, net::Response& res) {
               check_admin(ctx, req);
               const auto kid = must(sessions_of(ctx).rotate_secret(now_s()));
               reply(res, 200, "data",
                     [&](JsonWriter& w) { w.begin_object().field("kid", kid).end_object(); });
             }));
}

}  // namespace le::primary
