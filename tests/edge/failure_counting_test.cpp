// Failed validations as the edge counts them for the primary, driven in-process: which answers
// of both protocols are counted (refusals of an existing license) and which are not (success,
// unknown keys, bad input, authentication failures, rate limits, blacklist entries), with what
// reason and machine; a flood becomes one entry per license; a full tally drops and counts.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "cache/record_cache.h"
#include "core/clock.h"
#include "edge/edge_service.h"
#include "support/fixtures.h"

namespace le::edge {
namespace {

namespace http = boost::beast::http;
constexpr std::int64_t kNowMs = test::kNow * 1000;

// Moves the failures the threads counted into `into`.
void drain(Reporter& reporter, core::FailureTally& into) {
  reporter.take([&](const core::FailureTally& t, const core::UsageTally&, const core::AuthLog&,
                    const core::BlacklistHits&) {
    for (const auto& c : t.counts()) ASSERT_TRUE(into.add(c));
  });
}

class EdgeFailureCounting : public ::testing::Test {
 protected:
  void SetUp() override {
    replica_ = std::move(store::RecordStore::open({dir_.path("db")}).value());
    std::vector<core::ChangeEvent> events = {
        test::event(test::account()),
        test::event(test::account("acc_2")),
        test::event(test::api_key("to_live_acmekey")),
        test::event(test::api_key("to_live_otherkey", "acc_2")),
        test::event(test::api_key("tki-key")),
        test::event(test::product()),
        test::event(test::blacklist("bl_1", core::BlacklistKind::kLicense,
                                    core::to_hex(core::sha256("BLOCKED"))))};
    auto add = [&](std::string key, auto edit) {
      auto l = test::license(key, "lic_" + key);
      l.allowed_domains = {"example.com"};
      l.activations = {{"machine-1", "Laptop", test::kNow}};
      l.ips = {"10.0.0.1"};
      l.hwids = {"hw-1"};
      l.max_hwids = 1;
      edit(l);
      events.push_back(test::event(l));
    };
    add("ACTIVE", [](core::LicenseRecord&) {});
    add("SUSPENDED", [](core::LicenseRecord& l) { l.status = core::LicenseStatus::kSuspended; });
    add("REVOKED", [](core::LicenseRecord& l) { l.status = core::LicenseStatus::kRevoked; });
    add("EXPIRED", [](core::LicenseRecord& l) { l.expires_at = test::kNow - 1; });
    add("BLOCKED", [](core::LicenseRecord&) {});
    for (int i = 0; i < 3; ++i) {
      add("SUSP-" + std::to_string(i),
          [](core::LicenseRecord& l) { l.status = core::LicenseStatus::kSuspended; });
    }
    ASSERT_TRUE(cache::apply_and_invalidate(*replica_, stamps_, events, 1));
  }

  std::unique_ptr<EdgeService> service(Reporter* reporter, RateLimitOptions rl = {}) {
    EdgeOptions o;
    o.rate_limit = rl;
    o.rate_limit.table.capacity_log2 = 12;
    auto s = std::make_unique<EdgeService>(*replica_, stamps_, clock_, o);
    s->set_reporter(reporter);
    return s;
  }

  static unsigned call(EdgeService& s, std::string path, std::string body,
                       std::string authorization = {}) {
    http::fields fields;
    if (!authorization.empty()) fields.set(http::field::authorization, authorization);
    net::Request req;
    req.method = http::verb::post;
    req.target = req.path = path;
    req.body = body;
    req.fields = &fields;
    req.peer = boost::asio::ip::make_address("203.0.113.5");
    std::string out;
    net::Response res(out);
    if (path == "/api/license/auth") {
      s.tki_auth(req, res);
    } else {
      s.validate(req, res);
    }
    return res.status;
  }
  static std::string tki(std::string key, std::string version = "1.0.0", std::string hwid = "hw-1",
                         std::string ip = "10.0.0.1") {
    return R"({"data":{"product":"MyProduct","version":")" + version + R"(","licensekey":")" + key +
           R"(","ip":")" + ip + R"(","hwid":")" + hwid + R"("}})";
  }

  test::TempDir dir_;
  std::unique_ptr<store::RecordStore> replica_;
  cache::InvalidationStamps stamps_{12};
  core::ManualClock clock_{kNowMs};
};

