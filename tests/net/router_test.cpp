// Router: exact routes, "{}" segment patterns with their captured parameters, 404 and 405.
#include <gtest/gtest.h>

#include "net/http.h"

namespace le::net {
namespace {

struct Routed {
  Router router;
  std::string hit;
  std::array<std::string_view, 2> params{};
  Routed() {
    auto record = [this](std::string name) {
      return [this, name](const Request& req, Response&) {
        hit = name;
        params = req.params;
      };
    };
    router.add(http::verb::get, "/api/v1/licenses", record("list"));
    router.add(http::verb::get, "/api/v1/licenses/{}", record("get"));
    router.add(http::verb::post, "/api/v1/licenses/{}/suspend", record("suspend"));
    router.add(http::verb::post, "/api/v1/licenses/batch", record("batch"));
    router.add(http::verb::post, "/a/{}/b/{}", record("two"));
    router.set_error_writer(
        [](const ErrorContext&, ProtocolError, Response& res) { res.body = "err"; });
  }
  unsigned go(http::verb m, std::string_view path) {
    hit.clear();
    Request req;
    req.method = m;
    req.path = path;
    std::string body;
    Response res(body);
    router.dispatch(req, res);
    return res.status;
  }
};

TEST(Router, ExactRoutesWinOverPatternsAndPatternsCaptureSegments) {
  Routed r;
  EXPECT_EQ(r.go(http::verb::get, "/api/v1/licenses"), 200u);
  EXPECT_EQ(r.hit, "list");
  EXPECT_EQ(r.go(http::verb::post, "/api/v1/licenses/batch"), 200u);
  EXPECT_EQ(r.hit, "batch");
  EXPECT_EQ(r.go(http::verb::get, "/api/v1/licenses/lic_1"), 200u);
  EXPECT_EQ(r.hit, "get");
  EXPECT_EQ(r.params[0], "lic_1");
  EXPECT_EQ(r.go(http::verb::post, "/api/v1/licenses/lic_2/suspend"), 200u);
  EXPECT_EQ(r.params[0], "lic_2");
  EXPECT_EQ(r.go(http::verb::post, "/a/x/b/y"), 200u);
  EXPECT_EQ(r.params[0], "x");
  EXPECT_EQ(r.params[1], "y");
}

TEST(Router, AMirrorServesTheIncludedRoutesUnderItsPrefixButNotOverOnesServedThere) {
  Routed r;
  r.router.add(http::verb::get, "/api/v1/portal/licenses",
               [&r](const Request&, Response&) { r.hit = "portal list"; });
  r.router.mirror("/api/v1/", "/api/v1/portal/",
                  [](std::string_view path) { return !path.ends_with("/batch"); });
  EXPECT_EQ(r.go(http::verb::get, "/api/v1/portal/licenses/lic_3"), 200u);
  EXPECT_EQ(r.hit, "get");
  EXPECT_EQ(r.params[0], "lic_3");
  EXPECT_EQ(r.go(http::verb::post, "/api/v1/portal/licenses/lic_4/suspend"), 200u);
  EXPECT_EQ(r.hit, "suspend");
  // Served there already: the route of its own answers.
  EXPECT_EQ(r.go(http::verb::get, "/api/v1/portal/licenses"), 200u);
  EXPECT_EQ(r.hit, "portal list");
  // Left out, and outside the prefix: not mirrored.
  EXPECT_NE(r.go(http::verb::post, "/api/v1/portal/licenses/batch"), 200u);
  EXPECT_TRUE(r.hit.empty());
  EXPECT_EQ(r.go(http::verb::post, "/api/v1/portal/a/x/b/y"), 404u);
  // The originals still answer.
  EXPECT_EQ(r.go(http::verb::get, "/api/v1/licenses/lic_5"), 200u);
  EXPECT_EQ(r.hit, "get");
}

TEST(Router, EmptyExtraOrMissingSegmentsDoNotMatch) {
  Routed r;
  for (std::string_view p :
       {"/api/v1/licenses/", "/api/v1/licenses//suspend", "/api/v1/licenses/x/",
        "/api/v1/licenses/x/suspend/more", "/api/v1/licenses/x/y", "/a/x/b", "/a/x/b/y/z", ""}) {
    EXPECT_EQ(r.go(http::verb::get, p), 404u) << p;
    EXPECT_TRUE(r.hit.empty()) << p;
  }
  EXPECT_EQ(r.go(http::verb::delete_, "/api/v1/licenses/x"), 405u);
}

TEST(Request, QueryParametersAreFoundByExactName) {
  Request req;
  req.target = "/x?page=2&limit=&xlimit=5&flag";
  EXPECT_EQ(req.query("page"), "2");
  EXPECT_EQ(req.query("limit"), "");
  EXPECT_EQ(req.query("flag"), "");
  EXPECT_EQ(req.query("xlimit"), "5");
  EXPECT_FALSE(req.query("offset"));
  req.target = "/x";
  EXPECT_FALSE(req.query("page"));
}

// Versions: every answer names the version that served it, 404 and errors included; a header
// naming no version is the error writer's kBadApiVersion and reaches no handler.
TEST(Router, VersioningNamesTheVersionOnEveryAnswerAndRefusesAnUnknownOne) {
  Routed r;
  std::vector<ProtocolError> errors;
  r.router.set_error_writer([&](const ErrorContext&, ProtocolError e, Response& res) {
    errors.push_back(e);
    res.body = "err";
  });
  r.router.set_versioning(
      {"X-API-Version", "2026-01-01",
       [](std::optional<std::string_view> h) -> std::optional<std::string_view> {
         if (!h) return "2026-01-01";
         if (*h >= "2026-01-01" && *h <= "2099") return "2026-01-01";
         return std::nullopt;
       }});
  auto go = [&](http::verb m, std::string_view path, const char* version) {
    r.hit.clear();
    http::fields f;
    if (version != nullptr) f.set("X-API-Version", version);
    Request req;
    req.method = m;
    req.path = path;
    req.fields = HeaderFields(&f);
    std::string body;
    Response res(body);
    r.router.dispatch(req, res);
    std::string named;
    for (const auto& [name, value] : res.extra_headers()) {
      if (name == "X-API-Version") named += value + ";";
    }
    return std::pair{res.status, named};
  };
  EXPECT_EQ(go(http::verb::get, "/api/v1/licenses", nullptr),
            std::pair(200u, std::string("2026-01-01;")));
  EXPECT_EQ(r.hit, "list");
  EXPECT_EQ(go(http::verb::get, "/api/v1/licenses", "2026-06-01"),
            std::pair(200u, std::string("2026-01-01;")));
  EXPECT_EQ(go(http::verb::get, "/nowhere", nullptr), std::pair(404u, std::string("2026-01-01;")));
  EXPECT_EQ(go(http::verb::delete_, "/api/v1/licenses", nullptr),
            std::pair(405u, std::string("2026-01-01;")));
  EXPECT_EQ(go(http::verb::get, "/api/v1/licenses", "garbage"),
            std::pair(400u, std::string("2026-01-01;")));
  EXPECT_EQ(r.hit, "") << "a refused version reaches no handler";
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors.back(), ProtocolError::kBadApiVersion);
  // An error the server writes before dispatch names the current version once.
  std::string body;
  Response res(body);
  r.router.write_error(ErrorContext{}, ProtocolError::kBodyTooLarge, res);
  EXPECT_EQ(res.status, 413u);
  ASSERT_EQ(res.extra_headers().size(), 1u);
  EXPECT_EQ(res.extra_headers()[0].second, "2026-01-01");
}

}  // namespace
}  // namespace le::net
