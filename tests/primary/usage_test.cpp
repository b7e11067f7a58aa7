// Usage end to end: a real nats-server, a license-primary and two license-edge processes. A
// known mix of validations, TKI authentications and blacklist hits at both edges reaches the
// primary in the edges' reports and is counted exactly (distinct machines exactly at this size);
// a report delivered twice counts once; an edge killed with SIGKILL loses at most what it
// counted since its last flush, and a restarted edge of the same id counts on.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include "core/edge_report.h"
#include "core/time_format.h"
#include "nats/jetstream.h"
#include "support/cluster.h"

namespace le::test {
namespace {

using V = http::verb;
constexpr auto kDeadline = std::chrono::seconds(20);

HttpReply post_with(unsigned short port, const std::string& target, const std::string& body,
                    const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  HttpClient c(port);
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
  headers.insert(headers.end(), extra.begin(), extra.end());
  return c.post(target, body, headers);
}

class Usage : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.start_nats();
    cluster_.start_primary();
    cluster_.bootstrap();
    ASSERT_TRUE(
        eventually([&] { return primary_metric("le_primary_reports_connected") == 1; }, kDeadline));
  }
  double primary_metric(const std::string& series) {
    return scrape(cluster_.primary().admin_port(), series);
  }
  // An edge started once every change so far is in the stream, ready once it holds them all.
  std::unique_ptr<EdgeProcess> edge(const std::string& name, const std::string& report_ms = "100") {
    EXPECT_TRUE(eventually(
        [&] {
          const auto body = cluster_.api(V::get, "/readyz").body;
          return json_int(body, "/publishedSeq") == json_int(body, "/outboxSeq");
        },
        kDeadline));
    auto e = cluster_.start_edge(name, {"--report-ms", report_ms, "--edge-id", name});
    EXPECT_TRUE(eventually([&] { return Cluster::edge_ready(e->port()); }, kDeadline));
    return e;
  }
  // Reports the stream has stored, and those the primary has taken from it.
  std::uint64_t reports_stored() {
    std::string error;
    nats::NatsOptions o;
    o.url = cluster_.nats_url();
    o.stream = nats::kReportStream;
    auto js = nats::JetStream::connect(o, error);
    auto seq = js ? js->last_seq(error) : std::nullopt;
    return seq.value_or(~std::uint64_t{0});
  }
  std::uint64_t reports_taken() {
    double n = 0;
    for (const char* r : {"applied", "duplicate", "undecodable"}) {
      n += primary_metric(std::string("le_primary_reports_total{result=\"") + r + "\"}");
    }
    return static_cast<std::uint64_t>(n);
  }
  std::string usage(const std::string& license_id) {
    return cluster_.api(V::get, "/api/v1/licenses/" + license_id + "/usage").body;
  }
  std::int64_t validations(const std::string& license_id, const std::string& outcome = "total") {
    return json_int(usage(license_id), "/data/totals/validations/" + outcome);
  }
  HttpReply tki(unsigned short port, const std::string& key, const std::string& ip,
                const std::string& hwid, const std::string& user_agent = "MyApp/1.0.0") {
    return post_with(port, "/api/license/auth",
                     R"({"data":{"product":"Acme App","version":"1.0.0","licensekey":")" + key +
                         R"(","ip":")" + ip + R"(","hwid":")" + hwid + R"("}})",
                     {{"Authorization", cluster_.api_key()}, {"User-Agent", user_agent}});
  }
  HttpReply validate(unsigned short port, const std::string& body, bool with_key = false) {
    std::vector<std::pair<std::string, std::string>> h;
    if (with_key) h.emplace_back("Authorization", "Bearer " + cluster_.api_key());
    return post_with(port, "/api/v1/validate", body, h);
  }

  Cluster cluster_;
};

