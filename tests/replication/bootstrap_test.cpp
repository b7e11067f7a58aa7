// Integration: snapshots of the primary's records in the JetStream Object Store, and edges that
// start from them, with a real nats-server, primary and edges.
//   - The Object Store protocol: objects of several chunks stored, listed, read back whole,
//     replaced and deleted; a description that does not match its chunks is an error.
//   - An empty edge ingests the newest snapshot, then follows the stream after it (the events
//     it applies are the changes made after the snapshot, not the whole stream), and its
//     replica equals the primary's.
//   - A snapshot that is not whole (garbage, a bad manifest, cut short, a digest that does not
//     match, no manifest line) is never ingested: the edge counts the failure and comes up
//     from the stream alone, equal to the primary.
//   - The self-check: an edge whose replica was changed behind its back (a record rewritten, a
//     range of keys deleted) finds the key ranges that differ from the primary's digests and
//     repairs itself from the newest snapshot, serving all along.
//   - A WAL-less replica flushed by time: killed, then started with NATS down, it serves what
//     it had applied. One whose files fail their checksums is moved aside and built again.
//   - An edge killed (SIGKILL) at any moment of its start — download, ingestion, the catch-up
//     after it — converges to the primary's digest when started again.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/codec.h"
#include "core/signing.h"
#include "replication/object_store.h"
#include "replication/snapshot.h"
#include "support/cluster.h"

