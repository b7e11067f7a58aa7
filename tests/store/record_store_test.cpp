#include "store/record_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "core/digest.h"
#include "store/loader.h"
#include "store/range_check.h"
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

TEST_P(ReplicaTest, ASnapshotReplacesTheRecordsAndSetsAppliedSeqInOneStep) {
  RecordStoreOptions source_options{dir_.path("source")};
  source_options.extra_column_families = {"meta"};
  auto source = RecordStore::open(source_options).value();
  auto l = test::license("KEY");
  l.max_activations = 7;
  ASSERT_TRUE(source->apply(
      {{test::event(test::account()), test::event(test::product()), test::event(l)}}, 10));
  const ExtraWrite stamp{0, "covered", "seq-10"};
  ASSERT_TRUE(source->write_extra({&stamp, 1}));
  auto exported = source->export_snapshot(dir_.path("snap"), 0, "covered");
  ASSERT_TRUE(exported) << exported.error().message;
  EXPECT_EQ(exported->stamp, "seq-10");
  std::vector<KeySpace> spaces;
  for (const auto& f : exported->files) spaces.push_back(f.space);
  EXPECT_EQ(spaces, (std::vector<KeySpace>{KeySpace::kAccount, KeySpace::kProduct,
                                           KeySpace::kProductName, KeySpace::kLicense}));

  // The replica holds a newer version of KEY (from a write reply, say: the stream after the
  // snapshot brings it again) and a key the snapshot lacks (gone at the primary).
  auto newer = test::license("KEY");
  newer.version = 9;
  newer.status = core::LicenseStatus::kRevoked;
  apply({test::event(newer), test::event(test::license("OTHER", "lic_2"))}, 3);

  // A file that is not an SST: refused, nothing changed.
  std::vector<SnapshotFile> bad = exported->files;
  const std::string junk = dir_.path("junk.sst");
  std::ofstream(junk) << "not an sst";
  bad.back().path = junk;
  EXPECT_FALSE(replica_->ingest_snapshot(bad, 10));
  EXPECT_EQ(replica_->applied_seq().value(), 3u);
  EXPECT_FALSE(replica_->account("acc_1").value());

  auto changed = replica_->ingest_snapshot(exported->files, 10);
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_EQ(replica_->applied_seq().value(), 10u);
  for (int reopened = 0; reopened < 2; ++reopened) {
    SCOPED_TRACE(reopened);
    const auto account = replica_->account("acc_1").value();
    ASSERT_TRUE(account);
    EXPECT_EQ(account->id, "acc_1");
    const auto product = replica_->product_by_name("acc_1", "MyProduct").value();
    ASSERT_TRUE(product);
    EXPECT_EQ(product->id, "prod_1");
    const auto key = replica_->license(core::sha256("KEY")).value();
    ASSERT_TRUE(key);
    EXPECT_EQ(key->version, 1u);  // the snapshot's, whatever the versions
    EXPECT_EQ(key->max_activations, 7u);
    EXPECT_EQ(key->status, core::LicenseStatus::kActive);
    EXPECT_FALSE(replica_->license(core::sha256("OTHER")).value());
    open();
  }
}

TEST_P(ReplicaTest, ARepairPutsBackWhatDiffersInItsRangesUnlessNewerHere) {
  auto key_of = [](int i) {
    return std::string(digest_key(core::sha256("K" + std::to_string(i))));
  };
  auto lic = [](int i, std::uint64_t version) {
    auto l = test::license("K" + std::to_string(i), "lic_" + std::to_string(i));
    l.version = version;
    l.max_activations = static_cast<std::uint32_t>(version);
    return test::event(l);
  };
  const std::vector<std::pair<KeySpace, std::size_t>> ranges{
      {KeySpace::kLicense, check_range(key_of(0))},
      {KeySpace::kLicense, check_range(key_of(1))},
      {KeySpace::kLicense, check_range(key_of(2))}};
  // A key outside those ranges.
  int outside = 3;
  while (std::any_of(ranges.begin(), ranges.end(),
                     [&](const auto& r) { return r.second == check_range(key_of(outside)); })) {
    ++outside;
  }
  RecordStoreOptions source_options{dir_.path("source")};
  source_options.extra_column_families = {"meta"};
  auto source = RecordStore::open(source_options).value();
  ASSERT_TRUE(source->apply({{lic(0, 2), lic(1, 1), lic(2, 1), lic(outside, 1)}}, 5));
  auto exported = source->export_snapshot(dir_.path("snap"), 0, "none").value();
  // Here: K0 older, K1 and the outside key missing, K2 newer (a change after the snapshot).
  apply({lic(0, 1), lic(2, 3)}, 9);

  std::vector<TouchedKey> touched;
  auto written = replica_->repair_from_snapshot(exported.files, ranges, touched);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, 2u);
  EXPECT_EQ(touched.size(), 2u);
  for (int reopened = 0; reopened < 2; ++reopened) {
    SCOPED_TRACE(reopened);
    const auto k0 = replica_->license(core::sha256("K0")).value();
    const auto k1 = replica_->license(core::sha256("K1")).value();
    const auto k2 = replica_->license(core::sha256("K2")).value();
    ASSERT_TRUE(k0 && k1 && k2);
    EXPECT_EQ(k0->version, 2u);
    EXPECT_EQ(k1->version, 1u);
    EXPECT_EQ(k2->version, 3u);  // newer here: kept
    EXPECT_FALSE(replica_->license(core::sha256("K" + std::to_string(outside))).value());
    EXPECT_EQ(replica_->applied_seq().value(), 9u);  // no rewind
    open();
  }
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

