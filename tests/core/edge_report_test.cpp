// What an edge counts for its reports: the HyperLogLog sketch counts distinct items within its
// stated error and merges as a union; the usage tallies are bounded and read back exactly. (The
// report message itself: edge_report_message_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/time_format.h"
#include "core/usage.h"

namespace le::core {
namespace {

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

// Sketches from every edge and release merge only if they hash alike: the hash is fixed. The
// reference reads the tail with a memcpy, as the hash was first written.
TEST(Hll, TheHashIsAFixedFunctionOfTheBytes) {
  auto reference = [](std::string_view item) {
    auto fmix = [](std::uint64_t k) {
      k ^= k >> 33;
      k *= 0xff51afd7ed558ccdULL;
      k ^= k >> 33;
      k *= 0xc4ceb9fe1a85ec53ULL;
      return k ^ (k >> 33);
    };
    std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ item.size();
    std::size_t i = 0;
    for (; i + 8 <= item.size(); i += 8) {
      std::uint64_t word;
      std::memcpy(&word, item.data() + i, 8);
      h = fmix(h ^ word) * 0x9e3779b97f4a7c15ULL;
    }
    std::uint64_t tail = 0;
    if (i < item.size()) std::memcpy(&tail, item.data() + i, item.size() - i);
    return fmix(h ^ tail ^ (std::uint64_t{item.size() - i} << 56));
  };
  std::string bytes = "x";  // hashed from its second byte too: loads at every alignment
  for (int n = 0; n <= 40; ++n) {
    for (std::string_view item : {std::string_view(bytes).substr(1), std::string_view(bytes)}) {
      EXPECT_EQ(hll_hash(item), reference(item)) << item.size();
    }
    bytes.push_back(static_cast<char>(n * 37 + 11));
  }
  EXPECT_EQ(hll_hash(""), 0x9ca066f1a4ab2eeaULL);
  EXPECT_EQ(hll_hash("lic_0123456789abcdef01"), 0xd84ab83019a00ULL);
  EXPECT_EQ(hll_hash(std::string("\xcb\x00\x71\x09", 4)), 0x66f07e4438ba2b4ULL);
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

}  // namespace
}  // namespace le::core
