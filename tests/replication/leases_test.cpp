// Integration: floating seats as leases, through the edge. A real nats-server, a
// license-primary and two license-edge processes:
// - seats are taken as leases at the primary, exactly the license's max_activations even when
//   clients race for them from both edges, and a full pool says when to try again;
// - heartbeats of live leases are answered by the edge from its replica and reach the primary
//   in batches;
// - a lease nobody extends lapses after its length plus 30 s of drift (also when the edge its
//   client used was killed, and the primary restarted meanwhile): the primary culls it, once
//   (license.deactivated, reason lease_expired), and a waiting client gets the seat;
// - live leases survive a restart of the primary, stopped or killed;
// - bad heartbeats get a 4xx and change nothing.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <map>
#include <thread>

#include "core/time_format.h"
#include "support/cluster.h"

namespace le::test {
namespace {

using V = http::verb;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kPropagation = std::chrono::seconds(10);
// The contract: a lease holds its seat while now <= leaseExpiresAt + kDrift.
constexpr std::int64_t kDrift = 30;

std::string key_and_machine(const std::string& key, const std::string& machine) {
  return R"({"license_key":")" + key + R"(","machine_id":")" + machine + R"("})";
}
HttpReply activate(unsigned short port, const std::string& key, const std::string& machine) {
  return post_json(port, "/api/v1/activate", key_and_machine(key, machine));
}
HttpReply heartbeat(unsigned short port, const std::string& key, const std::string& machine) {
  return post_json(port, "/api/v1/heartbeat", key_and_machine(key, machine));
}
HttpReply validate(unsigned short port, const std::string& key, const std::string& machine) {
  return post_json(port, "/api/v1/validate", key_and_machine(key, machine));
}
std::string validate_code(unsigned short port, const std::string& key, const std::string& machine) {
  return json_str(validate(port, key, machine).body, "/code");
}

// An error answer's code and message: the spec's {"error": message, "code", "help"}, or the
// same nested under "error".
std::string error_code(const std::string& body) {
  std::string c = json_str(body, "/code");
  return c.empty() ? json_str(body, "/error/code") : c;
}
std::string error_message(const std::string& body) {
  std::string m = json_str(body, "/error");
  return m.empty() ? json_str(body, "/error/message") : m;
}

// Unix seconds of the ISO-8601 time at `pointer`; -1 when absent or malformed.
std::int64_t time_at(const std::string& body, std::string_view pointer) {
  const auto t = core::parse_iso8601(json_str(body, pointer));
  return t ? *t : -1;
}

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// `pred` polled every `every` until true or `timeout` ran out; its last value.
bool poll(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
          std::chrono::milliseconds every = 50ms) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(every);
  }
  return pred();
}

// The sum of the samples of `name` whose label set contains `label` ("" for any) in a
// Prometheus exposition; -1 when there is none.
double series(const std::string& text, std::string_view name, std::string_view label = {}) {
  double sum = 0;
  bool found = false;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (line.size() <= name.size() || !line.starts_with(name)) continue;
    std::string_view labels;
    std::size_t value_at = name.size();
    if (line[name.size()] == '{') {
      const auto close = line.find('}', name.size());
      if (close == std::string_view::npos) continue;
      labels = line.substr(name.size(), close + 1 - name.size());
      value_at = close + 1;
    } else if (line[name.size()] != ' ') {
      continue;  // another metric whose name starts with this one
    }
    if (!label.empty() && labels.find(label) == std::string_view::npos) continue;
    sum += std::stod(std::string(line.substr(value_at)));
    found = true;
  }
  return found ? sum : -1;
}
double scrape_sum(unsigned short admin_port, std::string_view name, std::string_view label = {}) {
  HttpClient c(admin_port);
  return series(c.request(V::get, "/metrics").body, name, label);
}
// A counter's value for a difference: 0 while it has not been exported yet.
double counter(unsigned short admin_port, std::string_view name, std::string_view label = {}) {
  return std::max(0.0, scrape_sum(admin_port, name, label));
}

