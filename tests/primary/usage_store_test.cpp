// The primary's usage store (primary/usage_store.h), driven directly with a ManualClock: reports
// of several edges sum exactly per license-day and per account, sketches merge as unions, a
// report counts once however often it is delivered (per edge, boot and seq), reads honour the
// ranges, filters, paging and retention, compaction drops what retention drops, key sharing is
// flagged once per license-day, and everything survives a reopen.
#include "primary/usage_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/time_format.h"
#include "support/fixtures.h"

namespace le::primary {
namespace {

using core::Mode;
using core::TkiStatus;
using core::UsageOutcome;

constexpr std::int64_t kNowMs = test::kNow * 1000;
constexpr std::int32_t kToday = core::utc_day(test::kNow);
constexpr std::int64_t kDayMs = 86'400'000;

std::size_t vi(UsageOutcome o) { return static_cast<std::size_t>(o); }
std::size_t ai(TkiStatus s) { return static_cast<std::size_t>(s); }

core::UsageCount usage(std::string license, std::int32_t day, std::string account = "acc_1",
                       std::string product = "prod_1", Mode mode = Mode::kLive) {
  core::UsageCount c;
  c.account_id = std::move(account);
  c.mode = mode;
  c.license_id = std::move(license);
  c.product_id = c.license_id.empty() ? std::string() : std::move(product);
  c.day = day;
  return c;
}

core::AuthAttempt auth(std::int64_t at_ms, std::string license, std::string ip,
                       TkiStatus status = TkiStatus::kSuccess, std::string account = "acc_1") {
  core::AuthAttempt a;
  a.at_ms = at_ms;
  a.account_id = std::move(account);
  a.license_id = std::move(license);
  a.product = "MyProduct";
  a.version = "1.0.0";
  a.ip = std::move(ip);
  a.hwid = "hw-" + a.ip;
  a.user_agent = "MyApp/1.0";
  a.status = status;
  return a;
}

core::EdgeReport report(std::string edge, std::uint64_t boot, std::uint64_t seq) {
  core::EdgeReport r;
  r.header = {std::move(edge), boot, seq};
  return r;
}

void add_machines(core::Hll& h, int from, int to, std::string_view prefix = "machine-") {
  for (int i = from; i < to; ++i) h.add(std::string(prefix) + std::to_string(i));
}

// Everything the store answers for account acc_1 (live), as text: compared before and after
// something that must change nothing.
std::string everything(const UsageStore& s) {
  std::string out;
  auto num = [&out](auto n) -> std::string& { return out.append(" ").append(std::to_string(n)); };
  const auto a = s.account_usage("acc_1", Mode::kLive, kToday - 400, kToday + 1, std::nullopt, 100);
  EXPECT_TRUE(a);
  for (const auto& d : a.value().days) {
    out.append("day");
    num(d.day);
    num(d.last_validated_ms);
    for (auto n : d.validations) num(n);
    out.append(" |");
    for (auto n : d.auths) num(n);
    out.append("\n");
  }
  for (const auto& t : a.value().top) {
    out.append("top ").append(t.license_id).append(" ").append(t.product_id);
    num(t.validations).append("\n");
  }
  for (const char* lic : {"lic_1", "lic_2"}) {
    const auto days = s.license_days("acc_1", Mode::kLive, lic, kToday - 400, kToday + 1);
    EXPECT_TRUE(days);
    for (const auto& d : days.value()) {
      out.append(lic);
      num(d.day);
      num(d.total_validations());
      num(d.machines.estimate());
      num(d.ips.estimate());
      num(d.hwids.estimate());
      out.append(d.key_sharing ? " shared\n" : "\n");
    }
  }
  const auto logs = s.auth_logs("acc_1", Mode::kLive, {}, 0, 1000);
  EXPECT_TRUE(logs);
  out.append("auths");
  num(logs.value().total).append("\n");
  for (const auto& r : logs.value().records) {
    num(r.at_ms).append(" ").append(r.license_id).append(" ").append(r.ip).append("\n");
  }
  const auto hits = s.blacklist_attempts("acc_1", "bl_1");
  EXPECT_TRUE(hits);
  out.append("bl");
  num(hits.value().attempts);
  num(hits.value().last_ms).append("\nflags");
  num(s.key_sharing_flags()).append("\n");
  return out;
}

class UsageStoreTest : public ::testing::Test {
 protected:
  void open(UsageStoreOptions o = {}) {
    store_.reset();
    o.path = dir_.path("usage");
    options_ = o;
    auto s = UsageStore::open(o, clock_);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(s.value());
  }
  void reopen() { open(options_); }
  ApplyOutcome apply(const core::EdgeReport& r) {
    auto outcome = store_->apply(r);
    EXPECT_TRUE(outcome) << outcome.error().message;
    return outcome ? outcome.value() : ApplyOutcome::kDuplicate;
  }
  std::vector<UsageDay> license_days(std::string_view license, std::int32_t from, std::int32_t to,
                                     std::string_view account = "acc_1", Mode mode = Mode::kLive) {
    auto d = store_->license_days(account, mode, license, from, to);
    EXPECT_TRUE(d);
    return d ? d.value() : std::vector<UsageDay>{};
  }
  AccountUsage account_usage(std::int32_t from, std::int32_t to,
                             std::optional<std::string_view> product = std::nullopt,
                             std::size_t top = 10, std::string_view account = "acc_1",
                             Mode mode = Mode::kLive) {
    auto a = store_->account_usage(account, mode, from, to, product, top);
    EXPECT_TRUE(a);
    return a ? a.value() : AccountUsage{};
  }
  AuthLogPage auth_logs(const AuthLogFilter& f = {}, std::size_t offset = 0,
                        std::size_t limit = 100, std::string_view account = "acc_1") {
    auto p = store_->auth_logs(account, Mode::kLive, f, offset, limit);
    EXPECT_TRUE(p);
    return p ? p.value() : AuthLogPage{};
  }
  std::size_t rows(std::string_view cf) {
    auto n = store_->stored_rows(cf);
    EXPECT_TRUE(n);
    return n ? n.value() : 0;
  }
  void compact() {
    auto c = store_->compact();
    ASSERT_TRUE(c) << c.error().message;
  }

