#include "core/codec.h"

#include <gtest/gtest.h>

#include <random>

#include "support/fixtures.h"

namespace le::core {
namespace {

LicenseRecord full_license() {
  LicenseRecord l = test::license("KEY-1");
  l.mode = Mode::kTest;
  l.type = LicenseType::kFloating;
  l.status = LicenseStatus::kSuspended;
  l.expires_at = -5;  // negative timestamps survive zigzag encoding
  l.activations = {{"m1", "Laptop", 100}, {"m2", "", 0}};
  l.allowed_domains = {"example.com"};
  l.metadata_json = R"({"a":[1,2]})";
  l.max_ips = 4;
  l.max_hwids = 2;
  l.ips = {"1.1.1.1"};
  l.hwids = {"h1", "h2"};
  l.staff = true;
  l.discord_id = "1";
  l.discord_username = "u";
  l.discord_tag = "@u#1";
  l.version = 1ull << 40;
  return l;
}

TEST(Codec, EveryRecordKindRoundTrips) {
  StoredHeader h;
  LicenseRecord l = full_license(), l2;
  ASSERT_TRUE(decode_record(encode_record(l), l2, h));
  EXPECT_EQ(l, l2);
  EXPECT_FALSE(h.deleted);
  EXPECT_EQ(h.version, l.version);

  AccountRecord a = test::account(), a2;
  a.tki_rate_limit = true;
  ASSERT_TRUE(decode_record(encode_record(a, true), a2, h));
  EXPECT_EQ(a, a2);
  EXPECT_TRUE(h.deleted);

  ApiKeyRecord k = test::api_key("to_test_x", "acc_9", Mode::kTest), k2;
  k.revoked = true;
  ASSERT_TRUE(decode_record(encode_record(k), k2, h));
  EXPECT_EQ(k, k2);

  ProductRecord p = test::product(), p2;
  ASSERT_TRUE(decode_record(encode_record(p), p2, h));
  EXPECT_EQ(p, p2);

  BlacklistEntry b = test::blacklist("bl", BlacklistKind::kHwid, "hw"), b2;
  ASSERT_TRUE(decode_record(encode_record(b), b2, h));
  EXPECT_EQ(b, b2);
}

TEST(Codec, DecodingIntoAReusedRecordOverwritesEveryField) {
  LicenseRecord reused = full_license();  // long lists and strings left over
  reused.activations.push_back({"m3", "x", 1});
  LicenseRecord small = test::license("OTHER", "lic_2");
  StoredHeader h;
  ASSERT_TRUE(decode_record(encode_record(small), reused, h));
  EXPECT_EQ(reused, small);
}

TEST(Codec, EveryTruncationIsRejected) {
  const std::string bytes = encode_record(full_license());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    LicenseRecord out;
    StoredHeader h;
    EXPECT_FALSE(decode_record(std::string_view(bytes).substr(0, n), out, h)) << n;
  }
}

TEST(Codec, TrailingBytesAndBadEnumsAreRejected) {
  LicenseRecord out;
  StoredHeader h;
  EXPECT_FALSE(decode_record(encode_record(full_license()) + "x", out, h));
  std::string bytes = encode_record(test::account());
  AccountRecord a;
  bytes[bytes.size() - 3] = 9;  // plan out of range
  EXPECT_FALSE(decode_record(bytes, a, h));
  EXPECT_FALSE(peek_header("\x02\x00\x01"));  // unknown format
  EXPECT_FALSE(peek_header("\x01\x04\x01"));  // unknown flag
}

// Corrupted bytes either fail to decode or decode to a record that the codec writes and reads
// back identically (no half-decoded state escapes); both outcomes occur.
TEST(Codec, CorruptedBytesAreRefusedOrDecodeToAConsistentRecord) {
  std::mt19937_64 rng(42);
  const std::string valid = encode_record(full_license());
  int accepted = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = valid;
    // Flip a few bytes, sometimes into huge varints.
    for (int f = 0; f < 1 + i % 4; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    LicenseRecord out;
    StoredHeader h;
    if (!decode_record(bytes, out, h)) {
      ++refused;
      continue;
    }
    ++accepted;
    LicenseRecord again;
    StoredHeader h2;
    ASSERT_TRUE(decode_record(encode_record(out, h.deleted), again, h2)) << i;
    ASSERT_EQ(again, out) << i;
    ASSERT_EQ(h2.version, h.version) << i;
    ASSERT_EQ(h2.deleted, h.deleted) << i;
  }
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 100);
}

}  // namespace
}  // namespace le::core
