// Activations (spec "Activations"): POST /api/v1/activate, /deactivate and (floating seats)
// /heartbeat at the primary, the
// same transaction an edge forwards over NATS (Ledger::change_activation) and the same answer
// the edge writes (core::write_activation_answer), 429 and Retry-After included.
#include "core/activation.h"
#include "core/digest.h"
#include "core/write_protocol.h"
#include "primary/handlers.h"

namespace le::primary {

void add_activation_routes(net::Router& router, const RouteContext& ctx) {
  using V = net::http::verb;
  for (const auto op :
       {core::WriteOp::kActivate, core::WriteOp::kDeactivate, core::WriteOp::kHeartbeat}) {
    const std::string path = "/api/v1/" + std::string(core::to_string(op));
    router.add(V::post, path, guarded([ctx, op](const net::Request& req, net::Response& res) {
                 // The API key is optional: without one the license key is the credential.
                 std::optional<core::ApiKeyRecord> key;
                 if (req.header(net::http::field::authorization)) {
                   key = authenticate(ctx, req);
                 }
                 auto parsed = core::parse_activation_request(req.body);
                 if (auto* e = std::get_if<core::ApiError>(&parsed)) refuse(std::move(*e));
                 const auto& request = std::get<core::ActivationRequest>(parsed);
                 const auto reply = ctx.ledger.change_activation(core::sha256(request.license_key),
                                                                 request.machine_id, request.label,
                                                                 key ? &*key : nullptr, op);
                 const auto a = core::write_activation_answer(res.body, reply, request.machine_id,
                                                              ctx.ledger.clock().now_seconds());
                 res.status = a.status;
                 if (a.retry_after_s != 0)
                   res.add_header("Retry-After", std::to_string(a.retry_after_s));
               }));
  }
}

}  // namespace le::primary
