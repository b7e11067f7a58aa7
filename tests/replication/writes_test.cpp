// Integration: writes through the edge. A real nats-server, a license-primary and two
// license-edge processes; activations, deactivations and TKI first-use bindings sent to either
// edge are decided by the primary (over NATS request/reply), seen at once by the edge that
// asked, and by every edge through the stream.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

#include "core/write_protocol.h"
#include "support/cluster.h"

namespace le::test {
namespace {

using V = http::verb;
using Clock = std::chrono::steady_clock;
constexpr auto kPropagation = std::chrono::seconds(10);

HttpReply activate(unsigned short port, const std::string& key, const std::string& machine,
                   const std::string& bearer = {}, const std::string& path = "/api/v1/activate") {
  return post_json(
      port, path,
      R"({"license_key":")" + key + R"(","machine_id":")" + machine + R"(","label":"test device"})",
      bearer.empty() ? std::string() : "Bearer " + bearer);
}
HttpReply deactivate(unsigned short port, const std::string& key, const std::string& machine,
                     const std::string& bearer = {}) {
  return activate(port, key, machine, bearer, "/api/v1/deactivate");
}

// The validation code for `key` on `machine` at an edge.
std::string validate_on(unsigned short port, const std::string& key, const std::string& machine) {
  return json_str(post_json(port, "/api/v1/validate",
                            R"({"license_key":")" + key + R"(","machine_id":")" + machine + R"("})")
                      .body,
                  "/code");
}

HttpReply tki(unsigned short port, const std::string& api_key, const std::string& key,
              const std::string& ip, const std::string& hwid) {
  return post_json(port, "/api/license/auth",
                   R"({"data":{"product":"Acme App","version":"1.0.0","licensekey":")" + key +
                       R"(","ip":")" + ip + R"(","hwid":")" + hwid + R"("}})",
                   api_key);
}

class Writes : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.start_nats();
    start_primary(primary_flags());
    cluster_.bootstrap();
    a_ = cluster_.start_edge("edge-a", {"--write-timeout-ms", "1000"});
    b_ = cluster_.start_edge("edge-b", {"--write-timeout-ms", "1000"});
  }
  virtual std::vector<std::string> primary_flags() { return {}; }
  void start_primary(std::vector<std::string> flags = {}) {
    cluster_.start_primary(std::move(flags));
    ASSERT_TRUE(eventually([&] { return cluster_.primary_takes_writes(); }));
  }

  // A license both edges already hold.
  Cluster::License license(const std::string& fields = {}) {
    auto lic = cluster_.create_license(fields);
    for (auto* e : {a_.get(), b_.get()}) {
      EXPECT_TRUE(eventually([&] { return Cluster::validate(e->port(), lic.key) == "VALID"; },
                             kPropagation));
    }
    return lic;
  }
  HttpReply license_at_primary(const Cluster::License& lic) {
    return cluster_.api(V::get, "/api/v1/licenses/" + lic.id);
  }
  static void expect_error(const HttpReply& r, unsigned status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(json_str(r.body, "/code"), code) << r.body;
    EXPECT_FALSE(json_str(r.body, "/error").empty()) << r.body;
  }

  Cluster cluster_;
  std::unique_ptr<EdgeProcess> a_, b_;
};

