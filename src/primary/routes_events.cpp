// Webhook events (spec "Webhooks"): GET /api/v1/events, the account's events of the key's mode,
// oldest first, with the spec's pagination (page, limit, offset → {data, pagination}). `after`
// (an event's number, "evt_<n>") starts after that event: deprecated (core/api_version.h), its
// answers carry Deprecation, Sunset and Link.
#include "primary/handlers.h"

namespace le::primary {

void add_event_routes(net::Router& router, const RouteContext& ctx) {
  router.add(net::http::verb::get, "/api/v1/events",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               const std::uint64_t after = query_number(req, "after", 0, UINT64_MAX - 1, 0);
               if (req.query("after")) mark_deprecated(res, "GET", "/api/v1/events", "after");
               const auto page = page_request(req);
               const auto events = must(ctx.ledger.store().events_page(
                   key.account_id, key.mode, after, page.offset, page.limit));
               reply_page(res, page, events.total, events.items,
                          [](core::JsonWriter& w, const std::string& json) { w.raw(json); });
             }));
}

}  // namespace le::primary