TEST_F(EdgeFailureCounting, RefusalsOfAnExistingLicenseAreCountedWithTheirReasonAndMachine) {
  Reporter reporter(1, {});
  auto s = service(&reporter, RateLimitOptions{.enabled = false});
  struct Case {
    std::string path, body, authorization;
    unsigned status;
    std::optional<core::FailureReason> reason;  // nullopt: not counted
    std::string license, machine;
  };
  using R = core::FailureReason;
  const std::string v = "/api/v1/validate", t = "/api/license/auth";
  const std::vector<Case> cases = {
      // Traffic Orchestrator.
      {v, R"({"key":"ACTIVE"})", "", 200, std::nullopt},
      {v, R"({"key":"ACTIVE","domain":"example.com","machine_id":"machine-1"})", "", 200,
       std::nullopt},
      {v, R"({"key":"NO-SUCH-KEY"})", "", 200, std::nullopt},
      {v, R"({"key":"SUSPENDED"})", "", 200, R::kSuspended, "SUSPENDED"},
      {v, R"({"key":"REVOKED","machine_id":"m-9"})", "", 200, R::kRevoked, "REVOKED", "m-9"},
      {v, R"({"key":"EXPIRED"})", "", 200, R::kExpired, "EXPIRED"},
      {v, R"({"key":"ACTIVE","product_id":"prod_other"})", "", 200, R::kProductMismatch, "ACTIVE"},
      {v, R"({"key":"ACTIVE","domain":"evil.example.net"})", "", 403, R::kDomainMismatch, "ACTIVE"},
      {v, R"({"key":"ACTIVE","machine_id":"stranger"})", "", 200, R::kMachineNotActivated, "ACTIVE",
       "stranger"},
      {v, R"({"key":"SUSPENDED"})", "Bearer to_live_acmekey", 200, R::kSuspended, "SUSPENDED"},
      // Not a validation of a license the caller has: unknown to this key, bad key, bad input.
      {v, R"({"key":"SUSPENDED"})", "Bearer to_live_otherkey", 200, std::nullopt},
      {v, R"({"key":"SUSPENDED"})", "Bearer to_live_nosuchkey", 401, std::nullopt},
      {v, R"({"key":"SUSPENDED")", "", 400, std::nullopt},
      {v, R"({"key":"SUSPENDED","machine_id":7})", "", 400, std::nullopt},
      {v, "{}", "", 400, std::nullopt},
      // TKI.
      {t, tki("ACTIVE"), "tki-key", 200, std::nullopt},
      {t, tki("NO-SUCH-KEY"), "tki-key", 404, std::nullopt},
      {t, tki("SUSPENDED", "1.0.0", "hw-7"), "tki-key", 403, R::kSuspended, "SUSPENDED", "hw-7"},
      {t, tki("REVOKED"), "tki-key", 403, R::kRevoked, "REVOKED", "hw-1"},
      {t, tki("EXPIRED"), "tki-key", 400, R::kExpired, "EXPIRED", "hw-1"},
      {t, tki("ACTIVE", "9.9.9"), "tki-key", 400, R::kProductMismatch, "ACTIVE", "hw-1"},
      {t, tki("ACTIVE", "1.0.0", "hw-2"), "tki-key", 400, R::kMachineNotActivated, "ACTIVE",
       "hw-2"},
      {t, tki("BLOCKED"), "tki-key", 403, std::nullopt},  // a blacklist entry's hit
      {t, tki("SUSPENDED"), "wrong-key", 403, std::nullopt},
      {t, tki("SUSPENDED"), "", 401, std::nullopt},
      {t, R"({"data":{}})", "tki-key", 400, std::nullopt},
      // A new IP within the limits is a binding (503 without a primary), not a failure.
      {t, tki("ACTIVE", "1.0.0", "hw-1", "10.0.0.2"), "tki-key", 503, std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path + " " + c.body + " " + c.authorization);
    EXPECT_EQ(call(*s, c.path, c.body, c.authorization), c.status);
    core::FailureTally counted(10);
    drain(reporter, counted);
    if (!c.reason) {
      EXPECT_TRUE(counted.empty());
      continue;
    }
    ASSERT_EQ(counted.size(), 1u);
    EXPECT_EQ(counted.counts()[0],
              (core::FailureCount{core::sha256(c.license), 1, *c.reason, c.machine}));
  }
  EXPECT_EQ(reporter.dropped_full(ReportKind::kFailures), 0u);
}

