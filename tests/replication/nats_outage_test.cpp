// Integration: the nats-server under a running primary and edge is stopped, then started again
// on the same port with the same store directory. While it is down every NATS health signal
// says so (the edge's /readyz natsConnected, le_nats_connected at the edge and at the primary,
// le_edge_reports_connected), the edge's time since its last apply keeps growing, and the alerts
// of deploy/prometheus/alerts.yml meant for an outage fire on the metrics scraped during it (and
// none fires on those scraped before it or after it). Once the server is back, libnats'
// reconnect is counted and a suspension made during the outage reaches the edge.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "support/cluster.h"

namespace le::test {
namespace {

using V = http::verb;
constexpr auto kDeadline = std::chrono::seconds(15);

// The "natsConnected" field of a /readyz answer: 1 or 0, -1 when absent.
int nats_connected_field(const std::string& body) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(body).get(doc)) return -1;
  bool v = false;
  if (doc.at_pointer("/natsConnected").get_bool().get(v)) return -1;
  return v ? 1 : 0;
}

std::string metrics_text(unsigned short admin_port) {
  HttpClient c(admin_port);
  return c.request(V::get, "/metrics").body;
}

// One scrape of one process, as promtool input series: every finite sample, labelled with the
// job and instance Prometheus would add (deploy/prometheus/prometheus.yml's job names), its value
// held for `minutes` evaluation steps. le_replication_seconds_since_apply is a clock rather than
// a level, so it grows by 60 per minute from the scraped value (the test measures that it does).
std::string input_series(const std::string& exposition, const std::string& job,
                         const std::string& instance, int minutes) {
  std::ostringstream out;
  std::istringstream lines(exposition);
  std::string line;
  const std::string labels = "job=\"" + job + "\",instance=\"" + instance + "\"";
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    std::string series = line.substr(0, space);
    const double value = std::strtod(line.c_str() + space + 1, nullptr);
    if (!std::isfinite(value)) continue;
    const auto brace = series.find('{');
    const std::string name = series.substr(0, brace);
    if (brace == std::string::npos) {
      series += "{" + labels + "}";
    } else {
      series.insert(brace + 1, series[brace + 1] == '}' ? labels : labels + ",");
    }
    std::string quoted;  // YAML single-quoted
    for (char c : series) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    const double step = name == "le_replication_seconds_since_apply" ? 60 : 0;
    out << "      - series: '" << quoted << "'\n        values: '";
    char buf[64];
    for (int i = 0; i <= minutes; ++i) {
      std::snprintf(buf, sizeof buf, "%s%.15g", i ? " " : "", value + step * i);
      out << buf;
    }
    out << "'\n";
  }
  return out.str();
}

// The samples of a scrape that tell NATS health and backlogs, for a failure message.
std::string health_lines(const std::string& exposition) {
  std::istringstream lines(exposition);
  std::string line, out;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    for (const char* name : {"le_nats_connected", "le_edge_reports_connected",
                             "le_edge_reports_pending ", "le_replication_", "le_primary_unpub"}) {
      if (line.rfind(name, 0) == 0) {
        out += "  " + line + "\n";
        break;
      }
    }
  }
  return out;
}

struct Snapshot {
  std::string edge, primary;
};

// A promtool test group: the snapshot's series, and the alerts expected to be firing once every
// `for:` of alerts.yml has passed (the longest is 10m; evaluated at 20m).
std::string alert_group(const Snapshot& s, const std::vector<std::string>& firing) {
  std::string g = "  - interval: 1m\n    input_series:\n";
  g += "      - series: 'up{job=\"license-edge\",instance=\"edge\"}'\n        values: '1+0x30'\n";
  g += "      - series: 'up{job=\"license-primary\",instance=\"primary\"}'\n"
       "        values: '1+0x30'\n";
  g += input_series(s.edge, "license-edge", "edge", 30);
  g += input_series(s.primary, "license-primary", "primary", 30);
  g += "    promql_expr_test:\n"
       "      - expr: count by (alertname) (ALERTS{alertstate=\"firing\"})\n"
       "        eval_time: 20m\n"
       "        exp_samples:";
  if (firing.empty()) g += " []";
  g += "\n";
  for (const auto& a : firing) {
    g += "          - labels: '{alertname=\"" + a + "\"}'\n            value: 1\n";
  }
  return g;
}

