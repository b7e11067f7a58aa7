#include "store/record_store.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/digest.h"
#include "store/loader.h"
#include "support/fixtures.h"

namespace le::store {
namespace {

using core::ChangeEvent;

// Every test runs with lookups from RocksDB and from the in-memory view: the same answers.
class ReplicaTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { open(); }
  void open() {
    replica_.reset();
    RecordStoreOptions options{dir_.path("db")};
    options.memory_view = GetParam();
    auto r = RecordStore::open(options);
    ASSERT_TRUE(r) << r.error().message;
    replica_ = std::move(*r);
  }
  ApplyResult apply(std::vector<ChangeEvent> events, std::uint64_t seq) {
    auto r = replica_->apply(events, seq);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : ApplyResult{};
  }

  test::TempDir dir_;
  std::unique_ptr<RecordStore> replica_;
};

TEST_P(ReplicaTest, AppliedRecordsAreFoundByDigestOrId) {
  apply({test::event(test::account()), test::event(test::api_key("to_live_k")),
         test::event(test::product()), test::event(test::license("KEY")),
         test::event(test::blacklist("bl_1", core::BlacklistKind::kIp, "1.2.3.4"))},
        5);
  EXPECT_EQ(replica_->applied_seq().value(), 5u);
  EXPECT_EQ(replica_->account("acc_1").value()->id, "acc_1");
  EXPECT_EQ(replica_->api_key(core::sha256("to_live_k")).value()->account_id, "acc_1");
  EXPECT_EQ(replica_->license(core::sha256("KEY")).value()->id, "lic_1");
  EXPECT_FALSE(replica_->license(core::sha256("OTHER")).value());
  EXPECT_EQ(replica_->product_by_name("acc_1", "MyProduct").value()->id, "prod_1");
  EXPECT_FALSE(replica_->product_by_name("acc_2", "MyProduct").value());
  EXPECT_EQ(replica_->blacklist("acc_1", core::BlacklistKind::kIp, "1.2.3.4").value()->id, "bl_1");
  EXPECT_FALSE(replica_->blacklist("acc_1", core::BlacklistKind::kHwid, "1.2.3.4").value());
}

TEST_P(ReplicaTest, NoPlaintextSecretIsStored) {
  apply({test::event(test::api_key("to_live_SECRETKEY123")),
         test::event(test::license("LIC-SECRET-9"))},
        2);
  replica_.reset();
  // Scan every file RocksDB wrote for the plaintext.
  for (auto& f : std::filesystem::recursive_directory_iterator(dir_.path("db"))) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(bytes.find("SECRETKEY123"), std::string::npos) << f.path();
    EXPECT_EQ(bytes.find("LIC-SECRET-9"), std::string::npos) << f.path();
  }
}

TEST_P(ReplicaTest, OlderOrEqualVersionsChangeNothing) {
  auto l = test::license("KEY");
  l.version = 5;
  l.status = core::LicenseStatus::kSuspended;
  apply({test::event(l)}, 1);
  auto old = l;
  old.version = 4;
  old.status = core::LicenseStatus::kActive;
  auto same = l;
  same.status = core::LicenseStatus::kRevoked;
  auto r = apply({test::event(old), test::event(same)}, 3);
  EXPECT_EQ(r.applied, 0u);
  EXPECT_EQ(r.stale, 2u);
  EXPECT_EQ(replica_->license(core::sha256("KEY")).value()->status,
            core::LicenseStatus::kSuspended);
  EXPECT_EQ(replica_->applied_seq().value(), 3u);
}

TEST_P(ReplicaTest, TwoVersionsInOneBatchKeepTheNewest) {
  auto v2 = test::license("KEY");
  v2.version = 2;
  v2.max_activations = 2;
  auto v3 = v2;
  v3.version = 3;
  v3.max_activations = 3;
  apply({test::event(v3), test::event(v2)}, 2);
  EXPECT_EQ(replica_->license(core::sha256("KEY")).value()->max_activations, 3u);
}

TEST_P(ReplicaTest, TombstoneDeletesAndBlocksResurrection) {
  apply({test::event(test::license("KEY"))}, 1);
  auto dead = test::license("KEY");
  dead.version = 2;
  apply({test::event(dead, 0, /*deleted=*/true)}, 2);
  EXPECT_FALSE(replica_->license(core::sha256("KEY")).value());
  // A late copy of version 1 does not bring it back.
  apply({test::event(test::license("KEY"))}, 3);
  EXPECT_FALSE(replica_->license(core::sha256("KEY")).value());
}

TEST_P(ReplicaTest, RenamedProductMovesItsNameIndex) {
  apply({test::event(test::product("prod_1", "Old"))}, 1);
  auto renamed = test::product("prod_1", "New");
  renamed.version = 2;
  apply({test::event(renamed)}, 2);
  EXPECT_FALSE(replica_->product_by_name("acc_1", "Old").value());
  EXPECT_EQ(replica_->product_by_name("acc_1", "New").value()->id, "prod_1");
  auto gone = renamed;
  gone.version = 3;
  apply({test::event(gone, 0, true)}, 3);
  EXPECT_FALSE(replica_->product_by_name("acc_1", "New").value());
}

TEST_P(ReplicaTest, StateAndSequenceSurviveReopen) {
  apply({test::event(test::license("KEY"))}, 42);
  auto before = replica_->content_digest(true).value();
  open();
  EXPECT_EQ(replica_->applied_seq().value(), 42u);
  EXPECT_EQ(replica_->content_digest(true).value(), before);
}

TEST_P(ReplicaTest, ContentDigestChangesWithAnyRecord) {
  auto empty = replica_->content_digest().value();
  apply({test::event(test::license("KEY"))}, 1);
  auto one = replica_->content_digest().value();
  EXPECT_NE(empty, one);
  auto l = test::license("KEY");
  l.version = 2;
  l.max_ips = 1;
  apply({test::event(l)}, 2);
  EXPECT_NE(one, replica_->content_digest().value());
}

TEST_P(ReplicaTest, LoaderSkipsUndecodableLinesAndKeepsGoing) {
  std::stringstream in;
  in << core::encode_change_event(test::event(test::account(), 1), true) << "\n"
     << "{not json\n"
     << "\n"
     << R"({"seq":3,"kind":"license","version":1,"data":{"id":"x"}})"
     << "\n"
     << std::string(2 << 20, 'x') << "\n"
     << core::encode_change_event(test::event(test::license("KEY"), 5), true) << "\n";
  auto stats = load_jsonl(*replica_, in);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->applied, 2u);
  EXPECT_EQ(stats->undecodable, 3u);
  EXPECT_EQ(stats->errors.size(), 3u);
  EXPECT_EQ(replica_->applied_seq().value(), 5u);
  EXPECT_TRUE(replica_->license(core::sha256("KEY")).value());
}

TEST_P(ReplicaTest, LoaderResumesAfterAppliedSeq) {
  std::string jsonl = core::encode_change_event(test::event(test::account(), 1), true) + "\n" +
                      core::encode_change_event(test::event(test::license("KEY"), 2), true) + "\n";
  std::stringstream first(jsonl);
  ASSERT_TRUE(load_jsonl(*replica_, first));
  std::stringstream again(jsonl);
  auto stats = load_jsonl(*replica_, again);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->already, 2u);
  EXPECT_EQ(stats->applied, 0u);
}

INSTANTIATE_TEST_SUITE_P(Lookups, ReplicaTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "MemoryView" : "RocksDB"; });

}  // namespace
}  // namespace le::store
