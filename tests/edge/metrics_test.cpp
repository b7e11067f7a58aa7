// The edge's /metrics after a known mix of requests: exact counts by route, status and outcome,
// histogram bucket totals, rate-limit refusals, replication gauges; and the whole output is
// valid exposition format (promtool check metrics).
#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>

#include "support/cluster.h"

namespace le::test {
namespace {

using V = http::verb;

TEST(EdgeMetrics, CountsAKnownMixOfRequestsExactly) {
  Cluster cluster;
  cluster.start_nats();
  cluster.start_primary();
  cluster.bootstrap();
  auto lic = cluster.create_license();
  auto suspended = cluster.create_license();
  ASSERT_EQ(cluster.api(V::post, "/api/v1/licenses/" + suspended.id + "/suspend").status, 200u);
  // Rate limits on, with a public per-license limit of 3 a minute.
  auto edge = cluster.start_edge("edge", {"--public-license-limit", "3"}, true);
  HttpClient c(edge->port());
  ASSERT_TRUE(eventually([&] { return c.request(V::get, "/readyz").status == 200; }));
  ASSERT_TRUE(eventually([&] {
    return c.post("/api/v1/validate", R"({"license_key":")" + suspended.key + R"("})")
               .body.find("SUSPENDED") != std::string::npos;
  }));
  // Start counting from a scrape: the polls above are counted too, so take differences. A
  // request is counted just after its answer is written, so the last poll may not show yet:
  // a sentinel 404 on the same connection, counted after every request before it, marks the
  // scrape from which all of them show.
  HttpClient admin(edge->admin_port());
  ASSERT_EQ(c.request(V::get, "/nowhere").status, 404u);
  std::string before;
  ASSERT_TRUE(eventually([&] {
    before = admin.request(V::get, "/metrics").body;
    return metric(before, "le_edge_http_requests_total{route=\"other\",status=\"404\"}") == 1;
  }));

  const std::string valid = R"({"license_key":")" + lic.key + R"("})";
  const auto with_key = std::vector<std::pair<std::string, std::string>>{
      {"Content-Type", "application/json"}, {"Authorization", "Bearer " + cluster.api_key()}};
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.post("/api/v1/validate", valid, with_key).status, 200u);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(
        c.post("/api/v1/validate", R"({"license_key":"NOPE-NOPE-NOPE-0000"})", with_key).status,
        200u);
  }
  ASSERT_EQ(c.post("/api/v1/validate", "{bad json", with_key).status, 400u);
  // Public validations of one license: 3 allowed, then 429s (per-license limit 3/min).
  for (int i = 0; i < 5; ++i) c.post("/api/v1/validate", valid);
  ASSERT_EQ(c.request(V::get, "/nowhere").status, 404u);
  // A request is counted once its answer is written, which may be just after the client read
  // it: scrape until the last one shows.
  std::string after;
  auto delta = [&](const std::string& series) {
    return metric(after, series) - std::max(0.0, metric(before, series));
  };
  EXPECT_TRUE(eventually([&] {
    after = admin.request(V::get, "/metrics").body;
    return delta("le_edge_http_requests_total{route=\"other\",status=\"404\"}") == 1;
  }));
  const std::string v = R"(route="/api/v1/validate")";
  EXPECT_EQ(delta("le_edge_http_requests_total{" + v + ",status=\"200\"}"),
            10);  // 5 + 2 + 3 public
  EXPECT_EQ(delta("le_edge_http_requests_total{" + v + ",status=\"400\"}"), 1);
  EXPECT_EQ(delta("le_edge_http_requests_total{" + v + ",status=\"429\"}"), 2);
  EXPECT_EQ(delta("le_edge_http_requests_total{route=\"other\",status=\"404\"}"), 1);
  EXPECT_EQ(delta("le_edge_validations_total{code=\"VALID\"}"), 8);
  EXPECT_EQ(delta("le_edge_validations_total{code=\"NOT_FOUND\"}"), 2);
  EXPECT_EQ(delta("le_edge_rate_limited_total{kind=\"license\"}"), 2);
  EXPECT_EQ(delta("le_edge_rate_limited_total{kind=\"api_key\"}"), 0);
  // Every validate request is in the histogram, and the +Inf bucket holds them all.
  EXPECT_EQ(delta("le_edge_http_request_duration_seconds_count{" + v + "}"), 13);
  EXPECT_EQ(delta("le_edge_http_request_duration_seconds_bucket{" + v + ",le=\"+Inf\"}"), 13);
  EXPECT_LE(delta("le_edge_http_request_duration_seconds_bucket{" + v + ",le=\"0.0001\"}"),
            delta("le_edge_http_request_duration_seconds_bucket{" + v + ",le=\"1\"}"));
  // Replication and process figures are there.
  // (Stream and outbox sequences differ: a change published after a newer one of the same
  // entity is deduplicated by its Nats-Msg-Id.)
  EXPECT_GT(metric(after, "le_replication_applied_seq"), 0);
  EXPECT_EQ(metric(after, "le_replication_applied_seq"),
            metric(after, "le_replication_stream_seq"));
  EXPECT_EQ(metric(after, "le_replication_lag_events"), 0);
  EXPECT_EQ(metric(after, "le_nats_connected"), 1);
  EXPECT_EQ(metric(after, "le_edge_ready"), 1);
  EXPECT_GT(metric(after, "process_resident_memory_bytes"), 0);
  EXPECT_GT(metric(after, "process_open_fds"), 0);
  EXPECT_NE(after.find("le_edge_build_info{"), std::string::npos);
  EXPECT_GE(metric(after, "le_edge_rocksdb_l0_files"), 0);
  EXPECT_EQ(admin.request(V::get, "/readyz").status, 200u);