TEST_F(Writes, RacingActivationsFromTwoEdgesTakeExactlyTheLimitAndBothEdgesConverge) {
  auto lic = license(R"(,"max_activations":3)");
  constexpr int kClients = 16;
  std::vector<HttpReply> replies(kClients);
  std::atomic<bool> go{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      const unsigned short port = i % 2 == 0 ? a_->port() : b_->port();
      HttpClient c(port);
      while (!go.load()) std::this_thread::yield();
      replies[i] =
          c.post("/api/v1/activate", R"({"license_key":")" + lic.key + R"(","machine_id":"m-)" +
                                         std::to_string(i) + R"("})");
    });
  }
  go.store(true);
  for (auto& t : clients) t.join();

  std::vector<std::string> winners;
  for (int i = 0; i < kClients; ++i) {
    if (replies[i].status == 200) {
      EXPECT_TRUE(json_bool(replies[i].body, "/changed")) << replies[i].body;
      winners.push_back("m-" + std::to_string(i));
    } else {
      expect_error(replies[i], 403, "ACTIVATION_LIMIT_REACHED");
    }
  }
  ASSERT_EQ(winners.size(), 3u);
  EXPECT_EQ(json_int(license_at_primary(lic).body, "/license/activations"), 3);
  // Every edge ends up agreeing on who holds the slots.
  for (auto* e : {a_.get(), b_.get()}) {
    for (int i = 0; i < kClients; ++i) {
      const std::string m = "m-" + std::to_string(i);
      const bool won = std::find(winners.begin(), winners.end(), m) != winners.end();
      EXPECT_TRUE(eventually(
          [&] {
            return validate_on(e->port(), lic.key, m) == (won ? "VALID" : "MACHINE_NOT_ACTIVATED");
          },
          kPropagation))
          << m;
    }
  }
  // And hold exactly the primary's state, record for record.
  EXPECT_EQ(a_->terminate(), 0);
  EXPECT_EQ(b_->terminate(), 0);
  cluster_.stop_primary();
  const std::string primary = cluster_.primary_digest();
  ASSERT_EQ(primary.size(), 64u);
  EXPECT_EQ(cluster_.edge_digest("edge-a"), primary);
  EXPECT_EQ(cluster_.edge_digest("edge-b"), primary);
}

TEST_F(Writes, DeactivateFreesASlotAndRepeatsAreSafe) {
  auto lic = license(R"(,"max_activations":1)");
  auto r = activate(a_->port(), lic.key, "laptop");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(json_bool(r.body, "/success"));
  EXPECT_TRUE(json_bool(r.body, "/activated"));
  EXPECT_TRUE(json_bool(r.body, "/changed"));
  EXPECT_EQ(json_str(r.body, "/machineId"), "laptop");
  EXPECT_EQ(json_int(r.body, "/license/activations"), 1);
  EXPECT_EQ(json_str(r.body, "/license/machines/0/label"), "test device");

  // The same machine again, from either edge: success, no slot used.
  for (auto* e : {a_.get(), b_.get()}) {
    r = activate(e->port(), lic.key, "laptop");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_TRUE(json_bool(r.body, "/activated"));
    EXPECT_FALSE(json_bool(r.body, "/changed"));
    EXPECT_EQ(json_int(r.body, "/license/activations"), 1);
  }
  expect_error(activate(b_->port(), lic.key, "desktop"), 403, "ACTIVATION_LIMIT_REACHED");

  r = deactivate(b_->port(), lic.key, "laptop");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_FALSE(json_bool(r.body, "/activated"));
  EXPECT_TRUE(json_bool(r.body, "/changed"));
  EXPECT_EQ(json_int(r.body, "/license/activations"), 0);
  // A retried deactivate changes nothing and still succeeds.
  r = deactivate(a_->port(), lic.key, "laptop");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_FALSE(json_bool(r.body, "/changed"));

  r = activate(a_->port(), lic.key, "desktop");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(json_bool(r.body, "/changed"));
  EXPECT_EQ(json_str(r.body, "/license/machines/0/machineId"), "desktop");
}

TEST_F(Writes, WithAnApiKeyOnlyThatAccountsLicensesCanBeActivated) {
  auto lic = license();
  auto r = activate(a_->port(), lic.key, "m1", cluster_.api_key());
  ASSERT_EQ(r.status, 200u) << r.body;
  expect_error(activate(a_->port(), lic.key, "m2", "to_live_notakeyatall0000000000000000"), 401,
               "INVALID_API_KEY");
  // A test key of the same account does not see live licenses.
  auto k = cluster_.admin(V::post, "/admin/v1/accounts/acme/api-keys", R"({"mode":"test"})");
  ASSERT_EQ(k.status, 201u) << k.body;
  const std::string test_key = json_str(k.body, "/apiKey/key");
  ASSERT_TRUE(
      eventually([&] { return Cluster::validate(a_->port(), "NO-SUCH", test_key) == "NOT_FOUND"; },
                 kPropagation));
  expect_error(activate(a_->port(), lic.key, "m2", test_key), 404, "NOT_FOUND");
  expect_error(activate(a_->port(), "AAAA-BBBB-CCCC-DDDD", "m2"), 404, "NOT_FOUND");
}

