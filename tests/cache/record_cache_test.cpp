#include "cache/record_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "cache/digest_memo.h"
#include "core/digest.h"
#include "support/fixtures.h"

namespace le::cache {
namespace {

class RecordCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = store::RecordStore::open({dir_.path("db")});
    ASSERT_TRUE(r) << r.error().message;
    replica_ = std::move(*r);
  }
  void apply(std::vector<core::ChangeEvent> events) {
    auto r = apply_and_invalidate(*replica_, stamps_, events, ++seq_);
    ASSERT_TRUE(r) << r.error().message;
  }

  test::TempDir dir_;
  std::unique_ptr<store::RecordStore> replica_;
  InvalidationStamps stamps_{12};
  std::uint64_t seq_ = 0;
  // Invalidation tests admit every miss; admission has its own test below.
  static CacheCapacity admit_all() {
    CacheCapacity c;
    c.license_doorkeeper = false;
    return c;
  }
};

TEST_F(RecordCacheTest, SecondLookupIsAHit) {
  apply({test::event(test::license("KEY"))});
  RecordCache cache(*replica_, stamps_, admit_all());
  EXPECT_TRUE(cache.license(core::sha256("KEY")).value());
  EXPECT_TRUE(cache.license(core::sha256("KEY")).value());
  EXPECT_EQ(cache.stats().misses, 1u);
  EXPECT_EQ(cache.stats().hits, 1u);
}

TEST_F(RecordCacheTest, AbsenceIsCachedAndInvalidatedByCreation) {
  RecordCache cache(*replica_, stamps_, admit_all());
  EXPECT_FALSE(cache.license(core::sha256("KEY")).value());
  EXPECT_FALSE(cache.license(core::sha256("KEY")).value());
  EXPECT_EQ(cache.stats().hits, 1u);
  apply({test::event(test::license("KEY"))});
  EXPECT_TRUE(cache.license(core::sha256("KEY")).value());
}

TEST_F(RecordCacheTest, LookupAfterApplySeesAppliedState) {
  apply({test::event(test::license("KEY"))});
  RecordCache cache(*replica_, stamps_, admit_all());
  ASSERT_EQ(cache.license(core::sha256("KEY")).value()->status, core::LicenseStatus::kActive);
  auto suspended = test::license("KEY");
  suspended.version = 2;
  suspended.status = core::LicenseStatus::kSuspended;
  apply({test::event(suspended)});
  EXPECT_EQ(cache.license(core::sha256("KEY")).value()->status, core::LicenseStatus::kSuspended);
  auto deleted = suspended;
  deleted.version = 3;
  apply({test::event(deleted, 0, true)});
  EXPECT_FALSE(cache.license(core::sha256("KEY")).value());
}

TEST_F(RecordCacheTest, ProductChangeUnderSameNameIsSeen) {
  apply({test::event(test::product())});
  RecordCache cache(*replica_, stamps_, admit_all());
  EXPECT_EQ(cache.product_by_name("acc_1", "MyProduct").value()->tki_versions.size(), 2u);
  auto p = test::product();
  p.version = 2;
  p.tki_versions = {"2.0.0"};
  apply({test::event(p)});
  EXPECT_EQ(cache.product_by_name("acc_1", "MyProduct").value()->tki_versions,
            std::vector<std::string>{"2.0.0"});
}

TEST_F(RecordCacheTest, BlacklistEntryAddedAndRemovedIsSeen) {
  RecordCache cache(*replica_, stamps_, admit_all());
  EXPECT_FALSE(cache.blacklist("acc_1", core::BlacklistKind::kIp, "9.9.9.9").value());
  auto b = test::blacklist("bl_1", core::BlacklistKind::kIp, "9.9.9.9");
  apply({test::event(b)});
  EXPECT_TRUE(cache.blacklist("acc_1", core::BlacklistKind::kIp, "9.9.9.9").value());
  b.version = 2;
  apply({test::event(b, 0, true)});
  EXPECT_FALSE(cache.blacklist("acc_1", core::BlacklistKind::kIp, "9.9.9.9").value());
}

