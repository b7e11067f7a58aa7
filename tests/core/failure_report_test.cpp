// Failed-validation reports: which outcomes of both protocols are reported and with which
// reason; the tally coalesces per license within its bound; reports round-trip exactly, split
// by size; anything malformed, oversized or hostile is a DecodeError, never a crash.
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

TEST(FailureReport, RoundTripsExactly) {
  std::vector<FailureCount> counts = {
      {digest_of(1), 1, FailureReason::kSuspended, ""},
      {digest_of(2), kMaxFailureCount, FailureReason::kMachineNotActivated, "machine \"1\"\n"},
      {digest_of(3), 42, FailureReason::kDomainMismatch, "Läptop"},
  };
  std::string json;
  ASSERT_EQ(encode_failure_report(counts, kMaxFailureReportBytes, json), 3u);
  auto d = decode_failure_report(json);
  ASSERT_TRUE(std::holds_alternative<FailureReport>(d)) << std::get<DecodeError>(d).message;
  EXPECT_EQ(std::get<FailureReport>(d).failures, counts);
  EXPECT_EQ(json.find("\"machineId\""), json.find("\"machineId\":\"machine"));  // omitted: none
  std::string none;
  EXPECT_EQ(encode_failure_report({}, 1000, none), 0u);
}

TEST(FailureReport, LargeTalliesSplitIntoReportsWithinTheBound) {
  std::vector<FailureCount> counts;
  for (int i = 0; i < 20000; ++i) {
    counts.push_back({digest_of(i), static_cast<std::uint64_t>(i + 1), FailureReason::kExpired,
                      "machine-" + std::to_string(i)});
  }
  std::vector<FailureCount> decoded;
  std::string json;
  std::size_t messages = 0;
  for (std::span<const FailureCount> rest(counts); !rest.empty();) {
    const std::size_t n = encode_failure_report(rest, 64 * 1024, json);
    ASSERT_GT(n, 0u);
    EXPECT_LE(json.size(), 64u * 1024);
    auto d = decode_failure_report(json);
    ASSERT_TRUE(std::holds_alternative<FailureReport>(d));
    for (auto& c : std::get<FailureReport>(d).failures) decoded.push_back(std::move(c));
    rest = rest.subspan(n);
    ++messages;
  }
  EXPECT_EQ(decoded, counts);
  EXPECT_GT(messages, 20u);
  // A bound too small for one entry still makes progress, one entry a report.
  EXPECT_EQ(encode_failure_report(counts, 10, json), 1u);
  EXPECT_TRUE(std::holds_alternative<FailureReport>(decode_failure_report(json)));
}

TEST(FailureReport, MalformedOversizedAndHostileInputIsADecodeError) {
  const std::string hex(64, 'a');
  auto entry = [&](const std::string& fields) { return R"({"failures":[{)" + fields + "}]}"; };
  const std::string ok_fields = R"("license":")" + hex + R"(","count":3,"reason":"EXPIRED")";
  ASSERT_TRUE(std::holds_alternative<FailureReport>(decode_failure_report(entry(ok_fields))));
  std::string many = R"({"failures":[)";
  for (std::size_t i = 0; many.size() <= kMaxFailureReportBytes; ++i) {
    if (i) many.push_back(',');
    many += "{" + ok_fields + "}";
  }
  many += "]}";
  const std::vector<std::string> bad = {
      "",
      "null",
      "[]",
      "{",
      "garbage",
      "\xff\xfe",
      std::string(5000, '[') + std::string(5000, ']'),
      "{}",
      R"({"failures":null})",
      R"({"failures":{}})",
      R"({"failures":[1]})",
      R"({"failures":[[]]})",
      R"({"failures":[],"failures":[]})",
      entry(R"("count":3,"reason":"EXPIRED")"),
      entry(R"("license":")" + hex + R"(","reason":"EXPIRED")"),
      entry(R"("license":")" + hex + R"(","count":3)"),
      entry(R"("license":"abc","count":3,"reason":"EXPIRED")"),
      entry(R"("license":")" + std::string(64, 'g') + R"(","count":3,"reason":"EXPIRED")"),
      entry(R"("license":7,"count":3,"reason":"EXPIRED")"),
      entry(R"("license":")" + hex + R"(","count":0,"reason":"EXPIRED")"),
      entry(R"("license":")" + hex + R"(","count":-1,"reason":"EXPIRED")"),
      entry(R"("license":")" + hex + R"(","count":1.5,"reason":"EXPIRED")"),
      entry(R"("license":")" + hex + R"(","count":"3","reason":"EXPIRED")"),
      entry(R"("license":")" + hex + R"(","count":9007199254740992,"reason":"EXPIRED")"),
      entry(R"("license":")" + hex + R"(","count":18446744073709551615,"reason":"EXPIRED")"),
      entry(R"("license":")" + hex +
            R"(","count":99999999999999999999999999999999,"reason":"EXPIRED")"),
      entry(R"("license":")" + hex + R"(","count":1e3,"reason":"EXPIRED")"),
      entry(R"("license":")" + hex + R"(","count":3,"reason":"VALID")"),
      entry(R"("license":")" + hex + R"(","count":3,"reason":"NOT_FOUND")"),
      entry(R"("license":")" + hex + R"(","count":3,"reason":null)"),
      entry(ok_fields + R"(,"machineId":"")"),
      entry(ok_fields + R"(,"machineId":5)"),
      entry(ok_fields + R"(,"machineId":")" + std::string(kMaxFailureMachineIdBytes + 1, 'm') +
            R"(")"),
      entry(ok_fields + R"(,"count":4)"),  // a field twice
      many,
      R"({"failures":[)" + std::string(kMaxFailureReportBytes, ' ') + "]}",
  };
  for (const auto& b : bad) {
    auto d = decode_failure_report(b);
    ASSERT_TRUE(std::holds_alternative<DecodeError>(d)) << b.substr(0, 160);
    EXPECT_FALSE(std::get<DecodeError>(d).message.empty());
  }
  // Unknown fields are ignored: a later edge may say more.
  auto d = decode_failure_report(R"({"edge":"e1","failures":[{)" + ok_fields + R"(,"x":[1]}]})");
  ASSERT_TRUE(std::holds_alternative<FailureReport>(d));
  EXPECT_EQ(std::get<FailureReport>(d).failures.at(0).count, 3u);
}

// Truncating a valid report anywhere never decodes into something else, nor crashes.
TEST(FailureReport, TruncatedReportsAreRefused) {
  std::vector<FailureCount> counts = {{digest_of(1), 5, FailureReason::kRevoked, "m"},
                                      {digest_of(2), 6, FailureReason::kExpired, ""}};
  std::string json;
  encode_failure_report(counts, kMaxFailureReportBytes, json);
  for (std::size_t n = 0; n < json.size(); ++n) {
    EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_failure_report(json.substr(0, n))))
        << json.substr(0, n);
  }
}

}  // namespace
}  // namespace le::core