TEST_F(Writes, TkiBindsIpsAndHwidsUpToTheLimitsFromBothEdges) {
  auto lic = license(R"(,"max_ips":2,"max_hwids":1)");
  const std::string& key = cluster_.api_key();
  auto r = tki(a_->port(), key, lic.key, "10.0.0.1", "hw-1");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(json_str(r.body, "/status_msg"), "Successful Authentication!");
  EXPECT_EQ(json_str(r.body, "/version"), "1.0.0");
  // The other edge: a second IP with the bound HWID, whether or not the stream brought it yet.
  r = tki(b_->port(), key, lic.key, "10.0.0.2", "hw-1");
  ASSERT_EQ(r.status, 200u) << r.body;
  // Beyond the limits, from either edge: TKI's own answers.
  for (auto* e : {a_.get(), b_.get()}) {
    r = tki(e->port(), key, lic.key, "10.0.0.3", "hw-1");
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_EQ(json_str(r.body, "/message"), "Max Amount of IP's reached!");
    EXPECT_EQ(json_str(r.body, "/status_overview"), "failed");
    r = tki(e->port(), key, lic.key, "10.0.0.1", "hw-2");
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_EQ(json_str(r.body, "/message"), "Max Amount of HWIDs reached!");
  }
  // Bound pairs keep working at both edges (locally: no round trip needed).
  for (auto* e : {a_.get(), b_.get()}) {
    EXPECT_TRUE(
        eventually([&] { return tki(e->port(), key, lic.key, "10.0.0.2", "hw-1").status == 200; },
                   kPropagation));
  }
  const auto state = license_at_primary(lic).body;
  EXPECT_EQ(json_str(state, "/license/ips/0"), "10.0.0.1");
  EXPECT_EQ(json_str(state, "/license/ips/1"), "10.0.0.2");
  EXPECT_EQ(json_str(state, "/license/ips/2"), "");
  EXPECT_EQ(json_str(state, "/license/hwids/0"), "hw-1");
  EXPECT_EQ(json_str(state, "/license/hwids/1"), "");
}

TEST_F(Writes, RacingTkiBindingsFromTwoEdgesBindExactlyTheLimit) {
  auto lic = license(R"(,"max_ips":3)");
  constexpr int kClients = 12;
  std::vector<HttpReply> replies(kClients);
  std::vector<std::thread> clients;
  std::atomic<bool> go{false};
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      HttpClient c(i % 2 == 0 ? a_->port() : b_->port());
      while (!go.load()) std::this_thread::yield();
      replies[i] =
          c.post("/api/license/auth",
                 R"({"data":{"product":"Acme App","version":"1.0.0","licensekey":")" + lic.key +
                     R"(","ip":"10.1.0.)" + std::to_string(i) + R"(","hwid":"hw"}})",
                 {{"Authorization", cluster_.api_key()}, {"Content-Type", "application/json"}});
    });
  }
  go.store(true);
  for (auto& t : clients) t.join();
  int ok = 0;
  for (const auto& r : replies) {
    if (r.status == 200) {
      ++ok;
    } else {
      EXPECT_EQ(r.status, 400u) << r.body;
      EXPECT_EQ(json_str(r.body, "/message"), "Max Amount of IP's reached!") << r.body;
    }
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(json_str(license_at_primary(lic).body, "/license/ips/3"), "");
}