// Runs promtool on `test_file`; its exit status and output.
std::pair<int, std::string> promtool(const std::string& test_file) {
  std::string out;
  FILE* f = ::popen(("promtool test rules " + test_file + " 2>&1").c_str(), "r");
  if (f == nullptr) return {-1, "popen failed"};
  char buf[512];
  while (std::fgets(buf, sizeof buf, f)) out += buf;
  const int status = ::pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class ReplicationNatsOutage : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.start_nats();
    cluster_.start_primary();
    cluster_.bootstrap();
  }
  std::string edge_readyz(const EdgeProcess& edge) {
    HttpClient c(edge.port());
    return c.request(V::get, "/readyz").body;
  }
  Cluster cluster_;
};

TEST_F(ReplicationNatsOutage, HealthSignalsAndAlertsFollowTheConnection) {
  // Reports every 200 ms, so validations made during the outage wait at the edge in time.
  auto edge = cluster_.start_edge("edge", {"--report-ms", "200"});
  const unsigned short edge_admin = edge->admin_port();
  const unsigned short primary_admin = cluster_.primary().admin_port();
  auto lic = cluster_.create_license();
  ASSERT_TRUE(
      eventually([&] { return Cluster::validate(edge->port(), lic.key) == "VALID"; }, kDeadline));
  auto all_connected = [&] {
    return nats_connected_field(edge_readyz(*edge)) == 1 &&
           scrape(edge_admin, "le_nats_connected") == 1 &&
           scrape(edge_admin, "le_edge_reports_connected") == 1 &&
           scrape(primary_admin, "le_nats_connected") == 1 &&
           nats_connected_field(cluster_.admin(V::get, "/readyz").body) == 1;
  };
  ASSERT_TRUE(eventually(all_connected, kDeadline));
  EXPECT_EQ(scrape(edge_admin, "le_replication_reconnects_total"), 0);
  // A snapshot taken once `pred` holds for it (so a report or an event in flight at the moment
  // of the scrape is not taken for a lasting state).
  auto snapshot_when = [&](const std::function<bool(const Snapshot&)>& pred) {
    Snapshot s;
    EXPECT_TRUE(eventually(
        [&] {
          s = Snapshot{metrics_text(edge_admin), metrics_text(primary_admin)};
          return pred(s);
        },
        kDeadline))
        << "edge:\n"
        << health_lines(s.edge) << "primary:\n"
        << health_lines(s.primary);
    return s;
  };
  auto settled = [](const Snapshot& s) {
    return metric(s.primary, "le_primary_unpublished_events") == 0 &&
           metric(s.edge, "le_edge_reports_pending") == 0 &&
           metric(s.edge, "le_replication_lag_events") == 0;
  };
  const Snapshot before = snapshot_when(settled);

  cluster_.stop_nats();
  const auto outage_start = std::chrono::steady_clock::now();
  auto all_disconnected = [&] {
    return nats_connected_field(edge_readyz(*edge)) == 0 &&
           scrape(edge_admin, "le_nats_connected") == 0 &&
           scrape(edge_admin, "le_edge_reports_connected") == 0 &&
           scrape(primary_admin, "le_nats_connected") == 0 &&
           nats_connected_field(cluster_.admin(V::get, "/readyz").body) == 0;
  };
  EXPECT_TRUE(eventually(all_disconnected, kDeadline));
  // Which ones, when not all.
  EXPECT_EQ(nats_connected_field(edge_readyz(*edge)), 0) << edge_readyz(*edge);
  EXPECT_EQ(scrape(edge_admin, "le_nats_connected"), 0);
  EXPECT_EQ(scrape(edge_admin, "le_edge_reports_connected"), 0);
  EXPECT_EQ(scrape(primary_admin, "le_nats_connected"), 0);
  EXPECT_EQ(nats_connected_field(cluster_.admin(V::get, "/readyz").body), 0);
  // The caught-up edge goes on serving its replica, and stays ready.
  EXPECT_TRUE(Cluster::edge_ready(edge->port()));

  // A suspension the edge cannot learn of yet, and validations whose reports must wait.
  ASSERT_EQ(cluster_.api(V::post, "/api/v1/licenses/" + lic.id + "/suspend").status, 200u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Cluster::validate(edge->port(), lic.key), "VALID");
  EXPECT_TRUE(eventually(
      [&] { return scrape(primary_admin, "le_primary_unpublished_events") >= 1; }, kDeadline));
  EXPECT_TRUE(
      eventually([&] { return scrape(edge_admin, "le_edge_reports_pending") > 0; }, kDeadline));
  // Nothing is applied while the stream is out of reach: the time since the last apply grows.
  const double since_apply = scrape(edge_admin, "le_replication_seconds_since_apply");
  EXPECT_TRUE(eventually(
      [&] { return scrape(edge_admin, "le_replication_seconds_since_apply") >= since_apply + 1; },
      kDeadline));
  const Snapshot during = snapshot_when([](const Snapshot& s) {
    return metric(s.edge, "le_nats_connected") == 0 &&
           metric(s.primary, "le_nats_connected") == 0 &&
           metric(s.primary, "le_primary_unpublished_events") >= 1 &&
           metric(s.edge, "le_edge_reports_pending") > 0;
  });
  const auto outage = std::chrono::steady_clock::now() - outage_start;

  cluster_.start_nats();
  EXPECT_TRUE(eventually(all_connected, kDeadline));
  EXPECT_TRUE(eventually([&] { return scrape(edge_admin, "le_replication_reconnects_total") >= 1; },
                         kDeadline));
  EXPECT_TRUE(eventually([&] { return Cluster::validate(edge->port(), lic.key) == "SUSPENDED"; },
                         kDeadline));
  // Settled and connected again: the edge's replication may still be between two sessions (it
  // subscribes again after libnats reconnects) when the suspension is already applied.
  const Snapshot after = snapshot_when([&](const Snapshot& s) {
    return settled(s) && metric(s.edge, "le_nats_connected") == 1 &&
           metric(s.primary, "le_nats_connected") == 1;
  });

  // The alerts, checked by promtool against the real alerts.yml rather than by restating their
  // expressions here (a copy would go on passing after a rule changed, and promtool evaluates
  // `for:`, `and`/`or` label matching and ALERTS exactly as Prometheus does). Each scrape stands
  // for a state held long enough for every `for:` to pass, in promtool's simulated time.
  // During the outage: the edge's NATS connection is lost (LicenseEdgeNatsDisconnected), a
  // change waits in the primary's outbox with NATS lost (LicensePrimaryOutboxBacklog), and
  // reports wait at the edge (LicenseEdgeReportsWaiting). Not LicenseEdgeReplicationLag: the
  // stream's head cannot move while its server is down, so this edge is behind the primary,
  // not the stream; the backlog is the outbox's. Not LicenseEdgeNotReady: a caught-up replica
  // stays ready through an outage.
  const std::string file = cluster_.dir().path("outage_alerts_test.yml");
  {
    std::ofstream f(file);
    f << "rule_files:\n  - " << LE_ALERTS_YML << "\nevaluation_interval: 1m\ntests:\n"
      << alert_group(before, {})
      << alert_group(during, {"LicenseEdgeNatsDisconnected", "LicenseEdgeReportsWaiting",
                              "LicensePrimaryOutboxBacklog"})
      << alert_group(after, {});
  }
  const auto [status, output] = promtool(file);
  EXPECT_EQ(status, 0) << "promtool test rules " << file << " (LE_KEEP_TEST_DIRS=1 keeps it):\n"
                       << output;
  std::fprintf(stderr, "outage lasted %.1f s\n", std::chrono::duration<double>(outage).count());
}

}  // namespace
}  // namespace le::test