// The leaseExpiresAt of `machine`'s seat in a license answer's "/license/machines" (the held
// seats): -1 when it holds none, 0 when its seat has no lease.
std::int64_t seat_lease(const std::string& body, std::string_view machine) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(body).get(doc)) return -1;
  simdjson::dom::array machines;
  if (doc.at_pointer("/license/machines").get_array().get(machines)) return -1;
  for (auto m : machines) {
    std::string_view id, lease;
    if (m["machineId"].get_string().get(id) || id != machine) continue;
    if (m["leaseExpiresAt"].get_string().get(lease)) return 0;
    const auto t = core::parse_iso8601(lease);
    return t ? *t : 0;
  }
  return -1;
}

struct Event {
  std::string type, license, machine, reason;
};
// Every webhook event the primary recorded for the account (GET /api/v1/events, all pages).
std::vector<Event> all_events(Cluster& cluster) {
  std::vector<Event> out;
  for (int page = 1; page <= 100; ++page) {
    const auto r = cluster.api(V::get, "/api/v1/events?limit=100&page=" + std::to_string(page));
    if (r.status != 200) {
      ADD_FAILURE() << "GET /api/v1/events: " << r.status << " " << r.body;
      break;
    }
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    simdjson::dom::array data;
    if (p.parse(r.body).get(doc) || doc["data"].get_array().get(data)) {
      ADD_FAILURE() << "GET /api/v1/events: " << r.body;
      break;
    }
    for (auto e : data) {
      auto str = [&](std::string_view pointer) {
        std::string_view s;
        return e.at_pointer(pointer).get_string().get(s) ? std::string() : std::string(s);
      };
      out.push_back(
          {str("/event"), str("/data/licenseId"), str("/data/machineId"), str("/data/reason")});
    }
    if (!json_bool(r.body, "/pagination/hasMore")) break;
  }
  return out;
}
std::size_t count_events(const std::vector<Event>& events, const std::string& license,
                         const std::string& type, const std::string& machine = {},
                         const std::string& reason = {}) {
  return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [&](const Event& e) {
    return e.license == license && e.type == type && (machine.empty() || e.machine == machine) &&
           (reason.empty() || e.reason == reason);
  }));
}

// A full pool of floating seats: 403 ACTIVATION_LIMIT_REACHED, and when to try again, in the
// body and in Retry-After, no later than a seat can free.
void expect_pool_full(const HttpReply& r, std::int64_t max_retry_after) {
  EXPECT_EQ(r.status, 403u) << r.body;
  EXPECT_EQ(error_code(r.body), "ACTIVATION_LIMIT_REACHED") << r.body;
  const std::int64_t retry = json_int(r.body, "/retryAfter");
  EXPECT_GT(retry, 0) << r.body;
  EXPECT_LE(retry, max_retry_after) << r.body;
  EXPECT_EQ(std::string(r.headers["Retry-After"]), std::to_string(retry)) << r.body;
}
bool is_pool_full(const HttpReply& r) {
  return r.status == 403 && error_code(r.body) == "ACTIVATION_LIMIT_REACHED";
}

constexpr std::string_view kHeartbeats = "le_edge_heartbeats_total";
constexpr std::string_view kAnsweredEdge = R"(answered="edge")";
constexpr std::string_view kAnsweredPrimary = R"(answered="primary")";
constexpr std::string_view kEdgeExtensions = "le_edge_lease_extensions_total";
constexpr std::string_view kPrimaryExtensions = "le_primary_lease_extensions_total";
constexpr std::string_view kCulled = "le_primary_leases_culled_total";