TEST_F(Writes, PrimaryUnreachableGives503WithinTheBoundWhileValidationsGoOn) {
  auto lic = license(R"(,"max_ips":5,"max_activations":5)");
  ASSERT_EQ(activate(a_->port(), lic.key, "bound-machine").status, 200u);
  ASSERT_TRUE(
      eventually([&] { return validate_on(a_->port(), lic.key, "bound-machine") == "VALID"; }));
  ASSERT_EQ(tki(b_->port(), cluster_.api_key(), lic.key, "10.5.5.5", "hw-5").status, 200u);
  ASSERT_TRUE(eventually([&] {
    return tki(a_->port(), cluster_.api_key(), lic.key, "10.5.5.5", "hw-5").status == 200;
  }));

  // A hung primary: NATS takes the request, nobody answers. The write waits for its timeout
  // (1 s here), never longer, while the same edge answers validations promptly.
  ASSERT_TRUE(cluster_.primary().suspend());
  std::atomic<bool> writing{true};
  HttpReply write;
  double write_s = 0;
  std::thread writer([&] {
    const auto t0 = Clock::now();
    write = activate(a_->port(), lic.key, "new-machine");
    write_s = std::chrono::duration<double>(Clock::now() - t0).count();
    writing.store(false);
  });
  int validations = 0;
  double slowest = 0;
  while (writing.load()) {
    const auto t0 = Clock::now();
    EXPECT_EQ(validate_on(a_->port(), lic.key, "bound-machine"), "VALID");
    slowest = std::max(slowest, std::chrono::duration<double>(Clock::now() - t0).count());
    ++validations;
  }
  writer.join();
  expect_error(write, 503, "SERVICE_UNAVAILABLE");
  EXPECT_EQ(write.headers["Retry-After"], "1");
  EXPECT_GE(write_s, 0.9);
  EXPECT_LT(write_s, 2.5);
  EXPECT_GT(validations, 10);
  EXPECT_LT(slowest, 0.25);

  // A TKI first use from a new IP cannot be bound: TKI-format 503, nobody let in unbound.
  auto t0 = Clock::now();
  auto r = tki(b_->port(), cluster_.api_key(), lic.key, "10.9.9.9", "hw-x");
  EXPECT_EQ(r.status, 503u) << r.body;
  EXPECT_EQ(json_str(r.body, "/status_overview"), "failed");
  EXPECT_FALSE(r.headers["Retry-After"].empty());
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 2.5);
  // An IP and HWID already bound need no round trip: answered at once from the replica.
  for (auto* e : {a_.get(), b_.get()}) {
    t0 = Clock::now();
    EXPECT_EQ(tki(e->port(), cluster_.api_key(), lic.key, "10.5.5.5", "hw-5").status, 200u);
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 0.25);
  }
  ASSERT_TRUE(cluster_.primary().resume());

  // A stopped primary: once nats-server has dropped its subscription (it learns of the closed
  // connection asynchronously, so the first request may still wait out its timeout), the
  // server answers "no responders" and the edge says 503 at once.
  cluster_.stop_primary();
  EXPECT_TRUE(eventually([&] {
    const auto t = Clock::now();
    const auto reply = activate(a_->port(), lic.key, "other");
    return reply.status == 503 && json_str(reply.body, "/code") == "SERVICE_UNAVAILABLE" &&
           Clock::now() - t < std::chrono::milliseconds(500);
  }));

  // NATS down too: refused without sending; validations still answered from the replica.
  cluster_.stop_nats();
  EXPECT_TRUE(eventually([&] {
    const auto t = Clock::now();
    return activate(a_->port(), lic.key, "other").status == 503 &&
           Clock::now() - t < std::chrono::milliseconds(500);
  }));
  EXPECT_EQ(validate_on(a_->port(), lic.key, "bound-machine"), "VALID");

  // Back: writes go through again (the write the hung primary took late is already there).
  cluster_.start_nats();
  start_primary();
  HttpReply last;
  EXPECT_TRUE(eventually(
      [&] { return (last = activate(a_->port(), lic.key, "new-machine")).status == 200; },
      std::chrono::seconds(20)))
      << last.body;
}

