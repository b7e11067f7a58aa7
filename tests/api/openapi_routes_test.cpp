// The OpenAPI documents stay true to the routers: the (method, path) pairs each process serves —
// its API router and its admin listener — are exactly the operations its document describes,
// and every document is valid JSON naming OpenAPI 3.1 and the current API version.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "api/openapi.h"
#include "cache/invalidation.h"
#include "core/api_version.h"
#include "core/clock.h"
#include "edge/edge_service.h"
#include "metrics/admin.h"
#include "primary/ledger.h"
#include "primary/management_api.h"
#include "primary/signing_keys.h"
#include "store/record_store.h"
#include "support/fixtures.h"

namespace le {
namespace {

using Routes = std::set<std::pair<std::string, std::string>>;  // (METHOD, path)

// "/api/v1/licenses/{licenseId}/usage" -> "/api/v1/licenses/{}/usage", as the router spells it.
std::string router_form(std::string_view path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      out += "{}";
      i = path.find('}', i);
    } else {
      out += path[i];
    }
  }
  return out;
}

Routes documented(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(json.data(), json.size()).get(doc), simdjson::SUCCESS);
  std::string_view openapi, version;
  EXPECT_EQ(doc["openapi"].get(openapi), simdjson::SUCCESS);
  EXPECT_EQ(doc["info"]["version"].get(version), simdjson::SUCCESS);
  EXPECT_EQ(openapi, "3.1.0");
  EXPECT_EQ(version, core::kCurrentApiVersion);
  Routes out;
  simdjson::dom::object paths;
  EXPECT_EQ(doc["paths"].get(paths), simdjson::SUCCESS);
  for (auto [path, item] : paths) {
    simdjson::dom::object methods;
    EXPECT_EQ(item.get(methods), simdjson::SUCCESS);
    for (auto [method, op] : methods) {
      std::string m(method);
      std::transform(m.begin(), m.end(), m.begin(),
                     [](unsigned char c) { return std::toupper(c); });
      out.emplace(m, router_form(path));
      EXPECT_TRUE(op["operationId"].is_string()) << m << " " << path;
    }
  }
  return out;
}

Routes served(const std::initializer_list<const net::Router*> routers) {
  Routes out;
  for (const auto* r : routers) {
    for (const auto& [verb, path] : r->routes()) {
      out.emplace(std::string(net::http::to_string(verb)), path);
    }
  }
  return out;
}

// What one set has that the other lacks, for the failure message.
std::string difference(const Routes& a, const Routes& b) {
  std::string out;
  for (const auto& r : a) {
    if (!b.contains(r)) out += r.first + " " + r.second + "\n";
  }
  return out;
}

net::Router admin_router() {
  net::Router admin;
  metrics::add_admin_routes(
      admin, [](metrics::Families&) {}, [] { return true; });
  return admin;
}

TEST(OpenApiRoutes, PrimaryDocumentDescribesExactlyThePrimarysRoutes) {
  test::TempDir dir;
  auto store = primary::PrimaryStore::open(dir.path("db")).value();
  core::SystemClock clock;
  primary::Ledger ledger(*store, clock);
  auto keys = primary::SigningKeys::open(*store, clock.now_seconds()).value();
  primary::ManagementApi api(ledger, {});
  api.set_signing_keys(keys.get());
  net::Router router;
  api.register_routes(router);
  const auto admin = admin_router();

  const Routes doc = documented(api::openapi_json(api::Process::kPrimary));
  Routes routes = served({&router, &admin});
  // The dashboard's pages are HTML for a browser, not API operations: served, not documented.
  for (const char* page : {"/", "/ui", "/ui/", "/ui/{}"}) {
    EXPECT_EQ(routes.erase({"GET", page}), 1u) << page;
  }
  EXPECT_GT(routes.size(), 40u);
  EXPECT_EQ(doc, routes) << "served, not documented:\n"
                         << difference(routes, doc) << "documented, not served:\n"
                         << difference(doc, routes);
}

TEST(OpenApiRoutes, EdgeDocumentDescribesExactlyTheEdgesRoutes) {
  test::TempDir dir;
  auto replica = store::RecordStore::open(store::RecordStoreOptions{dir.path("db")}).value();
  cache::InvalidationStamps stamps(4);
  core::SystemClock clock;
  edge::EdgeOptions options;
  options.threads = 1;
  edge::EdgeService service(*replica, stamps, clock, options);
  net::Router router;
  service.register_routes(router);
  const auto admin = admin_router();

  const Routes doc = documented(api::openapi_json(api::Process::kEdge));
  const Routes routes = served({&router, &admin});
  EXPECT_EQ(doc, routes) << "served, not documented:\n"
                         << difference(routes, doc) << "documented, not served:\n"
                         << difference(doc, routes);
  // The edge's document is the primary's for the routes both serve, not a second text.
  const Routes whole = documented(api::openapi_json(api::Process::kPrimary));
  for (const auto& r : doc) {
    if (r.second != "/api/v1/validate" && r.second != "/api/license/auth") {
      EXPECT_TRUE(whole.contains(r)) << r.first << " " << r.second;
    }
  }
}

}  // namespace
}  // namespace le