  test::TempDir dir_;
  core::ManualClock clock_{kNowMs};
  UsageStoreOptions options_;
  std::unique_ptr<UsageStore> store_;
};

TEST_F(UsageStoreTest, ReportsOfTwoEdgesSumPerLicenseDayAndPerAccountAndMergeSketches) {
  open();
  auto r1 = report("edge-1", 1000, 1);
  auto u = usage("lic_1", kToday);
  u.validations[vi(UsageOutcome::kValid)] = 3;
  u.validations[vi(UsageOutcome::kExpired)] = 1;
  u.auths[ai(TkiStatus::kSuccess)] = 2;
  u.last_validated_ms = kNowMs - 1000;  // the later of the two
  u.machines.add("m1");
  u.machines.add("m2");
  u.ips.add("203.0.113.1");
  u.hwids.add("hw-1");
  r1.usage.push_back(u);
  auto acct = usage("", kToday);  // the account's validations of keys it does not hold
  acct.validations[vi(UsageOutcome::kNotFound)] = 2;
  acct.last_validated_ms = kNowMs - 3000;
  r1.usage.push_back(acct);
  auto y = usage("lic_1", kToday - 1);  // another day stays apart
  y.validations[vi(UsageOutcome::kValid)] = 100;
  y.last_validated_ms = kNowMs - kDayMs;
  r1.usage.push_back(y);
  EXPECT_EQ(apply(r1), ApplyOutcome::kApplied);

  auto r2 = report("edge-2", 2000, 1);
  u = usage("lic_1", kToday);
  u.validations[vi(UsageOutcome::kValid)] = 4;
  u.validations[vi(UsageOutcome::kDomainMismatch)] = 5;
  u.auths[ai(TkiStatus::kMaxIps)] = 1;
  u.last_validated_ms = kNowMs - 2000;
  u.machines.add("m2");  // seen by both edges: once
  u.machines.add("m3");
  u.ips.add("203.0.113.1");
  u.hwids.add("hw-2");
  r2.usage.push_back(u);
  acct = usage("", kToday);
  acct.validations[vi(UsageOutcome::kNotFound)] = 7;
  acct.last_validated_ms = kNowMs - 500;
  r2.usage.push_back(acct);
  EXPECT_EQ(apply(r2), ApplyOutcome::kApplied);

  const auto days = license_days("lic_1", kToday - 1, kToday);
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0].day, kToday - 1);
  EXPECT_EQ(days[0].validations[vi(UsageOutcome::kValid)], 100u);
  const UsageDay& d = days[1];
  EXPECT_EQ(d.day, kToday);
  EXPECT_EQ(d.license_id, "lic_1");
  EXPECT_EQ(d.product_id, "prod_1");
  std::array<std::uint64_t, core::kUsageOutcomeCount> want_v{};
  want_v[vi(UsageOutcome::kValid)] = 7;
  want_v[vi(UsageOutcome::kExpired)] = 1;
  want_v[vi(UsageOutcome::kDomainMismatch)] = 5;
  EXPECT_EQ(d.validations, want_v);
  std::array<std::uint64_t, core::kTkiOutcomeCount> want_a{};
  want_a[ai(TkiStatus::kSuccess)] = 2;
  want_a[ai(TkiStatus::kMaxIps)] = 1;
  EXPECT_EQ(d.auths, want_a);
  EXPECT_EQ(d.total_validations(), 13u);
  EXPECT_EQ(d.last_validated_ms, kNowMs - 1000);
  EXPECT_EQ(d.machines.estimate(), 3u);  // m1, m2, m3
  EXPECT_EQ(d.ips.estimate(), 1u);
  EXPECT_EQ(d.hwids.estimate(), 2u);
  EXPECT_FALSE(d.key_sharing);

  // The account's day: the license's counts and the license-less row's.
  const auto a = account_usage(kToday, kToday);
  ASSERT_EQ(a.days.size(), 1u);
  want_v[vi(UsageOutcome::kNotFound)] = 9;
  EXPECT_EQ(a.days[0].day, kToday);
  EXPECT_TRUE(a.days[0].license_id.empty());
  EXPECT_EQ(a.days[0].validations, want_v);
  EXPECT_EQ(a.days[0].auths, want_a);
  EXPECT_EQ(a.days[0].last_validated_ms, kNowMs - 500);
  ASSERT_EQ(a.top.size(), 1u);  // the license-less row is no license
  EXPECT_EQ(a.top[0].license_id, "lic_1");
  EXPECT_EQ(a.top[0].validations, 13u);
  // The license-less row is not a license's.
  EXPECT_TRUE(license_days("", kToday - 1, kToday).empty());

  // One license-day twice in one report (two edge threads): both count.
  auto r3 = report("edge-3", 1, 1);
  u = usage("lic_9", kToday);
  u.validations[vi(UsageOutcome::kValid)] = 2;
  u.machines.add("a");
  r3.usage.push_back(u);
  u.validations[vi(UsageOutcome::kValid)] = 3;
  u.machines.add("b");
  r3.usage.push_back(u);
  EXPECT_EQ(apply(r3), ApplyOutcome::kApplied);
  const auto nine = license_days("lic_9", kToday, kToday);
  ASSERT_EQ(nine.size(), 1u);
  EXPECT_EQ(nine[0].validations[vi(UsageOutcome::kValid)], 5u);
  EXPECT_EQ(nine[0].machines.estimate(), 2u);
}