// With the primary not publishing, the only way an edge can learn of a write is the primary's
// reply: the acting edge sees it at once, the other edge does not until publishing resumes.
TEST_F(Writes, ReadYourWritesAtTheActingEdgeComesFromThePrimarysReply) {
  auto lic = license(R"(,"max_activations":5)");
  cluster_.stop_primary();
  start_primary({"--no-publish"});
  for (int i = 0; i < 5; ++i) {
    const std::string m = "ryw-" + std::to_string(i);
    ASSERT_EQ(activate(a_->port(), lic.key, m).status, 200u);
    EXPECT_EQ(validate_on(a_->port(), lic.key, m), "VALID") << "right after the activation";
  }
  ASSERT_EQ(deactivate(a_->port(), lic.key, "ryw-0").status, 200u);
  EXPECT_EQ(validate_on(a_->port(), lic.key, "ryw-0"), "MACHINE_NOT_ACTIVATED");
  EXPECT_EQ(validate_on(b_->port(), lic.key, "ryw-1"), "MACHINE_NOT_ACTIVATED") << "no stream yet";

  cluster_.stop_primary();
  start_primary();
  EXPECT_TRUE(eventually([&] { return validate_on(b_->port(), lic.key, "ryw-1") == "VALID"; },
                         kPropagation));
  EXPECT_EQ(validate_on(b_->port(), lic.key, "ryw-0"), "MACHINE_NOT_ACTIVATED");
  // The stream's copy of what edge A already applied changes nothing there.
  EXPECT_EQ(validate_on(a_->port(), lic.key, "ryw-4"), "VALID");
}