namespace le::test {
namespace {

using namespace std::chrono_literals;
using replication::ObjectStore;

std::unique_ptr<nats::JetStream> connect(const std::string& url) {
  nats::NatsOptions o;
  o.url = url;
  std::string error;
  auto js = nats::JetStream::connect(o, error);
  if (!js) throw std::runtime_error(error);
  return js;
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// A Reader over a string, handing it over in pieces of at most `step` bytes.
ObjectStore::Reader reader_of(const std::string& bytes, std::size_t step = 50'000) {
  auto at = std::make_shared<std::size_t>(0);
  return [&bytes, at, step](char* buf, std::size_t cap) -> std::optional<std::size_t> {
    const std::size_t n = std::min({cap, step, bytes.size() - *at});
    std::memcpy(buf, bytes.data() + *at, n);
    *at += n;
    return n;
  };
}

std::optional<std::string> read_object(ObjectStore& store, const std::string& name,
                                       std::string& error) {
  std::string out;
  error = store.get(name, [&](std::string_view b) {
    out.append(b);
    return true;
  });
  if (!error.empty()) return std::nullopt;
  return out;
}

// A bucket "test-bucket" on a nats-server of its own.
class ObjectStoreProtocol : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.start_nats();
    js_ = connect(cluster_.nats_url());
    store_ = std::make_unique<ObjectStore>(*js_, "test-bucket");
    ASSERT_EQ(store_->ensure(), "");
  }
  Cluster cluster_;
  std::unique_ptr<nats::JetStream> js_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(ObjectStoreProtocol, ObjectsAreStoredListedReadReplacedAndDeleted) {
  auto& js = js_;
  auto& store = *store_;
  ASSERT_EQ(store.ensure(), "");  // exists: nothing to do

  const std::string big = random_bytes(3 * replication::kObjectChunkBytes + 17, 1);
  const std::string exact = random_bytes(replication::kObjectChunkBytes, 2);
  ASSERT_EQ(store.put("big", reader_of(big)), "");
  ASSERT_EQ(store.put("exact", reader_of(exact)), "");
  ASSERT_EQ(store.put("empty", reader_of(std::string())), "");
  std::string error;
  auto names = store.list(error);
  ASSERT_TRUE(names) << error;
  EXPECT_EQ(*names, (std::vector<std::string>{"big", "empty", "exact"}));
  auto info = store.info("big", error);
  ASSERT_TRUE(info) << error;
  EXPECT_EQ(info->size, big.size());
  EXPECT_EQ(info->chunks, 4u);
  EXPECT_TRUE(info->digest.starts_with("SHA-256=")) << info->digest;
  EXPECT_EQ(read_object(store, "big", error), big) << error;
  EXPECT_EQ(read_object(store, "exact", error), exact) << error;
  EXPECT_EQ(read_object(store, "empty", error), std::string()) << error;

  // Replaced: the new bytes are read, and the old chunks are gone from the stream.
  const std::string smaller = random_bytes(1000, 3);
  ASSERT_EQ(store.put("big", reader_of(smaller)), "");
  EXPECT_EQ(read_object(store, "big", error), smaller) << error;
  jsStreamInfo* si = nullptr;
  ASSERT_EQ(js_GetStreamInfo(&si, js->context(), store.stream().c_str(), nullptr, nullptr),
            NATS_OK);
  // Chunks: 1 ("exact") + 1 (the new "big"); descriptions: 3.
  EXPECT_EQ(si->State.Msgs, 5u);
  jsStreamInfo_Destroy(si);

  ASSERT_EQ(store.remove("big"), "");
  names = store.list(error);
  ASSERT_TRUE(names) << error;
  EXPECT_EQ(*names, (std::vector<std::string>{"empty", "exact"}));
  EXPECT_FALSE(read_object(store, "big", error));
  EXPECT_NE(error.find("not found"), std::string::npos) << error;

  // A reader that fails stores nothing.
  EXPECT_NE(store.put("broken", [](char*, std::size_t) { return std::optional<std::size_t>(); }),
            "");
  EXPECT_FALSE(store.info("broken", error));
}

TEST_F(ObjectStoreProtocol, ADescriptionThatDoesNotMatchItsChunksIsAnError) {
  auto& js = js_;
  auto& store = *store_;
  const std::string bytes = random_bytes(200'000, 4);
  ASSERT_EQ(store.put("x", reader_of(bytes)), "");
  std::string error;
  auto info = store.info("x", error);
  ASSERT_TRUE(info) << error;
  // The first chunk gone and another of its size after the last: two chunks, as many bytes
  // as described, but not the object's.
  const std::string other = random_bytes(replication::kObjectChunkBytes, 5);
  ASSERT_EQ(js_Publish(nullptr, js->context(), ("$O.test-bucket.C." + info->nuid).c_str(),
                       other.data(), static_cast<int>(other.size()), nullptr, nullptr),
            NATS_OK);
  jsOptions o;
  jsOptions_Init(&o);
  ASSERT_EQ(js_DeleteMsg(js->context(), store.stream().c_str(), 1, &o, nullptr), NATS_OK);
  EXPECT_FALSE(read_object(store, "x", error));
  EXPECT_NE(error.find("digest mismatch"), std::string::npos) << error;
}

class Bootstrap : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.start_nats();
    cluster_.start_primary(primary_args());
    cluster_.bootstrap();
  }
  virtual std::vector<std::string> primary_args() { return {"--snapshot-interval-s", "0"}; }
  unsigned short primary_admin() { return cluster_.primary().admin_port(); }
  void wait_published() {
    ASSERT_TRUE(eventually(
        [&] { return scrape(primary_admin(), "le_primary_unpublished_events") == 0; }, 30s));
  }
  // Asks for a snapshot and waits until it is written.
  void snapshot() {
    wait_published();
    const double before = scrape(primary_admin(), "le_primary_snapshots_total");
    auto r = cluster_.admin(http::verb::post, "/admin/v1/snapshots");
    ASSERT_EQ(r.status, 202) << r.body;
    ASSERT_TRUE(eventually(
        [&] { return scrape(primary_admin(), "le_primary_snapshots_total") == before + 1; }, 30s))
        << log_tail(cluster_.dir().path("primary.log"));
  }
  // Waits until the edge is ready and has applied everything published.
  void converge(EdgeProcess& edge) {
    wait_published();
    const auto published = scrape(primary_admin(), "le_primary_published_seq");
    ASSERT_GT(published, 0);
    ASSERT_TRUE(eventually(
        [&] {
          return Cluster::edge_ready(edge.port()) &&
                 scrape(edge.admin_port(), "le_replication_lag_events") == 0 &&
                 scrape(edge.admin_port(), "le_replication_applied_seq") >=
                     scrape(edge.admin_port(), "le_replication_stream_seq");
        },
        60s))
        << edge.log_tail() << "\n"
        << edge.stacks();
  }
  Cluster cluster_;
};

TEST_F(Bootstrap, AnEmptyEdgeStartsFromTheNewestSnapshotThenFollowsTheStream) {
  cluster_.create_licenses(3000);
  const auto early = cluster_.create_license();
  snapshot();
  // Changes after the snapshot: the edge gets them from the stream.
  const auto later = cluster_.create_license();
  ASSERT_EQ(cluster_.api(http::verb::post, "/api/v1/licenses/" + early.id + "/suspend").status,
            200);

  auto edge = cluster_.start_edge("edge");
  converge(*edge);
  EXPECT_EQ(scrape(edge->admin_port(), "le_replication_bootstraps_total"), 1);
  EXPECT_EQ(scrape(edge->admin_port(), "le_replication_bootstrap_failures_total"), 0);
  // Only what changed after the snapshot came from the stream.
  EXPECT_LE(scrape(edge->admin_port(), "le_replication_events_applied_total"), 10);
  EXPECT_EQ(Cluster::validate(edge->port(), later.key), "VALID");
  EXPECT_EQ(Cluster::validate(edge->port(), early.key), "SUSPENDED");
  ASSERT_EQ(edge->terminate(), 0);
  EXPECT_EQ(cluster_.edge_digest("edge"), cluster_.primary_digest());
  // The scratch directory is gone.
  EXPECT_FALSE(std::filesystem::exists(cluster_.dir().path("edge") + "/snapshot.tmp"));

  // Three snapshots are kept.
  for (int i = 0; i < 3; ++i) {
    cluster_.create_license();
    snapshot();
  }
  auto js = connect(cluster_.nats_url());
  ObjectStore store(*js, replication::kSnapshotBucket);
  std::string error;
  auto names = store.list(error);
  ASSERT_TRUE(names) << error;
  EXPECT_EQ(names->size(), 3u);
}

TEST_F(Bootstrap, ASnapshotThatIsNotWholeIsNeverIngested) {
  cluster_.create_licenses(500);
  wait_published();
  auto js = connect(cluster_.nats_url());
  std::string error;
  const std::uint64_t seq = js->last_seq(error).value_or(0);
  ASSERT_GT(seq, 500u) << error;
  const std::int64_t created = js->created(error).value_or(0);
  ASSERT_GT(created, 0) << error;
  ObjectStore store(*js, replication::kSnapshotBucket);
  ASSERT_EQ(store.ensure(), "");
  const std::string garbage = random_bytes(300'000, 7);
  const std::string no_newline = "LESNAP1\n" + std::string(70'000, '{');
  const std::string bad_space =
      "LESNAP1\n{\"seq\":" + std::to_string(seq) + ",\"files\":[{\"space\":9,\"bytes\":4}]}\nabcd";
  const std::string cut_short = "LESNAP1\n{\"seq\":" + std::to_string(seq) +
                                ",\"files\":[{\"space\":4,\"bytes\":100000}]}\n" +
                                std::string(1000, 'x');
  const std::string wrong_seq = "LESNAP1\n{\"seq\":1,\"files\":[{\"space\":4,\"bytes\":4}]}\nabcd";
  const std::string not_sst = "LESNAP1\n{\"seq\":" + std::to_string(seq) +
                              ",\"created\":" + std::to_string(created) +
                              ",\"files\":[{\"space\":4,\"bytes\":4}]}\nabcd";
  int n = 0;
  for (const std::string* bytes :
       {&garbage, &no_newline, &bad_space, &cut_short, &wrong_seq, &not_sst}) {
    SCOPED_TRACE(n);
    ASSERT_EQ(store.put(replication::snapshot_name(created, seq), reader_of(*bytes)), "");
    const std::string name = "edge-" + std::to_string(n++);
    auto edge = cluster_.start_edge(name);
    converge(*edge);
    EXPECT_EQ(scrape(edge->admin_port(), "le_replication_bootstraps_total"), 0);
    EXPECT_EQ(scrape(edge->admin_port(), "le_replication_bootstrap_failures_total"), 1)
        << log_tail(cluster_.dir().path(name + ".log"));
    ASSERT_EQ(edge->terminate(), 0);
    EXPECT_EQ(cluster_.edge_digest(name), cluster_.primary_digest());
  }
  // A description whose digest does not match its bytes.
  cluster_.create_license();
  snapshot();
  auto names = store.list(error);
  ASSERT_TRUE(names && !names->empty()) << error;
  auto info = store.info(names->back(), error);
  ASSERT_TRUE(info) << error;
  const std::string forged =
      "{\"name\":\"" + info->name + "\",\"nuid\":\"" + info->nuid +
      "\",\"size\":" + std::to_string(info->size) + ",\"chunks\":" + std::to_string(info->chunks) +
      ",\"digest\":\"SHA-256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}";
  natsMsg* msg = nullptr;
  std::string encoded = core::base64url(info->name);
  while (encoded.size() % 4 != 0) encoded.push_back('=');
  const std::string subject = "$O." + std::string(replication::kSnapshotBucket) + ".M." + encoded;
  ASSERT_EQ(natsMsg_Create(&msg, subject.c_str(), nullptr, forged.data(),
                           static_cast<int>(forged.size())),
            NATS_OK);
  ASSERT_EQ(js_PublishMsg(nullptr, js->context(), msg, nullptr, nullptr), NATS_OK);
  natsMsg_Destroy(msg);
  auto forged_info = store.info(info->name, error);
  ASSERT_TRUE(forged_info) << error;
  ASSERT_TRUE(forged_info->digest.starts_with("SHA-256=AAAA"));
  auto edge = cluster_.start_edge("edge-forged");
  converge(*edge);
  EXPECT_EQ(scrape(edge->admin_port(), "le_replication_bootstraps_total"), 0);
  EXPECT_EQ(scrape(edge->admin_port(), "le_replication_bootstrap_failures_total"), 1);
  ASSERT_EQ(edge->terminate(), 0);
  EXPECT_EQ(cluster_.edge_digest("edge-forged"), cluster_.primary_digest());
}

TEST_F(Bootstrap, AnEdgeKilledAnywhereInItsStartConverges) {
  cluster_.create_licenses(20000);
  snapshot();
  cluster_.create_licenses(20000);  // a catch-up after the snapshot that takes a while
  wait_published();
  // Killed at spread moments of its start: the download, the ingestion, the catch-up.
  for (const auto delay : {0ms, 25ms, 50ms, 100ms, 150ms, 250ms, 400ms}) {
    auto edge = cluster_.start_edge("edge");
    std::this_thread::sleep_for(delay);
    edge->kill9();
  }
  // Killed right after the ingestion, during the catch-up.
  {
    auto edge = cluster_.start_edge("edge-b");
    ASSERT_TRUE(eventually(
        [&] {
          return log_tail(cluster_.dir().path("edge-b.log"), 100000).find("ingested a snapshot") !=
                 std::string::npos;
        },
        30s));
    edge->kill9();
  }
  for (const std::string name : {"edge", "edge-b"}) {
    auto edge = cluster_.start_edge(name);
    converge(*edge);
    ASSERT_EQ(edge->terminate(), 0);
    EXPECT_EQ(cluster_.edge_digest(name), cluster_.primary_digest()) << name;
  }
}

// Changes an edge's replica behind its back (the edge stopped): one license record rewritten
// with other contents under the same version, and a range of license keys deleted.
void corrupt_replica(const std::string& path) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* licenses = nullptr;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "licenses") licenses = handles[i];
  }
  ASSERT_NE(licenses, nullptr);
  std::vector<std::pair<std::string, std::string>> first;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), licenses));
    for (it->SeekToFirst(); it->Valid() && first.size() < 100; it->Next()) {
      first.emplace_back(it->key().ToString(), it->value().ToString());
    }
  }
  ASSERT_EQ(first.size(), 100u);
  core::LicenseRecord l;
  core::StoredHeader h;
  ASSERT_TRUE(core::decode_record(first[0].second, l, h));
  l.max_activations += 5;  // same version, other contents
  ASSERT_TRUE(
      db->Put(rocksdb::WriteOptions(), licenses, first[0].first, core::encode_record(l, false))
          .ok());
  ASSERT_TRUE(
      db->DeleteRange(rocksdb::WriteOptions(), licenses, first[10].first, first[60].first).ok());
  for (auto* handle : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
  ASSERT_TRUE(db->Close().ok());
}

