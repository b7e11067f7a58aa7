// Webhook endpoints (spec "Webhooks"): register, list, get, update, delete, rotate the signing
// secret — for the caller's account and mode. The secret is shown once, when created or rotated.
// Each endpoint's deliveries can be listed (status, attempts, last status code, next attempt)
// and one sent again (redeliver: due now, same delivery id, a fresh retry schedule).
#include "core/time_format.h"
#include "primary/deliveries.h"
#include "primary/handlers.h"
#include "primary/webhooks.h"

namespace le::primary {
namespace {

using core::ApiError;
using core::JsonWriter;

void write_webhook(JsonWriter& w, const WebhookEndpoint& e, bool with_secret = false) {
  w.begin_object().field("id", e.id).field("url", e.url);
  w.key("events").begin_array();
  for (int i = 0; i < kWebhookEventCount; ++i) {
    const auto ev = static_cast<WebhookEvent>(i);
    if (e.takes(ev)) w.value(to_string(ev));
  }
  w.end_array().field("enabled", e.enabled);
  if (with_secret) w.field("secret", e.secret);
  w.field("createdAt", core::iso8601(e.created_at)).end_object();
}

// Applies a field of a create or update body; false when the name is not one.
bool webhook_field(WebhookEndpoint& e, std::string_view k, dom::element v, bool allow_private) {
  if (k == "url") {
    e.url = read_str(v, k, kMaxUrlBytes + 1, false);
    if (auto problem = webhook_url_problem(e.url, allow_private)) bad_field(k, *problem);
  } else if (k == "events") {
    dom::array arr;
    if (v.get_array().get(arr)) bad_field(k, "must be an array of event names");
    std::uint8_t events = 0;
    for (dom::element item : arr) {
      const auto ev = read_enum(item, k, parse_webhook_event,
                                "license.created, license.activated, license.deactivated, "
                                "license.expired, license.suspended, validation.failed");
      events |= static_cast<std::uint8_t>(1u << static_cast<int>(ev));
    }
    if (events == 0) bad_field(k, "must name at least one event");
    e.events = events;
  } else if (k == "enabled") {
    e.enabled = read_bool(v, k);
  } else {
    return false;
  }
  return true;
}

void reply_webhook(net::Response& res, unsigned status, const WebhookEndpoint& e,
                   bool with_secret = false) {
  reply(res, status, "webhook", [&](JsonWriter& w) { write_webhook(w, e, with_secret); });
}

}  // namespace

void add_webhook_routes(net::Router& router, const RouteContext& ctx) {
  using V = net::http::verb;
  router.add(
      V::post, "/api/v1/webhooks", guarded([ctx](const net::Request& req, net::Response& res) {
        const auto key = authenticate(ctx, req);
        WebhookEndpoint e;
        for (auto field : body_object(req)) {
          if (!webhook_field(e, field.key, field.value, ctx.options.allow_private_webhooks)) {
            unknown_field(field.key);
          }
        }
        if (e.url.empty()) refuse(ApiError::missing_fields("Missing required field: url"));
        reply_webhook(res, 201, ctx.ledger.create_webhook(key, std::move(e)), true);
      }));
  router.add(V::get, "/api/v1/webhooks",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               const auto page = page_request(req);
               const auto all = ctx.ledger.webhooks(key);
               std::vector<WebhookEndpoint> items;
               for (std::size_t i = page.offset; i < all.size() && items.size() < page.limit; ++i) {
                 items.push_back(all[i]);
               }
               reply_page(res, page, all.size(), items,
                          [](JsonWriter& w, const WebhookEndpoint& e) { write_webhook(w, e); });
             }));
  router.add(V::get, "/api/v1/webhooks/{}",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               reply_webhook(res, 200, ctx.ledger.webhook(key, req.params[0]));
             }));
  router.add(V::patch, "/api/v1/webhooks/{}",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               const auto obj = body_object(req);
               const bool allow_private = ctx.options.allow_private_webhooks;
               reply_webhook(res, 200, ctx.ledger.update_webhook(key, req.params[0], [&](auto& e) {
                 for (auto field : obj) {
                   if (!webhook_field(e, field.key, field.value, allow_private)) {
                     unknown_field(field.key);
                   }
                 }
               }));
             }));
  router.add(V::delete_, "/api/v1/webhooks/{}",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               ctx.ledger.delete_webhook(key, req.params[0]);
               reply(res, 200, "deleted", [](JsonWriter& w) { w.value(true); });
             }));
  router.add(V::post, "/api/v1/webhooks/{}/rotate-secret",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               reply_webhook(res, 200, ctx.ledger.rotate_webhook_secret(key, req.params[0]), true);
             }));
  router.add(V::get, "/api/v1/webhooks/{}/deliveries",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               const auto page = page_request(req);
               const std::string_view id = req.params[0];
               const auto deliveries = ctx.ledger.deliveries(key, id, page.offset, page.limit);
               reply_page(res, page, deliveries.total, deliveries.items,
                          [id](JsonWriter& w, const Delivery& d) { w.raw(delivery_json(d, id)); });
             }));
  router.add(V::post, "/api/v1/webhooks/{}/deliveries/{}/redeliver",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               const auto d = ctx.ledger.redeliver(key, req.params[0], req.params[1]);
               reply(res, 202, "delivery",
                     [&](JsonWriter& w) { w.raw(delivery_json(d, req.params[0])); });
             }));
}

}  // namespace le::primary