TEST_F(RecordCacheTest, LicenseIsAdmittedOnItsSecondMissOnly) {
  apply({test::event(test::license("KEY"))});
  RecordCache cache(*replica_, stamps_);  // default: doorkeeper on
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(cache.license(core::sha256("KEY")).value());
  EXPECT_EQ(cache.stats().misses, 2u);  // first sighting served, not admitted; second admitted
  EXPECT_EQ(cache.stats().hits, 1u);
  // Admission never serves stale state: a change is seen on the next lookup.
  auto l = test::license("KEY");
  l.version = 2;
  l.status = core::LicenseStatus::kRevoked;
  apply({test::event(l)});
  EXPECT_EQ(cache.license(core::sha256("KEY")).value()->status, core::LicenseStatus::kRevoked);
}

TEST_F(RecordCacheTest, FirstSightingsAreServedCorrectlyWithoutAdmission) {
  auto a = test::license("KEY-A", "lic_a");
  a.activations = {{"m1", "one", 1}, {"m2", "two", 2}};
  auto b = test::license("KEY-B", "lic_b");
  apply({test::event(a), test::event(b)});
  RecordCache cache(*replica_, stamps_);
  auto first = cache.license(core::sha256("KEY-A")).value();
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, a);
  auto second = cache.license(core::sha256("KEY-B")).value();  // reuses the scratch record
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, b);
  EXPECT_FALSE(cache.license(core::sha256("KEY-C")).value());
}

TEST(Doorkeeper, AgesOutAfterItsWindow) {
  Doorkeeper d(10, 4);
  EXPECT_FALSE(d.seen_before(1));
  EXPECT_TRUE(d.seen_before(1));
  EXPECT_FALSE(d.seen_before(2));
  EXPECT_FALSE(d.seen_before(3));
  EXPECT_FALSE(d.seen_before(4));  // fourth first sighting: the window resets
  EXPECT_FALSE(d.seen_before(1));
}

TEST_F(RecordCacheTest, CapacityIsBoundedByEviction) {
  RecordCache cache(*replica_, stamps_, CacheCapacity{4, 4, false});
  for (int i = 0; i < 100; ++i) (void)cache.license(core::sha256("K" + std::to_string(i)));
  auto l = test::license("K0");
  apply({test::event(l)});
  EXPECT_TRUE(cache.license(core::sha256("K0")).value());
}

// Readers on other threads racing an applier: once an apply has returned, no reader that
// starts afterwards may see an older version.
TEST_F(RecordCacheTest, ConcurrentReadersNeverSeeStateOlderThanLastReturnedApply) {
  apply({test::event(test::license("KEY"))});
  std::atomic<std::uint64_t> published{1};
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      RecordCache cache(*replica_, stamps_, admit_all());
      while (!stop.load()) {
        const std::uint64_t floor = published.load(std::memory_order_acquire);
        auto l = cache.license(core::sha256("KEY"));
        if (!l || !*l || (*l)->version < floor) violations.fetch_add(1);
      }
    });
  }
  for (std::uint64_t v = 2; v <= 300; ++v) {
    auto l = test::license("KEY");
    l.version = v;
    apply({test::event(l)});
    published.store(v, std::memory_order_release);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(violations.load(), 0);
}

}  // namespace
}  // namespace le::cache

namespace le::cache {
namespace {

TEST(DigestMemo, RemembersDigestsByTextAndReplacesOnCollision) {
  DigestMemo memo(2);  // 4 slots: collisions are certain below
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 64; ++i) {
      const std::string key = "to_live_key" + std::to_string(i);
      ASSERT_EQ(memo.digest(key), core::sha256(key)) << key;
    }
  }
  const std::size_t before = memo.hits();
  EXPECT_EQ(memo.digest("to_live_key63"), core::sha256("to_live_key63"));
  EXPECT_EQ(memo.hits(), before + 1);
  // A key that differs from a remembered one in its last byte only is not taken for it.
  EXPECT_EQ(memo.digest("to_live_key6X"), core::sha256("to_live_key6X"));
  EXPECT_EQ(memo.digest(""), core::sha256(""));
  // A header value longer than any key is hashed, not kept.
  const std::string long_value(4096, 'k');
  EXPECT_EQ(memo.digest(long_value), core::sha256(long_value));
  const std::size_t hits = memo.hits();
  EXPECT_EQ(memo.digest(long_value), core::sha256(long_value));
  EXPECT_EQ(memo.hits(), hits);
}

}  // namespace
}  // namespace le::cache