TEST_F(UsageStoreTest, DistinctCountsAreUnionsWithinThreeStandardErrors) {
  open();
  // Two edges see overlapping sets: machines 0..1499 and 500..1999 (2000 distinct, 3000 seen).
  auto r1 = report("edge-1", 1, 1);
  auto r2 = report("edge-2", 1, 1);
  auto u1 = usage("lic_1", kToday);
  auto u2 = usage("lic_1", kToday);
  add_machines(u1.machines, 0, 1500);
  add_machines(u2.machines, 500, 2000);
  add_machines(u1.ips, 0, 1000, "10.0.0.");  // one edge only: 1000
  add_machines(u1.hwids, 0, 40, "hw-");      // small: exact
  add_machines(u2.hwids, 20, 60, "hw-");
  r1.usage.push_back(u1);
  r2.usage.push_back(u2);
  EXPECT_EQ(apply(r1), ApplyOutcome::kApplied);
  EXPECT_EQ(apply(r2), ApplyOutcome::kApplied);
  auto within = [](std::uint64_t estimate, double n) {
    return std::abs(static_cast<double>(estimate) - n) <= 3 * core::Hll::kStandardError * n;
  };
  const auto days = license_days("lic_1", kToday, kToday);
  ASSERT_EQ(days.size(), 1u);
  EXPECT_PRED2(within, days[0].machines.estimate(), 2000.0);
  EXPECT_PRED2(within, days[0].ips.estimate(), 1000.0);
  EXPECT_EQ(days[0].hwids.estimate(), 60u);

  // More: 5000 distinct machines over three edges, each also re-reporting some of the others'.
  auto r3 = report("edge-3", 1, 1);
  auto u3 = usage("lic_2", kToday);
  add_machines(u3.machines, 0, 2500, "x-");
  r3.usage.push_back(u3);
  auto r4 = report("edge-1", 1, 2);
  auto u4 = usage("lic_2", kToday);
  add_machines(u4.machines, 2000, 5000, "x-");
  r4.usage.push_back(u4);
  EXPECT_EQ(apply(r3), ApplyOutcome::kApplied);
  EXPECT_EQ(apply(r4), ApplyOutcome::kApplied);
  const auto days2 = license_days("lic_2", kToday, kToday);
  ASSERT_EQ(days2.size(), 1u);
  EXPECT_PRED2(within, days2[0].machines.estimate(), 5000.0);
}

TEST_F(UsageStoreTest, AReportCountsOncePerEdgeBootAndSeq) {
  open();
  auto make = [](std::string edge, std::uint64_t boot, std::uint64_t seq, std::uint64_t valid) {
    auto r = report(std::move(edge), boot, seq);
    auto u = usage("lic_1", kToday);
    u.validations[vi(UsageOutcome::kValid)] = valid;
    u.machines.add("m-" + std::to_string(seq) + "-" + std::to_string(boot));
    r.usage.push_back(u);
    r.auths.push_back(auth(kNowMs + static_cast<std::int64_t>(valid), "lic_1", "198.51.100.1"));
    core::BlacklistHit h{"acc_1", "bl_1", valid, kNowMs + static_cast<std::int64_t>(valid)};
    r.blacklist.push_back(h);
    return r;
  };
  auto valid_today = [&] {
    const auto d = license_days("lic_1", kToday, kToday);
    return d.empty() ? 0 : d[0].validations[vi(UsageOutcome::kValid)];
  };
  EXPECT_EQ(apply(make("edge-1", 100, 1, 1)), ApplyOutcome::kApplied);
  EXPECT_EQ(valid_today(), 1u);
  std::string before = everything(*store_);

  // The same report again: a duplicate, nothing changes.
  EXPECT_EQ(apply(make("edge-1", 100, 1, 1)), ApplyOutcome::kDuplicate);
  EXPECT_EQ(everything(*store_), before);
  EXPECT_EQ(store_->auth_logs_written(), 1u);

  EXPECT_EQ(apply(make("edge-1", 100, 2, 10)), ApplyOutcome::kApplied);
  EXPECT_EQ(valid_today(), 11u);
  before = everything(*store_);
  // An older seq of the same boot (a late redelivery), whatever it carries: a duplicate.
  EXPECT_EQ(apply(make("edge-1", 100, 1, 1000)), ApplyOutcome::kDuplicate);
  EXPECT_EQ(apply(make("edge-1", 100, 2, 1000)), ApplyOutcome::kDuplicate);
  EXPECT_EQ(everything(*store_), before);

  // Another edge's seq 1 is its own.
  EXPECT_EQ(apply(make("edge-2", 100, 1, 100)), ApplyOutcome::kApplied);
  EXPECT_EQ(valid_today(), 111u);

  // The edge restarted: its new boot counts from seq 1 again.
  EXPECT_EQ(apply(make("edge-1", 200, 1, 1000)), ApplyOutcome::kApplied);
  EXPECT_EQ(valid_today(), 1111u);
  before = everything(*store_);
  // A report of the earlier boot, even with a higher seq, is from before the restart: skipped.
  EXPECT_EQ(apply(make("edge-1", 100, 3, 5)), ApplyOutcome::kDuplicate);
  EXPECT_EQ(apply(make("edge-1", 100, 99, 5)), ApplyOutcome::kDuplicate);
  EXPECT_EQ(apply(make("edge-1", 200, 1, 5)), ApplyOutcome::kDuplicate);
  EXPECT_EQ(everything(*store_), before);
  EXPECT_EQ(store_->auth_logs_written(), 4u);
  EXPECT_EQ(auth_logs().total, 4u);
  const auto hits = store_->blacklist_attempts("acc_1", "bl_1").value();
  EXPECT_EQ(hits.attempts, 1111u);
  EXPECT_EQ(hits.last_ms, kNowMs + 1000);
  // The next seq of the new boot is applied.
  EXPECT_EQ(apply(make("edge-1", 200, 2, 10000)), ApplyOutcome::kApplied);
  EXPECT_EQ(valid_today(), 11111u);
}

