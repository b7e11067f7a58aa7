#include "primary/management_api.h"

#include <algorithm>
#include <cctype>

#include "api/openapi.h"
#include "core/api_version.h"
#include "core/digest.h"
#include "core/json_writer.h"
#include "core/validate.h"
#include "primary/handlers.h"
#include "store/keys.h"

namespace le::primary {

using core::ApiError;

void answer(net::Response& res, const ApiError& e) {
  res.status = static_cast<unsigned>(e.http_status);
  core::write_api_error(res.body, e);
}

net::Handler guarded(net::Handler body) {
  return [body = std::move(body)](const net::Request& req, net::Response& res) {
    try {
      body(req, res);
    } catch (const Refusal& r) {
      answer(res, r.error());
    }
  };
}

std::string_view bearer_token(const net::Request& req) {
  auto h = req.header(net::http::field::authorization);
  if (!h || h->size() < 7) return {};
  for (std::size_t i = 0; i < 7; ++i) {
    if (std::tolower(static_cast<unsigned char>((*h)[i])) != "bearer "[i]) return {};
  }
  std::string_view t = h->substr(7);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

Sessions::Verified verify_user(const RouteContext& ctx, std::string_view token) {
  if (token.empty()) refuse(ApiError::auth_required());
  if (!core::looks_like_jwt(token)) refuse({403, "INVALID_TOKEN", "JWT token is malformed"});
  if (ctx.sessions == nullptr) refuse({403, "INVALID_TOKEN", "JWT tokens are not accepted"});
  auto v = must(ctx.sessions->verify(token, ctx.ledger.clock().now_ms() / 1000));
  if (auto* e = std::get_if<core::JwtError>(&v)) {
    refuse({403, "INVALID_TOKEN", std::string(core::to_string(*e))});
  }
  return std::move(std::get<Sessions::Verified>(v));
}

core::ApiKeyRecord authenticate(const RouteContext& ctx, const net::Request& req) {
  if (const auto token = bearer_token(req); core::looks_like_jwt(token)) {
    auto v = verify_user(ctx, token);
    if (v.claims.scope != core::JwtScope::kPortal) {
      refuse({403, "INVALID_TOKEN", "An admin token does not act for an account"});
    }
    core::ApiKeyRecord as_key;
    as_key.id = v.user.id;
    as_key.account_id = v.user.account_id;
    as_key.mode = core::Mode::kLive;
    return as_key;
  }
  auto cred = core::classify_authorization(req.header(net::http::field::authorization));
  if (std::holds_alternative<core::NoCredential>(cred)) refuse(ApiError::auth_required());
  if (auto* e = std::get_if<ApiError>(&cred)) refuse(std::move(*e));
  const auto& bearer = std::get<core::BearerKey>(cred);
  auto found = must(ctx.ledger.store().records().api_key(core::sha256(bearer.key)));
  auto checked = core::check_api_key(bearer, found ? &*found : nullptr);
  if (auto* e = std::get_if<ApiError>(&checked)) refuse(std::move(*e));
  return std::move(*found);
}

void check_admin(const RouteContext& ctx, const net::Request& req) {
  if (const auto token = bearer_token(req); core::looks_like_jwt(token)) {
    if (verify_user(ctx, token).claims.scope != core::JwtScope::kAdmin) {
      refuse({403, "INVALID_TOKEN", "This route needs an admin token"});
    }
    return;
  }
  if (ctx.options.admin_token.empty())
    refuse({403, "INVALID_TOKEN", "Operator endpoints are disabled"});
  auto h = req.header(net::http::field::authorization);
  if (!h || h->size() < 7 || h->substr(0, 7) != "Bearer ") refuse(ApiError::auth_required());
  const auto given = core::sha256(h->substr(7));
  const auto want = core::sha256(ctx.options.admin_token);
  if (!core::constant_time_equal(store::digest_key(given), store::digest_key(want))) {
    refuse({403, "INVALID_TOKEN", "Operator token is invalid"});
  }
}

ManagementApi::ManagementApi(Ledger& ledger, ManagementOptions options)
    : ledger_(ledger),
      options_(std::move(options)),
      // API keys and client addresses of one primary: 2^16 slots (1 MiB) hold them.
      limiter_(ratelimit::SlidingWindowLimiter::Options{16, 60'000, 16}),
      login_limiter_(ratelimit::SlidingWindowLimiter::Options{12, 60'000, 16}) {}

bool ManagementApi::admit(const net::Request& req, net::Response& res) {
  if (!options_.rate_limit || req.path.starts_with("/admin/") || req.path == "/healthz" ||
      req.path == "/readyz") {
    return true;
  }
  // The caller's plan, when it names a valid API key; anything else counts against its address
  // (a bad key among them: guessing keys is limited too). The route authenticates again.
  std::uint64_t key = 0;
  std::uint32_t limit = options_.public_per_ip;
  const auto cred = core::classify_authorization(req.header(net::http::field::authorization));
  if (const auto* bearer = std::get_if<core::BearerKey>(&cred)) {
    const auto digest = core::sha256(bearer->key);
    auto found = ledger_.store().records().api_key(digest);
    if (found && *found &&
        std::holds_alternative<const core::ApiKeyRecord*>(core::check_api_key(*bearer, &**found))) {
      if (auto account = ledger_.store().records().account((*found)->account_id);
          account && *account) {
        key = ratelimit::limiter_key('k', digest.data(), digest.size());
        limit = core::requests_per_minute((*account)->plan);
      }
    }
  }
  if (key == 0) {
    if (req.peer.is_v4()) {
      const auto b = req.peer.to_v4().to_bytes();
      key = ratelimit::limiter_key('i', b.data(), b.size());
    } else {
      const auto b = req.peer.to_v6().to_bytes();
      key = ratelimit::limiter_key('i', b.data(), b.size());
    }
  }
  const auto d = limiter_.check(key, limit, ledger_.clock().now_ms());
  res.add_header("X-RateLimit-Limit", std::to_string(d.limit));
  res.add_header("X-RateLimit-Remaining", std::to_string(d.remaining));
  res.add_header("X-RateLimit-Reset", std::to_string(d.reset_unix_s));
  if (d.allowed) return true;
  res.status = 429;
  core::write_rate_limited(res.body, d.retry_after_s);
  res.add_header("Retry-After", std::to_string(d.retry_after_s));
  return false;
}

void mark_deprecated(net::Response& res, std::string_view method, std::string_view path,
                     std::string_view parameter) {
  for (const auto& d : core::kDeprecations) {
    if (d.method != method || d.path != path || d.parameter != parameter) continue;
    res.add_header("Deprecation", core::deprecation_header(d));
    res.add_header("Sunset", core::sunset_header(d));
    res.add_header("Link", core::deprecation_link_header(d));
  }
}

void ManagementApi::write_protocol_error(const net::ErrorContext&, net::ProtocolError e,
                                         net::Response& res) {
  answer(res, e == net::ProtocolError::kBadApiVersion
                  ? core::bad_api_version()
                  : ApiError::for_protocol_status(net::status_of(e)));
}

void ManagementApi::readyz(net::Response& res) const {
  const bool ready = ready_.load(std::memory_order_acquire);
  res.status = ready ? 200 : 503;
  res.body.clear();
  core::JsonWriter w(res.body);
  w.begin_object().field("status", ready ? "ready" : "not_ready");
  w.field("outboxSeq", ledger_.store().outbox_seq());
  if (publisher_ != nullptr) {
    w.field("publishedSeq", publisher_->outbox_seq.load());
    w.field("natsConnected", publisher_->connected.load());
  }
  if (edge_writes_ != nullptr) w.field("edgeWrites", edge_writes_->load());
  w.end_object();
}

void ManagementApi::register_routes(net::Router& router) {
  using V = net::http::verb;
  router.set_error_writer(&ManagementApi::write_protocol_error);
  router.set_versioning(
      {core::kApiVersionHeader, core::kCurrentApiVersion, &core::select_api_version});
  router.set_admission(
      [this](const net::Request& req, net::Response& res) { return admit(req, res); });
  router.add(V::get, "/healthz",
             [](const net::Request&, net::Response& res) { res.body = R"({"status":"ok"})"; });
  router.add(V::get, "/readyz", [this](const net::Request&, net::Response& res) { readyz(res); });
  router.add(V::get, "/api/v1/openapi.json", [](const net::Request&, net::Response& res) {
    res.body = api::openapi_json(api::Process::kPrimary);
  });
  const RouteContext ctx{ledger_,    options_,  signing_keys_,  usage_,
                         snapshots_, sessions_, &login_limiter_};
  add_account_routes(router, ctx);
  add_product_routes(router, ctx);
  add_license_routes(router, ctx);
  add_blacklist_routes(router, ctx);
  add_activation_routes(router, ctx);
  add_event_routes(router, ctx);
  add_webhook_routes(router, ctx);
  add_usage_routes(router, ctx);
  add_snapshot_routes(router, ctx);
  add_auth_routes(router, ctx);
  if (signing_keys_ != nullptr) add_signing_key_routes(router, ctx);
  // The portal: an account's routes, for its dashboard users' tokens and its API keys alike.
  router.mirror("/api/v1/", "/api/v1/portal/", [](std::string_view path) {
    static constexpr std::string_view kAccountRoutes[] = {"licenses",  "products", "blacklist",
                                                          "webhooks",  "events",   "analytics",
                                                          "auth-logs", "account",  "api-keys"};
    const auto rest = path.substr(std::string_view("/api/v1/").size());
    const auto first = rest.substr(0, rest.find('/'));
    return std::find(std::begin(kAccountRoutes), std::end(kAccountRoutes), first) !=
           std::end(kAccountRoutes);
  });
  add_ui_routes(router, ctx);
  add_customer_routes(router, ctx);
}

}  // namespace le::primary