namespace fs = std::filesystem;

// Every file under `dir` with its size and modification time.
std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> listing(const fs::path& dir) {
  std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[e.path().string()] = {e.file_size(), e.last_write_time()};
  }
  return out;
}

// A replica with some records, flushed to SST files, closed; returns its content digest.
core::Digest make_replica(const std::string& path) {
  auto r = RecordStore::open(RecordStoreOptions{path}).value();
  std::vector<ChangeEvent> events = {test::event(test::account()), test::event(test::product())};
  for (int i = 0; i < 50; ++i) {
    events.push_back(
        test::event(test::license("KEY-" + std::to_string(i), "lic_" + std::to_string(i))));
  }
  EXPECT_TRUE(r->apply(events, 9));
  EXPECT_TRUE(r->compact());
  return r->content_digest().value();
}

// Copies `from` to `to` without the files `skip` says to leave out.
void copy_without(const fs::path& from, const fs::path& to,
                  const std::function<bool(const std::string&)>& skip) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from)) {
    const std::string name = e.path().filename().string();
    if (!skip(name)) fs::copy(e.path(), to / name);
  }
}

// A directory that is not a database is never opened as a new one: that would delete its
// files. Each damaged copy of a good replica is refused — again on a second try, its files
// untouched and no CURRENT left behind; with `rebuild` it is emptied and opened; an intact copy
// opens with the same content.
TEST(DamagedDirectory, IsRefusedWithItsFilesKeptUnlessARebuildIsAsked) {
  test::TempDir dir;
  const core::Digest good = make_replica(dir.path("good"));
  const fs::path root(dir.path(""));
  const std::vector<std::pair<std::string, std::function<bool(const std::string&)>>> damaged = {
      {"no-current-no-logs",
       [](const std::string& n) { return n == "CURRENT" || n.ends_with(".log"); }},
      {"only-sst", [](const std::string& n) { return !n.ends_with(".sst"); }},
      {"no-current", [](const std::string& n) { return n == "CURRENT"; }},
  };
  for (const auto& [name, skip] : damaged) {
    const fs::path copy = root / name;
    copy_without(dir.path("good"), copy, skip);
    const auto before = listing(copy);
    ASSERT_FALSE(before.empty()) << name;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto r = RecordStore::open(RecordStoreOptions{copy.string()});
      ASSERT_FALSE(r) << name;
      EXPECT_NE(r.error().message.find("no database (no CURRENT file)"), std::string::npos)
          << r.error().message;
      EXPECT_EQ(listing(copy), before) << name << ": files changed";
      EXPECT_FALSE(fs::exists(copy / "CURRENT")) << name;
    }
    RecordStoreOptions rebuild{copy.string()};
    rebuild.rebuild = true;
    auto r = RecordStore::open(rebuild);
    ASSERT_TRUE(r) << name << ": " << r.error().message;
    EXPECT_EQ((*r)->applied_seq().value(), 0u) << name;
    EXPECT_FALSE((*r)->license(core::sha256("KEY-1")).value()) << name;
  }
  copy_without(dir.path("good"), root / "intact", [](const std::string&) { return false; });
  auto intact = RecordStore::open(RecordStoreOptions{(root / "intact").string()});
  ASSERT_TRUE(intact) << intact.error().message;
  EXPECT_EQ((*intact)->content_digest().value(), good);
  // A file where the directory should be is refused too.
  std::ofstream((root / "a-file").string()) << "x";
  EXPECT_FALSE(RecordStore::open(RecordStoreOptions{(root / "a-file").string()}));
}

// Read-only (--digest, --dump): a missing database is an error and is not created; an existing
// one is read with nothing in its directory written, not even an info log.
TEST(ReadOnlyOpen, FailsOnAMissingDatabaseAndWritesNothing) {
  test::TempDir dir;
  RecordStoreOptions missing{dir.path("typo")};
  missing.read_only = true;
  EXPECT_FALSE(RecordStore::open(missing));
  EXPECT_FALSE(fs::exists(dir.path("typo")));
  fs::create_directories(dir.path("empty"));
  RecordStoreOptions empty{dir.path("empty")};
  empty.read_only = true;
  EXPECT_FALSE(RecordStore::open(empty));
  EXPECT_TRUE(fs::is_empty(dir.path("empty")));

  const core::Digest good = make_replica(dir.path("db"));
  const auto before = listing(dir.path("db"));
  {
    RecordStoreOptions ro{dir.path("db")};
    ro.read_only = true;
    auto r = RecordStore::open(ro);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ((*r)->content_digest().value(), good);
    EXPECT_EQ((*r)->license(core::sha256("KEY-7")).value()->id, "lic_7");
  }
  EXPECT_EQ(listing(dir.path("db")), before);
}

}  // namespace
}  // namespace le::store