TEST_F(UsageStoreTest, LicenseDaysAndAccountUsageHonourRangeProductAndTop) {
  open();
  auto r = report("edge-1", 1, 1);
  auto add = [&](std::string license, std::string product, std::int32_t day, std::uint64_t valid,
                 std::uint64_t expired = 0) {
    auto u = usage(std::move(license), day, "acc_1", std::move(product));
    u.validations[vi(UsageOutcome::kValid)] = valid;
    u.validations[vi(UsageOutcome::kExpired)] = expired;
    u.last_validated_ms = valid + expired > 0 ? (day * kDayMs + 1000) : 0;
    r.usage.push_back(u);
  };
  add("lic_1", "prod_1", kToday - 5, 1);
  add("lic_1", "prod_1", kToday - 3, 2);
  add("lic_1", "prod_1", kToday - 1, 3, 1);
  add("lic_1", "prod_1", kToday, 4);
  add("lic_2", "prod_2", kToday - 3, 10);
  add("lic_3", "prod_1", kToday - 1, 6);
  add("lic_4", "prod_2", kToday - 1, 0);  // only auths: in the days, not in the top
  r.usage.back().auths[ai(TkiStatus::kSuccess)] = 3;
  add("lic_5", "prod_1", kToday - 10, 50);  // before the range
  add("lic_6", "prod_1", kToday + 1, 60);   // after it
  // Rows of another account and of test mode are not acc_1's live ones.
  auto other = usage("lic_o", kToday - 1, "acc_2", "prod_o");
  other.validations[vi(UsageOutcome::kValid)] = 1000;
  r.usage.push_back(other);
  auto test_mode = usage("lic_1", kToday - 1, "acc_1", "prod_1", Mode::kTest);
  test_mode.validations[vi(UsageOutcome::kValid)] = 500;
  r.usage.push_back(test_mode);
  auto acc_sibling = usage("lic_x", kToday - 1, "acc_10", "prod_1");  // an account "acc_1…"
  acc_sibling.validations[vi(UsageOutcome::kValid)] = 700;
  r.usage.push_back(acc_sibling);
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);

  // Only the days with counts, inside [from, to], oldest first.
  auto days = license_days("lic_1", kToday - 4, kToday - 1);
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0].day, kToday - 3);
  EXPECT_EQ(days[0].validations[vi(UsageOutcome::kValid)], 2u);
  EXPECT_EQ(days[1].day, kToday - 1);
  EXPECT_EQ(days[1].validations[vi(UsageOutcome::kValid)], 3u);
  EXPECT_EQ(days[1].validations[vi(UsageOutcome::kExpired)], 1u);
  EXPECT_EQ(days[1].last_validated_ms, (kToday - 1) * kDayMs + 1000);
  EXPECT_EQ(license_days("lic_1", kToday - 5, kToday - 5).size(), 1u);
  EXPECT_EQ(license_days("lic_1", kToday - 5, kToday).size(), 4u);
  EXPECT_TRUE(license_days("lic_1", kToday - 4, kToday - 4).empty());
  EXPECT_TRUE(license_days("lic_1", kToday, kToday - 1).empty());  // from after to
  EXPECT_TRUE(license_days("lic_missing", kToday - 5, kToday).empty());
  days = license_days("lic_1", kToday - 1, kToday - 1, "acc_1", Mode::kTest);
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].validations[vi(UsageOutcome::kValid)], 500u);
  EXPECT_TRUE(license_days("lic_1", kToday - 5, kToday, "acc_2").empty());

  // The account: per-day sums over its licenses, the top by validations, ties by id.
  auto a = account_usage(kToday - 4, kToday);
  ASSERT_EQ(a.days.size(), 3u);
  EXPECT_EQ(a.days[0].day, kToday - 3);
  EXPECT_EQ(a.days[0].validations[vi(UsageOutcome::kValid)], 12u);  // lic_1 2 + lic_2 10
  EXPECT_EQ(a.days[1].day, kToday - 1);
  EXPECT_EQ(a.days[1].validations[vi(UsageOutcome::kValid)], 9u);  // lic_1 3 + lic_3 6
  EXPECT_EQ(a.days[1].validations[vi(UsageOutcome::kExpired)], 1u);
  EXPECT_EQ(a.days[1].auths[ai(TkiStatus::kSuccess)], 3u);
  EXPECT_EQ(a.days[2].day, kToday);
  EXPECT_EQ(a.days[2].validations[vi(UsageOutcome::kValid)], 4u);
  // lic_2 10, lic_1 2+4+4 = 10 (tie: lic_1 first), lic_3 6; lic_4 has no validations.
  ASSERT_EQ(a.top.size(), 3u);
  EXPECT_EQ(a.top[0].license_id, "lic_1");
  EXPECT_EQ(a.top[0].validations, 10u);
  EXPECT_EQ(a.top[0].product_id, "prod_1");
  EXPECT_EQ(a.top[1].license_id, "lic_2");
  EXPECT_EQ(a.top[1].validations, 10u);
  EXPECT_EQ(a.top[1].product_id, "prod_2");
  EXPECT_EQ(a.top[2].license_id, "lic_3");
  EXPECT_EQ(a.top[2].validations, 6u);
  // Cut to `top`.
  a = account_usage(kToday - 4, kToday, std::nullopt, 2);
  ASSERT_EQ(a.top.size(), 2u);
  EXPECT_EQ(a.top[0].license_id, "lic_1");
  EXPECT_EQ(a.top[1].license_id, "lic_2");
  a = account_usage(kToday - 4, kToday, std::nullopt, 1);
  ASSERT_EQ(a.top.size(), 1u);
  EXPECT_EQ(a.top[0].license_id, "lic_1");
  EXPECT_EQ(a.days.size(), 3u);  // the days are not cut
  // One product's licenses only.
  a = account_usage(kToday - 4, kToday, std::string_view("prod_1"));
  ASSERT_EQ(a.days.size(), 3u);
  EXPECT_EQ(a.days[0].validations[vi(UsageOutcome::kValid)], 2u);
  EXPECT_EQ(a.days[1].validations[vi(UsageOutcome::kValid)], 9u);
  EXPECT_EQ(a.days[1].auths[ai(TkiStatus::kSuccess)], 0u);  // lic_4 is prod_2's
  EXPECT_EQ(a.days[2].validations[vi(UsageOutcome::kValid)], 4u);
  ASSERT_EQ(a.top.size(), 2u);
  EXPECT_EQ(a.top[0].license_id, "lic_1");
  EXPECT_EQ(a.top[1].license_id, "lic_3");
  a = account_usage(kToday - 4, kToday, std::string_view("prod_2"));
  ASSERT_EQ(a.days.size(), 2u);
  EXPECT_EQ(a.days[0].day, kToday - 3);
  EXPECT_EQ(a.days[1].day, kToday - 1);
  EXPECT_EQ(a.days[1].validations[vi(UsageOutcome::kValid)], 0u);
  EXPECT_EQ(a.days[1].auths[ai(TkiStatus::kSuccess)], 3u);
  ASSERT_EQ(a.top.size(), 1u);
  EXPECT_EQ(a.top[0].license_id, "lic_2");
  a = account_usage(kToday - 4, kToday, std::string_view("prod_none"));
  EXPECT_TRUE(a.days.empty());
  EXPECT_TRUE(a.top.empty());
  // Other accounts and modes.
  a = account_usage(kToday - 4, kToday, std::nullopt, 10, "acc_2");
  ASSERT_EQ(a.days.size(), 1u);
  EXPECT_EQ(a.days[0].validations[vi(UsageOutcome::kValid)], 1000u);
  a = account_usage(kToday - 4, kToday, std::nullopt, 10, "acc_1", Mode::kTest);
  ASSERT_EQ(a.days.size(), 1u);
  EXPECT_EQ(a.days[0].validations[vi(UsageOutcome::kValid)], 500u);
  // The whole stored range.
  a = account_usage(kToday - 30, kToday + 30);
  ASSERT_EQ(a.days.size(), 6u);
  EXPECT_EQ(a.days.front().day, kToday - 10);
  EXPECT_EQ(a.days.back().day, kToday + 1);
  EXPECT_EQ(a.top.front().license_id, "lic_6");
  EXPECT_TRUE(account_usage(kToday, kToday - 1).days.empty());
}

