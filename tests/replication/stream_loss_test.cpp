// Integration: the nats-server loses messages it acknowledged — stopped, its store deleted,
// started again on the same port, as after a power loss before its fsync. The primary notices
// the stream is behind what it acknowledged and publishes its retained outbox again: a fresh
// edge then gets every change, and every replica equals the primary's store. With a retention
// too short to cover the loss, the fresh edge lacks what was lost (the retention is what
// bounds it), and the running edge, now ahead of the stream, replays it from the start and
// goes on.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/cluster.h"

namespace le::test {
namespace {

using namespace std::chrono_literals;

class StreamLoss : public ::testing::TestWithParam<bool> {};

TEST_P(StreamLoss, AcknowledgedChangesTheServerLostArePublishedAgain) {
  const bool retained = GetParam();
  Cluster cluster;
  cluster.start_nats();
  cluster.start_primary({"--outbox-retain-s", retained ? "150" : "1"});
  cluster.bootstrap();
  std::vector<Cluster::License> before;
  for (int i = 0; i < 20; ++i) before.push_back(cluster.create_license());
  auto edge = cluster.start_edge("edge-a");
  ASSERT_TRUE(eventually(
      [&] { return Cluster::validate(edge->port(), before.back().key) == "VALID"; }, 15s));
  const unsigned short primary_admin = cluster.primary().admin_port();
  ASSERT_TRUE(
      eventually([&] { return scrape(primary_admin, "le_primary_unpublished_events") == 0; }));
  if (!retained) std::this_thread::sleep_for(3s);  // past the retention: the rows are deleted

  cluster.stop_nats();
  std::filesystem::remove_all(cluster.dir().path("nats"));
  cluster.start_nats();

  if (!retained) {
    // Nothing left to send again: the stream restarts empty, and a fresh edge gets only what
    // is changed from now on.
    const auto after = cluster.create_license();
    auto fresh = cluster.start_edge("edge-b");
    ASSERT_TRUE(
        eventually([&] { return Cluster::validate(fresh->port(), after.key) == "VALID"; }, 20s));
    EXPECT_EQ(Cluster::validate(fresh->port(), before.front().key), "NOT_FOUND");
    EXPECT_EQ(scrape(primary_admin, "le_primary_stream_rewinds_total"), 1);
    // The running edge is ahead of the new stream: it replays it from the start, keeps what it
    // has and gets the new change.
    EXPECT_TRUE(
        eventually([&] { return Cluster::validate(edge->port(), after.key) == "VALID"; }, 20s))
        << log_tail(cluster.dir().path("edge-a.log"));
    EXPECT_GE(scrape(edge->admin_port(), "le_replication_stream_rewinds_total"), 1);
    EXPECT_EQ(Cluster::validate(edge->port(), before.front().key), "VALID");
    return;
  }
  ASSERT_TRUE(eventually(
      [&] { return scrape(primary_admin, "le_primary_stream_rewinds_total") == 1; }, 20s))
      << log_tail(cluster.dir().path("primary.log"));
  const auto after = cluster.create_license();
  ASSERT_TRUE(
      eventually([&] { return scrape(primary_admin, "le_primary_unpublished_events") == 0; }, 20s));
  // The running edge goes on with the stream as it is now.
  ASSERT_TRUE(
      eventually([&] { return Cluster::validate(edge->port(), after.key) == "VALID"; }, 20s))
      << log_tail(cluster.dir().path("edge-a.log"));
  // A fresh edge gets every change, the lost ones included.
  auto fresh = cluster.start_edge("edge-b");
  for (const auto& l : before) {
    EXPECT_TRUE(eventually([&] { return Cluster::validate(fresh->port(), l.key) == "VALID"; }, 20s))
        << l.id;
  }
  EXPECT_TRUE(eventually([&] { return Cluster::validate(fresh->port(), after.key) == "VALID"; }));
  const auto applied_a = Cluster::edge_applied_seq(edge->port());
  ASSERT_TRUE(eventually([&] { return Cluster::edge_applied_seq(fresh->port()) == applied_a; }));
  const std::string primary = cluster.primary_digest();
  ASSERT_EQ(edge->terminate(), 0);
  ASSERT_EQ(fresh->terminate(), 0);
  EXPECT_EQ(cluster.edge_digest("edge-a"), primary);
  EXPECT_EQ(cluster.edge_digest("edge-b"), primary);
}

INSTANTIATE_TEST_SUITE_P(Retention, StreamLoss, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Retained" : "Expired"; });

}  // namespace
}  // namespace le::test
