// Failed validations at the primary, in process with an injected clock: reports from edges are
// summed per license over a window, and each window records one validation.failed event per
// license (count, last reason, last machine) in the spec's payload form, queued for the
// account's endpoints; unknown licenses record nothing; a window's
// memory is bounded; stopping records the open window.
#include "primary/failure_reports.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "core/clock.h"
#include "core/digest.h"
#include "support/fixtures.h"

namespace le::primary {
namespace {

using core::FailureCount;
using core::FailureReason;
constexpr std::int64_t kStartMs = test::kNow * 1000;
constexpr std::chrono::milliseconds kWindow{60'000};

core::ChangeEvent change(std::string type, auto record) {
  core::ChangeEvent ev;
  ev.type = std::move(type);
  ev.record = std::move(record);
  return ev;
}

// A field of a recorded event, by JSON pointer: a string, or a number as text; "" when absent.
std::string field(const std::string& event, std::string_view pointer) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(event).get(doc)) return "parse error";
  auto v = doc.at_pointer(pointer);
  std::string_view s;
  if (!v.get_string().get(s)) return std::string(s);
  std::uint64_t n;
  if (!v.get_uint64().get(n)) return std::to_string(n);
  return {};
}

class FailureReportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tx = store_->begin();
    tx.put(change("account.created", test::account()));
    tx.put(change("api_key.created", caller_));
    tx.put(change("product.created", test::product()));
    for (int i = 0; i < kLicenses; ++i) {
      tx.put(change("license.created", test::license(key(i), "lic_" + std::to_string(i))));
    }
    ASSERT_TRUE(tx.commit());
  }
  static constexpr int kLicenses = 600;
  static std::string key(int i) { return "KEY-" + std::to_string(i); }
  static core::Digest digest(int i) { return core::sha256(key(i)); }

  std::vector<std::string> events() {
    return store_->events_page("acc_1", core::Mode::kLive, 0, 0, 1000).value().items;
  }
  FailureReportOptions options(std::size_t max_licenses = 250'000) {
    FailureReportOptions o;
    o.window = kWindow;
    o.max_licenses = max_licenses;
    return o;
  }

  test::TempDir dir_;
  std::unique_ptr<PrimaryStore> store_ = PrimaryStore::open(dir_.path("db")).value();
  core::ManualClock clock_{kStartMs};
  Ledger ledger_{*store_, clock_};
  core::ApiKeyRecord caller_ = test::api_key("to_live_acme");
};

