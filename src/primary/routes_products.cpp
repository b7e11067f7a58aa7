// Products (spec "Products"): create, list, get, update, delete, within the caller's account.
#include "primary/handlers.h"
#include "primary/plans.h"

namespace le::primary {
namespace {

using core::JsonWriter;

// Applies a product field; false when the name is not one.
bool product_field(core::ProductRecord& p, std::string_view k, dom::element v) {
  if (k == "name") {
    p.name = read_str(v, k, kMaxNameBytes, false);
  } else if (k == "platforms") {
    p.platforms = read_strings(v, k, 8, 16);
    for (const auto& s : p.platforms) {
      if (s != "windows" && s != "mac" && s != "linux" && s != "web") {
        bad_field(k, "may contain only windows, mac, linux, web");
      }
    }
  } else if (k == "metadata") {
    p.metadata_json = read_metadata(v, k);
  } else if (k == "tki_versions") {
    p.tki_versions = read_strings(v, k, kMaxListItems, 64);
  } else if (k == "offline_grace_hours") {
    p.offline_grace_hours = read_u32(v, k, core::kMaxOfflineGraceHours);
  } else if (k == "lease_seconds") {
    p.lease_seconds = read_lease_seconds(v, k);
  } else if (k == "plans") {
    p.plans_json = read_plans(v, k);
  } else {
    return false;
  }
  return true;
}

void reply_product(net::Response& res, unsigned status, const core::ProductRecord& p) {
  reply(res, status, "product", [&](JsonWriter& w) { write_product(w, p); });
}

}  // namespace

void add_product_routes(net::Router& router, const RouteContext& ctx) {
  using V = net::http::verb;
  router.add(V::post, "/api/v1/products",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               core::ProductRecord p;
               p.account_id = key.account_id;
               for (auto field : body_object(req)) {
                 if (!product_field(p, field.key, field.value)) unknown_field(field.key);
               }
               if (p.name.empty()) {
                 refuse(core::ApiError::missing_fields("Missing required field: name"));
               }
               reply_product(res, 201, ctx.ledger.create_product(std::move(p)));
             }));
  router.add(
      V::get, "/api/v1/products", guarded([ctx](const net::Request& req, net::Response& res) {
        const auto key = authenticate(ctx, req);
        reply_account_page<core::ProductRecord>(
            ctx.ledger.store(), req, res, store::KeySpace::kProduct, key.account_id, write_product);
      }));
  router.add(V::get, "/api/v1/products/{}",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               reply_product(res, 200, ctx.ledger.own_product(key, req.params[0]));
             }));
  router.add(
      V::patch, "/api/v1/products/{}", guarded([ctx](const net::Request& req, net::Response& res) {
        const auto key = authenticate(ctx, req);
        const auto obj = body_object(req);
        reply_product(res, 200, ctx.ledger.update_product(key, req.params[0], [obj](auto& p) {
          for (auto field : obj) {
            if (!product_field(p, field.key, field.value)) {
              unknown_field(field.key);
            }
          }
        }));
      }));
  router.add(V::delete_, "/api/v1/products/{}",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               ctx.ledger.delete_product(key, req.params[0]);
               reply(res, 200, "deleted", [](JsonWriter& w) { w.value(true); });
             }));
}

}  // namespace le::primary