class SelfCheck : public Bootstrap {
 protected:
  std::vector<std::string> primary_args() override {
    return {"--snapshot-interval-s", "0", "--check-interval-s", "1"};
  }
};

TEST_F(SelfCheck, AReplicaChangedBehindItsBackIsFoundAndRepairedWhileServing) {
  cluster_.create_licenses(2000);
  snapshot();
  auto edge = cluster_.start_edge("edge");
  converge(*edge);
  // A replica that matches passes its checks.
  ASSERT_TRUE(eventually(
      [&] { return scrape(edge->admin_port(), "le_replication_checks_total") >= 2; }, 20s));
  EXPECT_EQ(scrape(edge->admin_port(), "le_replication_divergences_total"), 0);
  ASSERT_EQ(edge->terminate(), 0);
  const std::string primary = cluster_.primary_digest();
  ASSERT_EQ(cluster_.edge_digest("edge"), primary);

  corrupt_replica(cluster_.dir().path("edge"));
  if (HasFatalFailure()) return;
  ASSERT_NE(cluster_.edge_digest("edge"), primary);

  edge = cluster_.start_edge("edge");
  // Ready once it has caught up (the corruption is not known yet), and ready from then on.
  ASSERT_TRUE(eventually([&] { return Cluster::edge_ready(edge->port()); }, 20s));
  bool stayed_ready = true;
  ASSERT_TRUE(eventually(
      [&] {
        stayed_ready = stayed_ready && Cluster::edge_ready(edge->port());
        return scrape(edge->admin_port(), "le_replication_repairs_total") >= 1;
      },
      30s))
      << log_tail(cluster_.dir().path("edge.log"));
  EXPECT_TRUE(stayed_ready);
  EXPECT_GE(scrape(edge->admin_port(), "le_replication_divergences_total"), 1);
  EXPECT_GE(scrape(edge->admin_port(), "le_replication_divergent_ranges_total"), 2);
  converge(*edge);
  // Repaired: the checks after it pass.
  const double checks = scrape(edge->admin_port(), "le_replication_checks_total");
  ASSERT_TRUE(eventually(
      [&] { return scrape(edge->admin_port(), "le_replication_checks_total") >= checks + 2; },
      20s));
  EXPECT_EQ(scrape(edge->admin_port(), "le_replication_repairs_total"), 1);
  ASSERT_EQ(edge->terminate(), 0);
  EXPECT_EQ(cluster_.edge_digest("edge"), cluster_.primary_digest());
}