TEST_F(Usage, AKnownMixAtTwoEdgesIsCountedExactly) {
  auto l1 = cluster_.create_license();
  auto l2 = cluster_.create_license();
  auto l3 = cluster_.create_license();
  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + l3.id + "/suspend").status, 200u);
  auto blocked =
      cluster_.api(V::post, "/api/v1/blacklist", R"({"type":"ip","value":"198.51.100.7"})");
  ASSERT_EQ(blocked.status, 201u) << blocked.body;
  const std::string entry = json_str(blocked.body, "/entry/id");
  auto a = edge("edge-a");
  auto b = edge("edge-b");

  // Validations: l1 10 at a and 5 at b; l3 (suspended) 4 at a; l2 with 20 machines at a and 20
  // at b, 10 of them the same, all refused as not activated (30 distinct machines); 3 unknown
  // keys under the API key (the account's, NOT_FOUND); 2 unknown keys without one (nobody's).
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Cluster::validate(a->port(), l1.key), "VALID");
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Cluster::validate(b->port(), l1.key), "VALID");
  for (int i = 0; i < 4; ++i) ASSERT_EQ(Cluster::validate(a->port(), l3.key), "SUSPENDED");
  for (int i = 0; i < 20; ++i) {
    for (auto [port, first] : {std::pair{a->port(), 0}, std::pair{b->port(), 10}}) {
      auto r = validate(port, R"({"license_key":")" + l2.key + R"(","machine_id":"dev-)" +
                                  std::to_string(first + i) + R"("})");
      ASSERT_EQ(json_str(r.body, "/code"), "MACHINE_NOT_ACTIVATED") << r.body;
    }
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Cluster::validate(b->port(), "NOPE-" + std::to_string(i), cluster_.api_key()),
              "NOT_FOUND");
  }
  for (int i = 0; i < 2; ++i) ASSERT_EQ(Cluster::validate(a->port(), "NOBODYS"), "NOT_FOUND");
  // TKI: l1 authenticates 3 times at a (the first binds its IP and HWID at the primary) and once
  // at b from another IP; a key nobody holds once; the blacklisted IP twice at a, once at b.
  for (int i = 0; i < 3; ++i) {
    auto r = tki(a->port(), l1.key, "10.0.0.1", "HW-1");
    ASSERT_EQ(r.status, 200u) << r.body;
  }
  ASSERT_EQ(tki(b->port(), l1.key, "10.0.0.2", "HW-1", "Other/2.0").status, 200u);
  ASSERT_EQ(tki(b->port(), "NO-SUCH-LICENSE", "10.0.0.3", "HW-9").status, 404u);
  for (auto port : {a->port(), a->port(), b->port()}) {
    ASSERT_EQ(tki(port, l1.key, "198.51.100.7", "HW-1").status, 403u);
  }

  // Everything reaches the primary (reports leave every 100 ms); wait for the last count.
  ASSERT_TRUE(eventually([&] { return validations(l2.id) == 40; }, kDeadline)) << usage(l2.id);
  ASSERT_TRUE(eventually(
      [&] {
        auto logs = cluster_.api(V::get, "/api/v1/auth-logs?limit=100").body;
        return json_int(logs, "/pagination/total") == 8;
      },
      kDeadline))
      << cluster_.api(V::get, "/api/v1/auth-logs?limit=100").body;

  const std::string u1 = usage(l1.id);
  EXPECT_EQ(json_int(u1, "/data/totals/validations/total"), 15) << u1;
  EXPECT_EQ(json_int(u1, "/data/totals/validations/VALID"), 15);
  EXPECT_EQ(json_int(u1, "/data/totals/auths/SUCCESS"), 4);
  EXPECT_EQ(json_int(u1, "/data/totals/auths/IP_BLACKLISTED"), 3);
  EXPECT_EQ(json_int(u1, "/data/totals/distinct/hwids"), 1);
  // The client IPs of validations (127.0.0.1) and the IPs TKI named (10.0.0.1, 10.0.0.2,
  // 198.51.100.7).
  EXPECT_EQ(json_int(u1, "/data/totals/distinct/ips"), 4);
  EXPECT_FALSE(json_str(u1, "/data/totals/lastValidatedAt").empty());
  EXPECT_EQ(json_int(usage(l3.id), "/data/totals/validations/SUSPENDED"), 4);
  const std::string u2 = usage(l2.id);
  EXPECT_EQ(json_int(u2, "/data/totals/validations/MACHINE_NOT_ACTIVATED"), 40);
  EXPECT_EQ(json_int(u2, "/data/totals/distinct/machines"), 30);  // exact at this size
  EXPECT_TRUE(json_bool(u2, "/data/keySharing/flagged"));         // 30 > the default 10
  EXPECT_FALSE(json_bool(u1, "/data/keySharing/flagged"));

  // The account's analytics: the same numbers, NOT_FOUND under the key, none of the public ones.
  const std::string an = cluster_.api(V::get, "/api/v1/analytics").body;
  EXPECT_EQ(json_int(an, "/data/totals/validations/total"), 15 + 4 + 40 + 3) << an;
  EXPECT_EQ(json_int(an, "/data/totals/validations/NOT_FOUND"), 3);
  EXPECT_EQ(json_int(an, "/data/totals/auths/total"), 4 + 1 + 3);
  EXPECT_EQ(json_str(an, "/data/topLicenses/0/licenseId"), l2.id);
  EXPECT_EQ(json_int(an, "/data/topLicenses/0/validations"), 40);
  EXPECT_EQ(json_str(an, "/data/topLicenses/1/licenseId"), l1.id);

  // Auth logs: every attempt, newest first, with what the client sent.
  const std::string logs =
      cluster_.api(V::get, "/api/v1/auth-logs?license_id=" + l1.id + "&outcome=success").body;
  EXPECT_EQ(json_int(logs, "/pagination/total"), 4) << logs;
  const std::string other = cluster_.api(V::get, "/api/v1/auth-logs?ip=10.0.0.2").body;
  EXPECT_EQ(json_int(other, "/pagination/total"), 1) << other;
  EXPECT_EQ(json_str(other, "/data/0/userAgent"), "Other/2.0");
  EXPECT_EQ(json_str(other, "/data/0/licenseId"), l1.id);
  EXPECT_EQ(json_str(other, "/data/0/product"), "Acme App");
  EXPECT_EQ(json_str(other, "/data/0/outcome"), "success");
  const std::string failed = cluster_.api(V::get, "/api/v1/auth-logs?outcome=failed").body;
  EXPECT_EQ(json_int(failed, "/pagination/total"), 4);

  // The blacklist entry's attempts, summed over both edges.
  const std::string bl = cluster_.api(V::get, "/api/v1/blacklist").body;
  EXPECT_EQ(json_str(bl, "/data/0/id"), entry) << bl;
  EXPECT_EQ(json_int(bl, "/data/0/attempts"), 3);
  EXPECT_FALSE(json_str(bl, "/data/0/lastAttemptAt").empty());

  // Nothing more arrives, nothing was dropped.
  for (auto* e : {a.get(), b.get()}) {
    EXPECT_EQ(scrape(e->admin_port(), "le_edge_reports_pending"), 0);
    for (const char* kind : {"failures", "usage", "auths", "blacklist"}) {
      for (const char* reason : {"full", "buffer"}) {
        EXPECT_EQ(
            scrape(e->admin_port(), std::string("le_edge_report_entries_dropped_total{kind=\"") +
                                        kind + "\",reason=\"" + reason + "\"}"),
            0);
      }
    }
  }
  EXPECT_EQ(primary_metric("le_primary_reports_total{result=\"undecodable\"}"), 0);
  EXPECT_EQ(validations(l1.id), 15);
}

