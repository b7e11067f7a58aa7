// The roots offline receipts chain to (signing_keys.h): GET /api/v1/signing-keys, public, the
// JWKS clients ship or fetch; POST /admin/v1/signing-keys/rotate, with the operator token, a new
// root (the old one stays published until its overlap ends).
#include "primary/handlers.h"

namespace le::primary {

void add_signing_key_routes(net::Router& router, const RouteContext& ctx) {
  using V = net::http::verb;
  router.add(V::get, "/api/v1/signing-keys",
             guarded([ctx](const net::Request&, net::Response& res) {
               res.body = ctx.signing_keys->jwks(ctx.ledger.clock().now_seconds());
               res.add_header("Cache-Control", "public, max-age=300");
             }));
  router.add(V::post, "/admin/v1/signing-keys/rotate",
             guarded([ctx](const net::Request& req, net::Response& res) {
               check_admin(ctx, req);
               const std::int64_t now = ctx.ledger.clock().now_seconds();
               const std::string kid = must(ctx.signing_keys->rotate(now));
               reply(res, 201, "kid", [&](core::JsonWriter& w) { w.value(kid); });
             }));
}

}  // namespace le::primary
