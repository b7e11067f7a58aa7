// Failed validations: which outcomes of both protocols are reported and with which reason; the
// tally coalesces per license within its bound. (Their encoding in reports: edge_report_test.)
#include "core/failure_report.h"

#include <gtest/gtest.h>

#include "core/digest.h"
#include "support/fixtures.h"

namespace le::core {
namespace {

Digest digest_of(int i) { return sha256("KEY-" + std::to_string(i)); }

TEST(FailureReason, OnlyRefusalsOfAnExistingLicenseAreReported) {
  EXPECT_EQ(failure_reason(ValidationCode::kValid), std::nullopt);
  EXPECT_EQ(failure_reason(ValidationCode::kNotFound), std::nullopt);
  EXPECT_EQ(failure_reason(ValidationCode::kExpired), FailureReason::kExpired);
  EXPECT_EQ(failure_reason(ValidationCode::kSuspended), FailureReason::kSuspended);
  EXPECT_EQ(failure_reason(ValidationCode::kRevoked), FailureReason::kRevoked);
  EXPECT_EQ(failure_reason(ValidationCode::kProductMismatch), FailureReason::kProductMismatch);
  EXPECT_EQ(failure_reason(ValidationCode::kMachineNotActivated),
            FailureReason::kMachineNotActivated);
  EXPECT_EQ(failure_reason(ApiError::domain_mismatch()), FailureReason::kDomainMismatch);
  EXPECT_EQ(failure_reason(ApiError::validation("x")), std::nullopt);
  EXPECT_EQ(failure_reason(ApiError::invalid_api_key()), std::nullopt);
}

TEST(FailureReason, TkiRefusalsMapOntoTheSpecsCodes) {
  LicenseRecord suspended = test::license("K");
  suspended.status = LicenseStatus::kSuspended;
  LicenseRecord revoked = test::license("K");
  revoked.status = LicenseStatus::kRevoked;
  const LicenseRecord active = test::license("K");
  const BlacklistEntry entry = test::blacklist("bl_1", BlacklistKind::kLicense, "x");
  struct Case {
    TkiDecision d;
    const LicenseRecord* l;
    std::optional<FailureReason> want;
  };
  const std::vector<Case> cases = {
      {{TkiStatus::kSuccess}, &active, std::nullopt},
      {{TkiStatus::kBindingRequired, true}, &active, std::nullopt},
      {{TkiStatus::kMissingAuthorization}, &active, std::nullopt},
      {{TkiStatus::kInvalidApiKey}, &active, std::nullopt},
      {{TkiStatus::kRateLimited}, &active, std::nullopt},
      {{TkiStatus::kMissingFields}, &active, std::nullopt},
      {{TkiStatus::kIpBlacklisted}, &active, std::nullopt},
      {{TkiStatus::kHwidBlacklisted}, &active, std::nullopt},
      {{TkiStatus::kLicenseNotFound}, &active, std::nullopt},
      // A blacklist entry's hit is counted as such, not as a failed validation.
      {{TkiStatus::kLicenseBlacklisted, false, false, &entry}, &active, std::nullopt},
      {{TkiStatus::kLicenseBlacklisted}, &suspended, FailureReason::kSuspended},
      {{TkiStatus::kLicenseBlacklisted}, &revoked, FailureReason::kRevoked},
      {{TkiStatus::kExpired}, &active, FailureReason::kExpired},
      {{TkiStatus::kProductNotFound}, &active, FailureReason::kProductMismatch},
      {{TkiStatus::kVersionNotFound}, &active, FailureReason::kProductMismatch},
      {{TkiStatus::kProductMismatch}, &active, FailureReason::kProductMismatch},
      {{TkiStatus::kMaxIps}, &active, FailureReason::kMachineNotActivated},
      {{TkiStatus::kMaxHwids}, &active, FailureReason::kMachineNotActivated},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(failure_reason(c.d, *c.l), c.want) << static_cast<int>(c.d.status);
  }
}

TEST(FailureReason, NamesRoundTrip) {
  for (std::size_t i = 0; i < kFailureReasonCount; ++i) {
    const auto r = static_cast<FailureReason>(i);
    EXPECT_EQ(failure_reason_from_string(to_string(r)), r);
  }
  EXPECT_EQ(to_string(FailureReason::kExpired), "EXPIRED");
  EXPECT_EQ(to_string(FailureReason::kMachineNotActivated), "MACHINE_NOT_ACTIVATED");
  EXPECT_EQ(failure_reason_from_string("expired"), std::nullopt);
  EXPECT_EQ(failure_reason_from_string("VALID"), std::nullopt);
}

TEST(FailureTally, CoalescesPerLicenseKeepingTheLastReasonAndMachine) {
  FailureTally t(10);
  EXPECT_TRUE(t.add(digest_of(1), 1, FailureReason::kSuspended, "m1"));
  EXPECT_TRUE(t.add(digest_of(2), 1, FailureReason::kExpired, ""));
  EXPECT_TRUE(t.add(digest_of(1), 1, FailureReason::kRevoked, ""));  // no machine: m1 stays
  EXPECT_TRUE(t.add(digest_of(1), 5, FailureReason::kMachineNotActivated, "m2"));
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.total(), 8u);
  const auto c = t.counts();
  EXPECT_EQ(c[0], (FailureCount{digest_of(1), 7, FailureReason::kMachineNotActivated, "m2"}));
  EXPECT_EQ(c[1], (FailureCount{digest_of(2), 1, FailureReason::kExpired, ""}));
  EXPECT_TRUE(t.add(digest_of(1), 1, FailureReason::kDomainMismatch, ""));
  EXPECT_EQ(t.counts()[0].machine_id, "m2");
  EXPECT_EQ(t.counts()[0].reason, FailureReason::kDomainMismatch);
}

TEST(FailureTally, IsBoundedAndKeepsCountingWhatItHolds) {
  FailureTally t(100);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(t.add(digest_of(i), 1, FailureReason::kExpired, ""), i < 100) << i;
  }
  EXPECT_EQ(t.size(), 100u);
  // A license already held is still counted at the bound.
  EXPECT_TRUE(t.add(digest_of(7), 1, FailureReason::kExpired, ""));
  EXPECT_EQ(t.counts()[7].count, 2u);
  EXPECT_EQ(t.total(), 101u);
  FailureTally none(0);
  EXPECT_FALSE(none.add(digest_of(1), 1, FailureReason::kExpired, ""));
  EXPECT_TRUE(none.empty());
}

