// validation.failed end to end: a real nats-server, a license-primary and license-edge
// processes. Failed validations of an existing license at an edge (both protocols) reach the
// primary in the edge's reports and become exactly one event per license per window, with the
// window's count; successful validations and unknown keys report nothing, and neither does an
// edge started with --no-reports.
#include <gtest/gtest.h>

#include "support/cluster.h"

namespace le::test {
namespace {

using V = http::verb;
constexpr auto kWindowMs = 4000;
constexpr auto kDeadline = std::chrono::seconds(20);

class ValidationFailed : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.start_nats();
    cluster_.start_primary({"--failure-window-ms", std::to_string(kWindowMs)});
    cluster_.bootstrap();
    ASSERT_TRUE(
        eventually([&] { return primary_metric("le_primary_reports_connected") == 1; }, kDeadline));
  }
  double primary_metric(const std::string& series) {
    return scrape(cluster_.primary().admin_port(), series);
  }
  Cluster::License suspended_license() {
    auto lic = cluster_.create_license();
    EXPECT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/suspend").status, 200u);
    return lic;
  }
  // An edge started once every change so far is in the stream, ready once it holds them all:
  // it refuses a suspended license without having been asked before (which would count).
  std::unique_ptr<EdgeProcess> edge(const std::string& name, std::vector<std::string> extra = {}) {
    EXPECT_TRUE(eventually(
        [&] {
          const auto body = cluster_.api(V::get, "/readyz").body;
          return json_int(body, "/publishedSeq") == json_int(body, "/outboxSeq");
        },
        kDeadline));
    extra.insert(extra.end(), {"--report-ms", "100", "--edge-id", name});
    auto e = cluster_.start_edge(name, extra);
    EXPECT_TRUE(eventually([&] { return Cluster::edge_ready(e->port()); }, kDeadline));
    return e;
  }
  // The validation.failed events recorded, oldest first.
  std::vector<std::string> failed_events() {
    const auto body = cluster_.api(V::get, "/api/v1/events?limit=100").body;
    std::vector<std::string> out;
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    simdjson::dom::array data;
    if (p.parse(body).get(doc) || doc["data"].get_array().get(data)) {
      ADD_FAILURE() << body;
      return out;
    }
    for (auto e : data) {
      std::string_view type;
      if (!e["event"].get_string().get(type) && type == "validation.failed") {
        out.push_back(simdjson::minify(e));
      }
    }
    return out;
  }

  Cluster cluster_;
};

TEST_F(ValidationFailed, FailuresOfOneLicenseWithinAWindowAreOneEventWithTheirCount) {
  auto valid = cluster_.create_license();
  auto suspended = suspended_license();
  auto e = edge("edge-a");
  // Neither a successful validation nor an unknown key is a failure to report.
  ASSERT_EQ(Cluster::validate(e->port(), valid.key), "VALID");
  ASSERT_EQ(Cluster::validate(e->port(), "NOPE-NOPE-NOPE-NOPE"), "NOT_FOUND");
  ASSERT_EQ(Cluster::validate(e->port(), valid.key, cluster_.api_key()), "VALID");

  constexpr int kValidations = 20, kTkiAuths = 5;
  for (int i = 0; i < kValidations; ++i) {
    auto r = post_json(e->port(), "/api/v1/validate",
                       R"({"license_key":")" + suspended.key + R"(","machine_id":"device-7"})");
    ASSERT_EQ(json_str(r.body, "/code"), "SUSPENDED") << r.body;
  }
  for (int i = 0; i < kTkiAuths; ++i) {
    auto r = post_json(e->port(), "/api/license/auth",
                       R"({"data":{"product":"Acme App","version":"1.0.0","licensekey":")" +
                           suspended.key + R"(","ip":"192.0.2.1","hwid":"device-7"}})",
                       cluster_.api_key());
    ASSERT_EQ(r.status, 403u) << r.body;
  }
  constexpr int kFailures = kValidations + kTkiAuths;
  // All of them reach the primary within the window they opened (reports leave every 100 ms;
  // the window lasts seconds), and only they: the valid and unknown keys added nothing.
  ASSERT_TRUE(eventually(
      [&] { return primary_metric("le_primary_validation_failures_received_total") >= kFailures; },
      kDeadline));
  EXPECT_EQ(primary_metric("le_primary_validation_failures_received_total"), kFailures);
  EXPECT_EQ(primary_metric("le_primary_validation_failed_events_total"), 0);  // still open
  EXPECT_EQ(scrape(e->admin_port(), "le_edge_validation_failures_reported_total"), kFailures);
  EXPECT_GE(scrape(e->admin_port(), "le_edge_reports_total"), 1);

  // The window closes: one event for the license, with the window's count.
  ASSERT_TRUE(eventually(
      [&] { return primary_metric("le_primary_validation_failed_events_total") >= 1; }, kDeadline));
  const auto events = failed_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(json_str(events[0], "/data/licenseId"), suspended.id);
  EXPECT_EQ(json_str(events[0], "/data/productId"), cluster_.product_id());
  EXPECT_EQ(json_str(events[0], "/data/machineId"), "device-7");
  EXPECT_EQ(json_str(events[0], "/data/reason"), "SUSPENDED");
  EXPECT_EQ(json_int(events[0], "/data/count"), kFailures);
  EXPECT_EQ(json_str(events[0], "/id").rfind("evt_", 0), 0u);
  EXPECT_FALSE(json_str(events[0], "/timestamp").empty());
  EXPECT_EQ(primary_metric("le_primary_validation_failures_dropped_total"), 0);
  EXPECT_EQ(scrape(e->admin_port(),
                   R"(le_edge_report_entries_dropped_total{kind="failures",reason="full"})"),
            0);
}

TEST_F(ValidationFailed, AnEdgeWithoutFailureReportsReportsNothing) {
  auto quiet_license = suspended_license();
  auto marker_license = suspended_license();
  auto quiet = edge("quiet", {"--no-reports"});
  auto loud = edge("loud");
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(Cluster::validate(quiet->port(), quiet_license.key), "SUSPENDED");
  }
  // Then one failure at an edge that reports. Had the quiet edge reported, its report (sent
  // within 100 ms of its failures, before this one) would be in the window this one opens or
  // an earlier one, whose event would be recorded before this one's.
  ASSERT_EQ(Cluster::validate(loud->port(), marker_license.key), "SUSPENDED");
  ASSERT_TRUE(eventually(
      [&] { return primary_metric("le_primary_validation_failed_events_total") >= 1; }, kDeadline));
  const auto events = failed_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(json_str(events[0], "/data/licenseId"), marker_license.id);
  EXPECT_EQ(json_int(events[0], "/data/count"), 1);
  EXPECT_EQ(primary_metric("le_primary_validation_failures_received_total"), 1);
  EXPECT_EQ(scrape(quiet->admin_port(), "le_edge_reports_total"), -1);  // not running
}

}  // namespace
}  // namespace le::test