  // Valid exposition format.
  const std::string path = cluster.dir().path("metrics.txt");
  std::ofstream(path) << after;
  EXPECT_EQ(std::system(("promtool check metrics < " + path + " > /dev/null 2>&1").c_str()), 0)
      << after;

  // The primary's admin listener too.
  cluster.stop_primary();
}

TEST(HttpMetrics, PerThreadCellsSumExactlyAcrossWriterThreads) {
  metrics::HttpMetrics m(4, {"/a", "/b"}, "le_test");
  std::vector<std::thread> writers;
  for (unsigned w = 0; w < 4; ++w) {
    writers.emplace_back([&m, w] {
      for (int i = 0; i < 10'000; ++i) {
        m.observe(w, i % 2, i % 3 == 0 ? 200 : 418,
                  std::chrono::microseconds(i % 7 == 0 ? 2000 : 80));
      }
      m.observe(w, -1, 404, std::chrono::nanoseconds(0));
    });
  }
  // Scrapes while the writers run see monotone, never torn, totals.
  double last = 0;
  for (int i = 0; i < 50; ++i) {
    metrics::Families f;
    m.collect(f);
    double total = 0;
    for (const auto& metric : f[0].metric) total += metric.counter.value;
    EXPECT_GE(total, last);
    last = total;
  }
  for (auto& t : writers) t.join();
  // Route 0 gets the even i: 5000 per thread, a third of them (i % 3 == 0) answered 200.
  EXPECT_EQ(m.requests("/a", 200), 4u * 1667);
  EXPECT_EQ(m.requests("/a", 418), 4u * (5000 - 1667));  // counted under "other"
  EXPECT_EQ(m.requests("other", 404), 4u);
  metrics::Families f;
  m.collect(f);
  const std::string text = metrics::serialize(f);
  EXPECT_EQ(metric(text, R"(le_test_http_requests_total{route="/b",status="200"})"), 4 * 1667);
  EXPECT_EQ(metric(text, R"(le_test_http_request_duration_seconds_count{route="/a"})"), 20000);
  EXPECT_EQ(metric(text, R"(le_test_http_request_duration_seconds_bucket{route="/a",le="+Inf"})"),
            20000);
  // i % 7 == 0 took 2 ms: above the 1 ms bound, within 2.5 ms.
  const double slow_a =
      metric(text, R"(le_test_http_request_duration_seconds_bucket{route="/a",le="0.0025"})") -
      metric(text, R"(le_test_http_request_duration_seconds_bucket{route="/a",le="0.001"})");
  EXPECT_EQ(slow_a, 4 * 715);  // even i below 10000 divisible by 7: 0, 14, …, 9996
}

}  // namespace
}  // namespace le::test