// A report published twice — under two message ids, so the stream keeps both, as after a
// publish retried past the stream's duplicate window, or redelivered after a lost
// acknowledgement — counts once.
TEST_F(Usage, AReportDeliveredTwiceCountsOnce) {
  auto l1 = cluster_.create_license();
  core::UsageCount c;
  c.account_id = "acme";
  c.license_id = l1.id;
  c.product_id = cluster_.product_id();
  c.day = core::utc_day(std::time(nullptr));
  c.validations[static_cast<std::size_t>(core::UsageOutcome::kValid)] = 7;
  core::ReportEncoder enc(core::kMaxReportBytes);
  enc.begin({"edge-x", 1, 1});
  ASSERT_TRUE(enc.add(c));
  std::string body;
  enc.finish(body);

  std::string error;
  nats::NatsOptions o;
  o.url = cluster_.nats_url();
  auto js = nats::JetStream::connect(o, error);
  ASSERT_TRUE(js) << error;
  for (const char* id : {"edge-x-1-1", "edge-x-1-1", "again-1", "again-2"}) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id;
    jsPubAck* ack = nullptr;
    ASSERT_EQ(js_Publish(&ack, js->context(), nats::kReportSubject, body.data(),
                         static_cast<int>(body.size()), &po, nullptr),
              NATS_OK);
    jsPubAck_Destroy(ack);
  }
  // The stream kept three (one id twice within its window); the primary applied one.
  ASSERT_TRUE(eventually(
      [&] {
        return primary_metric("le_primary_reports_total{result=\"applied\"}") +
                   primary_metric("le_primary_reports_total{result=\"duplicate\"}") ==
               3;
      },
      kDeadline));
  EXPECT_EQ(primary_metric("le_primary_reports_total{result=\"applied\"}"), 1);
  EXPECT_EQ(primary_metric("le_primary_reports_total{result=\"duplicate\"}"), 2);
  EXPECT_EQ(validations(l1.id), 7);
  // A malformed report is dropped, counted, and holds nothing up.
  jsPubAck* ack = nullptr;
  ASSERT_EQ(js_Publish(&ack, js->context(), nats::kReportSubject, "{garbage", 8, nullptr, nullptr),
            NATS_OK);
  jsPubAck_Destroy(ack);
  enc.begin({"edge-x", 1, 2});
  ASSERT_TRUE(enc.add(c));
  enc.finish(body);
  ASSERT_EQ(js_Publish(&ack, js->context(), nats::kReportSubject, body.data(),
                       static_cast<int>(body.size()), nullptr, nullptr),
            NATS_OK);
  jsPubAck_Destroy(ack);
  ASSERT_TRUE(eventually([&] { return validations(l1.id) == 14; }, kDeadline));
  EXPECT_EQ(primary_metric("le_primary_reports_total{result=\"undecodable\"}"), 1);
}