TEST(FailureWindow, OpensAtItsFirstFailureAndClosesItsLengthLater) {
  FailureWindow w(kWindow, 10);
  core::FailureTally out(10);
  EXPECT_EQ(w.closes_at(), std::nullopt);
  EXPECT_FALSE(w.take_closed(kStartMs + 10 * kWindow.count(), out));  // nothing open
  EXPECT_EQ(w.add({}, kStartMs), 0u);
  EXPECT_EQ(w.closes_at(), std::nullopt);  // an empty report opens nothing
  const FailureCount a{core::sha256("A"), 3, FailureReason::kExpired, ""};
  EXPECT_EQ(w.add(std::span(&a, 1), kStartMs + 5), 0u);
  EXPECT_EQ(w.closes_at(), kStartMs + 5 + kWindow.count());
  EXPECT_EQ(w.add(std::span(&a, 1), kStartMs + 50'000), 0u);  // the same window
  EXPECT_FALSE(w.take_closed(kStartMs + 5 + kWindow.count() - 1, out));
  ASSERT_TRUE(w.take_closed(kStartMs + 5 + kWindow.count(), out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out.counts()[0].count, 6u);
  EXPECT_EQ(w.closes_at(), std::nullopt);
  // The next failure opens the next window.
  EXPECT_EQ(w.add(std::span(&a, 1), kStartMs + 100'000), 0u);
  EXPECT_EQ(w.closes_at(), kStartMs + 100'000 + kWindow.count());
  ASSERT_TRUE(w.take_open(out));
  EXPECT_EQ(out.counts()[0].count, 3u);
  EXPECT_FALSE(w.take_open(out));
}

TEST(FailureWindow, HoldsAtMostItsBoundOfLicenses) {
  FailureWindow w(kWindow, 2);
  std::vector<FailureCount> counts;
  for (int i = 0; i < 5; ++i) {
    counts.push_back({core::sha256(std::to_string(i)), 10, FailureReason::kRevoked, ""});
  }
  EXPECT_EQ(w.add(counts, kStartMs), 30u);
  EXPECT_EQ(w.add(counts, kStartMs), 30u);  // those held are still counted
  core::FailureTally out(2);
  ASSERT_TRUE(w.take_open(out));
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(out.total(), 40u);
}

TEST_F(FailureReportsTest, OneEventPerLicensePerWindowWithTheSummedCount) {
  FailureReports failures(ledger_, options());
  auto endpoint = ledger_.create_webhook(caller_, {.url = "https://hooks.example.com/to"});
  // Two edges report license 1 (3 + 4 failures) and license 2, in one window.
  failures.add(std::vector<FailureCount>({{digest(1), 3, FailureReason::kSuspended, "m-a"},
                                          {digest(2), 1, FailureReason::kExpired, ""}}));
  clock_.advance_ms(1'000);
  failures.add(
      std::vector<FailureCount>({{digest(1), 4, FailureReason::kMachineNotActivated, ""}}));
  EXPECT_EQ(failures.tick(), 0u);
  clock_.advance_ms(kWindow.count() - 1'001);
  EXPECT_EQ(failures.tick(), 0u);  // one millisecond early
  EXPECT_TRUE(events().empty());
  clock_.advance_ms(1);
  EXPECT_EQ(failures.tick(), 2u);
  EXPECT_EQ(failures.tick(), 0u);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 2u);
  const std::string& e1 = recorded[0];
  EXPECT_EQ(field(e1, "/event"), "validation.failed");
  EXPECT_EQ(field(e1, "/id").rfind("evt_", 0), 0u);
  EXPECT_EQ(field(e1, "/timestamp"), "2023-11-14T22:14:20Z");
  EXPECT_EQ(field(e1, "/data/licenseId"), "lic_1");
  EXPECT_EQ(field(e1, "/data/productId"), "prod_1");
  EXPECT_EQ(field(e1, "/data/count"), "7");
  EXPECT_EQ(field(e1, "/data/reason"), "MACHINE_NOT_ACTIVATED");  // the last one's
  EXPECT_EQ(field(e1, "/data/machineId"), "m-a");                 // the last one seen
  EXPECT_EQ(field(recorded[1], "/data/licenseId"), "lic_2");
  EXPECT_EQ(field(recorded[1], "/data/count"), "1");
  EXPECT_EQ(field(recorded[1], "/data/reason"), "EXPIRED");
  EXPECT_EQ(recorded[1].find("machineId"), std::string::npos);
  // Queued for the account's endpoint like every event.
  EXPECT_EQ(ledger_.deliveries(caller_, endpoint.id, 0, 10).total, 2u);

  // The next window counts only its own failures.
  clock_.advance_ms(5'000);
  failures.add(std::vector<FailureCount>({{digest(1), 2, FailureReason::kSuspended, ""}}));
  clock_.advance_ms(kWindow.count());
  EXPECT_EQ(failures.tick(), 1u);
  recorded = events();
  ASSERT_EQ(recorded.size(), 3u);
  EXPECT_EQ(field(recorded[2], "/data/count"), "2");
  EXPECT_EQ(field(recorded[2], "/data/machineId"), "");
  EXPECT_EQ(failures.stats().received.load(), 10u);
  EXPECT_EQ(failures.stats().events.load(), 3u);
  EXPECT_EQ(failures.stats().dropped.load(), 0u);
}

TEST_F(FailureReportsTest, UnknownLicensesRecordNothing) {
  FailureReports failures(ledger_, options());
  failures.add(std::vector<FailureCount>(
      {{core::sha256("NOT-A-LICENSE"), 99, FailureReason::kRevoked, ""}}));
  clock_.advance_ms(kWindow.count());
  EXPECT_EQ(failures.tick(), 0u);
  EXPECT_TRUE(events().empty());
  EXPECT_EQ(failures.stats().received.load(), 99u);
}

TEST_F(FailureReportsTest, AWindowOfManyLicensesIsRecordedInBoundedTransactions) {
  FailureReports failures(ledger_, options(500));
  std::vector<FailureCount> counts;
  for (int i = 0; i < kLicenses; ++i) counts.push_back({digest(i), 1, FailureReason::kExpired, ""});
  failures.add(counts);
  clock_.advance_ms(kWindow.count());
  // 500 fit the window (recorded in two transactions); 100 are dropped and counted.
  EXPECT_EQ(failures.tick(), 500u);
  EXPECT_EQ(events().size(), 500u);
  EXPECT_EQ(failures.stats().dropped.load(), 100u);
  EXPECT_EQ(field(events().back(), "/data/licenseId"), "lic_499");
}

TEST_F(FailureReportsTest, StoppingRecordsTheOpenWindow) {
  FailureReports failures(ledger_, options());
  failures.start();
  failures.add(std::vector<FailureCount>({{digest(5), 8, FailureReason::kRevoked, "m"}}));
  EXPECT_EQ(failures.tick(), 0u);
  failures.stop();
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(field(recorded[0], "/data/licenseId"), "lic_5");
  EXPECT_EQ(field(recorded[0], "/data/count"), "8");
}

}  // namespace
}  // namespace le::primary
