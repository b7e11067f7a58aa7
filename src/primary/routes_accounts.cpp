// Accounts and API keys: the operator's /admin/v1 endpoints (create and update accounts, issue
// and revoke any account's keys) and an account's own (GET /api/v1/account, PATCH
// /api/v1/account/settings, its keys under /api/v1/api-keys: listed, issued, revoked).
#include "primary/handlers.h"
#include "primary/mail.h"

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
  } else if (k == "branding" && settings_only) {
    // Read by read_branding(): the primary's own, never part of the streamed record.
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

// {"branding": {product_name?, logo_url?, primary_color?, accent_color?, sender_name?,
// reply_to?}}: the fields given replace the stored ones ("" clears one).
Branding read_branding(dom::element v, Branding b) {
  dom::object obj;
  if (v.get_object().get(obj)) bad_field("branding", "must be an object");
  for (auto field : obj) {
    const std::string_view k = field.key;
    std::string* to = k == "product_name"    ? &b.product_name
                      : k == "logo_url"      ? &b.logo_url
                      : k == "primary_color" ? &b.primary_color
                      : k == "accent_color"  ? &b.accent_color
                      : k == "sender_name"   ? &b.sender_name
                      : k == "reply_to"      ? &b.reply_to
                                             : nullptr;
    if (to == nullptr) unknown_field("branding." + std::string(k));
    const std::string name = "branding." + std::string(k);
    std::string value = read_str(field.value, name, 500);
    if (k == "reply_to" && !value.empty()) value = read_email(field.value, name);
    *to = std::move(value);
  }
  if (auto why = branding_problem(b)) bad_field("branding", *why);
  return b;
}

// With the branding on the account's own routes; the operator's answers are the record's.
void reply_account(net::Response& res, unsigned status, const core::AccountRecord& a,
                   const Branding* b = nullptr) {
  reply(res, status, "account", [&](JsonWriter& w) {
    write_account(w, a);
    if (b == nullptr) return;
    w.key("branding");
    write_branding(w, *b);
  });
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
               const auto b = must(branding_of(ctx.ledger.store(), a->id));
               reply_account(res, 200, *a, &b);
             }));
  router.add(V::patch, "/api/v1/account/settings",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               const auto obj = body_object(req);
               auto& store = ctx.ledger.store();
               auto branding = must(branding_of(store, key.account_id));
               bool branding_given = false;
               bool account_fields = false;
               for (auto field : obj) {
                 if (field.key == "branding") {
                   branding = read_branding(field.value, branding);
                   branding_given = true;
                 } else {
                   account_fields = true;
                 }
               }
               // Every field is checked before anything is written.
               std::optional<core::AccountRecord> a;
               if (account_fields) {
                 a = ctx.ledger.update_account(key.account_id, account_edit(obj, true));
               } else {
                 a = must(store.records().account(key.account_id));
                 if (!a) refuse(ApiError::not_found("Account not found"));
               }
               if (branding_given) must(set_branding(store, key.account_id, branding));
               reply_account(res, 200, *a, &branding);
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
  router.add(V::get, "/api/v1/api-keys",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               reply_account_page<core::ApiKeyRecord>(
                   ctx.ledger.store(), req, res, store::KeySpace::kApiKey, key.account_id,
                   [](JsonWriter& w, const core::ApiKeyRecord& k) { write_api_key(w, k, {}); });
             }));
  router.add(V::post, "/api/v1/api-keys/{}/revoke",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               reply_key(res, 200, ctx.ledger.revoke_api_key(req.params[0], key.account_id));
             }));
}

}  // namespace le::primary