TEST_F(UsageStoreTest, AuthLogsAreNewestFirstFilteredAndPaged) {
  open();
  auto r = report("edge-1", 1, 1);
  // Eight attempts, in the order they happened.
  r.auths.push_back(auth(kNowMs + 1, "lic_1", "10.0.0.1"));
  r.auths.push_back(auth(kNowMs + 2, "lic_2", "10.0.0.2", TkiStatus::kExpired));
  r.auths.push_back(auth(kNowMs + 3, "lic_1", "10.0.0.2"));
  r.auths.push_back(auth(kNowMs + 4, "", "10.0.0.3", TkiStatus::kLicenseNotFound));
  r.auths.push_back(auth(kNowMs + 5, "lic_1", "10.0.0.1", TkiStatus::kMaxIps));
  r.auths.push_back(auth(kNowMs + 6, "lic_2", "10.0.0.1"));
  r.auths.push_back(auth(kNowMs + 7, "lic_o", "10.0.0.1", TkiStatus::kSuccess, "acc_2"));
  r.auths.push_back(auth(kNowMs + 8, "lic_1", "10.0.0.3", TkiStatus::kRateLimited));
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  auto at = [](const AuthLogPage& p) {
    std::vector<std::int64_t> out;
    for (const auto& a : p.records) out.push_back(a.at_ms - kNowMs);
    return out;
  };
  using V = std::vector<std::int64_t>;

  auto p = auth_logs();
  EXPECT_EQ(p.total, 7u);
  EXPECT_EQ(at(p), (V{8, 6, 5, 4, 3, 2, 1}));
  const auto& newest = p.records[0];
  EXPECT_EQ(newest.account_id, "acc_1");
  EXPECT_EQ(newest.mode, Mode::kLive);
  EXPECT_EQ(newest.license_id, "lic_1");
  EXPECT_EQ(newest.ip, "10.0.0.3");
  EXPECT_EQ(newest.hwid, "hw-10.0.0.3");
  EXPECT_EQ(newest.product, "MyProduct");
  EXPECT_EQ(newest.version, "1.0.0");
  EXPECT_EQ(newest.user_agent, "MyApp/1.0");
  EXPECT_EQ(newest.status, TkiStatus::kRateLimited);
  EXPECT_TRUE(p.records[3].license_id.empty());

  AuthLogFilter f;
  f.license_id = "lic_1";
  EXPECT_EQ(at(auth_logs(f)), (V{8, 5, 3, 1}));
  f = {};
  f.ip = "10.0.0.1";
  EXPECT_EQ(at(auth_logs(f)), (V{6, 5, 1}));
  f = {};
  f.success = true;
  EXPECT_EQ(at(auth_logs(f)), (V{6, 3, 1}));
  f.success = false;
  EXPECT_EQ(at(auth_logs(f)), (V{8, 5, 4, 2}));
  f.license_id = "lic_1";
  f.ip = "10.0.0.1";
  p = auth_logs(f);
  EXPECT_EQ(p.total, 1u);
  EXPECT_EQ(at(p), (V{5}));
  f = {};
  f.license_id = "lic_o";  // another account's
  EXPECT_EQ(auth_logs(f).total, 0u);

  // Paging: the total counts every match, the page holds `limit` from `offset` on.
  p = auth_logs({}, 2, 3);
  EXPECT_EQ(p.total, 7u);
  EXPECT_EQ(at(p), (V{5, 4, 3}));
  p = auth_logs({}, 6, 3);
  EXPECT_EQ(p.total, 7u);
  EXPECT_EQ(at(p), (V{1}));
  p = auth_logs({}, 7, 3);
  EXPECT_EQ(p.total, 7u);
  EXPECT_TRUE(p.records.empty());
  p = auth_logs({}, 1000, 3);
  EXPECT_EQ(p.total, 7u);
  EXPECT_TRUE(p.records.empty());
  f = {};
  f.success = false;
  p = auth_logs(f, 1, 2);
  EXPECT_EQ(p.total, 4u);
  EXPECT_EQ(at(p), (V{5, 4}));

  // The other account sees its own only.
  p = auth_logs({}, 0, 100, "acc_2");
  EXPECT_EQ(p.total, 1u);
  EXPECT_EQ(at(p), (V{7}));
  EXPECT_EQ(store_->auth_logs("acc_1", Mode::kTest, {}, 0, 100).value().total, 0u);
  EXPECT_EQ(auth_logs({}, 0, 100, "acc").total, 0u);
  EXPECT_EQ(store_->auth_logs_written(), 8u);
}

