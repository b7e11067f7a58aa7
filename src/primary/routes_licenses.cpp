// Licenses (spec "Licenses"): create (one or a batch), list with filters, get, update, suspend,
// revoke, reinstate, delete — within the caller's account and mode. The portal's license routes
// (spec "Stripe Integration", "Pagination"): POST /api/v1/portal/licenses creates a license from
// a product's plan for a customer; GET lists as /api/v1/licenses does.
#include "core/license_json.h"
#include "primary/handlers.h"
#include "primary/mail.h"
#include "primary/plans.h"

namespace le::primary {
namespace {

using core::ApiError;
using core::JsonWriter;

constexpr std::size_t kMaxActivationsLimit = 100'000;
constexpr std::int64_t kTrialSeconds = 14 * 86'400;

// Applies one license field from a create or update body; false when the name is not a field.
bool license_field(core::LicenseRecord& l, std::string_view k, dom::element v) {
  if (k == "type") {
    l.type = read_enum(v, k, core::parse_license_type, "perpetual, subscription, trial, floating");
  } else if (k == "max_activations") {
    l.max_activations = read_u32(v, k, kMaxActivationsLimit);
  } else if (k == "expires_at") {
    l.expires_at = read_expiry(v, k);
  } else if (k == "email") {
    l.email = v.is_null() ? std::string() : read_str(v, k, 254);
  } else if (k == "metadata") {
    l.metadata_json = read_metadata(v, k);
  } else if (k == "allowed_domains") {
    l.allowed_domains = read_strings(v, k, kMaxListItems, 253);
  } else if (k == "max_ips") {
    l.max_ips = read_u32(v, k, 10'000);
  } else if (k == "max_hwids") {
    l.max_hwids = read_u32(v, k, 10'000);
  } else if (k == "staff") {
    l.staff = read_bool(v, k);
  } else if (k == "offline_grace_hours") {  // null: the product's
    l.offline_grace_hours =
        v.is_null() ? std::int64_t{-1}
                    : static_cast<std::int64_t>(read_u32(v, k, core::kMaxOfflineGraceHours));
  } else if (k == "lease_seconds") {  // null: the product's
    l.lease_seconds = v.is_null() ? 0 : read_lease_seconds(v, k);
  } else if (k == "discord_id") {
    l.discord_id = read_str(v, k, kMaxIdBytes);
  } else if (k == "discord_username") {
    l.discord_username = read_str(v, k, kMaxNameBytes);
  } else if (k == "discord_tag") {
    l.discord_tag = read_str(v, k, kMaxIdBytes);
  } else {
    return false;
  }
  return true;
}

// A new license of the caller's account and mode from a create body (id and key not yet set).
// A trial without an expiry given runs 14 days.
core::LicenseRecord license_from(dom::object obj, const core::ApiKeyRecord& key, std::int64_t now) {
  core::LicenseRecord l;
  l.account_id = key.account_id;
  l.mode = key.mode;
  l.created_at = now;
  bool has_type = false, has_expiry = false;
  for (auto field : obj) {
    const std::string_view k = field.key;
    if (k == "product_id") {
      l.product_id = read_id(field.value, k);
    } else if (license_field(l, k, field.value)) {
      has_type |= k == "type";
      has_expiry |= k == "expires_at";
    } else {
      unknown_field(k);
    }
  }
  if (l.product_id.empty() && !has_type) {
    refuse(ApiError::missing_fields("Missing required fields: product_id, type"));
  }
  if (l.product_id.empty()) refuse(ApiError::missing_fields("Missing required field: product_id"));
  if (!has_type) refuse(ApiError::missing_fields("Missing required field: type"));
  if (l.type == core::LicenseType::kTrial && !has_expiry) l.expires_at = now + kTrialSeconds;
  return l;
}

// {"licenses":[{…create body…}, …]}, at most `max` items.
std::vector<core::LicenseRecord> batch_from(dom::object body, const core::ApiKeyRecord& key,
                                            std::int64_t now, std::size_t max) {
  std::vector<core::LicenseRecord> licenses;
  for (auto field : body) {
    if (field.key != "licenses") unknown_field(field.key);
    dom::array arr;
    if (field.value.get_array().get(arr)) bad_field("licenses", "must be an array of objects");
    for (dom::element item : arr) {
      if (licenses.size() == max) {
        bad_field("licenses", "has more than " + std::to_string(max) + " items");
      }
      dom::object obj;
      if (item.get_object().get(obj)) bad_field("licenses", "must be an array of objects");
      licenses.push_back(license_from(obj, key, now));
    }
  }
  if (licenses.empty()) refuse(ApiError::missing_fields("Missing required field: licenses"));
  return licenses;
}

LicenseFilter filter_from(const net::Request& req, const core::ApiKeyRecord& key,
                          std::int64_t now) {
  LicenseFilter filter;
  filter.account_id = key.account_id;
  filter.mode = key.mode;
  filter.now = now;
  if (auto s = req.query("status")) {
    filter.status = core::parse_license_status(*s);
    if (!filter.status) {
      refuse(ApiError::validation(
          "Query parameter 'status' must be one of: active, expired, suspended, revoked"));
    }
  }
  if (auto p = req.query("product_id")) {
    if (p->empty() || p->size() > kMaxIdBytes) {
      refuse(ApiError::validation("Query parameter 'product_id' is invalid"));
    }
    filter.product_id = std::string(*p);
  }
  return filter;
}

void reply_license(net::Response& res, const core::LicenseRecord& l, std::int64_t now) {
  reply(res, 200, "license", [&](JsonWriter& w) { core::write_license(w, l, now); });
}

// The caller's product by id, else by name; 404 when neither.
core::ProductRecord product_by_id_or_name(const RouteContext& ctx, const core::ApiKeyRecord& key,
                                          const std::string& ref) {
  const auto& db = ctx.ledger.store().records();
  auto p = must(db.product(ref));
  if (!p || !core::visible_to(key, *p)) p = must(db.product_by_name(key.account_id, ref));
  if (!p || !core::visible_to(key, *p)) refuse(ApiError::not_found("Product not found"));
  return std::move(*p);
}

// POST /api/v1/portal/licenses: {product, plan, customer_email, metadata?}.
void create_from_plan(const RouteContext& ctx, const net::Request& req, net::Response& res) {
  const auto key = authenticate(ctx, req);
  const std::int64_t now = ctx.ledger.clock().now_seconds();
  std::string product_ref, plan_id, email, metadata = "{}";
  for (auto field : body_object(req)) {
    const std::string_view k = field.key;
    if (k == "product") {
      product_ref = read_str(field.value, k, kMaxNameBytes, false);
    } else if (k == "plan") {
      plan_id = read_id(field.value, k);
    } else if (k == "customer_email") {
      email = read_email(field.value, k);
    } else if (k == "metadata") {
      metadata = read_metadata(field.value, k);
    } else {
      unknown_field(k);
    }
  }
  std::string missing;
  for (auto [name, value] : {std::pair{"product", &product_ref}, std::pair{"plan", &plan_id},
                             std::pair{"customer_email", &email}}) {
    if (value->empty()) missing.append(missing.empty() ? "" : ", ").append(name);
  }
  if (!missing.empty()) {
    refuse(ApiError::missing_fields((missing.find(',') == std::string::npos
                                         ? "Missing required field: "
                                         : "Missing required fields: ") +
                                    missing));
  }
  const auto product = product_by_id_or_name(ctx, key, product_ref);
  const auto plans = decode_plans(product.plans_json);
  const ProductPlan* plan = nullptr;
  for (const auto& p : plans) {
    if (p.id == plan_id) plan = &p;
  }
  if (plan == nullptr) bad_field("plan", "names no plan of product '" + product.name + "'");
  std::vector<core::LicenseRecord> one{license_from_plan(*plan, now)};
  one[0].product_id = product.id;
  one[0].plan_id = plan->id;
  one[0].email = email;
  one[0].metadata_json = metadata;
  const auto keys = ctx.ledger.create_licenses(key, one);
  res.status = 201;
  res.body.clear();
  JsonWriter w(res.body);
  w.begin_object().key("license");
  core::write_license(w, one[0], now, keys[0]);
  w.field("plan", plan->id).end_object();
}

// POST /api/v1/licenses/{id}/renew, body optional: {duration_days?}. A license from a plan
// renews by the plan's period unless the body names another; one without needs the body's.
void renew(const RouteContext& ctx, const net::Request& req, net::Response& res) {
  const auto key = authenticate(ctx, req);
  std::optional<std::uint32_t> days;
  if (!req.body.empty()) {
    for (auto field : body_object(req)) {
      if (field.key != "duration_days") unknown_field(field.key);
      days = read_u32(field.value, field.key, kMaxPlanDurationDays);
      if (*days == 0) bad_field(field.key, "must be at least 1");
    }
  }
  const auto l = ctx.ledger.own_license(key, req.params[0]);
  if (!days && !l.plan_id.empty()) {
    const auto product = must(ctx.ledger.store().records().product(l.product_id));
    for (const auto& p : product ? decode_plans(product->plans_json) : std::vector<ProductPlan>{}) {
      if (p.id == l.plan_id && p.duration_days != 0) days = p.duration_days;
    }
  }
  if (!days) {
    refuse(ApiError::validation(
        "License has no plan with a renewal period: give 'duration_days' (1 to 36500)"));
  }
  reply_license(res, ctx.ledger.renew_license(key, req.params[0], *days),
                ctx.ledger.clock().now_seconds());
}

}  // namespace

void add_license_routes(net::Router& router, const RouteContext& ctx) {
  using V = net::http::verb;
  router.add(V::post, "/api/v1/licenses",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               const std::int64_t now = ctx.ledger.clock().now_seconds();
               std::vector<core::LicenseRecord> one{license_from(body_object(req), key, now)};
               const auto keys = ctx.ledger.create_licenses(key, one);
               reply(res, 201, "license",
                     [&](JsonWriter& w) { core::write_license(w, one[0], now, keys[0]); });
             }));
  // All created in one Tx, or none.
  router.add(V::post, "/api/v1/licenses/batch",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               const std::int64_t now = ctx.ledger.clock().now_seconds();
               auto licenses = batch_from(body_object(req), key, now, ctx.options.max_batch);
               const auto keys = ctx.ledger.create_licenses(key, licenses);
               reply(res, 201, "licenses", [&](JsonWriter& w) {
                 w.begin_array();
                 for (std::size_t i = 0; i < licenses.size(); ++i) {
                   w.begin_object().field("id", licenses[i].id).field("key", keys[i]).end_object();
                 }
                 w.end_array();
               });
             }));
  for (const char* path : {"/api/v1/licenses", "/api/v1/portal/licenses"}) {
    router.add(
        V::get, path, guarded([ctx](const net::Request& req, net::Response& res) {
          const auto key = authenticate(ctx, req);
          const std::int64_t now = ctx.ledger.clock().now_seconds();
          const auto page = page_request(req);
          const auto filter = filter_from(req, key, now);
          auto result = must(ctx.ledger.store().list_licenses(filter, page.offset, page.limit));
          reply_page(
              res, page, result.total, result.items,
              [&](JsonWriter& w, const core::LicenseRecord& l) { core::write_license(w, l, now); });
        }));
  }
  router.add(V::post, "/api/v1/portal/licenses",
             guarded([ctx](const net::Request& req, net::Response& res) {
               create_from_plan(ctx, req, res);
             }));
  router.add(V::get, "/api/v1/licenses/{}",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               reply_license(res, ctx.ledger.own_license(key, req.params[0]),
                             ctx.ledger.clock().now_seconds());
             }));
  router.add(V::patch, "/api/v1/licenses/{}",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               const auto obj = body_object(req);
               auto l = ctx.ledger.update_license(key, req.params[0], [obj](auto& l) {
                 for (auto field : obj) {
                   if (!license_field(l, field.key, field.value)) unknown_field(field.key);
                 }
               });
               reply_license(res, l, ctx.ledger.clock().now_seconds());
             }));
  router.add(V::delete_, "/api/v1/licenses/{}",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               ctx.ledger.delete_license(key, req.params[0]);
               reply(res, 200, "deleted", [](JsonWriter& w) { w.value(true); });
             }));
  // The license email's state (mail.h): queued, sent or failed, with its attempts.
  router.add(V::get, "/api/v1/licenses/{}/email",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               const auto l = ctx.ledger.own_license(key, req.params[0]);
               const auto mail = must(license_mail(ctx.ledger.store(), l.id));
               if (!mail) refuse(ApiError::not_found("No email was sent for this license"));
               reply(res, 200, "email", [&](JsonWriter& w) { write_mail(w, *mail); });
             }));
  router.add(V::post, "/api/v1/licenses/{}/renew",
             guarded([ctx](const net::Request& req, net::Response& res) { renew(ctx, req, res); }));
  for (auto [path, to] :
       {std::pair{"/api/v1/licenses/{}/suspend", core::LicenseStatus::kSuspended},
        std::pair{"/api/v1/licenses/{}/revoke", core::LicenseStatus::kRevoked},
        std::pair{"/api/v1/licenses/{}/reinstate", core::LicenseStatus::kActive}}) {
    router.add(V::post, path, guarded([ctx, to](const net::Request& req, net::Response& res) {
                 const auto key = authenticate(ctx, req);
                 reply_license(res, ctx.ledger.set_license_status(key, req.params[0], to),
                               ctx.ledger.clock().now_seconds());
               }));
  }
}

}  // namespace le::primary
