// The blacklist (spec "Blacklists"): IPs, HWIDs and license keys an account refuses.
#include <boost/asio/ip/address.hpp>

#include "core/digest.h"
#include "core/validate.h"
#include "primary/handlers.h"

namespace le::primary {

void add_blacklist_routes(net::Router& router, const RouteContext& ctx) {
  using V = net::http::verb;
  using core::JsonWriter;
  router.add(
      V::post, "/api/v1/blacklist", guarded([ctx](const net::Request& req, net::Response& res) {
        const auto key = authenticate(ctx, req);
        core::BlacklistEntry b;
        b.account_id = key.account_id;
        bool has_type = false;
        for (auto field : body_object(req)) {
          const std::string_view k = field.key;
          if (k == "type") {
            b.kind = read_enum(field.value, k, core::parse_blacklist_kind, "ip, hwid, license");
            has_type = true;
          } else if (k == "value") {
            b.value = read_str(field.value, k, core::kMaxFieldBytes, false);
          } else {
            unknown_field(k);
          }
        }
        if (!has_type || b.value.empty()) {
          refuse(core::ApiError::missing_fields("Missing required fields: type, value"));
        }
        if (b.kind == core::BlacklistKind::kIp) {
          boost::system::error_code ec;
          auto ip = boost::asio::ip::make_address(b.value, ec);
          if (ec) bad_field("value", "must be an IP address");
          b.value = ip.to_string();  // canonical, as the edge compares it
        } else if (b.kind == core::BlacklistKind::kLicense) {
          b.value = core::to_hex(core::sha256(b.value));  // the key is never stored
        }
        const auto added = ctx.ledger.add_blacklist(std::move(b));
        reply(res, added.created ? 201 : 200, "entry", [&](JsonWriter& w) {
          const auto hits =
              ctx.usage
                  ? must(ctx.usage->blacklist_attempts(added.entry.account_id, added.entry.id))
                  : BlacklistAttempts{};
          write_blacklist(w, added.entry, hits.attempts, hits.last_ms);
        });
      }));
  router.add(
      V::get, "/api/v1/blacklist", guarded([ctx](const net::Request& req, net::Response& res) {
        const auto key = authenticate(ctx, req);
        reply_account_page<core::BlacklistEntry>(
            ctx.ledger.store(), req, res, store::KeySpace::kBlacklist, key.account_id,
            [&](JsonWriter& w, const core::BlacklistEntry& b) {
              // Summed over every edge's reports.
              const auto hits = ctx.usage ? must(ctx.usage->blacklist_attempts(b.account_id, b.id))
                                          : BlacklistAttempts{};
              write_blacklist(w, b, hits.attempts, hits.last_ms);
            });
      }));
  router.add(V::delete_, "/api/v1/blacklist/{}",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               ctx.ledger.delete_blacklist(key, req.params[0]);
               reply(res, 200, "deleted", [](JsonWriter& w) { w.value(true); });
             }));
}

}  // namespace le::primary