TEST_F(UsageStoreTest, AuthLogsKeepTheNewestPerAccountAndCompactionDropsTheRest) {
  UsageStoreOptions o;
  o.auth_logs_per_account = 5;
  open(o);
  // Eight of acc_1's over two reports, two of acc_2's.
  auto r = report("edge-1", 1, 1);
  for (int i = 1; i <= 5; ++i) r.auths.push_back(auth(kNowMs + i, "lic_1", "10.0.0.1"));
  r.auths.push_back(auth(kNowMs + 100, "lic_o", "10.0.0.9", TkiStatus::kSuccess, "acc_2"));
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  r = report("edge-2", 1, 1);
  for (int i = 6; i <= 8; ++i) {
    r.auths.push_back(auth(kNowMs + i, "lic_1", i % 2 ? "10.0.0.1" : "10.0.0.2"));
  }
  r.auths.push_back(auth(kNowMs + 101, "lic_o", "10.0.0.9", TkiStatus::kSuccess, "acc_2"));
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);

  auto at = [](const AuthLogPage& p) {
    std::vector<std::int64_t> out;
    for (const auto& a : p.records) out.push_back(a.at_ms - kNowMs);
    return out;
  };
  using V = std::vector<std::int64_t>;
  auto check = [&] {
    const auto p = auth_logs();
    EXPECT_EQ(p.total, 5u);
    EXPECT_EQ(at(p), (V{8, 7, 6, 5, 4}));
    AuthLogFilter f;
    f.ip = "10.0.0.1";
    EXPECT_EQ(at(auth_logs(f)), (V{7, 5, 4}));  // 1..3 are beyond the newest five
    EXPECT_EQ(at(auth_logs({}, 0, 100, "acc_2")), (V{101, 100}));
  };
  check();
  EXPECT_EQ(rows("auth_logs"), 10u);  // still stored until compaction
  compact();
  EXPECT_EQ(rows("auth_logs"), 7u);  // acc_1's newest 5, acc_2's 2
  check();
  // More: the window moves.
  r = report("edge-1", 1, 2);
  r.auths.push_back(auth(kNowMs + 9, "lic_1", "10.0.0.1"));
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  EXPECT_EQ(at(auth_logs()), (V{9, 8, 7, 6, 5}));
  compact();
  EXPECT_EQ(rows("auth_logs"), 7u);
}