TEST(FailureTally, CountsSaturateAndLongMachineIdsAreNotKept) {
  FailureTally t(4);
  EXPECT_TRUE(t.add(digest_of(1), kMaxFailureCount, FailureReason::kExpired, ""));
  EXPECT_TRUE(t.add(digest_of(1), UINT64_MAX, FailureReason::kExpired, ""));
  EXPECT_EQ(t.counts()[0].count, kMaxFailureCount);
  EXPECT_EQ(t.total(), kMaxFailureCount);
  const std::string long_id(kMaxFailureMachineIdBytes + 1, 'm');
  EXPECT_TRUE(t.add(digest_of(2), 1, FailureReason::kExpired, long_id));
  EXPECT_EQ(t.counts()[1].machine_id, "");
  EXPECT_TRUE(t.add(digest_of(2), 1, FailureReason::kExpired, "ok"));
  EXPECT_TRUE(t.add(digest_of(2), 1, FailureReason::kExpired, long_id));
  EXPECT_EQ(t.counts()[1].machine_id, "ok");
}

TEST(FailureTally, ClearAndSwapKeepEveryLicenseFindable) {
  FailureTally a(5000), b(5000);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 3000; ++i) ASSERT_TRUE(a.add(digest_of(i), 1, FailureReason::kExpired, ""));
    for (int i = 0; i < 3000; ++i) ASSERT_TRUE(a.add(digest_of(i), 2, FailureReason::kRevoked, ""));
    ASSERT_EQ(a.size(), 3000u);
    for (const auto& c : a.counts()) ASSERT_EQ(c.count, 3u);
    a.swap(b);
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(b.size(), 3000u);
    EXPECT_EQ(b.total(), 9000u);
    b.clear();
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.total(), 0u);
  }
}

}  // namespace
}  // namespace le::core
