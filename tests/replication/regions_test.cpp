// Regions on loopback, with the NATS configs of deploy/nats run as shipped: a three-node
// JetStream cluster in the "core" domain (deploy/nats/core.conf) holding LICENSING at
// replication 3, a leaf node per region (deploy/nats/leaf-region.conf, two regions) holding a
// mirror of it that its edge creates and follows, and one primary connected to the core.
//   - a change at the primary reaches both regions' edges (propagation p50 / p99 printed);
//   - the stream's leader killed: publishing resumes after the election, nothing is lost;
//   - a region's leaf stopped for LE_REGIONS_OUTAGE_S seconds (default 60): its edge keeps
//     answering from its replica, and catches up once the leaf is back;
//   - activations at a region's edge reach the primary through the leaf;
//   - at the end every edge's replica digest equals the primary's.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "nats/jetstream.h"
#include "support/cluster.h"

namespace le {
namespace {

using namespace std::chrono_literals;
using test::Cluster;
using test::PortReservation;
using test::ServerProcess;
using Clock = std::chrono::steady_clock;
namespace http = boost::beast::http;

constexpr int kCore = 3;
constexpr int kRegions = 2;

std::string conf(const char* name) { return std::string(LE_DEPLOY_DIR) + "/nats/" + name; }
std::string port_url(const char* scheme, const PortReservation& p) {
  return std::string(scheme) + "://127.0.0.1:" + std::to_string(p.port());
}
double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))];
}

class Regions : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < kCore; ++i) start_core(i);
    for (int r = 0; r < kRegions; ++r) start_leaf(r);
    std::string urls;
    for (int i = 0; i < kCore; ++i) urls += (i ? "," : "") + port_url("nats", client_[i]);
    cluster_.use_nats(urls);
    cluster_.start_primary({"--stream-replicas", "3"});
    cluster_.bootstrap();
    for (int r = 0; r < kRegions; ++r) {
      edges_[r] =
          cluster_.start_edge("edge-" + std::to_string(r + 1),
                              {"--stream", "LICENSING_MIRROR", "--mirror-api", "$JS.core.API"},
                              false, port_url("nats", region_client_[r]));
    }
  }

  void start_core(int i) {
    std::vector<std::string> env = {
        "LE_NATS_NAME=core-" + std::to_string(i + 1),
        "LE_NATS_LISTEN=127.0.0.1:" + std::to_string(client_[i].port()),
        "LE_NATS_STORE=" + cluster_.dir().path("core-" + std::to_string(i + 1)),
        "LE_NATS_CLUSTER_LISTEN=127.0.0.1:" + std::to_string(route_[i].port()),
        "LE_NATS_LEAF_LISTEN=127.0.0.1:" + std::to_string(leaf_listen_[i].port())};
    for (int j = 0; j < kCore; ++j) {
      env.push_back("LE_NATS_ROUTE_" + std::to_string(j + 1) + "=" +
                    port_url("nats-route", route_[j]));
    }
    core_[i] = std::make_unique<ServerProcess>(
        std::vector<std::string>{"nats-server", "-c", conf("core.conf")}, client_[i].port(), env,
        cluster_.dir().path("core-" + std::to_string(i + 1) + ".log"));
  }
  void start_leaf(int r) {
    const std::string name = "region-" + std::to_string(r + 1);
    std::vector<std::string> env = {
        "LE_NATS_NAME=" + name,
        "LE_NATS_LISTEN=127.0.0.1:" + std::to_string(region_client_[r].port()),
        "LE_NATS_STORE=" + cluster_.dir().path(name), "LE_NATS_DOMAIN=" + name};
    for (int j = 0; j < kCore; ++j) {
      env.push_back("LE_NATS_CORE_" + std::to_string(j + 1) + "=" +
                    port_url("nats-leaf", leaf_listen_[j]));
    }
    leaves_[r] = std::make_unique<ServerProcess>(
        std::vector<std::string>{"nats-server", "-c", conf("leaf-region.conf")},
        region_client_[r].port(), env, cluster_.dir().path(name + ".log"));
  }

  // The LICENSING stream's leader (server name) and last sequence, asked of a live core node.
  struct StreamState {
    std::string leader;
    std::uint64_t last_seq = 0;
  };
  StreamState stream_state() {
    for (int i = 0; i < kCore; ++i) {
      if (!core_[i]) continue;
      nats::NatsOptions o;
      o.url = port_url("nats", client_[i]);
      std::string error;
      auto js = nats::JetStream::connect(o, error);
      if (!js) continue;
      jsStreamInfo* si = nullptr;
      jsErrCode jerr{};
      if (js_GetStreamInfo(&si, js->context(), "LICENSING", nullptr, &jerr) != NATS_OK) continue;
      StreamState state;
      if (si->Cluster != nullptr && si->Cluster->Leader != nullptr) {
        state.leader = si->Cluster->Leader;
      }
      state.last_seq = si->State.LastSeq;
      EXPECT_EQ(si->Config->Replicas, 3);
      jsStreamInfo_Destroy(si);
      if (!state.leader.empty()) return state;
    }
    return {};
  }
  std::string stream_leader() { return stream_state().leader; }

  unsigned short edge_port(int r) const { return edges_[r]->port(); }
  bool valid_at(int r, const std::string& key) {
    return Cluster::validate(edge_port(r), key) == "VALID";
  }
  double primary_metric(const std::string& series) {
    return test::scrape(cluster_.primary().admin_port(), series);
  }

  Cluster cluster_;
  std::array<PortReservation, kCore> client_, route_, leaf_listen_;
  std::array<PortReservation, kRegions> region_client_;
  std::array<std::unique_ptr<ServerProcess>, kCore> core_;
  std::array<std::unique_ptr<ServerProcess>, kRegions> leaves_;
  std::array<std::unique_ptr<test::EdgeProcess>, kRegions> edges_;
};

