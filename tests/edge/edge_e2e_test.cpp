// End-to-end: the real license-edge binary, seeded from the demo change file, driven over HTTP
// on loopback with the spec's own examples and with malformed, oversized and hostile input.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/digest.h"
#include "store/record_store.h"
#include "support/edge_process.h"
#include "support/fixtures.h"

namespace le {
namespace {

using test::EdgeProcess;
using test::HttpClient;
using test::HttpReply;
namespace http = test::http;

const std::string kBinary = LE_EDGE_BINARY;
const std::string kDemo = LE_DEMO_CHANGES;
constexpr std::string_view kTkiMissingFields =
    "Missing required fields: data.ip, data.hwid, data.product, data.version, or data.licensekey";

std::string seed_replica(const test::TempDir& dir) {
  const std::string db = dir.path("db");
  // Bounded: an edge that wrongly starts serving is stopped (exit status 124), not waited for.
  const std::string cmd =
      "timeout 20 " + kBinary + " --db " + db + " --seed " + kDemo + " --seed-only 2>/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return db;
}

core::Digest replica_digest(const std::string& db) {
  auto r = store::RecordStore::open({db, 8u << 20, false});
  EXPECT_TRUE(r) << r.error().message;
  return (*r)->content_digest(true).value();
}

std::vector<std::string> edge_args(const std::string& db) {
  return {
      "--db", db,           "--threads", "2", "--request-timeout-ms", "700", "--idle-timeout-ms",
      "3000", "--drain-ms", "2000"};
}

// Parses a JSON body; fails the test when it is not a JSON object.
simdjson::dom::element json_of(simdjson::dom::parser& p, const HttpReply& r) {
  simdjson::dom::element e;
  auto err = p.parse(r.body).get(e);
  EXPECT_FALSE(err) << "not JSON: " << r.body;
  EXPECT_TRUE(e.is_object()) << r.body;
  return e;
}

std::string str(simdjson::dom::element e, std::string_view field) {
  std::string_view v;
  if (e[field].get_string().get(v)) return "<missing " + std::string(field) + ">";
  return std::string(v);
}

class EdgeE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    db_ = seed_replica(*dir_);
    edge_ = new EdgeProcess(kBinary, edge_args(db_));
  }
  static void TearDownTestSuite() {
    delete edge_;
    delete dir_;
  }
  static unsigned short port() { return edge_->port(); }

  static inline test::TempDir* dir_ = nullptr;
  static inline std::string db_;
  static inline EdgeProcess* edge_ = nullptr;
  simdjson::dom::parser parser_;
};

// --- The spec's examples, byte for byte as each client library sends them ------------------

// A replica that does not fit --memory-budget-mb is refused at start, with the reason and exit
// status 1, before anything listens; with room enough the same replica serves.
TEST(EdgeStart, AReplicaOverTheMemoryBudgetIsRefusedWithItsReason) {
  test::TempDir dir;
  const std::string db = dir.path("db");
  {
    auto store = store::RecordStore::open({db}).value();
    std::vector<core::ChangeEvent> events;
    for (int i = 0; i < 20000; ++i) {
      auto l = test::license("BIG-" + std::to_string(i), "lic_" + std::to_string(i));
      l.metadata_json = R"({"note":")" + std::string(100, 'x') + R"("})";
      events.push_back(test::event(l));
    }
    ASSERT_TRUE(store->apply(events, 1));
  }
  const std::string log = dir.path("edge.log");
  // Bounded: an edge that wrongly starts serving is stopped (exit status 124), not waited for.
  const std::string cmd = "timeout 20 " + kBinary + " --db " + db +
                          " --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --memory-budget-mb 1 "
                          "--port-file " +
                          dir.path("ports") + " 2>" + log;
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("do not fit the memory budget of 1 MiB"), std::string::npos) << text;
  EXPECT_FALSE(std::filesystem::exists(dir.path("ports")));  // it never listened
  EdgeProcess edge(kBinary, {"--db", db, "--memory-budget-mb", "64"});
  HttpClient c(edge.port());
  auto r = c.post("/api/v1/validate", R"({"key":"BIG-19999"})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find(R"("valid":true)"), std::string::npos) << r.body;
}

