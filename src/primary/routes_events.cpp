// Webhook events (spec "Webhooks"): GET /api/v1/events?after=<seq>&limit=<n>, the account's
// events of the key's mode, oldest first: {"data":[…],"hasMore":bool}. Pass the last event's
// number as `after` to go on.
#include "primary/handlers.h"

namespace le::primary {

void add_event_routes(net::Router& router, const RouteContext& ctx) {
  router.add(net::http::verb::get, "/api/v1/events",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx.ledger.store(), req);
               const std::uint64_t after = query_number(req, "after", 0, UINT64_MAX, 0);
               const std::uint64_t limit = query_number(req, "limit", 1, kMaxListItems, 20);
               auto events = must(
                   ctx.ledger.store().events_after(key.account_id, key.mode, after, limit + 1));
               const bool more = events.size() > limit;
               if (more) events.pop_back();
               res.status = 200;
               res.body.clear();
               core::JsonWriter w(res.body);
               w.begin_object().key("data").begin_array();
               for (const auto& [seq, json] : events) w.raw(json);
               w.end_array().field("hasMore", more).end_object();
             }));
}

}  // namespace le::primary