TEST_F(Regions, ChangesReachEveryRegionThroughFailures) {
  // ---- both regions' edges follow their mirrors
  const auto first = cluster_.create_license(R"(,"max_activations":3)");
  for (int r = 0; r < kRegions; ++r) {
    ASSERT_TRUE(test::eventually([&] { return valid_at(r, first.key); }, 90s))
        << "region " << r + 1 << " never saw the first license; "
        << test::log_tail(cluster_.dir().path("edge-" + std::to_string(r + 1) + ".log"));
  }
  ASSERT_FALSE(stream_leader().empty());

  // ---- propagation, primary to each region's edge
  std::vector<Cluster::License> all{first};
  std::array<std::vector<double>, kRegions> lag;
  for (int i = 0; i < 40; ++i) {
    const auto t0 = Clock::now();
    all.push_back(cluster_.create_license());
    std::array<bool, kRegions> seen{};
    while (!(seen[0] && seen[1]) && Clock::now() - t0 < 10s) {
      for (int r = 0; r < kRegions; ++r) {
        if (!seen[r] && valid_at(r, all.back().key)) {
          seen[r] = true;
          lag[r].push_back(ms(Clock::now() - t0));
        }
      }
    }
    ASSERT_TRUE(seen[0] && seen[1]) << "license " << i << " did not reach both regions in 10 s";
  }
  for (int r = 0; r < kRegions; ++r) {
    std::cout << "propagation to region-" << r + 1 << ": p50 " << percentile(lag[r], 0.5)
              << " ms, p99 " << percentile(lag[r], 0.99) << " ms (create answered → VALID)\n";
  }

  // ---- the stream's leader killed: publishing resumes after the election
  const std::string leader = stream_leader();
  int killed = -1;
  for (int i = 0; i < kCore; ++i) {
    if (leader == "core-" + std::to_string(i + 1)) killed = i;
  }
  ASSERT_GE(killed, 0) << "leader " << leader;
  const auto kill_at = Clock::now();
  core_[killed].reset();  // SIGKILL
  std::vector<Cluster::License> after_kill;
  for (int i = 0; i < 10; ++i) after_kill.push_back(cluster_.create_license());
  for (int r = 0; r < kRegions; ++r) {
    ASSERT_TRUE(test::eventually(
        [&] {
          return std::all_of(after_kill.begin(), after_kill.end(),
                             [&](const auto& l) { return valid_at(r, l.key); });
        },
        60s))
        << "region " << r + 1 << " lacks licenses created after the leader was killed";
  }
  std::cout << "leader " << leader << " killed: all 10 new licenses at both regions after "
            << ms(Clock::now() - kill_at) << " ms; new leader " << stream_leader() << "\n";
  ASSERT_TRUE(
      test::eventually([&] { return primary_metric("le_primary_unpublished_events") == 0; }, 30s));
  all.insert(all.end(), after_kill.begin(), after_kill.end());
  start_core(killed);

  // ---- a region's leaf down: its edge serves from its replica, then catches up
  const int outage_s = std::getenv("LE_REGIONS_OUTAGE_S") != nullptr
                           ? std::atoi(std::getenv("LE_REGIONS_OUTAGE_S"))
                           : 60;
  ASSERT_GE(leaves_[0]->terminate(), 0);  // stopped (nats-server exits 1 on SIGTERM)
  const auto down_at = Clock::now();
  std::vector<Cluster::License> during;
  for (int i = 0; i < 10; ++i) during.push_back(cluster_.create_license());
  ASSERT_TRUE(test::eventually([&] { return valid_at(1, during.back().key); }, 30s));
  // An activation at the other region's edge reaches the primary through its leaf.
  const auto activated =
      test::post_json(edge_port(1), "/api/v1/activate",
                      R"({"license_key":")" + first.key + R"(","machine_id":"region-2-laptop"})");
  EXPECT_EQ(activated.status, 200u) << activated.body;
  EXPECT_TRUE(test::json_bool(activated.body, "/activated")) << activated.body;
  std::size_t answered = 0;
  while (Clock::now() - down_at < std::chrono::seconds(outage_s)) {
    EXPECT_TRUE(valid_at(0, all[answered % all.size()].key)) << "region-1 stopped answering";
    EXPECT_NE(Cluster::validate(edge_port(0), during.front().key), "VALID");
    ++answered;
    std::this_thread::sleep_for(500ms);
  }
  std::cout << "region-1's leaf down " << outage_s << " s: its edge answered " << answered
            << " validations from its replica\n";
  const auto back_at = Clock::now();
  start_leaf(0);
  ASSERT_TRUE(test::eventually(
      [&] {
        return std::all_of(during.begin(), during.end(),
                           [&](const auto& l) { return valid_at(0, l.key); });
      },
      60s))
      << "region-1 did not catch up after its leaf came back; "
      << test::log_tail(cluster_.dir().path("edge-1.log"));
  std::cout << "region-1 caught up " << ms(Clock::now() - back_at)
            << " ms after its leaf came back\n";
  all.insert(all.end(), during.begin(), during.end());
  // And an activation there, once its leaf is back.
  ASSERT_TRUE(test::eventually(
      [&] {
        return test::post_json(
                   edge_port(0), "/api/v1/activate",
                   R"({"license_key":")" + first.key + R"(","machine_id":"region-1-laptop"})")
                   .status == 200;
      },
      30s));
  const auto at_primary = cluster_.api(http::verb::get, "/api/v1/licenses/" + first.id);
  EXPECT_EQ(test::json_int(at_primary.body, "/license/activations"), 2) << at_primary.body;

  // ---- nothing lost: every license everywhere, and the replicas equal the primary's store
  for (int r = 0; r < kRegions; ++r) {
    for (const auto& l : all) EXPECT_TRUE(valid_at(r, l.key)) << "region " << r + 1 << " " << l.id;
  }
  // Everything published, the stream's head is final: both edges reach it.
  ASSERT_TRUE(
      test::eventually([&] { return primary_metric("le_primary_unpublished_events") == 0; }, 30s));
  const auto head = static_cast<std::int64_t>(stream_state().last_seq);
  ASSERT_GT(head, 0);
  const auto applied = [&](int r) { return Cluster::edge_applied_seq(edge_port(r)); };
  ASSERT_TRUE(test::eventually([&] { return applied(0) == head && applied(1) == head; }, 30s))
      << applied(0) << " " << applied(1) << " " << head;
  const std::string primary = cluster_.primary_digest();
  for (int r = 0; r < kRegions; ++r) {
    ASSERT_EQ(edges_[r]->terminate(), 0);
    EXPECT_EQ(cluster_.edge_digest("edge-" + std::to_string(r + 1)), primary) << "region " << r + 1;
  }
}

}  // namespace
}  // namespace le