class Leases : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.start_nats();
    start_primary();
    cluster_.bootstrap();
    a_ = cluster_.start_edge("edge-a", {"--write-timeout-ms", "2000"});
    b_ = cluster_.start_edge("edge-b", {"--write-timeout-ms", "2000"});
  }
  void start_primary() {
    cluster_.start_primary();
    ASSERT_TRUE(eventually([&] { return cluster_.primary_takes_writes(); }));
  }

  // A license both edges already hold.
  Cluster::License create(const std::string& fields) {
    auto r = cluster_.api(V::post, "/api/v1/licenses",
                          R"({"product_id":")" + cluster_.product_id() + "\"," + fields + "}");
    EXPECT_EQ(r.status, 201u) << r.body;
    Cluster::License lic{json_str(r.body, "/license/id"), json_str(r.body, "/license/key")};
    for (auto* e : {a_.get(), b_.get()}) {
      EXPECT_TRUE(
          poll([&] { return Cluster::validate(e->port(), lic.key) == "VALID"; }, kPropagation))
          << lic.id;
    }
    return lic;
  }
  Cluster::License floating(unsigned seats, unsigned lease_seconds) {
    return create(R"("type":"floating","max_activations":)" + std::to_string(seats) +
                  R"(,"lease_seconds":)" + std::to_string(lease_seconds));
  }
  HttpReply license_at_primary(const Cluster::License& lic) {
    return cluster_.api(V::get, "/api/v1/licenses/" + lic.id);
  }
  unsigned short primary_admin() { return cluster_.primary().admin_port(); }

  Cluster cluster_;
  std::unique_ptr<EdgeProcess> a_, b_;
};

TEST_F(Leases, EightClientsRaceForThreeSeatsFromTwoEdges) {
  constexpr std::int64_t kLease = 600;
  auto lic = floating(3, kLease);
  constexpr int kClients = 8;
  auto machine = [](int i) { return "seat-" + std::to_string(i); };
  std::vector<std::unique_ptr<HttpClient>> conns;
  for (int i = 0; i < kClients; ++i) {
    conns.push_back(std::make_unique<HttpClient>(i % 2 == 0 ? a_->port() : b_->port()));
  }
  std::vector<HttpReply> replies(kClients);
  std::atomic<bool> go{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      replies[i] = conns[i]->post("/api/v1/activate", key_and_machine(lic.key, machine(i)));
    });
  }
  const double started = wall_now();
  go.store(true);
  for (auto& t : clients) t.join();

  std::vector<std::string> winners;
  for (int i = 0; i < kClients; ++i) {
    const auto& r = replies[i];
    if (r.status == 200) {
      winners.push_back(machine(i));
      // A seat as a lease of the license's length, listed among the held seats.
      const std::int64_t until = time_at(r.body, "/leaseExpiresAt");
      EXPECT_GE(until, static_cast<std::int64_t>(started) + kLease - 1) << r.body;
      EXPECT_LE(until, static_cast<std::int64_t>(wall_now()) + kLease + 1) << r.body;
      EXPECT_EQ(seat_lease(r.body, machine(i)), until) << r.body;
      const auto held = json_int(r.body, "/license/activations");
      EXPECT_GE(held, 1) << r.body;
      EXPECT_LE(held, 3) << r.body;
    } else {
      // The soonest lease ends in about kLease + kDrift seconds: no later than that.
      expect_pool_full(r, kLease + kDrift + 2);
    }
  }
  ASSERT_EQ(winners.size(), 3u);
  const auto state = license_at_primary(lic).body;
  EXPECT_EQ(json_int(state, "/license/activations"), 3) << state;
  for (const auto& m : winners) EXPECT_GT(seat_lease(state, m), 0) << m << " " << state;

  // Both edges end up agreeing on who holds the seats.
  for (auto* e : {a_.get(), b_.get()}) {
    for (int i = 0; i < kClients; ++i) {
      const bool won = std::find(winners.begin(), winners.end(), machine(i)) != winners.end();
      std::string last;
      EXPECT_TRUE(poll(
          [&] {
            last = validate_code(e->port(), lic.key, machine(i));
            return last == (won ? "VALID" : "MACHINE_NOT_ACTIVATED");
          },
          kPropagation))
          << machine(i) << " at port " << e->port() << ": " << last;
    }
  }
  // A winner's validation says until when its seat is leased, at either edge.
  for (auto* e : {a_.get(), b_.get()}) {
    const auto r = validate(e->port(), lic.key, winners[0]);
    EXPECT_TRUE(json_bool(r.body, "/valid")) << r.body;
    EXPECT_EQ(time_at(r.body, "/leaseExpiresAt"), seat_lease(state, winners[0])) << r.body;
  }
}