TEST_F(Writes, ActivationsAndDeactivationsAreRecordedForWebhooks) {
  auto lic = license(R"(,"max_activations":2)");
  ASSERT_EQ(activate(a_->port(), lic.key, "m1").status, 200u);
  ASSERT_EQ(activate(b_->port(), lic.key, "m1").status, 200u);  // no change: no event
  ASSERT_EQ(deactivate(b_->port(), lic.key, "m1").status, 200u);
  auto r = cluster_.api(V::get, "/api/v1/events");
  ASSERT_EQ(r.status, 200u) << r.body;
  // The license's creation, then its activation and deactivation, in order.
  EXPECT_EQ(json_str(r.body, "/data/0/event"), "license.created");
  EXPECT_EQ(json_str(r.body, "/data/0/data/licenseId"), lic.id);
  EXPECT_EQ(json_str(r.body, "/data/0/data/machineId"), "");  // not a machine's event
  EXPECT_EQ(json_str(r.body, "/data/1/event"), "license.activated");
  EXPECT_EQ(json_str(r.body, "/data/1/data/licenseId"), lic.id);
  EXPECT_EQ(json_str(r.body, "/data/1/data/machineId"), "m1");
  EXPECT_EQ(json_str(r.body, "/data/1/data/productId"), cluster_.product_id());
  EXPECT_FALSE(json_str(r.body, "/data/1/timestamp").empty());
  EXPECT_EQ(json_str(r.body, "/data/2/event"), "license.deactivated");
  EXPECT_EQ(json_str(r.body, "/data/3/event"), "");
  EXPECT_FALSE(json_bool(r.body, "/pagination/hasMore"));
  EXPECT_EQ(json_int(r.body, "/pagination/total"), 3);
  // The spec's pages: one event a page.
  r = cluster_.api(V::get, "/api/v1/events?limit=1&page=2");
  EXPECT_EQ(json_str(r.body, "/data/0/event"), "license.activated");
  EXPECT_EQ(json_str(r.body, "/data/1/event"), "");
  EXPECT_EQ(json_int(r.body, "/pagination/totalPages"), 3);
  EXPECT_TRUE(json_bool(r.body, "/pagination/hasMore"));
  r = cluster_.api(V::get, "/api/v1/events?limit=2&offset=2");
  EXPECT_EQ(json_str(r.body, "/data/0/event"), "license.deactivated");
  EXPECT_FALSE(json_bool(r.body, "/pagination/hasMore"));
  // Paging on from the activation's number.
  const std::string first = json_str(cluster_.api(V::get, "/api/v1/events").body, "/data/1/id");
  ASSERT_EQ(first.rfind("evt_", 0), 0u);
  r = cluster_.api(V::get, "/api/v1/events?after=" + first.substr(4) + "&limit=1");
  EXPECT_EQ(json_str(r.body, "/data/0/event"), "license.deactivated");
  EXPECT_EQ(json_str(r.body, "/data/1/event"), "");
  // Test keys see only test-mode events: none here.
  auto k = cluster_.admin(V::post, "/admin/v1/accounts/acme/api-keys", R"({"mode":"test"})");
  r = cluster_.call(V::get, "/api/v1/events", {}, json_str(k.body, "/apiKey/key"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json_str(r.body, "/data/0/event"), "");
  expect_error(cluster_.api(V::get, "/api/v1/events?limit=1000"), 400, "VALIDATION_ERROR");
  expect_error(cluster_.api(V::get, "/api/v1/events?after=-1"), 400, "VALIDATION_ERROR");
}

class WritesLimited : public Writes {
  std::vector<std::string> primary_flags() override { return {"--activation-changes", "4"}; }
};

TEST_F(WritesLimited, CyclingDevicesOnOneLicenseIsRateLimited) {
  auto lic = license(R"(,"max_activations":1)");
  // Four device switches: four slot-taking activations, the limit. Deactivations do not count.
  for (const char* device : {"d1", "d2", "d3", "d4"}) {
    ASSERT_EQ(activate(a_->port(), lic.key, device).status, 200u) << device;
    ASSERT_EQ(deactivate(b_->port(), lic.key, device).status, 200u) << device;
  }
  auto r = activate(a_->port(), lic.key, "d5");
  EXPECT_EQ(r.status, 429u) << r.body;
  EXPECT_EQ(json_str(r.body, "/code"), "RATE_LIMITED");
  EXPECT_GT(json_int(r.body, "/retryAfter"), 86'000);
  EXPECT_EQ(r.headers["Retry-After"], std::to_string(json_int(r.body, "/retryAfter")));
  // Nothing changed, and another license is not affected.
  EXPECT_EQ(json_int(license_at_primary(lic).body, "/license/activations"), 0);
  auto other = license();
  EXPECT_EQ(activate(b_->port(), other.key, "d3").status, 200u);
}

// A user at the limit can still free a seat: deactivation is neither limited nor counted.
TEST_F(WritesLimited, AtTheLimitASeatCanStillBeFreed) {
  auto lic = license(R"(,"max_activations":5)");
  for (const char* device : {"d1", "d2", "d3", "d4"}) {
    ASSERT_EQ(activate(a_->port(), lic.key, device).status, 200u) << device;
  }
  EXPECT_EQ(activate(a_->port(), lic.key, "d5").status, 429u);  // a free slot, but the limit
  for (const char* device : {"d1", "d2", "d3"}) {
    auto r = deactivate(b_->port(), lic.key, device);
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_TRUE(json_bool(r.body, "/changed")) << r.body;
  }
  EXPECT_EQ(json_int(license_at_primary(lic).body, "/license/activations"), 1);
  // Still limited for taking slots: only activations count, and there were four.
  EXPECT_EQ(activate(a_->port(), lic.key, "d1").status, 429u);
}

TEST_F(Writes, BadInputToEdgeWritesGets4xxAndChangesNothing) {
  auto lic = license(R"(,"max_activations":2)");
  const std::string before = license_at_primary(lic).body;
  const std::string long_id(300, 'm');
  struct Case {
    std::string body;
    unsigned status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"", 400, "VALIDATION_ERROR"},
      {"not json", 400, "VALIDATION_ERROR"},
      {"[]", 400, "VALIDATION_ERROR"},
      {"{}", 400, "MISSING_FIELDS"},
      {R"({"license_key":")" + lic.key + R"("})", 400, "MISSING_FIELDS"},
      {R"({"machine_id":"m"})", 400, "MISSING_FIELDS"},
      {R"({"license_key":")" + lic.key + R"(","machine_id":7})", 400, "VALIDATION_ERROR"},
      {R"({"license_key":")" + lic.key + R"(","machine_id":")" + long_id + R"("})", 400,
       "VALIDATION_ERROR"},
      {R"({"license_key":")" + lic.key + R"(","machine_id":"a\u0000b"})", 400, "VALIDATION_ERROR"},
      {R"({"license_key":")" + lic.key + R"(","machine_id":"m","label":{"x":1}})", 400,
       "VALIDATION_ERROR"},
      {R"({"license_key":")" + lic.key + R"(","key":"OTHER-KEY","machine_id":"m"})", 400,
       "VALIDATION_ERROR"},
      {R"({"license_key":")" + lic.key + R"(","machine_id":"m")", 400, "VALIDATION_ERROR"},
      {std::string(5000, '[') + std::string(5000, ']'), 400, "VALIDATION_ERROR"},
      {"{\"license_key\":\"\xff\xfe\",\"machine_id\":\"m\"}", 400, "VALIDATION_ERROR"},
      {R"({"license_key":")" + lic.key + R"(","machine_id":"m","pad":")" + std::string(20000, 'x') +
           R"("})",
       413, "PAYLOAD_TOO_LARGE"},
  };
  for (const char* path : {"/api/v1/activate", "/api/v1/deactivate"}) {
    for (const auto& c : cases) {
      auto r = post_json(a_->port(), path, c.body);
      expect_error(r, c.status, c.code);
    }
    expect_error(
        post_json(a_->port(), path, R"({"license_key":"k","machine_id":"m"})", "Basic abc"), 401,
        "INVALID_API_KEY");
    expect_error(
        post_json(a_->port(), path, R"({"license_key":"k","machine_id":"m"})", "Bearer nope"), 401,
        "INVALID_API_KEY");
    HttpClient c(a_->port());
    EXPECT_EQ(c.request(V::get, path).status, 405u);
  }
  const std::string after = license_at_primary(lic).body;
  EXPECT_EQ(before, after);
  // Only the license's creation was recorded: no activation.
  const auto events = cluster_.api(V::get, "/api/v1/events").body;
  EXPECT_EQ(json_str(events, "/data/0/event"), "license.created");
  EXPECT_EQ(json_str(events, "/data/1/event"), "");
}