TEST_F(EdgeFailureCounting, AFloodIsOneEntryPerLicenseAndRateLimitedRequestsAreNotCounted) {
  Reporter reporter(1, {});
  RateLimitOptions rl;
  rl.public_per_license = 1'000;
  rl.public_per_ip = 100'000;
  auto s = service(&reporter, rl);
  for (int i = 0; i < 1'500; ++i) {
    EXPECT_EQ(call(*s, "/api/v1/validate", R"({"key":"SUSPENDED"})"), i < 1'000 ? 200u : 429u);
  }
  for (int i = 0; i < 700; ++i) {
    EXPECT_EQ(call(*s, "/api/v1/validate",
                   R"({"key":"ACTIVE","machine_id":"m-)" + std::to_string(i % 7) + R"("})"),
              200u);
  }
  core::FailureTally counted(10);
  drain(reporter, counted);
  ASSERT_EQ(counted.size(), 2u);
  EXPECT_EQ(counted.counts()[0], (core::FailureCount{core::sha256("SUSPENDED"), 1'000,
                                                     core::FailureReason::kSuspended, ""}));
  EXPECT_EQ(counted.counts()[1],
            (core::FailureCount{core::sha256("ACTIVE"), 700,
                                core::FailureReason::kMachineNotActivated, "m-6"}));
  // Drained: the next drain starts from nothing.
  counted.clear();
  drain(reporter, counted);
  EXPECT_TRUE(counted.empty());
}

TEST_F(EdgeFailureCounting, AFullTallyDropsFurtherLicensesAndCountsThem) {
  ReporterOptions options;
  options.max_failures_per_thread = 2;
  Reporter reporter(1, options);
  auto s = service(&reporter, RateLimitOptions{.enabled = false});
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 3; ++i) {
      for (int n = 0; n < 5; ++n) {
        call(*s, "/api/v1/validate", R"({"key":"SUSP-)" + std::to_string(i) + R"("})");
      }
    }
    core::FailureTally counted(10);
    drain(reporter, counted);
    ASSERT_EQ(counted.size(), 2u);
    EXPECT_EQ(counted.counts()[0].license, core::sha256("SUSP-0"));
    EXPECT_EQ(counted.counts()[1].license, core::sha256("SUSP-1"));
    EXPECT_EQ(counted.total(), 10u);
    // SUSP-2's five failures, each round: the drain made room for the next round's first two.
    EXPECT_EQ(reporter.dropped_full(ReportKind::kFailures), 5u * (round + 1));
  }
}

// I/O threads count while the reporter takes their tallies away, again and again: every failure
// is in exactly one take, none lost or counted twice.
TEST(Reporter, TakingTalliesWhileThreadsCountLosesNothing) {
  constexpr unsigned kThreads = 3;
  constexpr int kPerThread = 200'000;
  Reporter reporter(kThreads, {});
  std::vector<core::Digest> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back(core::sha256(std::to_string(i)));
  std::atomic<unsigned> done{0};
  // Halfway, each thread waits until a take that began with all of them waiting has ended: then
  // every thread's counts are taken in at least two takes, one before and one after, however the
  // threads are scheduled.
  std::atomic<unsigned> halfway{0};
  std::atomic<bool> go_on{false};
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerThread; ++i) {
        if (i == kPerThread / 2) {
          halfway.fetch_add(1);
          while (!go_on.load()) std::this_thread::yield();
        }
        reporter.count_failure(w, keys[i % keys.size()], core::FailureReason::kExpired,
                               i % 2 ? "m" : "");
      }
      done.fetch_add(1);
    });
  }
  std::uint64_t taken = 0;
  std::size_t takes = 0;
  auto take = [&] {
    reporter.take([&](const core::FailureTally& t, const core::UsageTally&, const core::AuthLog&,
                      const core::BlacklistHits&) {
      for (const auto& c : t.counts()) taken += c.count;
      EXPECT_EQ(t.total(), [&] {
        std::uint64_t n = 0;
        for (const auto& c : t.counts()) n += c.count;
        return n;
      }());
      ++takes;
    });
  };
  while (done.load() < kThreads) {
    const bool all_waiting = halfway.load() == kThreads;
    take();
    if (all_waiting) go_on.store(true);
  }
  for (auto& t : threads) t.join();
  take();
  EXPECT_EQ(taken, std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(reporter.dropped_full(ReportKind::kFailures), 0u);
  EXPECT_GE(takes, 2 * kThreads);
}

TEST_F(EdgeFailureCounting, WithoutAReporterNothingIsCounted) {
  auto s = service(nullptr, RateLimitOptions{.enabled = false});
  EXPECT_EQ(call(*s, "/api/v1/validate", R"({"key":"SUSPENDED"})"), 200u);
  EXPECT_EQ(call(*s, "/api/license/auth", tki("SUSPENDED"), "tki-key"), 403u);
}

}  // namespace
}  // namespace le::edge