TEST_F(Leases, HeartbeatsAreAnsweredAtTheEdgeAndReachThePrimaryInBatches) {
  constexpr std::int64_t kLease = 600;
  auto lic = floating(2, kLease);
  auto r = activate(a_->port(), lic.key, "hb");
  ASSERT_EQ(r.status, 200u) << r.body;
  const std::int64_t activated_until = time_at(r.body, "/leaseExpiresAt");
  ASSERT_GT(activated_until, 0) << r.body;
  ASSERT_EQ(validate_code(a_->port(), lic.key, "hb"), "VALID");

  const double edge0 = counter(a_->admin_port(), kHeartbeats, kAnsweredEdge);
  const double forwarded0 = counter(a_->admin_port(), kHeartbeats, kAnsweredPrimary);
  const double extended0 = counter(primary_admin(), kPrimaryExtensions, R"(outcome="extended")");
  const double refused0 = counter(primary_admin(), kPrimaryExtensions, R"(outcome="refused")");

  // Twenty heartbeats over about two seconds (time passing is the point here: each extends the
  // lease from the moment it is answered, so the lease end moves on with the clock).
  constexpr int kBeats = 20;
  std::int64_t first = -1, last = -1;
  for (int i = 0; i < kBeats; ++i) {
    if (i > 0) std::this_thread::sleep_for(100ms);
    const double asked = wall_now();
    auto h = heartbeat(a_->port(), lic.key, "hb");
    ASSERT_EQ(h.status, 200u) << "heartbeat " << i << ": " << h.body;
    const std::int64_t until = time_at(h.body, "/leaseExpiresAt");
    ASSERT_GE(until, std::max(last, activated_until)) << "moved back: " << h.body;
    EXPECT_GE(until, static_cast<std::int64_t>(asked) + kLease - 1) << h.body;
    EXPECT_LE(until, static_cast<std::int64_t>(wall_now()) + kLease + 1) << h.body;
    if (first < 0) first = until;
    last = until;
  }
  EXPECT_GT(last, first) << "the lease end did not advance over two seconds of heartbeats";
  EXPECT_GT(last, activated_until);

  // Every one answered by the edge itself, none forwarded.
  EXPECT_EQ(counter(a_->admin_port(), kHeartbeats, kAnsweredEdge) - edge0, kBeats);
  EXPECT_EQ(counter(a_->admin_port(), kHeartbeats, kAnsweredPrimary) - forwarded0, 0);

  // The primary learns of the extension from the edge's batch within a few seconds.
  std::string state;
  EXPECT_TRUE(poll(
      [&] {
        state = license_at_primary(lic).body;
        return seat_lease(state, "hb") >= last;
      },
      5s))
      << "primary's lease " << seat_lease(state, "hb") << " < last answer " << last << ": "
      << state;
  EXPECT_EQ(json_int(state, "/license/activations"), 1) << state;
  EXPECT_GE(counter(a_->admin_port(), kEdgeExtensions, R"(outcome="sent")"), 1);
  EXPECT_EQ(counter(a_->admin_port(), kEdgeExtensions, R"(outcome="dropped")"), 0);
  const double extended = counter(primary_admin(), kPrimaryExtensions, R"(outcome="extended")");
  EXPECT_GE(extended - extended0, 1);
  EXPECT_LE(extended - extended0, kBeats);
  EXPECT_EQ(counter(primary_admin(), kPrimaryExtensions, R"(outcome="refused")"), refused0);

  // The other edge sees the extended lease through the stream.
  std::string seen;
  EXPECT_TRUE(poll(
      [&] {
        seen = validate(b_->port(), lic.key, "hb").body;
        return time_at(seen, "/leaseExpiresAt") >= last;
      },
      kPropagation))
      << seen;
  EXPECT_EQ(json_str(seen, "/code"), "VALID") << seen;
}

