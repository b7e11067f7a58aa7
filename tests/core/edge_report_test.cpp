// Edge reports: the HyperLogLog sketch counts distinct items within its stated error and merges
// as a union; the usage tallies are bounded; a report round-trips exactly, splits by size, and
// anything malformed, oversized or hostile is a DecodeError, never a crash.
#include "core/edge_report.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/digest.h"
#include "core/signing.h"
#include "core/time_format.h"

namespace le::core {
namespace {

Digest digest_of(int i) { return sha256("KEY-" + std::to_string(i)); }

// ---- Hll ----------------------------------------------------------------------------------------

TEST(Hll, SmallCountsAreExactAndLargeOnesWithinThreeStandardErrors) {
  for (std::uint64_t n : {0ull, 1ull, 2ull, 10ull, 100ull, 500ull, 1000ull, 5000ull, 20000ull,
                          100000ull, 1000000ull}) {
    Hll h;
    for (std::uint64_t i = 0; i < n; ++i) h.add("machine-" + std::to_string(i));
    // Adding them again changes nothing: distinct, not total.
    for (std::uint64_t i = 0; i < std::min<std::uint64_t>(n, 1000); ++i) {
      h.add("machine-" + std::to_string(i));
    }
    const auto e = static_cast<double>(h.estimate());
    if (n <= 100) {
      EXPECT_EQ(h.estimate(), n);
    } else {
      EXPECT_NEAR(e, static_cast<double>(n), 3 * Hll::kStandardError * static_cast<double>(n)) << n;
    }
  }
}

TEST(Hll, MergeIsTheUnionWhateverTheRepresentation) {
  Hll a, b, both;
  for (int i = 0; i < 3000; ++i) {
    a.add("ip-" + std::to_string(i));
    both.add("ip-" + std::to_string(i));
  }
  for (int i = 2000; i < 2010; ++i) {
    b.add("ip-" + std::to_string(i));  // all already in a
    both.add("ip-" + std::to_string(i));
  }
  b.add("ip-new");
  both.add("ip-new");
  EXPECT_TRUE(a.dense());
  EXPECT_FALSE(b.dense());
  Hll sparse_into = b;
  sparse_into.merge(a);  // sparse ← dense
  a.merge(b);            // dense ← sparse
  EXPECT_EQ(a, both);
  EXPECT_EQ(sparse_into, both);
  EXPECT_EQ(a.estimate(), both.estimate());
}

TEST(Hll, EncodingRoundTripsAndHostileBytesDoNotDecode) {
  for (int n : {0, 1, 7, 1023, 1024, 1025, 4000}) {
    Hll h;
    for (int i = 0; i < n; ++i) h.add("hwid-" + std::to_string(i));
    std::string bytes;
    h.encode(bytes);
    EXPECT_LE(bytes.size(), Hll::kMaxEncodedBytes);
    auto back = Hll::decode(bytes);
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, h);
    EXPECT_EQ(back->estimate(), h.estimate());
  }
  const std::vector<std::string> bad = {
      "",
      "x",
      std::string("s\x00\x01", 3),                            // truncated entry
      std::string("s\x10\x00\x01", 4),                        // index 4096: out of range
      std::string("s\x00\x01\x00", 4),                        // rank 0
      std::string("s\x00\x01\x36", 4),                        // rank 54 > 53
      std::string("s\x00\x02\x01\x00\x01\x01", 7),            // indexes not increasing
      std::string("s\x00\x02\x01\x00\x02\x01", 7),            // an index twice
      "d" + std::string(100, '\x01'),                         // dense, short
      "d" + std::string(Hll::kRegisters, '\x40'),             // dense, rank 64
      "d" + std::string(Hll::kRegisters + 1, '\x01'),         // dense, long
      "s" + std::string(3 * (Hll::kRegisters / 4 + 1), 'a'),  // sparse beyond its bound
  };
  for (const auto& b : bad) EXPECT_FALSE(Hll::decode(b)) << b.size();
}

// ---- tallies ------------------------------------------------------------------------------------

TEST(UsageTally, OneEntryPerAccountModeLicenseAndDayWithinItsBound) {
  UsageTally t(4);
  UsageTally::Entry* a = t.entry("acc_1", Mode::kLive, "lic_1", "prod_1", 100);
  ASSERT_NE(a, nullptr);
  for (int i = 0; i < 5; ++i) UsageTally::count_validation(*a, UsageOutcome::kValid, 7);
  EXPECT_EQ(t.entry("acc_1", Mode::kLive, "lic_1", "prod_1", 100), a);
  EXPECT_NE(t.entry("acc_1", Mode::kLive, "lic_1", "prod_1", 101), a);  // another day
  EXPECT_NE(t.entry("acc_1", Mode::kTest, "lic_1", "prod_1", 100), nullptr);
  // The account's own entry is not a license's, even one whose id reads the same.
  UsageTally::Entry* own = t.entry("lic_1", Mode::kLive, "", "", 100);
  ASSERT_NE(own, nullptr);
  EXPECT_NE(own, a);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.entry("acc_1", Mode::kLive, "lic_2", "prod_1", 100), nullptr);  // full
  EXPECT_EQ(t.entry("acc_1", Mode::kLive, "lic_1", "prod_1", 100)->validations[0], 5u);
  EXPECT_EQ(t.entry("acc_1", Mode::kLive, std::string(kMaxUsageIdBytes + 1, 'l'), "", 100),
            nullptr);
  UsageTally other(4);
  t.swap(other);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(other.size(), 4u);
  other.clear();
  UsageTally::Entry* again = other.entry("acc_1", Mode::kLive, "lic_1", "prod_1", 100);
  ASSERT_NE(again, nullptr);
  UsageCount c;
  other.get(0, c);  // a reused entry starts from zero
  EXPECT_EQ(c.validations[0], 0u);
  EXPECT_EQ(c.last_validated_ms, 0);
  EXPECT_TRUE(c.machines.empty());
}

