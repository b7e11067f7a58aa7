#include "core/codec.h"

#include <gtest/gtest.h>

#include <random>

#include "core/digest.h"
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

// Records written before the offline grace period existed (format 2) still decode, with the
// defaults: the product's 72 hours, and a license taking its product's.
// Older records decode with the defaults of the fields added since: format 3 added the offline
// grace periods, format 4 the lease length and each activation's lease, format 5 products' plans.
TEST(Codec, OlderFormatsDecodeWithTheDefaultsOfLaterFields) {
  ProductRecord p;
  p.id = "prod_1";
  p.name = "App";
  p.version = 3;
  std::string bytes = encode_record(p);
  // 72, then 600, then the plans "[]".
  ASSERT_EQ(bytes.substr(bytes.size() - 6), std::string("\x48\xd8\x04\x02[]"));
  StoredHeader h;
  for (char format : {'\x04', '\x03', '\x02'}) {
    bytes.resize(bytes.size() - (format == '\x04' ? 3 : format == '\x03' ? 2 : 1));
    bytes[0] = format;
    ProductRecord back;
    back.lease_seconds = 7;
    back.offline_grace_hours = 7;
    back.plans_json = R"([{"id":"x"}])";
    ASSERT_TRUE(decode_record(bytes, back, h)) << int(format);
    EXPECT_EQ(back, p);
  }
  LicenseRecord l;
  l.id = "lic_1";
  l.type = LicenseType::kFloating;
  l.version = 2;
  l.activations = {{"m-1", "", 100, 0}, {"m-2", "", 200, 0}};
  bytes = encode_record(l);
  // ... grace (zigzag -1), lease_seconds 0, the two leases (0, 0), the plan id "".
  ASSERT_EQ(bytes.substr(bytes.size() - 5), std::string("\x01\x00\x00\x00\x00", 5));
  for (char format : {'\x05', '\x03', '\x02'}) {
    bytes.resize(bytes.size() - (format == '\x03' ? 3 : 1));
    bytes[0] = format;
    LicenseRecord back;
    back.offline_grace_hours = 5;
    back.lease_seconds = 5;
    ASSERT_TRUE(decode_record(bytes, back, h)) << int(format);
    EXPECT_EQ(back, l);
  }
  // Leases round-trip since format 4, in the activations' order; the plan id since 6.
  l.plan_id = "pro";
  l.activations[0].lease_expires_at = 1'700'000'600;
  l.activations[1].lease_expires_at = 1'700'000'900;
  l.lease_seconds = 300;
  LicenseRecord back;
  ASSERT_TRUE(decode_record(encode_record(l), back, h));
  EXPECT_EQ(back, l);
  // An older format with the newer fields present has bytes too many; formats 1 and 7 are
  // unknown.
  bytes = encode_record(l);
  for (char f : {'\x03', '\x05'}) {
    bytes[0] = f;
    EXPECT_FALSE(decode_record(bytes, back, h)) << int(f);
  }
  for (char f : {'\x01', '\x07'}) {
    bytes = encode_record(l);
    bytes[0] = f;
    EXPECT_FALSE(decode_record(bytes, back, h));
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

// Random valid records: every field of every kind drawn at random (any bytes in strings, the
// whole range of each number, lists of any length, tombstones too).
class RandomRecords {
 public:
  explicit RandomRecords(std::uint64_t seed) : rng_(seed) {}

  std::string str() {
    const std::size_t n = rng_() % 8 == 0 ? rng_() % 400 : rng_() % 24;
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng_());
    return s;
  }
  std::vector<std::string> strs() {
    std::vector<std::string> v(rng_() % 5);
    for (auto& s : v) s = str();
    return v;
  }
  Digest digest() {
    Digest d;
    for (auto& b : d) b = static_cast<std::uint8_t>(rng_());
    return d;
  }
  std::uint64_t u64() {
    switch (rng_() % 4) {
      case 0:
        return rng_() % 128;
      case 1:
        return ~std::uint64_t{0} - rng_() % 2;
      default:
        return rng_() >> (rng_() % 64);
    }
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(u64()); }
  std::int64_t i64() {
    const std::uint64_t v = u64();
    return rng_() % 2 ? static_cast<std::int64_t>(v) : -static_cast<std::int64_t>(v >> 1);
  }
  bool flag() { return rng_() % 2 == 1; }
  template <typename E>
  E pick(int count) {
    return static_cast<E>(rng_() % count);
  }

  AccountRecord account() { return {str(), pick<Plan>(5), flag(), flag(), u64()}; }
  ApiKeyRecord api_key() { return {str(), digest(), str(), pick<Mode>(2), flag(), u64()}; }
  ProductRecord product() {
    return {str(), str(), str(), strs(), strs(), str(), u32(), u32(), str(), u64()};
  }
  LicenseRecord license() {
    LicenseRecord l;
    l.id = str();
    l.key_digest = digest();
    l.account_id = str();
    l.product_id = str();
    l.mode = pick<Mode>(2);
    l.type = pick<LicenseType>(4);
    l.status = pick<LicenseStatus>(4);
    l.expires_at = i64();
    l.max_activations = u32();
    l.activations.resize(rng_() % 5);
    for (auto& a : l.activations) a = {str(), str(), i64(), i64()};
    l.allowed_domains = strs();
    l.metadata_json = str();
    l.max_ips = u32();
    l.max_hwids = u32();
    l.ips = strs();
    l.hwids = strs();
    l.staff = flag();
    l.discord_id = str();
    l.discord_username = str();
    l.discord_tag = str();
    l.created_at = i64();
    l.email = str();
    l.offline_grace_hours = i64();
    l.lease_seconds = u32();
    l.version = u64();
    return l;
  }
  BlacklistEntry blacklist() { return {str(), str(), pick<BlacklistKind>(3), str(), u64()}; }

 private:
  std::mt19937_64 rng_;
};

// encode → decode is the identity, also into a reused record holding other data; the encoding
// of what was decoded is the same bytes; the header says the version and tombstone written.
template <typename Rec>
void expect_round_trip(const Rec& rec, bool deleted, Rec reused, int i) {
  const std::string bytes = encode_record(rec, deleted);
  StoredHeader h;
  ASSERT_TRUE(decode_record(bytes, reused, h)) << i;
  ASSERT_EQ(reused, rec) << i;
  ASSERT_EQ(h.version, rec.version) << i;
  ASSERT_EQ(h.deleted, deleted) << i;
  ASSERT_EQ(encode_record(reused, deleted), bytes) << i;
  const auto peeked = peek_header(bytes);
  ASSERT_TRUE(peeked) << i;
  ASSERT_EQ(peeked->version, rec.version) << i;
  ASSERT_EQ(peeked->deleted, deleted) << i;
}

TEST(Codec, RandomValidRecordsOfEveryKindRoundTrip) {
  RandomRecords gen(7);
  for (int i = 0; i < 5000; ++i) {
    const bool deleted = i % 5 == 0;
    expect_round_trip(gen.account(), deleted, gen.account(), i);
    expect_round_trip(gen.api_key(), deleted, gen.api_key(), i);
    expect_round_trip(gen.product(), deleted, gen.product(), i);
    expect_round_trip(gen.license(), deleted, gen.license(), i);
    expect_round_trip(gen.blacklist(), deleted, gen.blacklist(), i);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// Enumerations decoded from any bytes are in range.
bool enums_in_range(const AccountRecord& r) { return static_cast<int>(r.plan) <= 4; }
bool enums_in_range(const ApiKeyRecord& r) { return static_cast<int>(r.mode) <= 1; }
bool enums_in_range(const ProductRecord&) { return true; }
bool enums_in_range(const LicenseRecord& r) {
  return static_cast<int>(r.mode) <= 1 && static_cast<int>(r.type) <= 3 &&
         static_cast<int>(r.status) <= 3;
}
bool enums_in_range(const BlacklistEntry& r) { return static_cast<int>(r.kind) <= 2; }

// Corrupted bytes either fail to decode or decode to a record that honours the model (enums in
// range) and that the codec writes and reads back identically (no half-decoded state escapes);
// both outcomes occur.
template <typename Rec>
void corrupt_and_check(const Rec& seed_record, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::string valid = encode_record(seed_record);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = valid;
    // Flip a few bytes, sometimes into huge varints.
    for (int f = 0; f < 1 + i % 4; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    Rec out;
    StoredHeader h;
    if (!decode_record(bytes, out, h)) {
      ++refused;
      continue;
    }
    ++accepted;
    ASSERT_TRUE(enums_in_range(out)) << i;
    ASSERT_EQ(out.version, h.version) << i;
    Rec again;
    StoredHeader h2;
    ASSERT_TRUE(decode_record(encode_record(out, h.deleted), again, h2)) << i;
    ASSERT_EQ(again, out) << i;
    ASSERT_EQ(h2.version, h.version) << i;
    ASSERT_EQ(h2.deleted, h.deleted) << i;
  }
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 100);
}

TEST(Codec, CorruptedBytesAreRefusedOrDecodeToAConsistentRecord) {
  corrupt_and_check(full_license(), 42);
  AccountRecord a = test::account();
  a.tki_require_hwid = true;
  corrupt_and_check(a, 43);
  corrupt_and_check(test::api_key("to_live_k"), 44);
  corrupt_and_check(test::product(), 45);
  corrupt_and_check(test::blacklist("bl_1", BlacklistKind::kHwid, "hw"), 46);
}

}  // namespace
}  // namespace le::core

namespace le::core {
namespace {

TEST(Digest, HexIntoABufferIsTheSameAsTheString) {
  for (std::string_view s : {"", "KEY-1", "a longer license key"}) {
    const Digest d = sha256(s);
    HexDigest buf;
    EXPECT_EQ(to_hex(d, buf), to_hex(d));
    EXPECT_EQ(digest_from_hex(to_hex(d, buf)), d);
  }
}

}  // namespace
}  // namespace le::core