TEST_F(Leases, AClientThatStopsHeartbeatingLosesItsSeatAndAWaitingClientGetsIt) {
  constexpr std::int64_t kLease = 1;
  auto lic = floating(2, kLease);
  const std::vector<std::string> gone{"gone-1", "gone-2"};
  std::int64_t soonest = INT64_MAX;
  for (const auto& m : gone) {
    auto r = activate(a_->port(), lic.key, m);
    ASSERT_EQ(r.status, 200u) << r.body;
    const std::int64_t until = time_at(r.body, "/leaseExpiresAt");
    ASSERT_GT(until, 0) << r.body;
    soonest = std::min(soonest, until);
  }
  // Edge A dies with the sessions of the clients that used it: no deactivation, no heartbeat.
  a_->kill9();
  const double forwarded0 = counter(b_->admin_port(), kHeartbeats, kAnsweredPrimary);

  // A third client, at the other edge, finds the pool full and is told when to come back.
  const double refused_at = wall_now();
  auto r = activate(b_->port(), lic.key, "waiting");
  expect_pool_full(r, kLease + kDrift + 2);
  const std::int64_t retry = json_int(r.body, "/retryAfter");

  // The primary restarts meanwhile: releasing the seats must not depend on the process that
  // granted them (its lease index comes back from the store).
  cluster_.stop_primary();
  start_primary();
  const double culled0 = counter(primary_admin(), kCulled);

  // The waiting client gets a seat once a lease has run out, drift included: polled, at most
  // 45 s (a 503 while the restarted primary's subscription reaches nats-server is retried).
  HttpReply got;
  double got_at = 0;
  const auto deadline = Clock::now() + 45s;
  while (Clock::now() < deadline) {
    got = activate(b_->port(), lic.key, "waiting");
    if (got.status == 200) {
      got_at = wall_now();
      break;
    }
    if (!is_pool_full(got) && got.status != 503) {
      ADD_FAILURE() << "while waiting for a seat: " << got.status << " " << got.body;
      break;
    }
    std::this_thread::sleep_for(250ms);
  }
  ASSERT_EQ(got.status, 200u) << got.body;
  // Not before the drift ran out, and not much later than the client was told.
  EXPECT_GE(got_at, static_cast<double>(soonest + kDrift))
      << "a seat freed before leaseExpiresAt + " << kDrift << " s";
  EXPECT_LE(got_at, refused_at + static_cast<double>(retry) + 3) << "Retry-After was " << retry;
  EXPECT_GT(time_at(got.body, "/leaseExpiresAt"), 0) << got.body;

  // The primary culls both lapsed leases, one license.deactivated (lease_expired) each.
  std::vector<Event> events;
  EXPECT_TRUE(poll(
      [&] {
        events = all_events(cluster_);
        return count_events(events, lic.id, "license.deactivated", gone[0], "lease_expired") > 0 &&
               count_events(events, lic.id, "license.deactivated", gone[1], "lease_expired") > 0;
      },
      10s, 200ms));
  for (const auto& m : gone) {
    EXPECT_EQ(count_events(events, lic.id, "license.deactivated", m, "lease_expired"), 1u) << m;
  }
  EXPECT_EQ(count_events(events, lic.id, "license.deactivated", "waiting"), 0u);
  EXPECT_GE(counter(primary_admin(), kCulled) - culled0, 2);
  const auto state = license_at_primary(lic).body;
  EXPECT_EQ(json_int(state, "/license/activations"), 1) << state;
  EXPECT_GT(seat_lease(state, "waiting"), 0) << state;
  for (const auto& m : gone) EXPECT_EQ(seat_lease(state, m), -1) << m << " " << state;

  // A lapsed machine does not validate; the new holder does.
  for (const auto& m : gone) {
    const auto v = validate(b_->port(), lic.key, m);
    EXPECT_FALSE(json_bool(v.body, "/valid")) << m << " " << v.body;
    EXPECT_EQ(json_str(v.body, "/code"), "MACHINE_NOT_ACTIVATED") << m << " " << v.body;
  }
  EXPECT_TRUE(
      poll([&] { return validate_code(b_->port(), lic.key, "waiting") == "VALID"; }, kPropagation));

  // A heartbeat of a lapsed lease takes a seat again while one is free (forwarded: the replica
  // holds no live lease to extend)...
  auto h = heartbeat(b_->port(), lic.key, gone[0]);
  ASSERT_EQ(h.status, 200u) << h.body;
  EXPECT_GE(time_at(h.body, "/leaseExpiresAt"), static_cast<std::int64_t>(wall_now()) - 1)
      << h.body;
  // ...and is refused, with when to try again, once none is.
  expect_pool_full(heartbeat(b_->port(), lic.key, gone[1]), kLease + kDrift + 2);
  EXPECT_EQ(counter(b_->admin_port(), kHeartbeats, kAnsweredPrimary) - forwarded0, 2);
  EXPECT_TRUE(
      poll([&] { return validate_code(b_->port(), lic.key, gone[0]) == "VALID"; }, kPropagation));
  EXPECT_EQ(validate_code(b_->port(), lic.key, gone[1]), "MACHINE_NOT_ACTIVATED");
  // Several cull ticks later, each lapse is still released once.
  events = all_events(cluster_);
  for (const auto& m : gone) {
    EXPECT_EQ(count_events(events, lic.id, "license.deactivated", m, "lease_expired"), 1u) << m;
  }
}

