// POST /admin/v1/snapshots, with the operator token: a snapshot of the records for edges to
// start from (snapshot_writer.h), written at once instead of at the next interval. Answered 202
// with what the last one written covers; its progress shows in le_primary_snapshot_* metrics.
#include "primary/handlers.h"
#include "primary/snapshot_writer.h"

namespace le::primary {

void add_snapshot_routes(net::Router& router, const RouteContext& ctx) {
  using V = net::http::verb;
  router.add(V::post, "/admin/v1/snapshots",
             guarded([ctx](const net::Request& req, net::Response& res) {
               check_admin(ctx, req);
               if (ctx.snapshots == nullptr) {
                 refuse({503, "SERVICE_UNAVAILABLE", "Snapshots are not written by this server"});
               }
               ctx.snapshots->request();
               const auto& s = ctx.snapshots->stats();
               reply(res, 202, "snapshots", [&](core::JsonWriter& w) {
                 w.begin_object()
                     .field("requested", true)
                     .field("written", s.written.load())
                     .field("lastSeq", s.last_seq.load())
                     .field("lastRecords", s.last_records.load())
                     .field("lastBytes", s.last_bytes.load())
                     .end_object();
               });
             }));
}

}  // namespace le::primary
