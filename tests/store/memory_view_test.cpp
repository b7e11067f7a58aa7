// The in-memory view of the record store (store/memory_view.h): what is put is read back through
// table growth, updates and removals; loading stops at the budget; a store that does not fit is
// refused at open; and readers racing a writer see only whole records (run under TSan too).
#include "store/memory_view.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "core/codec.h"
#include "core/digest.h"
#include "store/record_store.h"
#include "support/fixtures.h"

namespace le::store {
namespace {

std::string read(const MemoryView& v, KeySpace s, std::string_view key) {
  std::string out = "<absent>";
  v.read(s, key, [&](std::string_view value) { out.assign(value); });
  return out;
}

TEST(MemoryView, ValuesReadBackThroughGrowthUpdatesAndRemovals) {
  MemoryView v;
  const std::size_t before = v.bytes();
  // Digest-shaped keys and short ids, past several doublings of each table.
  for (int i = 0; i < 5000; ++i) {
    v.put(KeySpace::kLicense, store::digest_key(core::sha256(std::to_string(i))),
          "license " + std::to_string(i));
    v.put(KeySpace::kAccount, "acc_" + std::to_string(i), "account " + std::to_string(i));
  }
  EXPECT_EQ(v.entries(KeySpace::kLicense), 5000u);
  EXPECT_EQ(v.entries(KeySpace::kAccount), 5000u);
  EXPECT_EQ(v.entries(KeySpace::kProduct), 0u);
  EXPECT_GT(v.bytes(), before + 5000 * 2 * 40);
  for (int i = 0; i < 5000; i += 7) {
    ASSERT_EQ(read(v, KeySpace::kLicense, store::digest_key(core::sha256(std::to_string(i)))),
              "license " + std::to_string(i));
    ASSERT_EQ(read(v, KeySpace::kAccount, "acc_" + std::to_string(i)),
              "account " + std::to_string(i));
  }
  // Key spaces are separate: the same key elsewhere is absent.
  EXPECT_EQ(read(v, KeySpace::kProduct, "acc_1"), "<absent>");
  // An update replaces, a removal makes absent, a put after it brings the key back.
  v.put(KeySpace::kAccount, "acc_1", "changed");
  v.put(KeySpace::kAccount, "acc_2", std::nullopt);
  v.put(KeySpace::kAccount, "acc_never", std::nullopt);
  EXPECT_EQ(read(v, KeySpace::kAccount, "acc_1"), "changed");
  EXPECT_EQ(read(v, KeySpace::kAccount, "acc_2"), "<absent>");
  EXPECT_EQ(read(v, KeySpace::kAccount, "acc_never"), "<absent>");
  EXPECT_EQ(v.entries(KeySpace::kAccount), 4999u);
  v.put(KeySpace::kAccount, "acc_2", "back");
  EXPECT_EQ(read(v, KeySpace::kAccount, "acc_2"), "back");
  EXPECT_EQ(v.entries(KeySpace::kAccount), 5000u);
  // An empty value is a value, not an absence.
  v.put(KeySpace::kProductName, "acc_1\0name", "");
  EXPECT_EQ(read(v, KeySpace::kProductName, "acc_1\0name"), "");
  // Replaced blocks are freed once no reader holds them.
  v.reclaim();
  const std::size_t settled = v.bytes();
  for (int i = 0; i < 100; ++i) v.put(KeySpace::kAccount, "acc_1", "changed");
  v.reclaim();
  EXPECT_EQ(v.bytes(), settled);
}

TEST(MemoryView, LoadingStopsAtTheBudget) {
  MemoryView v(64 * 1024);
  int loaded = 0;
  while (v.load(KeySpace::kLicense, store::digest_key(core::sha256(std::to_string(loaded))),
                std::string(200, 'x'))) {
    ++loaded;
    ASSERT_LT(loaded, 100000);
  }
  EXPECT_GT(loaded, 50);
  EXPECT_LE(v.bytes(), 64u * 1024);
  EXPECT_EQ(v.entries(KeySpace::kLicense), static_cast<std::size_t>(loaded));
}

TEST(MemoryView, AStoreOverTheBudgetIsRefusedAtOpenWithTheReason) {
  test::TempDir dir;
  {
    auto store = RecordStore::open({dir.path("db")}).value();
    std::vector<core::ChangeEvent> events;
    for (int i = 0; i < 2000; ++i) events.push_back(test::event(test::license(std::to_string(i))));
    ASSERT_TRUE(store->apply(events, 1));
  }
  RecordStoreOptions options{dir.path("db")};
  options.memory_view = true;
  options.memory_budget_bytes = 100 * 1024;
  auto refused = RecordStore::open(options);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("do not fit the memory budget"), std::string::npos)
      << refused.error().message;
  options.memory_budget_bytes = 64u << 20;
  auto opened = RecordStore::open(options);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ((*opened)->memory_view()->entries(KeySpace::kLicense), 2000u);
  EXPECT_TRUE((*opened)->license(core::sha256("1999")).value());
}

// Version v of the license has every field derived from v; a reader checks each record it gets
// is one whole version, while a writer applies version after version.
core::LicenseRecord version_of(int v) {
  auto l = test::license("RACE");
  l.version = static_cast<std::uint64_t>(v);
  l.max_activations = static_cast<std::uint32_t>(v);
  l.email = "v" + std::to_string(v) + "@example.com";
  l.metadata_json = R"({"v":)" + std::to_string(v) + "}";
  l.allowed_domains.assign(static_cast<std::size_t>(v % 5), "d" + std::to_string(v));
  l.discord_tag = std::string(static_cast<std::size_t>(v % 300), 'x');
  return l;
}

bool whole(const core::LicenseRecord& l) {
  const auto v = static_cast<int>(l.max_activations);
  const auto want = version_of(v);
  return l.email == want.email && l.metadata_json == want.metadata_json &&
         l.allowed_domains == want.allowed_domains && l.discord_tag == want.discord_tag;
}

TEST(MemoryView, ReadersRacingAWriterSeeOnlyWholeRecordsAndNeverGoBack) {
  test::TempDir dir;
  RecordStoreOptions options{dir.path("db")};
  options.memory_view = true;
  options.wal = false;
  auto store = RecordStore::open(options).value();
  ASSERT_TRUE(store->apply(std::vector{test::event(version_of(1))}, 1));
  constexpr int kVersions = 3000;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, went_back{0}, reads{0};
  auto reader = [&] {
    core::LicenseRecord l;
    int last = 0;
    while (!done.load()) {
      auto found = store->license_into(core::sha256("RACE"), l);
      if (!found || !*found) {
        torn.fetch_add(1);
        continue;
      }
      if (!whole(l)) torn.fetch_add(1);
      if (static_cast<int>(l.max_activations) < last) went_back.fetch_add(1);
      last = static_cast<int>(l.max_activations);
      reads.fetch_add(1);
    }
  };
  std::thread r1(reader), r2(reader);
  for (int v = 2; v <= kVersions; ++v) {
    ASSERT_TRUE(
        store->apply(std::vector{test::event(version_of(v))}, static_cast<std::uint64_t>(v)));
  }
  // Readers see the last version once the writer is done.
  while (reads.load() < 1000 && torn.load() == 0) std::this_thread::yield();
  done.store(true);
  r1.join();
  r2.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(went_back.load(), 0);
  EXPECT_EQ(store->license(core::sha256("RACE")).value()->max_activations,
            static_cast<std::uint32_t>(kVersions));
}

}  // namespace
}  // namespace le::store

namespace le::store {
namespace {

// Keys of one account share their first bytes (blacklist entries: account id, kind, value):
// they must not share a probe chain.
TEST(MemoryView, KeysSharingALongPrefixSpreadOverTheTable) {
  MemoryView v;
  for (int i = 0; i < 20000; ++i) {
    std::string key;
    store::blacklist_key(key, "acc_with_a_long_account_identifier", core::BlacklistKind::kIp,
                         "2001:db8::" + std::to_string(i));
    v.put(KeySpace::kBlacklist, key, "entry");
  }
  EXPECT_EQ(v.entries(KeySpace::kBlacklist), 20000u);
  EXPECT_LT(v.longest_probe(KeySpace::kBlacklist), 64u);
  std::string key;
  store::blacklist_key(key, "acc_with_a_long_account_identifier", core::BlacklistKind::kIp,
                       "2001:db8::19999");
  EXPECT_EQ(read(v, KeySpace::kBlacklist, key), "entry");
}

}  // namespace
}  // namespace le::store