// SIGKILL: what the edge flushed is kept, what it counted since is lost (at most one flush
// interval's), nothing counts twice; the same edge id restarted counts on from there.
TEST_F(Usage, AnEdgeKilledLosesAtMostItsLastIntervalAndARestartCountsOn) {
  auto l1 = cluster_.create_license();
  {
    auto e = edge("edge-k", "300");
    for (int i = 0; i < 50; ++i) ASSERT_EQ(Cluster::validate(e->port(), l1.key), "VALID");
    ASSERT_TRUE(eventually([&] { return validations(l1.id) == 50; }, kDeadline));
    ASSERT_TRUE(eventually([&] { return scrape(e->admin_port(), "le_edge_reports_pending") == 0; },
                           kDeadline));
    for (int i = 0; i < 30; ++i) ASSERT_EQ(Cluster::validate(e->port(), l1.key), "VALID");
    e->kill9();
  }
  // Every report the stream took from it has been taken by the primary.
  ASSERT_TRUE(eventually([&] { return reports_stored() == reports_taken(); }, kDeadline));
  const std::int64_t after_kill = validations(l1.id);
  EXPECT_GE(after_kill, 50);
  EXPECT_LE(after_kill, 80);

  auto again = edge("edge-k", "100");
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Cluster::validate(again->port(), l1.key), "VALID");
  ASSERT_TRUE(eventually([&] { return validations(l1.id) >= after_kill + 5; }, kDeadline))
      << validations(l1.id) << " after " << after_kill;
  EXPECT_EQ(validations(l1.id), after_kill + 5);
}

}  // namespace
}  // namespace le::test