TEST_F(UsageStoreTest, DaysOlderThanRetentionAreNotReadAndCompactionDropsThem) {
  UsageStoreOptions o;
  o.retention_days = 3;
  open(o);
  auto r = report("edge-1", 1, 1);
  for (std::int32_t day = kToday - 3; day <= kToday; ++day) {
    auto u = usage("lic_1", day);
    u.validations[vi(UsageOutcome::kValid)] = static_cast<std::uint64_t>(kToday - day + 1);
    r.usage.push_back(u);
    auto acct = usage("", day);
    acct.validations[vi(UsageOutcome::kNotFound)] = 1;
    r.usage.push_back(acct);
    // An auth attempt on each day.
    r.auths.push_back(auth((day * std::int64_t{86400} + 3600) * 1000, "lic_1", "10.0.0.1"));
  }
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  EXPECT_EQ(license_days("lic_1", kToday - 10, kToday).size(), 4u);  // all within 3 days back
  EXPECT_EQ(account_usage(kToday - 10, kToday).days.size(), 4u);
  EXPECT_EQ(auth_logs().total, 4u);
  compact();
  EXPECT_EQ(rows("usage"), 8u);
  EXPECT_EQ(rows("auth_logs"), 4u);

  // Two days later, kToday - 3 and kToday - 2 are older than the period.
  clock_.advance_ms(2 * kDayMs);
  ASSERT_EQ(store_->today(), kToday + 2);
  auto days = license_days("lic_1", kToday - 10, kToday + 2);
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0].day, kToday - 1);
  EXPECT_EQ(days[0].validations[vi(UsageOutcome::kValid)], 2u);
  EXPECT_EQ(days[1].day, kToday);
  EXPECT_TRUE(license_days("lic_1", kToday - 3, kToday - 2).empty());
  auto a = account_usage(kToday - 10, kToday + 2);
  ASSERT_EQ(a.days.size(), 2u);
  EXPECT_EQ(a.days[0].day, kToday - 1);
  EXPECT_EQ(a.days[0].validations[vi(UsageOutcome::kNotFound)], 1u);
  ASSERT_EQ(a.top.size(), 1u);
  EXPECT_EQ(a.top[0].validations, 3u);  // 2 + 1: the old days' 4 + 3 are gone
  auto p = auth_logs();
  EXPECT_EQ(p.total, 2u);
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(core::utc_day(p.records[1].at_ms / 1000), kToday - 1);
  // Still stored until compaction; compaction drops exactly the old days.
  EXPECT_EQ(rows("usage"), 8u);
  EXPECT_EQ(rows("auth_logs"), 4u);
  compact();
  EXPECT_EQ(rows("usage"), 4u);
  EXPECT_EQ(rows("auth_logs"), 2u);
  EXPECT_EQ(license_days("lic_1", kToday - 10, kToday + 2).size(), 2u);
  EXPECT_EQ(account_usage(kToday - 10, kToday + 2).days.size(), 2u);
  EXPECT_EQ(auth_logs().total, 2u);
}

TEST_F(UsageStoreTest, KeySharingIsFlaggedOncePerLicenseDayAboveTheThreshold) {
  UsageStoreOptions o;
  o.key_sharing_threshold = 3;
  open(o);
  auto with_machines = [](std::string license, std::int32_t day, int from, int to) {
    auto u = usage(std::move(license), day);
    u.validations[vi(UsageOutcome::kValid)] = 1;
    add_machines(u.machines, from, to);
    return u;
  };
  auto flagged = [&](std::string_view license, std::int32_t day) {
    const auto d = license_days(license, day, day);
    EXPECT_EQ(d.size(), 1u) << license;
    return !d.empty() && d[0].key_sharing;
  };
  // lic_a: machines 0, 1 from one edge and 2 from another (3: not yet), then 3 (4: flagged).
  auto r = report("edge-1", 1, 1);
  r.usage.push_back(with_machines("lic_a", kToday, 0, 2));
  r.usage.push_back(with_machines("lic_b", kToday, 0, 3));  // 3 machines: not flagged
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  r = report("edge-2", 1, 1);
  r.usage.push_back(with_machines("lic_a", kToday, 1, 3));
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  EXPECT_FALSE(flagged("lic_a", kToday));
  EXPECT_EQ(store_->key_sharing_flags(), 0u);
  r = report("edge-2", 1, 2);
  r.usage.push_back(with_machines("lic_a", kToday, 3, 4));
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  EXPECT_TRUE(flagged("lic_a", kToday));
  EXPECT_EQ(store_->key_sharing_flags(), 1u);
  // More reports for that day, from any edge and with more machines: counted once.
  for (std::uint64_t seq = 2; seq <= 4; ++seq) {
    r = report("edge-1", 1, seq);
    r.usage.push_back(with_machines("lic_a", kToday, 0, 10 * static_cast<int>(seq)));
    r.usage.push_back(with_machines("lic_a", kToday, 50, 60));  // twice in one report
    ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  }
  EXPECT_TRUE(flagged("lic_a", kToday));
  EXPECT_EQ(store_->key_sharing_flags(), 1u);
  // lic_b stays at 3 machines (the same ones again) and 3 IPs: not flagged.
  r = report("edge-3", 1, 1);
  auto b = with_machines("lic_b", kToday, 0, 3);
  add_machines(b.ips, 0, 3, "10.0.0.");
  r.usage.push_back(b);
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  EXPECT_FALSE(flagged("lic_b", kToday));
  // The next day is a day of its own; four IPs flag it too.
  r = report("edge-3", 1, 2);
  b = with_machines("lic_b", kToday - 1, 0, 1);
  add_machines(b.ips, 0, 4, "10.0.0.");
  r.usage.push_back(b);
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  EXPECT_TRUE(flagged("lic_b", kToday - 1));
  EXPECT_FALSE(flagged("lic_b", kToday));
  EXPECT_EQ(store_->key_sharing_flags(), 2u);
  // The account's license-less row is no license: never flagged.
  r = report("edge-3", 1, 3);
  r.usage.push_back(with_machines("", kToday, 0, 20));
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  EXPECT_EQ(store_->key_sharing_flags(), 2u);
  const auto a = account_usage(kToday, kToday);
  ASSERT_EQ(a.days.size(), 1u);
  EXPECT_FALSE(a.days[0].key_sharing);
  // A duplicate report flags nothing more.
  r = report("edge-3", 1, 3);
  r.usage.push_back(with_machines("lic_c", kToday, 0, 20));
  EXPECT_EQ(apply(r), ApplyOutcome::kDuplicate);
  EXPECT_EQ(store_->key_sharing_flags(), 2u);
}