TEST_F(Bootstrap, AnEdgeKilledWithoutAWalResumesFromItsLastFlushEvenWithNatsDown) {
  cluster_.create_licenses(3000);
  const auto last = cluster_.create_license();
  // From the stream alone: every change goes through the memtables of a WAL-less replica.
  auto edge = cluster_.start_edge("edge", {"--no-snapshot-bootstrap", "--flush-ms", "300"});
  converge(*edge);
  ASSERT_TRUE(eventually(
      [&] { return scrape(edge->admin_port(), "le_replication_unflushed_messages") == 0; }, 10s));
  EXPECT_GE(scrape(edge->admin_port(), "le_replication_flushes_total"), 1);
  const double applied = scrape(edge->admin_port(), "le_replication_applied_seq");
  ASSERT_GT(applied, 3000);
  edge->kill9();
  cluster_.stop_nats();
  edge = cluster_.start_edge("edge", {"--no-snapshot-bootstrap"});
  EXPECT_EQ(scrape(edge->admin_port(), "le_replication_applied_seq"), applied);
  EXPECT_EQ(Cluster::validate(edge->port(), last.key), "VALID");
}

TEST_F(Bootstrap, AReplicaThatFailsItsChecksumsIsMovedAsideAndBuiltAgain) {
  cluster_.create_licenses(5000);
  snapshot();
  auto edge = cluster_.start_edge("edge");
  converge(*edge);
  ASSERT_EQ(edge->terminate(), 0);
  // Bytes in the middle of the largest table file changed, as a failing disk would.
  std::filesystem::path largest;
  std::uintmax_t size = 0;
  for (const auto& f : std::filesystem::directory_iterator(cluster_.dir().path("edge"))) {
    if (f.path().extension() == ".sst" && f.file_size() > size) {
      size = f.file_size();
      largest = f.path();
    }
  }
  ASSERT_GT(size, 10000u);
  {
    std::fstream f(largest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 3));
    const std::string junk(64, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  edge = cluster_.start_edge("edge");
  converge(*edge);
  EXPECT_EQ(scrape(edge->admin_port(), "le_edge_replica_corruptions_total"), 1);
  EXPECT_EQ(scrape(edge->admin_port(), "le_replication_bootstraps_total"), 1);
  ASSERT_EQ(edge->terminate(), 0);
  EXPECT_EQ(cluster_.edge_digest("edge"), cluster_.primary_digest());
  // The corrupt copy is kept, for a look.
  EXPECT_TRUE(std::filesystem::exists(cluster_.dir().path("edge") + ".corrupt/CURRENT"));
}

}  // namespace
}  // namespace le::test