// What the tally keeps compactly (ids in one arena, 32-bit counts, a sketch's first registers
// inline, auth outcomes aside) reads back as the counts and sketches a UsageCount holds when
// given the same, for every size of sketch, before and after the tally is cleared and reused.
TEST(UsageTally, AnEntryReadsBackAsTheCountsItWasGiven) {
  UsageTally t(64);
  for (int round = 0; round < 2; ++round) {
    std::vector<UsageCount> want;
    for (int n : {0, 1, 2, 3, 5, 300, 4000}) {
      UsageCount w;
      w.account_id = "acc_" + std::to_string(n);
      w.license_id = "lic_" + std::to_string(n * 7 + round);
      w.product_id = n % 2 == 0 ? "prod_even" : "";
      w.mode = n % 3 == 0 ? Mode::kTest : Mode::kLive;
      w.day = 20'000 + n;
      UsageTally::Entry* e = t.entry(w.account_id, w.mode, w.license_id, w.product_id, w.day);
      ASSERT_NE(e, nullptr);
      for (int i = 0; i < n; ++i) {
        const auto o = static_cast<UsageOutcome>(i % kUsageOutcomeCount);
        UsageTally::count_validation(*e, o, 1'000 + i);
        ++w.validations[static_cast<std::size_t>(o)];
        w.last_validated_ms = 1'000 + i;
        const auto status = static_cast<TkiStatus>(i % 3 == 0 ? 0 : 9);
        t.count_auth(*e, status);
        ++w.auths[static_cast<std::size_t>(status)];
        const std::string m = "machine-" + std::to_string(i % (n / 2 + 1));
        t.add_distinct(*e, UsageTally::Distinct::kMachines, m);
        w.machines.add(m);
        const std::string ip = "10.0." + std::to_string(i);
        t.add_distinct(*e, UsageTally::Distinct::kIps, ip);
        w.ips.add(ip);
        if (i < 2) {
          t.add_distinct(*e, UsageTally::Distinct::kHwids, "hw");
          w.hwids.add("hw");
        }
      }
      want.push_back(w);
    }
    ASSERT_EQ(t.size(), want.size());
    UsageCount got;
    for (std::size_t i = 0; i < want.size(); ++i) {
      t.get(i, got);
      EXPECT_EQ(got, want[i]) << "entry " << i << ", round " << round;
    }
    EXPECT_TRUE(want.back().machines.dense());  // the pool holds dense sketches too
    t.clear();
  }
}

TEST(UsageTally, ManyEntriesStayFindable) {
  UsageTally t(100000);
  for (int i = 0; i < 50000; ++i) {
    auto* e =
        t.entry("acc_" + std::to_string(i % 7), Mode::kLive, "lic_" + std::to_string(i), "p", 5);
    ASSERT_NE(e, nullptr);
    for (int k = 0; k < i % 5; ++k) UsageTally::count_validation(*e, UsageOutcome::kExpired, 1);
  }
  for (int i = 0; i < 50000; i += 997) {
    EXPECT_EQ(
        t.entry("acc_" + std::to_string(i % 7), Mode::kLive, "lic_" + std::to_string(i), "p", 5)
            ->validations[2],
        static_cast<std::uint32_t>(i % 5));
  }
  EXPECT_EQ(t.size(), 50000u);
}

TEST(AuthLogAndBlacklistHits, AreBounded) {
  AuthLog log(2);
  ASSERT_NE(log.next(), nullptr);
  ASSERT_NE(log.next(), nullptr);
  EXPECT_EQ(log.next(), nullptr);
  log.clear();
  EXPECT_NE(log.next(), nullptr);
  BlacklistHits hits(1);
  EXPECT_TRUE(hits.add("acc", "bl_1", 10));
  EXPECT_TRUE(hits.add("acc", "bl_1", 30));
  EXPECT_TRUE(hits.add("acc", "bl_1", 20));
  EXPECT_FALSE(hits.add("acc", "bl_2", 40));
  ASSERT_EQ(hits.hits().size(), 1u);
  EXPECT_EQ(hits.hits()[0].attempts, 3u);
  EXPECT_EQ(hits.hits()[0].last_ms, 30);
}

TEST(CleanText, CutsAtACharacterAndMasksInvalidUtf8) {
  std::string out;
  append_clean_text(out, "MyApp/1.0", 256);
  EXPECT_EQ(out, "MyApp/1.0");
  out.clear();
  append_clean_text(out, "aé", 2);  // é is 2 bytes: cut before it
  EXPECT_EQ(out, "a");
  out.clear();
  append_clean_text(out, "a\xff\x01z", 256);
  EXPECT_EQ(out, "a??z");
}

TEST(Dates, DaysFormatAndParseStrictly) {
  EXPECT_EQ(utc_day(0), 0);
  EXPECT_EQ(utc_day(86399), 0);
  EXPECT_EQ(utc_day(86400), 1);
  EXPECT_EQ(date_of_day(utc_day(1763856000)), "2025-11-23");
  EXPECT_EQ(parse_date("2025-11-23"), utc_day(1763856000));
  for (const char* bad : {"", "2025-11-31", "2025-13-01", "2025-1-01", "2025-11-23T00:00:00Z",
                          "1969-12-31", "20251123", "2025-11-23 ", "abcd-ef-gh"}) {
    EXPECT_FALSE(parse_date(bad)) << bad;
  }
}

// ---- the report ---------------------------------------------------------------------------------

UsageCount usage_entry(int i) {
  UsageCount c;
  c.account_id = "acc_" + std::to_string(i % 3);
  c.mode = i % 2 ? Mode::kTest : Mode::kLive;
  c.license_id = i % 5 == 0 ? "" : "lic_" + std::to_string(i);
  c.product_id = c.license_id.empty() ? "" : "prod_1";
  c.day = 20000 + i % 4;
  c.validations[static_cast<std::size_t>(UsageOutcome::kValid)] = static_cast<std::uint64_t>(i);
  c.validations[static_cast<std::size_t>(UsageOutcome::kDomainMismatch)] = 1;
  c.auths[static_cast<std::size_t>(TkiStatus::kMaxIps)] = 2;
  c.last_validated_ms = 1'700'000'000'000 + i;
  for (int m = 0; m < i % 7; ++m) c.machines.add("m" + std::to_string(m));
  c.ips.add("203.0.113." + std::to_string(i % 250));
  return c;
}

EdgeReport sample_report() {
  EdgeReport r;
  r.header = {"edge-1", 1'763'856'000'000, 7};
  r.failures = {{digest_of(1), 1, FailureReason::kSuspended, ""},
                {digest_of(2), kMaxFailureCount, FailureReason::kMachineNotActivated, "m \"1\"\n"}};
  for (int i = 1; i <= 5; ++i) r.usage.push_back(usage_entry(i));
  AuthAttempt a;
  a.at_ms = 1'763'856'000'123;
  a.account_id = "acc_1";
  a.license_id = "lic_1";
  a.product = "My App";
  a.version = "1.0";
  a.ip = "203.0.113.9";
  a.hwid = "HW-1";
  a.user_agent = "MyApp/1.0.0 (Läptop)";
  a.status = TkiStatus::kMaxHwids;
  r.auths.push_back(a);
  a.license_id.clear();
  a.hwid.clear();
  a.user_agent.clear();
  a.status = TkiStatus::kLicenseNotFound;
  r.auths.push_back(a);
  r.blacklist = {{"acc_1", "bl_1", 4, 1'763'856'000'999}};
  return r;
}

std::vector<std::string> encode_all(const EdgeReport& r, std::size_t max_bytes) {
  ReportEncoder enc(max_bytes);
  std::vector<std::string> out;
  std::uint64_t seq = r.header.seq;
  enc.begin({r.header.edge, r.header.boot, seq});
  auto add = [&](const auto& e) {
    if (!enc.add(e)) {
      out.emplace_back();
      enc.finish(out.back());
      enc.begin({r.header.edge, r.header.boot, ++seq});
      EXPECT_TRUE(enc.add(e));
    }
  };
  for (const auto& e : r.failures) add(e);
  for (const auto& e : r.usage) add(e);
  for (const auto& e : r.auths) add(e);
  for (const auto& e : r.blacklist) add(e);
  out.emplace_back();
  enc.finish(out.back());
  return out;
}

TEST(EdgeReport, RoundTripsExactly) {
  const EdgeReport r = sample_report();
  const auto messages = encode_all(r, kMaxReportBytes);
  ASSERT_EQ(messages.size(), 1u);
  auto d = decode_edge_report(messages[0]);
  ASSERT_TRUE(std::holds_alternative<EdgeReport>(d)) << std::get<DecodeError>(d).message;
  const auto& back = std::get<EdgeReport>(d);
  EXPECT_EQ(back.header, r.header);
  EXPECT_EQ(back.failures, r.failures);
  EXPECT_EQ(back.usage, r.usage);
  EXPECT_EQ(back.auths, r.auths);
  EXPECT_EQ(back.blacklist, r.blacklist);
  EXPECT_EQ(report_msg_id(r.header), "edge-1-1763856000000-7");
}

TEST(EdgeReport, LargeFlushesSplitIntoNumberedMessagesWithinTheBound) {
  EdgeReport r;
  r.header = {"edge-2", 5, 1};
  for (int i = 0; i < 20000; ++i) {
    r.failures.push_back({digest_of(i), static_cast<std::uint64_t>(i + 1), FailureReason::kExpired,
                          "machine-" + std::to_string(i)});
  }
  for (int i = 0; i < 3000; ++i) r.usage.push_back(usage_entry(i));
  UsageCount dense = usage_entry(1);  // three dense sketches: the largest entry there is
  for (int i = 0; i < 5000; ++i) {
    dense.machines.add("m" + std::to_string(i));
    dense.ips.add("i" + std::to_string(i));
    dense.hwids.add("h" + std::to_string(i));
  }
  r.usage.push_back(dense);
  const auto messages = encode_all(r, kMinReportBytes);
  EXPECT_GT(messages.size(), 20u);
  EdgeReport all;
  std::uint64_t seq = 0;
  for (const auto& m : messages) {
    EXPECT_LE(m.size(), kMinReportBytes);
    auto d = decode_edge_report(m);
    ASSERT_TRUE(std::holds_alternative<EdgeReport>(d)) << std::get<DecodeError>(d).message;
    auto& part = std::get<EdgeReport>(d);
    EXPECT_EQ(part.header.seq, ++seq);  // numbered in order
    for (auto& f : part.failures) all.failures.push_back(std::move(f));
    for (auto& u : part.usage) all.usage.push_back(std::move(u));
  }
  EXPECT_EQ(all.failures, r.failures);
  EXPECT_EQ(all.usage, r.usage);
}

TEST(EdgeReport, MalformedOversizedAndHostileInputIsADecodeError) {
  const std::string hex(64, 'a');
  const std::string head = R"({"edge":"e1","boot":1,"seq":2)";
  auto with = [&](const std::string& section, const std::string& fields) {
    return head + ",\"" + section + "\":[{" + fields + "}]}";
  };
  const std::string ok_failure = R"("license":")" + hex + R"(","count":3,"reason":"EXPIRED")";
  const std::string ok_usage = R"("account":"acc_1","mode":"live","day":20000)";
  const std::string ok_auth = R"("atMs":1,"account":"acc_1","mode":"test","outcome":"SUCCESS")";
  const std::string ok_hit = R"("account":"acc_1","entry":"bl_1","attempts":1,"lastMs":5)";
  for (const auto& ok : {with("failures", ok_failure), with("usage", ok_usage),
                         with("auths", ok_auth), with("blacklist", ok_hit), head + "}"}) {
    auto d = decode_edge_report(ok);
    ASSERT_TRUE(std::holds_alternative<EdgeReport>(d))
        << ok << ": " << std::get<DecodeError>(d).message;
  }
  std::string many = head + R"(,"failures":[)";
  for (std::size_t i = 0; many.size() <= kMaxReportBytes; ++i) {
    if (i) many.push_back(',');
    many += "{" + ok_failure + "}";
  }
  many += "]}";
  std::string dense_sketch;
  {
    Hll h;
    for (int i = 0; i < 5000; ++i) h.add(std::to_string(i));
    h.encode(dense_sketch);
  }
  const std::string b64_dense = base64(dense_sketch);
  const std::vector<std::string> bad = {
      "",
      "null",
      "[]",
      "{",
      "garbage",
      "\xff\xfe",
      std::string(5000, '[') + std::string(5000, ']'),
      "{}",
      R"({"boot":1,"seq":2})",
      R"({"edge":"e1","seq":2})",
      R"({"edge":"e1","boot":1})",
      R"({"edge":"","boot":1,"seq":2})",
      R"({"edge":"e 1","boot":1,"seq":2})",
      R"({"edge":")" + std::string(kMaxEdgeIdBytes + 1, 'e') + R"(","boot":1,"seq":2})",
      R"({"edge":"e1","boot":-1,"seq":2})",
      R"({"edge":"e1","boot":1,"seq":0})",
      R"({"edge":"e1","boot":1,"seq":2,"seq":3})",
      head + R"(,"failures":null})",
      head + R"(,"usage":{}})",
      head + R"(,"auths":[1]})",
      head + R"(,"blacklist":[[]]})",
      // failures
      with("failures", R"("count":3,"reason":"EXPIRED")"),
      with("failures", R"("license":"abc","count":3,"reason":"EXPIRED")"),
      with("failures", R"("license":")" + hex + R"(","count":0,"reason":"EXPIRED")"),
      with("failures", R"("license":")" + hex + R"(","count":9007199254740992,"reason":"EXPIRED")"),
      with("failures", R"("license":")" + hex + R"(","count":3,"reason":"VALID")"),
      with("failures", ok_failure + R"(,"machineId":"")"),
      with("failures", ok_failure + R"(,"count":4)"),
      // usage
      with("usage", R"("mode":"live","day":20000)"),
      with("usage", R"("account":"","mode":"live","day":20000)"),
      with("usage", R"("account":")" + std::string(kMaxUsageIdBytes + 1, 'a') +
                        R"(","mode":"live","day":20000)"),
      with("usage", R"("account":"acc_1","mode":"prod","day":20000)"),
      with("usage", R"("account":"acc_1","mode":"live","day":-1)"),
      with("usage", R"("account":"acc_1","mode":"live","day":99999999)"),
      with("usage", R"("account":"acc_1","mode":"live","day":"20000")"),
      with("usage", ok_usage + R"(,"validations":[1,2])"),
      with("usage", ok_usage + R"(,"validations":{"VALID":0})"),
      with("usage", ok_usage + R"(,"validations":{"VALID":-3})"),
      with("usage", ok_usage + R"(,"validations":{"VALID":9007199254740992})"),
      with("usage", ok_usage + R"(,"validations":{"VALID":1,"VALID":2})"),
      with("usage", ok_usage + R"(,"auths":{"SUCCESS":1.5})"),
      with("usage", ok_usage + R"(,"lastValidatedMs":-5)"),
      with("usage", ok_usage + R"(,"machines":"not base64!")"),
      with("usage", ok_usage + R"(,"machines":"eA==")"),  // "x": not a sketch
      with("usage", ok_usage + R"(,"ips":")" + b64_dense.substr(0, b64_dense.size() - 8) + "\""),
      with("usage", ok_usage + R"(,"hwids":7)"),
      with("usage", ok_usage + R"(,"license":")" + std::string(200, 'l') + "\""),
      // auths
      with("auths", R"("account":"acc_1","mode":"test","outcome":"SUCCESS")"),
      with("auths", R"("atMs":1,"account":"acc_1","mode":"test","outcome":"GREAT")"),
      with("auths", R"("atMs":1,"account":"acc_1","mode":"test","outcome":"SUCCESS","ip":")" +
                        std::string(kMaxAuthTextBytes + 1, '1') + "\""),
      with("auths", ok_auth + R"(,"userAgent":null)"),
      // blacklist hits
      with("blacklist", R"("account":"acc_1","entry":"bl_1","attempts":0,"lastMs":5)"),
      with("blacklist", R"("account":"acc_1","entry":"","attempts":1,"lastMs":5)"),
      with("blacklist", R"("account":"acc_1","entry":"bl_1","attempts":1)"),
      many,
      head + R"(,"usage":[)" + std::string(kMaxReportBytes, ' ') + "]}",
  };
  for (const auto& b : bad) {
    auto d = decode_edge_report(b);
    ASSERT_TRUE(std::holds_alternative<DecodeError>(d)) << b.substr(0, 200);
    EXPECT_FALSE(std::get<DecodeError>(d).message.empty());
  }
  // Unknown fields and outcomes are ignored: a later edge may say more.
  auto d = decode_edge_report(head + R"(,"x":[1],"usage":[{)" + ok_usage +
                              R"(,"validations":{"VALID":2,"LATER":1},"y":{}}]})");
  ASSERT_TRUE(std::holds_alternative<EdgeReport>(d)) << std::get<DecodeError>(d).message;
  EXPECT_EQ(std::get<EdgeReport>(d).usage.at(0).validations[0], 2u);
}

// Truncating a valid report anywhere never decodes into something else, nor crashes.
TEST(EdgeReport, TruncatedReportsAreRefused) {
  const auto messages = encode_all(sample_report(), kMaxReportBytes);
  const std::string& json = messages.at(0);
  for (std::size_t n = 0; n < json.size(); ++n) {
    EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_edge_report(json.substr(0, n))))
        << json.substr(0, n);
  }
}

}  // namespace
}  // namespace le::core