TEST_F(Leases, APrimaryRestartKeepsLiveLeases) {
  constexpr std::int64_t kLease = 600;
  auto lic = floating(3, kLease);
  const std::vector<std::string> holders{"h-0", "h-1", "h-2"};
  std::map<std::string, std::int64_t> leased;
  for (std::size_t i = 0; i < holders.size(); ++i) {
    auto r = activate(i % 2 == 0 ? a_->port() : b_->port(), lic.key, holders[i]);
    ASSERT_EQ(r.status, 200u) << r.body;
    leased[holders[i]] = time_at(r.body, "/leaseExpiresAt");
    ASSERT_GT(leased[holders[i]], 0) << r.body;
  }

  // Stopped, then killed (SIGKILL), each time started again on the same data.
  for (const bool crash : {false, true}) {
    SCOPED_TRACE(crash ? "after kill -9" : "after a stop");
    if (crash) {
      cluster_.kill_primary();
    } else {
      cluster_.stop_primary();
    }
    start_primary();

    // The restarted primary holds the same seats, with the same lease ends.
    const auto state = license_at_primary(lic).body;
    EXPECT_EQ(json_int(state, "/license/activations"), 3) << state;
    for (const auto& m : holders) EXPECT_EQ(seat_lease(state, m), leased[m]) << m << " " << state;

    // The pool is still full: a fourth machine is refused (once writes reach the new primary).
    HttpReply r;
    ASSERT_TRUE(poll(
        [&] {
          r = activate(b_->port(), lic.key, "h-3");
          return r.status != 503;
        },
        10s, 100ms))
        << r.body;
    expect_pool_full(r, kLease + kDrift + 2);

    // The holders' heartbeats succeed at either edge and reach the restarted primary. Each is
    // repeated until the clock has passed the lease's last second, so its extension shows.
    for (std::size_t i = 0; i < holders.size(); ++i) {
      const std::string& m = holders[i];
      const unsigned short port = (i + crash) % 2 == 0 ? b_->port() : a_->port();
      HttpReply h;
      ASSERT_TRUE(poll(
          [&] {
            h = heartbeat(port, lic.key, m);
            return h.status != 200 || time_at(h.body, "/leaseExpiresAt") > leased[m];
          },
          5s, 200ms))
          << m << ": " << h.body;
      ASSERT_EQ(h.status, 200u) << m << ": " << h.body;
      const std::int64_t until = time_at(h.body, "/leaseExpiresAt");
      std::string now_state;
      EXPECT_TRUE(poll(
          [&] {
            now_state = license_at_primary(lic).body;
            return seat_lease(now_state, m) >= until;
          },
          5s))
          << m << " extended to " << until << " at the edge; primary: " << now_state;
      leased[m] = seat_lease(now_state, m);
    }
    expect_pool_full(activate(a_->port(), lic.key, "h-3"), kLease + kDrift + 2);
    EXPECT_EQ(json_int(license_at_primary(lic).body, "/license/activations"), 3);
  }
  // Nothing lapsed, so nothing was released.
  EXPECT_EQ(count_events(all_events(cluster_), lic.id, "license.deactivated"), 0u);
}