// A request on the write subject that is not a valid command (from a broken or hostile client
// on the NATS side) gets a refusal reply and changes nothing; the primary keeps serving.
TEST_F(Writes, MalformedRequestsOnTheWriteSubjectAreRefusedByThePrimary) {
  auto lic = license();
  const std::string before = license_at_primary(lic).body;
  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, cluster_.nats_url().c_str()), NATS_OK);
  core::WriteCommand wrong_op;
  wrong_op.op = core::WriteOp::kDeactivate;
  wrong_op.license = core::sha256(lic.key);
  wrong_op.machine_id = "m";
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"licw.activate", "garbage"},
      {"licw.activate", "{}"},
      {"licw.activate", R"({"op":"activate","license":"zz","machineId":"m"})"},
      {"licw.activate",
       R"({"op":"activate","license":")" + std::string(64, 'a') + R"(","machineId":""})"},
      {"licw.bind", R"({"op":"bind","license":")" + std::string(64, 'a') + R"(","ip":"1.2.3.4"})"},
      {"licw.activate", core::encode_write_command(wrong_op)},  // the subject says otherwise
      {"licw.activate", std::string(100000, '{')},
  };
  for (const auto& [subject, body] : requests) {
    natsMsg* reply = nullptr;
    ASSERT_EQ(natsConnection_Request(&reply, nc, subject.c_str(), body.data(),
                                     static_cast<int>(body.size()), 5000),
              NATS_OK)
        << body.substr(0, 80);
    auto decoded = core::decode_write_reply(
        std::string_view(natsMsg_GetData(reply), natsMsg_GetDataLength(reply)));
    natsMsg_Destroy(reply);
    ASSERT_TRUE(std::holds_alternative<core::WriteReply>(decoded));
    const auto& r = std::get<core::WriteReply>(decoded);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->code, "VALIDATION_ERROR");
  }
  natsConnection_Destroy(nc);
  EXPECT_EQ(license_at_primary(lic).body, before);
  EXPECT_EQ(activate(a_->port(), lic.key, "after").status, 200u);
}

}  // namespace
}  // namespace le::test
