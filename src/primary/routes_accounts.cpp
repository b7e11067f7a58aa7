// Accounts and API keys: the operator's /admin/v1 endpoints (create and update accounts, issue
// and revoke any account's keys) and an account's own (GET /api/v1/account, PATCH
// /api/v1/account/settings, key rotation under /api/v1/api-keys).
#include "primary/handlers.h"

namespace le::primary {
namespace {

using core::ApiError;
using core::JsonWriter;

// Applies an account field; false when the name is not one (settings: the TKI options only).
bool account_field(core::AccountRecord& a, std::string_view k, dom::element v, bool settings_only) {
  if (k == "plan" && !settings_only) {
    a.plan =
        read_enum(v, k, core::parse_plan, "builder, starter, professional, business, enterprise");
  } else if (k == "tki_require_hwid") {
    a.tki_require_hwid = read_bool(v, k);
  } else if (k == "tki_rate_limit") {
    a.tki_rate_limit = read_bool(v, k);
  } else {
    return false;
  }
  return true;
}

// The account's fields from `obj`, applied to the stored record inside the Tx.
Edit<core::AccountRecord> account_edit(dom::object obj, bool settings_only) {
  return [obj, settings_only](core::AccountRecord& a) {
    for (auto field : obj) {
      if (!account_field(a, field.key, field.value, settings_only)) unknown_field(field.key);
    }
  };
}

core::Mode read_mode(dom::object obj, core::Mode dflt) {
  core::Mode mode = dflt;
  for (auto field : obj) {
    if (field.key != "mode") unknown_field(field.key);
    mode = read_enum(field.value, "mode", core::parse_mode, "live, test");
  }
  return mode;
}

void reply_account(net::Response& res, unsigned status, const core::AccountRecord& a) {
  reply(res, status, "account", [&](JsonWriter& w) { write_account(w, a); });
}

void reply_key(net::Response& res, unsigned status, const core::ApiKeyRecord& k,
               std::string_view plaintext = {}) {
  reply(res, status, "apiKey", [&](JsonWriter& w) { write_api_key(w, k, plaintext); });
}

}  // namespace

void add_account_routes(net::Router& router, const RouteContext& ctx) {
  using V = net::http::verb;

  // ---- operator endpoints
  router.add(V::post, "/admin/v1/accounts",
             guarded([ctx](const net::Request& req, net::Response& res) {
               check_admin(ctx, req);
               core::AccountRecord a;
               bool has_plan = false;
               for (auto field : body_object(req)) {
                 const std::string_view k = field.key;
                 if (k == "id") {
                   a.id = read_id(field.value, k);
                 } else if (account_field(a, k, field.value, false)) {
                   has_plan |= k == "plan";
                 } else {
                   unknown_field(k);
                 }
               }
               if (!has_plan) refuse(ApiError::missing_fields("Missing required field: plan"));
               reply_account(res, 201, ctx.ledger.create_account(std::move(a)));
             }));
  router.add(V::patch, "/admin/v1/accounts/{}",
             guarded([ctx](const net::Request& req, net::Response& res) {
               check_admin(ctx, req);
               const auto obj = body_object(req);
               reply_account(res, 200,
                             ctx.ledger.update_account(req.params[0], account_edit(obj, false)));
             }));
  router.add(V::post, "/admin/v1/accounts/{}/api-keys",
             guarded([ctx](const net::Request& req, net::Response& res) {
               check_admin(ctx, req);
               const core::Mode mode = read_mode(body_object(req), core::Mode::kLive);
               auto issued = ctx.ledger.issue_api_key(req.params[0], mode);
               reply_key(res, 201, issued.record, issued.plaintext);
             }));
  router.add(V::post, "/admin/v1/api-keys/{}/revoke",
             guarded([ctx](const net::Request& req, net::Response& res) {
               check_admin(ctx, req);
               reply_key(res, 200, ctx.ledger.revoke_api_key(req.params[0], std::nullopt));
             }));

  // ---- the caller's own account
  router.add(V::get, "/api/v1/account", guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               auto a = must(ctx.ledger.store().records().account(key.account_id));
               if (!a) refuse(ApiError::not_found("Account not found"));
               reply_account(res, 200, *a);
             }));
  router.add(V::patch, "/api/v1/account/settings",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               const auto obj = body_object(req);
               reply_account(res, 200,
                             ctx.ledger.update_account(key.account_id, account_edit(obj, true)));
             }));
  // Rotation: a second key of the caller's account (mode as given, default the caller's), valid
  // at once; the old one is revoked when clients have switched.
  router.add(
      V::post, "/api/v1/api-keys", guarded([ctx](const net::Request& req, net::Response& res) {
        const auto key = authenticate(ctx, req);
        const core::Mode mode = req.body.empty() ? key.mode : read_mode(body_object(req), key.mode);
        auto issued = ctx.ledger.issue_api_key(key.account_id, mode);
        reply_key(res, 201, issued.record, issued.plaintext);
      }));
  router.add(V::post, "/api/v1/api-keys/{}/revoke",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               reply_key(res, 200, ctx.ledger.revoke_api_key(req.params[0], key.account_id));
             }));
}

}  // namespace le::primary