TEST_F(Leases, BadHeartbeatsGet4xxAndChangeNothing) {
  auto lic = floating(2, 600);
  ASSERT_EQ(activate(a_->port(), lic.key, "held").status, 200u);
  auto fixed = create(R"("type":"perpetual","max_activations":2)");
  ASSERT_EQ(activate(a_->port(), fixed.key, "pc").status, 200u);
  // A license of its own whose heartbeat, sent after the bad ones, marks when every batch they
  // could have caused has reached the primary.
  auto control = floating(1, 600);
  auto c = activate(a_->port(), control.key, "ctl");
  ASSERT_EQ(c.status, 200u) << c.body;
  const std::int64_t control_activated = time_at(c.body, "/leaseExpiresAt");

  const std::string before = license_at_primary(lic).body;
  const std::string fixed_before = license_at_primary(fixed).body;
  const auto events_before = all_events(cluster_);
  const double refused0 = counter(primary_admin(), kPrimaryExtensions, R"(outcome="refused")");

  // A license that is not floating has no lease to extend, at either edge.
  for (auto* e : {a_.get(), b_.get()}) {
    auto r = heartbeat(e->port(), fixed.key, "pc");
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_EQ(error_code(r.body), "VALIDATION_ERROR") << r.body;
  }
  // A machine the license does not know.
  for (auto* e : {a_.get(), b_.get()}) {
    auto r = heartbeat(e->port(), lic.key, "stranger");
    EXPECT_EQ(r.status, 404u) << r.body;
    EXPECT_EQ(error_code(r.body), "NOT_FOUND") << r.body;
    EXPECT_EQ(error_message(r.body), "Machine is not activated for this license") << r.body;
  }
  // A license that does not exist: what activate says.
  {
    auto r = heartbeat(a_->port(), "AAAA-BBBB-CCCC-DDDD", "held");
    EXPECT_EQ(r.status, 404u) << r.body;
    EXPECT_EQ(error_code(r.body), "NOT_FOUND") << r.body;
  }

  // Malformed, mistyped, incomplete, oversized and hostile bodies: the 4xx activate gives.
  const std::string long_id(300, 'm');
  std::string deep_object;
  for (int i = 0; i < 2000; ++i) deep_object += R"({"a":)";
  deep_object += "1" + std::string(2000, '}');
  struct Case {
    std::string body;
    unsigned status;  // 0: whatever 4xx activate gives
    std::string code;
  };
  const std::string k = lic.key;
  const std::vector<Case> cases = {
      {"", 400, "VALIDATION_ERROR"},
      {"not json", 400, "VALIDATION_ERROR"},
      {"[]", 400, "VALIDATION_ERROR"},
      {"{}", 400, "MISSING_FIELDS"},
      {R"({"license_key":")" + k + R"("})", 400, "MISSING_FIELDS"},
      {R"({"machine_id":"held"})", 400, "MISSING_FIELDS"},
      {R"({"license_key":")" + k + R"(","machine_id":7})", 400, "VALIDATION_ERROR"},
      {R"({"license_key":[")" + k + R"("],"machine_id":"held"})", 400, "VALIDATION_ERROR"},
      {R"({"license_key":")" + k + R"(","machine_id":null})", 0, ""},
      {R"({"license_key":")" + k + R"(","machine_id":["held"]})", 0, ""},
      {R"({"license_key":")" + k + R"(","machine_id":")" + long_id + R"("})", 400,
       "VALIDATION_ERROR"},
      {R"({"license_key":")" + k + R"(","machine_id":"held\u0000"})", 400, "VALIDATION_ERROR"},
      {R"({"license_key":")" + k + R"(","machine_id":"m","label":{"x":1}})", 400,
       "VALIDATION_ERROR"},
      {R"({"license_key":")" + k + R"(","key":"OTHER-KEY","machine_id":"held"})", 400,
       "VALIDATION_ERROR"},
      {R"({"license_key":")" + k + R"(","machine_id":"held")", 400, "VALIDATION_ERROR"},
      {std::string(5000, '[') + std::string(5000, ']'), 400, "VALIDATION_ERROR"},
      {deep_object, 0, ""},
      {std::string(R"({"license_key":")") + k + std::string("\0\0", 2) +
           R"(","machine_id":"held"})",
       400, "VALIDATION_ERROR"},
      {std::string(64, '\0'), 400, "VALIDATION_ERROR"},
      {"{\"license_key\":\"\xff\xfe\",\"machine_id\":\"held\"}", 400, "VALIDATION_ERROR"},
      {R"({"license_key":")" + k + R"(","machine_id":"held","pad":")" + std::string(20000, 'x') +
           R"("})",
       413, "PAYLOAD_TOO_LARGE"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& tc = cases[i];
    const auto hb = post_json(a_->port(), "/api/v1/heartbeat", tc.body);
    const auto act = post_json(a_->port(), "/api/v1/activate", tc.body);
    SCOPED_TRACE("case " + std::to_string(i) + ": " + tc.body.substr(0, 80));
    EXPECT_GE(hb.status, 400u) << hb.body;
    EXPECT_LT(hb.status, 500u) << hb.body;
    EXPECT_EQ(hb.status, act.status) << "heartbeat: " << hb.body << " activate: " << act.body;
    EXPECT_EQ(error_code(hb.body), error_code(act.body)) << hb.body;
    if (tc.status != 0) {
      EXPECT_EQ(hb.status, tc.status) << hb.body;
      EXPECT_EQ(error_code(hb.body), tc.code) << hb.body;
    }
  }
  // The activate route's authentication.
  for (const char* auth : {"Basic abc", "Bearer nope"}) {
    auto r = post_json(a_->port(), "/api/v1/heartbeat", key_and_machine(lic.key, "held"), auth);
    EXPECT_EQ(r.status, 401u) << r.body;
    EXPECT_EQ(error_code(r.body), "INVALID_API_KEY") << r.body;
  }
  {
    HttpClient get(a_->port());
    EXPECT_EQ(get.request(V::get, "/api/v1/heartbeat").status, 405u);
  }

  // The control heartbeat, once the clock has passed its activation's second, and its
  // extension at the primary: the bad heartbeats' batches, if any, came before it.
  HttpReply h;
  ASSERT_TRUE(poll(
      [&] {
        h = heartbeat(a_->port(), control.key, "ctl");
        return h.status != 200 || time_at(h.body, "/leaseExpiresAt") > control_activated;
      },
      5s, 200ms))
      << h.body;
  ASSERT_EQ(h.status, 200u) << h.body;
  const std::int64_t control_until = time_at(h.body, "/leaseExpiresAt");
  ASSERT_TRUE(poll(
      [&] { return seat_lease(license_at_primary(control).body, "ctl") >= control_until; }, 5s));

  EXPECT_EQ(license_at_primary(lic).body, before);
  EXPECT_EQ(license_at_primary(fixed).body, fixed_before);
  EXPECT_EQ(counter(primary_admin(), kPrimaryExtensions, R"(outcome="refused")"), refused0);
  const auto events_after = all_events(cluster_);
  for (const auto* l : {&lic, &fixed}) {
    for (const char* type : {"license.activated", "license.deactivated", "license.updated"}) {
      EXPECT_EQ(count_events(events_after, l->id, type), count_events(events_before, l->id, type))
          << l->id << " " << type;
    }
  }
  // And the held seat still heartbeats.
  auto ok = heartbeat(b_->port(), lic.key, "held");
  EXPECT_EQ(ok.status, 200u) << ok.body;
}

}  // namespace
}  // namespace le::test
