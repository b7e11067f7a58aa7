// The customer's page (white-labeled, /ui/customer.html): POST /api/v1/customer/license
// {license_key} — the key is the credential, as in validation — answers what a license's holder
// may see of it: its status, type, expiry, seats and the machines holding them (labels, not
// ids), the product's name, and the vendor's branding. Nothing of the account, its other
// licenses, the customer's email or the metadata. A key of no license is 404, like a malformed
// one; the key travels in a body, never in a URL a log or a Referer would keep.
#include "core/digest.h"
#include "core/lease.h"
#include "core/time_format.h"
#include "core/validate.h"
#include "primary/handlers.h"
#include "primary/mail.h"

namespace le::primary {

void add_customer_routes(net::Router& router, const RouteContext& ctx) {
  router.add(
      net::http::verb::post, "/api/v1/customer/license",
      guarded([ctx](const net::Request& req, net::Response& res) {
        std::string key;
        for (auto field : body_object(req)) {
          if (field.key != "license_key") unknown_field(field.key);
          key = read_str(field.value, field.key, 128, false);
        }
        if (key.empty()) {
          refuse(core::ApiError::missing_fields("Missing required field: license_key"));
        }
        const auto l = must(ctx.ledger.store().records().license(core::sha256(key)));
        if (!l) refuse(core::ApiError::not_found("License not found"));
        const auto product = must(ctx.ledger.store().records().product(l->product_id));
        const auto branding = must(branding_of(ctx.ledger.store(), l->account_id));
        const std::int64_t now = ctx.ledger.clock().now_seconds();
        res.body.clear();
        core::JsonWriter w(res.body);
        w.begin_object().key("license").begin_object();
        w.field("id", l->id).field("type", core::to_string(l->type));
        w.field("status", core::to_string(core::effective_status(*l, now)));
        w.field("activations", static_cast<std::uint64_t>(core::seats_held(*l, now)));
        w.field("maxActivations", l->max_activations);
        w.key("expiresAt");
        if (l->expires_at > 0) {
          w.value(core::iso8601(l->expires_at));
        } else {
          w.null();
        }
        w.key("machines").begin_array();
        for (const auto& a : l->activations) {
          if (!core::holds_seat(*l, a, now)) continue;
          w.begin_object().field("label", a.label);
          w.field("activatedAt", core::iso8601(a.activated_at)).end_object();
        }
        w.end_array().end_object();
        w.key("product").begin_object().field("name", product ? product->name : "").end_object();
        w.key("branding");
        write_branding(w, branding);
        w.end_object();
        res.add_header("Cache-Control", "no-store");
      }));
}

}  // namespace le::primary
