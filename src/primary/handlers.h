// The management API's route handlers, one file per resource (routes_*.cpp), and what they
// share: the caller's authentication and the guard that turns a Refusal into its answer — the
// one place an HTTP route's errors become answers. Handlers read the request, call the Ledger
// for every change, and write the answer; they hold no rules of their own beyond reading input.
#pragma once

#include <string>

#include "core/model.h"
#include "net/http.h"
#include "primary/ledger.h"
#include "primary/management_api.h"
#include "primary/request_fields.h"
#include "primary/resource_json.h"
#include "primary/sessions.h"
#include "primary/usage_store.h"

namespace le::primary {

struct RouteContext {
  Ledger& ledger;
  const ManagementOptions& options;
  SigningKeys* signing_keys = nullptr;
  UsageStore* usage = nullptr;          // null: usage is not tracked (its routes answer 503)
  SnapshotWriter* snapshots = nullptr;  // null: snapshots are not written (503)
  Sessions* sessions = nullptr;         // null: no sign-in (its routes answer 503)
  ratelimit::SlidingWindowLimiter* login_limiter = nullptr;
};

// Wraps `body`: a Refusal it throws is answered in the spec's error format.
net::Handler guarded(net::Handler body);
void answer(net::Response& res, const core::ApiError& e);

// Who a request acts for on an account's routes: the account's API key from "Authorization:
// Bearer to_live_…" (401 otherwise), or a portal user's JWT (sessions.h), which acts for its
// account's live mode like a live key (403 INVALID_TOKEN when it does not verify, or is an
// admin's).
core::ApiKeyRecord authenticate(const RouteContext& ctx, const net::Request& req);
// The operator token for /admin/v1, or an admin user's JWT (403 otherwise, and while no token
// is configured and no admin signs in).
void check_admin(const RouteContext& ctx, const net::Request& req);
// The credential of "Authorization: Bearer <credential>"; empty without one.
std::string_view bearer_token(const net::Request& req);
// The user a JWT speaks for: 401 AUTH_REQUIRED without one, 403 INVALID_TOKEN when it does not
// verify or its session is over.
Sessions::Verified verify_user(const RouteContext& ctx, std::string_view token);

// Adds Deprecation, Sunset and Link for the deprecated use (core::kDeprecations) of `parameter`
// (empty: the route itself) of `method` `path`.
void mark_deprecated(net::Response& res, std::string_view method, std::string_view path,
                     std::string_view parameter);

// One page of an account's records of one key space (products, blacklist entries).
template <typename Rec, typename Write>
void reply_account_page(const PrimaryStore& store, const net::Request& req, net::Response& res,
                        store::KeySpace space, std::string_view account_id, Write write) {
  const auto page = page_request(req);
  auto all = must(store.list_account(space, account_id));
  std::vector<Rec> items;
  for (std::size_t i = page.offset; i < all.size() && items.size() < page.limit; ++i) {
    items.push_back(std::get<Rec>(all[i].record));
  }
  reply_page(res, page, all.size(), items, write);
}

void add_account_routes(net::Router& router, const RouteContext& ctx);      // accounts, API keys
void add_product_routes(net::Router& router, const RouteContext& ctx);      // products
void add_license_routes(net::Router& router, const RouteContext& ctx);      // licenses
void add_blacklist_routes(net::Router& router, const RouteContext& ctx);    // blacklist
void add_activation_routes(net::Router& router, const RouteContext& ctx);   // (de)activate
void add_event_routes(net::Router& router, const RouteContext& ctx);        // webhook events
void add_signing_key_routes(net::Router& router, const RouteContext& ctx);  // receipt roots
void add_webhook_routes(net::Router& router, const RouteContext& ctx);      // webhook endpoints
void add_usage_routes(net::Router& router, const RouteContext& ctx);        // usage, auth logs
void add_snapshot_routes(net::Router& router, const RouteContext& ctx);     // replica snapshots
void add_auth_routes(net::Router& router, const RouteContext& ctx);         // users, sign-in
void add_ui_routes(net::Router& router, const RouteContext& ctx);           // the dashboard
void add_customer_routes(net::Router& router, const RouteContext& ctx);     // a holder's page

}  // namespace le::primary