TEST_F(EdgeE2E, SpecCurlQuickStartValidates) {
  HttpClient c(port());
  auto r = c.post(
      "/api/v1/validate", R"({"key": "XXXX-XXXX-XXXX-XXXX", "domain": "example.com"})",
      {{"Authorization", "Bearer to_live_xxxxxxxxxxxxx"}, {"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = json_of(parser_, r);
  EXPECT_TRUE(j["valid"].get_bool().value());
  EXPECT_EQ(str(j["license"], "key"), "XXXX-XXXX-XXXX-XXXX");
  EXPECT_EQ(str(j["license"], "status"), "active");
  EXPECT_EQ(str(j, "code"), "VALID");
  EXPECT_EQ(r.headers[http::field::content_type], "application/json");
}

// X-API-Version: every answer names the version that served it (errors included); a pinned date
// is served by the newest version released by then; anything else is 400 in the protocol's
// error format, TKI's included, and validates nothing.
TEST_F(EdgeE2E, ApiVersionIsNamedOnEveryAnswerAndAnUnknownOneIs400) {
  HttpClient c(port());
  const std::string body = R"({"key": "XXXX-XXXX-XXXX-XXXX"})";
  auto plain = c.post("/api/v1/validate", body);
  EXPECT_EQ(plain.status, 200u);
  EXPECT_EQ(plain.headers["X-API-Version"], "2026-01-01");
  auto pinned = c.post("/api/v1/validate", body, {{"X-API-Version", "2026-06-30"}});
  EXPECT_EQ(pinned.status, 200u);
  EXPECT_EQ(pinned.headers["X-API-Version"], "2026-01-01");
  EXPECT_EQ(c.request(http::verb::get, "/api/v1/nowhere").headers["X-API-Version"], "2026-01-01");
  EXPECT_EQ(c.request(http::verb::get, "/api/v1/validate").headers["X-API-Version"], "2026-01-01");
  for (const char* bad : {"garbage", "2025-12-31", "2026-02-30", "", "2026-01-01T00:00:00Z",
                          "99999999999999999999", "../../etc/passwd"}) {
    auto r = c.post("/api/v1/validate", body, {{"X-API-Version", bad}});
    EXPECT_EQ(r.status, 400u) << bad;
    EXPECT_EQ(r.headers["X-API-Version"], "2026-01-01");
    auto j = json_of(parser_, r);
    EXPECT_EQ(str(j, "code"), "VALIDATION_ERROR") << r.body;
    EXPECT_NE(r.body.find("X-API-Version"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("\"valid\""), std::string::npos) << r.body;
  }
  auto tki = c.post("/api/license/auth", R"({"license_key":"x"})", {{"X-API-Version", "nope"}});
  EXPECT_EQ(tki.status, 400u);
  auto j = json_of(parser_, tki);
  EXPECT_EQ(str(j, "status_overview"), "failed") << tki.body;
  EXPECT_EQ(str(j, "message"), "Invalid X-API-Version");
}

TEST_F(EdgeE2E, SpecJavaScriptAndPythonBodiesValidate) {
  HttpClient c(port());
  const std::vector<std::string> bodies = {
      R"({"key":"XXXX-XXXX-XXXX-XXXX"})",                            // JSON.stringify({ key })
      R"({"key":"XXXX-XXXX-XXXX-XXXX","domain":"example.com"})",     // JS SDK section
      R"({"key": "XXXX-XXXX-XXXX-XXXX", "domain": "example.com"})",  // Python requests json=
      R"({"license_key":"XXXX-XXXX-XXXX-XXXX"})",                    // React hook / reference
      R"({"domain":"example.com","key":"XXXX-XXXX-XXXX-XXXX"})",     // Go (map keys sorted)
  };
  for (const auto& b : bodies) {
    auto r = c.post(
        "/api/v1/validate", b,
        {{"Authorization", "Bearer to_live_xxxxxxxxxxxxx"}, {"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200u) << b << " -> " << r.body;
    EXPECT_TRUE(json_of(parser_, r)["valid"].get_bool().value()) << b;
  }
}

TEST_F(EdgeE2E, SpecTkiExampleAuthenticates) {
  HttpClient c(port());
  auto r = c.post("/api/license/auth", R"({
"data": {
"product": "MyProduct",
"version": "1.0.0",
"licensekey": "TKI-XXXXX-XXXXX",
"ip": "192.168.1.1",
"hwid": "unique-hardware-id"
}
})",
                  {{"Authorization", "your-api-key-here"},
                   {"Content-Type", "application/json"},
                   {"User-Agent", "MyApp/1.0.0"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = json_of(parser_, r);
  EXPECT_EQ(str(j, "status_overview"), "success");
  EXPECT_EQ(str(j, "status_msg"), "Successful Authentication!");
  EXPECT_EQ(j["status_code"].get_int64().value(), 200);
  EXPECT_EQ(str(j, "discord_username"), "john_doe");
  EXPECT_EQ(str(j, "expire_date"), "12/31/2099");
  EXPECT_FALSE(j["staff_license"].get_bool().value());
}

// --- Outcomes over HTTP ----------------------------------------------------------------------

TEST_F(EdgeE2E, PublicValidationOutcomes) {
  HttpClient c(port());
  struct Case {
    std::string body;
    bool valid;
    std::string code;
  };
  for (const auto& k : std::vector<Case>{
           {R"({"license_key":"DEMO-VALD-0000-0001","machine_id":"unique-device-fingerprint"})",
            true, "VALID"},
           {R"({"license_key":"DEMO-VALD-0000-0001","machine_id":"other"})", false,
            "MACHINE_NOT_ACTIVATED"},
           {R"({"license_key":"DEMO-VALD-0000-0001","product_id":"prod_x"})", false,
            "PRODUCT_MISMATCH"},
           {R"({"license_key":"DEMO-EXPD-0000-0002"})", false, "EXPIRED"},
           {R"({"license_key":"DEMO-SUSP-0000-0003"})", false, "SUSPENDED"},
           {R"({"license_key":"NOPE-NOPE-NOPE-NOPE"})", false, "NOT_FOUND"},
       }) {
    auto r = c.post("/api/v1/validate", k.body);
    ASSERT_EQ(r.status, 200u) << k.body << " -> " << r.body;
    auto j = json_of(parser_, r);
    EXPECT_EQ(j["valid"].get_bool().value(), k.valid) << k.body;
    EXPECT_EQ(str(j, "code"), k.code) << k.body;
    EXPECT_FALSE(str(j, "detail").empty());
  }
}

TEST_F(EdgeE2E, ApiKeyScopesLicensesByModeAndAccount) {
  HttpClient c(port());
  auto test_key = [&](std::string body) {
    return c.post("/api/v1/validate", std::move(body),
                  {{"Authorization", "Bearer to_test_demo00000000000000000000"}});
  };
  auto r = test_key(R"({"key":"DEMO-TEST-0000-0004"})");
  EXPECT_TRUE(json_of(parser_, r)["valid"].get_bool().value()) << r.body;
  r = test_key(R"({"key":"DEMO-VALD-0000-0001"})");  // a live license
  EXPECT_EQ(str(json_of(parser_, r), "code"), "NOT_FOUND");
  r = c.post("/api/v1/validate", R"({"key":"DEMO-TEST-0000-0004"})",
             {{"Authorization", "Bearer to_live_demo00000000000000000000"}});
  EXPECT_EQ(str(json_of(parser_, r), "code"), "NOT_FOUND");
}

TEST_F(EdgeE2E, TkiFirstUseBindingIsATemporaryErrorNotAFakeSuccess) {
  HttpClient c(port());
  auto r = c.post(
      "/api/license/auth",
      R"({"data":{"product":"MyProduct","version":"1.0.0","licensekey":"TKI-XXXXX-XXXXX","ip":"10.9.9.9","hwid":"unique-hardware-id"}})",
      {{"Authorization", "your-api-key-here"}});
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.headers["Retry-After"], "5");
  EXPECT_EQ(str(json_of(parser_, r), "status_overview"), "failed");
}

TEST_F(EdgeE2E, TkiBlacklistedIpIsRefused) {
  HttpClient c(port());
  auto r = c.post(
      "/api/license/auth",
      R"({"data":{"product":"MyProduct","version":"1.0.0","licensekey":"TKI-XXXXX-XXXXX","ip":"203.0.113.66"}})",
      {{"Authorization", "your-api-key-here"}});
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(str(json_of(parser_, r), "message"), "Your IP is blacklisted!");
}

TEST_F(EdgeE2E, AbsoluteFormTargetAndByteOrderMarkAreServed) {
  HttpClient c(port());
  const std::string body = "\xEF\xBB\xBF{\"key\":\"XXXX-XXXX-XXXX-XXXX\",\"x\":1e999}";
  c.send_raw("POST http://127.0.0.1:" + std::to_string(port()) +
             "/api/v1/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             "Content-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body);
  auto r = c.read();
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(json_of(parser_, r)["valid"].get_bool().value());
  EXPECT_TRUE(r.keep_alive);
}

TEST_F(EdgeE2E, HealthAndKeepAlive) {
  HttpClient c(port());
  for (int i = 0; i < 200; ++i) {
    auto r = c.request(http::verb::get, "/healthz");
    ASSERT_EQ(r.status, 200u);
    ASSERT_TRUE(r.keep_alive);
  }
  EXPECT_EQ(c.request(http::verb::get, "/readyz").status, 200u);
}

// --- Bad input: documented 4xx, server stays up, replica unchanged ----------------------------

struct BadCase {
  std::string name;
  std::function<HttpReply(HttpClient&)> send;
  unsigned status;
  std::string code;  // TO "code", or TKI "message" when tki
  bool tki = false;
};

std::vector<BadCase> bad_cases() {
  auto post = [](std::string target, std::string body,
                 std::vector<std::pair<std::string, std::string>> h = {
                     {"Content-Type", "application/json"}}) {
    return [=](HttpClient& c) { return c.post(target, body, h); };
  };
  auto raw = [](std::string bytes, bool half_close = false) {
    return [=](HttpClient& c) {
      c.send_raw(bytes);
      if (half_close) c.half_close();
      return c.read();
    };
  };
  const std::string v = "/api/v1/validate";
  const std::string a = "/api/license/auth";
  const std::vector<std::pair<std::string, std::string>> tki_auth = {
      {"Authorization", "your-api-key-here"}};
  return {
      {"MalformedJson", post(v, R"({"key": "A",,})"), 400, "VALIDATION_ERROR"},
      {"NotAnObject", post(v, R"(["XXXX-XXXX-XXXX-XXXX"])"), 400, "VALIDATION_ERROR"},
      {"WrongTypeKey", post(v, R"({"key": 1234})"), 400, "VALIDATION_ERROR"},
      {"WrongTypeDomain", post(v, R"({"key":"A","domain":["x"]})"), 400, "VALIDATION_ERROR"},
      {"MissingKey", post(v, R"({"domain":"example.com"})"), 400, "MISSING_FIELDS"},
      {"EmptyBody", post(v, ""), 400, "VALIDATION_ERROR"},
      {"NonUtf8", post(v, "{\"key\":\"\xc3\x28\xa0\xa1\"}"), 400, "VALIDATION_ERROR"},
      {"HugeKey", post(v, R"({"key":")" + std::string(10000, 'K') + R"("})"), 400,
       "VALIDATION_ERROR"},
      {"TruncatedJson", post(v, R"({"key":"XXXX-XXXX)"), 400, "VALIDATION_ERROR"},
      {"TruncatedBodyHalfClosed",
       raw("POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"key\":",
           true),
       400, "VALIDATION_ERROR"},
      {"TruncatedBodyStalls",
       raw("POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"key\":"),
       408, "REQUEST_TIMEOUT"},
      {"OversizedBody", post(v, R"({"key":")" + std::string(40000, 'K') + R"("})"), 413,
       "PAYLOAD_TOO_LARGE"},
      {"OversizedChunkedBody",
       raw("POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
           [] {
             std::string s;
             for (int i = 0; i < 40; ++i) s += "400\r\n" + std::string(1024, 'a') + "\r\n";
             return s + "0\r\n\r\n";
           }()),
       413, "PAYLOAD_TOO_LARGE"},
      {"OversizedHeaders", post(v, R"({"key":"A"})", {{"X-Junk", std::string(20000, 'h')}}), 431,
       "HEADERS_TOO_LARGE"},
      {"GarbageRequestLine", raw("HELLO THERE\r\n\r\n"), 400, "VALIDATION_ERROR"},
      {"BadContentLength",
       raw("POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"), 400,
       "VALIDATION_ERROR"},
      {"UnknownRoute", post("/api/v1/../../etc/passwd", "{}"), 404, "NOT_FOUND"},
      {"UnknownRoute2", [](HttpClient& c) { return c.request(http::verb::get, "/admin"); }, 404,
       "NOT_FOUND"},
      {"WrongMethod", [](HttpClient& c) { return c.request(http::verb::get, "/api/v1/validate"); },
       405, "METHOD_NOT_ALLOWED"},
      {"WrongMethodDelete",
       [](HttpClient& c) { return c.request(http::verb::delete_, "/api/v1/validate"); }, 405,
       "METHOD_NOT_ALLOWED"},
      {"ApiKeyWrongScheme", post(v, R"({"key":"A"})", {{"Authorization", "Basic Zm9vOmJhcg=="}}),
       401, "INVALID_API_KEY"},
      {"ApiKeyUnknown", post(v, R"({"key":"A"})", {{"Authorization", "Bearer to_live_nope"}}), 401,
       "INVALID_API_KEY"},
      {"ApiKeyEmpty", post(v, R"({"key":"A"})", {{"Authorization", "Bearer "}}), 401,
       "AUTH_REQUIRED"},
      {"TkiNoAuthorization", post(a, R"({"data":{}})"), 401, "Authorization header is missing",
       true},
      {"TkiInvalidKey", post(a, R"({"data":{}})", {{"Authorization", "wrong"}}), 403,
       "Invalid API Key", true},
      {"TkiMalformedJson", post(a, R"({"data":{"product":)", tki_auth), 400,
       std::string(kTkiMissingFields), true},
      {"TkiWrongTypes",
       post(a, R"({"data":{"product":1,"version":"1.0.0","licensekey":"K","ip":"1.1.1.1"}})",
            tki_auth),
       400, std::string(kTkiMissingFields), true},
      {"TkiUnknownVersion",
       post(
           a,
           R"({"data":{"product":"MyProduct","version":"0.0.1","licensekey":"TKI-XXXXX-XXXXX","ip":"192.168.1.1"}})",
           tki_auth),
       400, "This Version does not exist!", true},
      {"TkiUnknownProduct",
       post(
           a,
           R"({"data":{"product":"Nope","version":"1.0.0","licensekey":"TKI-XXXXX-XXXXX","ip":"192.168.1.1"}})",
           tki_auth),
       404, "This product does not exist!", true},
      {"TkiUnknownLicense",
       post(
           a,
           R"({"data":{"product":"MyProduct","version":"1.0.0","licensekey":"TKI-NOPE","ip":"192.168.1.1"}})",
           tki_auth),
       404, "Invalid or non-existent license key.", true},
      {"TkiOversized", post(a, std::string(30000, ' ') + "{}", tki_auth), 413,
       "Request body is too large", true},
      {"TkiWrongMethod",
       [](HttpClient& c) { return c.request(http::verb::get, "/api/license/auth"); }, 405,
       "Method Not Allowed", true},
      // Refused by the HTTP layer before the handler, still in TKI's format.
      {"TkiOversizedHeaders", post(a, R"({"data":{}})", {{"X-Junk", std::string(20000, 'h')}}), 431,
       "Request headers are too large", true},
      {"TkiContentLengthAndChunked",
       raw("POST /api/license/auth HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
           "Transfer-Encoding: chunked\r\n\r\n"),
       400, "Bad Request", true},
      {"TkiControlCharactersInIp",
       post(
           a,
           R"({"data":{"product":"MyProduct","version":"1.0.0","licensekey":"TKI-XXXXX-XXXXX","ip":"192.168.1.1\r\nX: y"}})",
           tki_auth),
       400, std::string(kTkiMissingFields), true},
      {"TkiIpNotAnAddress",
       post(
           a,
           R"({"data":{"product":"MyProduct","version":"1.0.0","licensekey":"TKI-XXXXX-XXXXX","ip":"my-laptop"}})",
           tki_auth),
       400, std::string(kTkiMissingFields), true},
      {"TkiControlCharactersInHwid",
       post(
           a,
           R"({"data":{"product":"MyProduct","version":"1.0.0","licensekey":"TKI-XXXXX-XXXXX","ip":"192.168.1.1","hwid":"unique-hardware-id\u0000"}})",
           tki_auth),
       400, std::string(kTkiMissingFields), true},
      // Framing a server must refuse and close on (RFC 9112 6.1, 6.3, 3.2).
      {"BodyAfterGzipCodingIsNotASecondRequest",
       raw("POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
           "POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"),
       400, "VALIDATION_ERROR"},
      {"Http10WithTransferEncoding",
       raw("POST /api/v1/validate HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: "
           "chunked\r\n\r\n"
           "2\r\n{}\r\n0\r\n\r\n"),
       400, "VALIDATION_ERROR"},
      {"NoHost", raw("POST /api/v1/validate HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"), 400,
       "VALIDATION_ERROR"},
      {"UnendingChunkExtension",
       raw("POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=" +
           std::string(256 * 1024, 'a')),
       400, "VALIDATION_ERROR"},
      {"OutOfRangeNumberAsKey", post(v, R"({"key":1e999})"), 400, "VALIDATION_ERROR"},
  };
}

// Every answer on these cases' route (/api/v1/validate) carries its rate limit (README "Limits"),
// the HTTP layer's own 400, 405, 408, 413 and 431 included.
const std::set<std::string> kRateLimited = {"MalformedJson",
                                            "NotAnObject",
                                            "WrongTypeKey",
                                            "WrongTypeDomain",
                                            "MissingKey",
                                            "EmptyBody",
                                            "NonUtf8",
                                            "HugeKey",
                                            "TruncatedJson",
                                            "TruncatedBodyHalfClosed",
                                            "TruncatedBodyStalls",
                                            "OversizedBody",
                                            "OversizedChunkedBody",
                                            "OversizedHeaders",
                                            "BadContentLength",
                                            "WrongMethod",
                                            "WrongMethodDelete",
                                            "ApiKeyWrongScheme",
                                            "ApiKeyUnknown",
                                            "ApiKeyEmpty",
                                            "BodyAfterGzipCodingIsNotASecondRequest",
                                            "Http10WithTransferEncoding",
                                            "NoHost",
                                            "UnendingChunkExtension",
                                            "OutOfRangeNumberAsKey"};

TEST(EdgeBadInput, EachGetsItsDocumented4xxServerStaysUpReplicaUnchanged) {
  test::TempDir dir;
  const std::string db = seed_replica(dir);
  const core::Digest before = replica_digest(db);
  simdjson::dom::parser parser;
  {
    EdgeProcess edge(kBinary, edge_args(db));
    for (const auto& c : bad_cases()) {
      SCOPED_TRACE(c.name);
      HttpClient client(edge.port());
      HttpReply r;
      ASSERT_NO_THROW(r = c.send(client));
      EXPECT_EQ(r.status, c.status) << r.body;
      if (kRateLimited.count(c.name) != 0) {
        EXPECT_EQ(r.headers.count("X-RateLimit-Limit"), 1u);
        EXPECT_EQ(r.headers.count("X-RateLimit-Remaining"), 1u);
        EXPECT_EQ(r.headers.count("X-RateLimit-Reset"), 1u);
      }
      auto j = json_of(parser, r);
      if (c.tki) {
        EXPECT_EQ(str(j, "message"), c.code);
        EXPECT_EQ(str(j, "status_overview"), "failed");
      } else {
        EXPECT_EQ(str(j, "code"), c.code);
        EXPECT_EQ(str(j, "help"), "/docs#errors");
        EXPECT_FALSE(str(j, "error").empty());
      }
      // The server is still up and answering correctly on a new connection.
      HttpClient after(edge.port());
      auto ok = after.post("/api/v1/validate", R"({"key":"DEMO-VALD-0000-0001"})");
      ASSERT_EQ(ok.status, 200u);
      ASSERT_TRUE(json_of(parser, ok)["valid"].get_bool().value());
    }
    // Hostile content is escaped, never interpreted: the answer stays valid JSON, valid:false.
    HttpClient c(edge.port());
    auto r = c.post("/api/v1/validate", R"({"key":"\"},\"valid\":true,\"x\":{\"a\":\"\u0000"})");
    EXPECT_EQ(r.status, 400u);  // a NUL inside a key is refused
    r = c.post("/api/v1/validate", R"({"key":"\"},\"valid\":true,\"x\":{\"a\":\""})");
    ASSERT_EQ(r.status, 200u);
    EXPECT_FALSE(json_of(parser, r)["valid"].get_bool().value());
    EXPECT_EQ(edge.terminate(), 0);
  }
  EXPECT_EQ(replica_digest(db), before);
}

TEST(EdgeShutdown, SigtermDrainsInFlightAndExitsCleanly) {
  test::TempDir dir;
  const std::string db = seed_replica(dir);
  EdgeProcess edge(kBinary, edge_args(db));
  HttpClient idle(edge.port());  // an idle keep-alive connection must not hold shutdown up
  HttpClient busy(edge.port());
  const std::string body = R"({"key":"DEMO-VALD-0000-0001"})";
  busy.send_raw("POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 7));
  // Both connections accepted; the header already sent is read right after the accept (a
  // connection still idle when the drain starts would be closed, not answered).
  {
    HttpClient admin(edge.admin_port());
    const auto by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (admin.request(http::verb::get, "/metrics").body.find("\nle_edge_open_connections 2\n") ==
               std::string::npos &&
           std::chrono::steady_clock::now() < by) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  HttpReply answer;
  std::string failure;
  std::thread finisher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    try {
      busy.send_raw(body.substr(7));  // the in-flight request completes during the drain
      answer = busy.read();
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  const auto start = std::chrono::steady_clock::now();
  const int status = edge.terminate();
  finisher.join();
  EXPECT_EQ(status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  EXPECT_EQ(answer.status, 200u) << failure;
  EXPECT_NE(answer.body.find(R"("valid":true)"), std::string::npos) << answer.body;
  EXPECT_FALSE(answer.keep_alive);  // draining: told to go elsewhere
  EXPECT_TRUE(idle.closed_by_server());
}

}  // namespace
}  // namespace le
