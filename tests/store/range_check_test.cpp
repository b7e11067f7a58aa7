// The self-check's range digests: the message round-trips, anything else is refused; the
// digests of two stores differ exactly in the ranges whose records differ.
#include "store/range_check.h"

#include <gtest/gtest.h>

#include <mutex>

#include "store/record_store.h"
#include "support/fixtures.h"

namespace le::store {
namespace {

RangeCheck sample() {
  RangeCheck c;
  c.covers = 12345;
  c.digests.records = 7;
  c.digests.digests.resize(kKeySpaceCount * kCheckRanges);
  for (std::size_t i = 0; i < c.digests.digests.size(); ++i) {
    for (std::size_t j = 0; j < 16; ++j)
      c.digests.digests[i][j] = static_cast<std::uint8_t>(i * 7 + j);
  }
  return c;
}

TEST(RangeCheckMessage, RoundTrips) {
  const RangeCheck c = sample();
  const auto back = decode_range_check(encode_range_check(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->covers, c.covers);
  EXPECT_EQ(back->digests.records, 7u);
  EXPECT_EQ(back->digests.digests, c.digests.digests);
}

TEST(RangeCheckMessage, AnythingElseIsRefused) {
  const std::string good = encode_range_check(sample());
  const auto hex_at = good.find("\"digests\":\"") + 11;
  std::string bad_hex = good;
  bad_hex[hex_at] = 'g';
  std::string upper = good;
  upper[hex_at] = 'A';
  std::string short_hex = good;
  short_hex.erase(hex_at, 32);
  std::string other_ranges = good;
  other_ranges.replace(other_ranges.find("\"ranges\":64"), 11, "\"ranges\":32");
  const std::string oversized = "{\"covers\":1,\"pad\":\"" + std::string(70'000, 'a') + "\"}";
  for (const std::string& body :
       {std::string(), std::string("{"), std::string("[]"), std::string("null"),
        std::string("{\"covers\":-1}"), std::string("{\"covers\":1,\"ranges\":64}"), bad_hex, upper,
        short_hex, other_ranges, oversized, good.substr(0, good.size() - 1),
        std::string("{\"covers\":\"1\",\"ranges\":64,\"digests\":\"\"}")}) {
    EXPECT_FALSE(decode_range_check(body)) << body.substr(0, 80);
  }
}

TEST(RangeDigestsOfStores, DifferExactlyWhereTheRecordsDo) {
  test::TempDir dir;
  auto a = RecordStore::open({dir.path("a")}).value();
  auto b = RecordStore::open({dir.path("b")}).value();
  std::vector<core::ChangeEvent> events{test::event(test::account()), test::event(test::product())};
  for (int i = 0; i < 500; ++i) {
    events.push_back(
        test::event(test::license("KEY-" + std::to_string(i), "lic_" + std::to_string(i))));
  }
  ASSERT_TRUE(a->apply(events, 10));
  ASSERT_TRUE(b->apply(events, 10));
  auto da = a->range_digests().value();
  auto db = b->range_digests().value();
  ASSERT_TRUE(da && db);
  EXPECT_EQ(da->records, 503u);  // the product's name index too
  EXPECT_TRUE(differing_ranges(*da, *db).empty());

  auto changed = test::license("KEY-7", "lic_7");
  changed.version = 2;
  ASSERT_TRUE(b->apply({{test::event(changed)}}, 11));
  db = b->range_digests().value();
  const auto differ = differing_ranges(*da, *db);
  ASSERT_EQ(differ.size(), 1u);
  EXPECT_EQ(differ[0].first, KeySpace::kLicense);
  EXPECT_EQ(differ[0].second, check_range(digest_key(core::sha256("KEY-7"))));

  // Taken only when `proceed` says so, under the lock given.
  std::mutex mu;
  EXPECT_FALSE(a->range_digests(&mu, [] { return false; }).value());
  EXPECT_TRUE(a->range_digests(&mu, [] { return true; }).value());
}

}  // namespace
}  // namespace le::store
