// Scale and latency of replication (CTest label "scale"; not in the default run, see README
// "Measuring"): an edge started empty against a stream of LE_SCALE_LICENSES (default 1,000,000)
// licenses converges to exactly the primary's state, and changes made at the primary become
// visible at an edge within the propagation budget. Prints the figures it measures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "support/cluster.h"

namespace le::test {
namespace {

using V = http::verb;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

TEST(ReplicationScale, EdgeStartedEmptyConvergesToMillionLicenseStream) {
  const char* env = std::getenv("LE_SCALE_LICENSES");
  const std::size_t count = env ? std::strtoull(env, nullptr, 10) : 1'000'000;
  Cluster cluster;
  cluster.start_nats();
  cluster.start_primary();
  cluster.bootstrap();
  auto t0 = Clock::now();
  cluster.create_licenses(count);
  const double create_ms = ms_since(t0);
  ASSERT_TRUE(eventually(
      [&] {
        auto r = cluster.admin(V::get, "/readyz");
        return json_int(r.body, "/publishedSeq") == json_int(r.body, "/outboxSeq");
      },
      std::chrono::seconds(300)));
  const double publish_ms = ms_since(t0);
  const auto head = json_int(cluster.admin(V::get, "/readyz").body, "/outboxSeq");

  t0 = Clock::now();
  auto edge = cluster.start_edge("edge");
  ASSERT_TRUE(
      eventually([&] { return Cluster::edge_ready(edge->port()); }, std::chrono::seconds(300)));
  const double catchup_ms = ms_since(t0);
  EXPECT_EQ(Cluster::edge_applied_seq(edge->port()), head);
  std::cout << "licenses: " << count << "\n"
            << "created at the primary in " << create_ms / 1000 << " s, all published after "
            << publish_ms / 1000 << " s\n"
            << "edge caught up from empty in " << catchup_ms / 1000 << " s ("
            << static_cast<std::uint64_t>(head / (catchup_ms / 1000)) << " events/s)\n";

  ASSERT_EQ(edge->terminate(), 0);
  cluster.stop_primary();
  const std::string primary = cluster.primary_digest();
  ASSERT_EQ(primary.size(), 64u);
  EXPECT_EQ(cluster.edge_digest("edge"), primary);
}

TEST(ReplicationScale, PropagationLatencyPrimaryWriteToEdge) {
  Cluster cluster;
  cluster.start_nats();
  cluster.start_primary();
  cluster.bootstrap();
  auto edge = cluster.start_edge("edge");
  auto lic = cluster.create_license();
  ASSERT_TRUE(eventually([&] { return Cluster::validate(edge->port(), lic.key) == "VALID"; }));

  // Each change alternates suspend / reinstate; the clock starts before the write is sent and
  // stops at the first validation at the edge that shows it.
  const int changes = 1000;
  std::vector<double> ms;
  HttpClient edge_client(edge->port());
  const std::string body = R"({"license_key":")" + lic.key + R"("})";
  for (int i = 0; i < changes; ++i) {
    const bool suspend = i % 2 == 0;
    const std::string want = suspend ? "SUSPENDED" : "VALID";
    const auto t0 = Clock::now();
    auto r =
        cluster.api(V::post, "/api/v1/licenses/" + lic.id + (suspend ? "/suspend" : "/reinstate"));
    ASSERT_EQ(r.status, 200u) << r.body;
    bool seen = false;
    while (ms_since(t0) < 5000) {
      if (json_str(edge_client.post("/api/v1/validate", body).body, "/code") == want) {
        seen = true;
        break;
      }
    }
    ASSERT_TRUE(seen) << "change " << i << " not visible within 5 s";
    ms.push_back(ms_since(t0));
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms[static_cast<std::size_t>(p * (ms.size() - 1))]; };
  std::cout << "propagation over " << changes << " changes: p50 " << pct(0.5) << " ms, p99 "
            << pct(0.99) << " ms, max " << ms.back() << " ms\n";
  EXPECT_LT(pct(0.99), 50.0);
}

}  // namespace
}  // namespace le::test