TEST_F(UsageStoreTest, BlacklistAttemptsSumOverEdgesAndKeepTheLatestTime) {
  open();
  auto r = report("edge-1", 1, 1);
  r.blacklist.push_back({"acc_1", "bl_1", 3, kNowMs + 100});
  r.blacklist.push_back({"acc_1", "bl_2", 1, kNowMs + 5});
  r.blacklist.push_back({"acc_2", "bl_1", 40, kNowMs + 999});  // another account's "bl_1"
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  r = report("edge-2", 1, 1);
  r.blacklist.push_back({"acc_1", "bl_1", 4, kNowMs + 50});  // earlier: the latest stays
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  r = report("edge-3", 1, 1);
  r.blacklist.push_back({"acc_1", "bl_2", 2, kNowMs + 70});
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);
  // One entry several times in one report (several edge threads): every time counts.
  r = report("edge-3", 1, 2);
  r.blacklist.push_back({"acc_1", "bl_3", 1, kNowMs + 10});
  r.blacklist.push_back({"acc_1", "bl_3", 5, kNowMs + 30});
  r.blacklist.push_back({"acc_1", "bl_3", 2, kNowMs + 20});
  ASSERT_EQ(apply(r), ApplyOutcome::kApplied);

  auto hits = store_->blacklist_attempts("acc_1", "bl_1").value();
  EXPECT_EQ(hits.attempts, 7u);
  EXPECT_EQ(hits.last_ms, kNowMs + 100);
  hits = store_->blacklist_attempts("acc_1", "bl_2").value();
  EXPECT_EQ(hits.attempts, 3u);
  EXPECT_EQ(hits.last_ms, kNowMs + 70);
  hits = store_->blacklist_attempts("acc_2", "bl_1").value();
  EXPECT_EQ(hits.attempts, 40u);
  EXPECT_EQ(hits.last_ms, kNowMs + 999);
  hits = store_->blacklist_attempts("acc_1", "bl_3").value();
  EXPECT_EQ(hits.attempts, 8u);
  EXPECT_EQ(hits.last_ms, kNowMs + 30);
  hits = store_->blacklist_attempts("acc_1", "bl_none").value();
  EXPECT_EQ(hits.attempts, 0u);
  EXPECT_EQ(hits.last_ms, 0);
}

TEST_F(UsageStoreTest, DataSurvivesReopenMarksAndAuthLogNumberingIncluded) {
  UsageStoreOptions o;
  o.auth_logs_per_account = 5;
  open(o);
  auto first = report("edge-1", 7, 3);
  auto u = usage("lic_1", kToday);
  u.validations[vi(UsageOutcome::kValid)] = 5;
  u.last_validated_ms = kNowMs - 10;
  add_machines(u.machines, 0, 2);
  first.usage.push_back(u);
  for (int i = 1; i <= 3; ++i) first.auths.push_back(auth(kNowMs + i, "lic_1", "10.0.0.1"));
  first.blacklist.push_back({"acc_1", "bl_1", 2, kNowMs + 5});
  ASSERT_EQ(apply(first), ApplyOutcome::kApplied);
  auto second = report("edge-2", 1, 1);
  second.auths.push_back(auth(kNowMs + 4, "lic_2", "10.0.0.2", TkiStatus::kExpired));
  ASSERT_EQ(apply(second), ApplyOutcome::kApplied);
  const std::string before = everything(*store_);

  reopen();
  EXPECT_EQ(everything(*store_), before);
  // Redelivered after the reopen: still duplicates.
  EXPECT_EQ(apply(first), ApplyOutcome::kDuplicate);
  EXPECT_EQ(apply(second), ApplyOutcome::kDuplicate);
  auto older = report("edge-1", 7, 2);
  older.usage.push_back(u);
  EXPECT_EQ(apply(older), ApplyOutcome::kDuplicate);
  EXPECT_EQ(everything(*store_), before);
  const auto days = license_days("lic_1", kToday, kToday);
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].validations[vi(UsageOutcome::kValid)], 5u);
  EXPECT_EQ(days[0].machines.estimate(), 2u);
  EXPECT_EQ(days[0].last_validated_ms, kNowMs - 10);

  // Auth logs continue their numbering: the next ones follow the four, none overwritten.
  auto next = report("edge-1", 7, 4);
  next.auths.push_back(auth(kNowMs + 5, "lic_1", "10.0.0.3"));
  ASSERT_EQ(apply(next), ApplyOutcome::kApplied);
  auto p = auth_logs();
  EXPECT_EQ(p.total, 5u);
  ASSERT_EQ(p.records.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(p.records[i].at_ms, kNowMs + 5 - i);
  // And the per-account bound still applies from the reopened head.
  next = report("edge-1", 7, 5);
  next.auths.push_back(auth(kNowMs + 6, "lic_1", "10.0.0.3"));
  ASSERT_EQ(apply(next), ApplyOutcome::kApplied);
  p = auth_logs();
  EXPECT_EQ(p.total, 5u);
  ASSERT_EQ(p.records.size(), 5u);
  EXPECT_EQ(p.records.front().at_ms, kNowMs + 6);
  EXPECT_EQ(p.records.back().at_ms, kNowMs + 2);
  compact();
  EXPECT_EQ(rows("auth_logs"), 5u);

  reopen();
  p = auth_logs();
  EXPECT_EQ(p.total, 5u);
  EXPECT_EQ(p.records.front().at_ms, kNowMs + 6);
  compact();
  EXPECT_EQ(rows("auth_logs"), 5u);
  EXPECT_EQ(apply(next), ApplyOutcome::kDuplicate);
  const auto hits = store_->blacklist_attempts("acc_1", "bl_1").value();
  EXPECT_EQ(hits.attempts, 2u);
  EXPECT_EQ(hits.last_ms, kNowMs + 5);
}

}  // namespace
}  // namespace le::primary
