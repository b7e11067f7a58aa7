// The primary's store: a change, its index entries and its outbox row commit together, and a
// refused or abandoned change (also a management request refused half-way) leaves no trace in
// any column family nor in the sequence counters; the outbox reads back every key space exactly
// as written; a replica written without a WAL stays consistent across reopen.
#include "primary/primary_store.h"

#include <gtest/gtest.h>

#include <tuple>

#include "core/clock.h"
#include "core/digest.h"
#include "net/http.h"
#include "primary/management_api.h"
#include "support/fixtures.h"

namespace le::primary {
namespace {

using store::KeySpace;

core::ChangeEvent change(std::string type, auto record) {
  core::ChangeEvent ev;
  ev.type = std::move(type);
  ev.record = std::move(record);
  return ev;
}

TEST(PrimaryStore, OutboxRowsOfEveryKeySpaceReadBackAsWritten) {
  test::TempDir dir;
  auto store = PrimaryStore::open(dir.path("db")).value();
  {
    auto tx = store->begin();
    tx.put(change("account.created", test::account()));
    tx.put(change("api_key.created", test::api_key("to_live_k")));
    tx.put(change("product.created", test::product()));
    tx.put(change("license.created", test::license("KEY")));
    tx.put(
        change("blacklist.created", test::blacklist("bl_1", core::BlacklistKind::kIp, "1.2.3.4")));
    ASSERT_TRUE(tx.commit());
  }
  auto rows = store->outbox_after(0, 100).value();
  ASSERT_EQ(rows.size(), 5u);
  const KeySpace spaces[] = {KeySpace::kAccount, KeySpace::kApiKey, KeySpace::kProduct,
                             KeySpace::kLicense, KeySpace::kBlacklist};
  const char* types[] = {"account.created", "api_key.created", "product.created", "license.created",
                         "blacklist.created"};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].seq, i + 1);
    EXPECT_EQ(rows[i].space, spaces[i]);
    EXPECT_EQ(rows[i].type, types[i]);
    auto ev = store->records().stored_event(rows[i].space, rows[i].key).value();
    ASSERT_TRUE(ev) << types[i];
    EXPECT_EQ(ev->version(), 1u);
  }
  EXPECT_EQ(store->outbox_seq(), 5u);
  // Acknowledged rows are kept (retained) with the cursor recorded, until pruned; the sequence
  // and the cursor survive a reopen.
  EXPECT_EQ(store->published().value().through, 0u);
  ASSERT_TRUE(store->ack_outbox(3, 77));
  EXPECT_EQ(store->outbox_after(0, 100).value().size(), 5u);
  ASSERT_TRUE(store->prune_outbox(1, 3));
  EXPECT_EQ(store->outbox_after(0, 100).value().size(), 2u);
  store.reset();
  store = PrimaryStore::open(dir.path("db")).value();
  EXPECT_EQ(store->outbox_seq(), 5u);
  EXPECT_EQ(store->outbox_after(0, 100).value().front().seq, 4u);
  EXPECT_EQ(store->published().value().through, 3u);
  EXPECT_EQ(store->published().value().stream_seq, 77u);
}

// Everything the primary's database holds: every record key space (with tombstones), the
// replica's own meta (applied_seq) and every one of the primary's column families (outbox, meta
// seqs, indexes, activation changes, events), as text.
std::string everything(const PrimaryStore& store) {
  std::string out = "applied_seq " + std::to_string(store.records().applied_seq().value()) + "\n";
  auto add = [&out](std::string_view k, std::string_view v) {
    out.append(k).append("=").append(v).append("\n");
    return true;
  };
  for (auto space : {KeySpace::kAccount, KeySpace::kApiKey, KeySpace::kProduct,
                     KeySpace::kProductName, KeySpace::kLicense, KeySpace::kBlacklist}) {
    out.append("space ").append(std::to_string(static_cast<int>(space))).append("\n");
    EXPECT_TRUE(store.records().scan(space, add));
  }
  for (std::size_t cf = 0; cf < primary_column_families().size(); ++cf) {
    out.append("cf ").append(primary_column_families()[cf]).append("\n");
    EXPECT_TRUE(store.records().scan_extra(cf, "", "", add));
  }
  return out;
}

// Commits account v3 and a license, so every column family the test looks at holds something.
void seed(PrimaryStore& store, core::AccountRecord& account) {
  account.version = 3;
  auto tx = store.begin();
  tx.put(change("account.created", account));
  tx.put(change("license.created", test::license("KEY")));
  const core::Digest digest = core::sha256("KEY");
  tx.index(Cf::kLicenseIds, "lic_1",
           std::string(reinterpret_cast<const char*>(digest.data()), digest.size()));
  tx.record_event("acc_1", core::Mode::kLive,
                  [](std::uint64_t seq) { return "{\"n\":" + std::to_string(seq) + "}"; });
  ASSERT_TRUE(tx.commit());
}

TEST(PrimaryStore, AStaleChangeCommitsNothing) {
  test::TempDir dir;
  auto store = PrimaryStore::open(dir.path("db")).value();
  auto account = test::account();
  seed(*store, account);
  const std::string before = everything(*store);
  const auto outbox_seq = store->outbox_seq();
  {
    auto tx = store->begin();
    // A good change first, then one that is not newer than the stored record: the commit must
    // take neither, nor their outbox rows, index entries, webhook event or sequence numbers.
    tx.put(change("product.created", test::product()));
    account.version = 2;
    tx.put(change("account.updated", account));
    tx.index(Cf::kLicenseIds, "lic_x", std::string(32, 'x'));
    tx.index(Cf::kLicenseIds, "lic_1", std::nullopt);
    tx.record_event("acc_1", core::Mode::kLive, [](std::uint64_t) { return std::string("{}"); });
    EXPECT_FALSE(tx.commit());
  }
  EXPECT_EQ(everything(*store), before);
  EXPECT_EQ(store->outbox_seq(), outbox_seq);
  EXPECT_TRUE(store->license_by_id("lic_1").value());
  // The next change takes the next sequence numbers: no gap where the refused one was.
  {
    auto tx = store->begin();
    EXPECT_EQ(tx.put(change("product.created", test::product())), outbox_seq + 1);
    EXPECT_EQ(tx.record_event("acc_1", core::Mode::kLive,
                              [](std::uint64_t) { return std::string("{}"); }),
              2u);
    ASSERT_TRUE(tx.commit());
  }
  EXPECT_EQ(store->outbox_after(0, 100).value().back().seq, outbox_seq + 1);
}

TEST(PrimaryStore, ATransactionDroppedUncommittedLeavesNothingBehind) {
  test::TempDir dir;
  auto store = PrimaryStore::open(dir.path("db")).value();
  auto account = test::account();
  seed(*store, account);
  const std::string before = everything(*store);
  const auto outbox_seq = store->outbox_seq();
  {
    // As a batch create does when its second item names another account's product: the first
    // item is staged, then the request is refused and the Tx goes out of scope.
    auto tx = store->begin();
    tx.put(change("license.created", test::license("OTHER", "lic_2")));
    tx.index(Cf::kLicenseIds, "lic_2", std::string(32, 'o'));
    tx.record_event("acc_1", core::Mode::kLive, [](std::uint64_t) { return std::string("{}"); });
    // Until a commit the store shows only committed sequence numbers (a publisher starting now
    // must not take the staged one as published).
    EXPECT_EQ(store->outbox_seq(), outbox_seq);
  }
  EXPECT_EQ(everything(*store), before);
  EXPECT_EQ(store->outbox_seq(), outbox_seq);
  {
    auto tx = store->begin();
    EXPECT_EQ(tx.put(change("license.created", test::license("OTHER", "lic_2"))), outbox_seq + 1);
    EXPECT_EQ(tx.record_event("acc_1", core::Mode::kLive,
                              [](std::uint64_t) { return std::string("{}"); }),
              2u);
    ASSERT_TRUE(tx.commit());
  }
  // Reopened, the counters continue from what was committed.
  store.reset();
  store = PrimaryStore::open(dir.path("db")).value();
  EXPECT_EQ(store->outbox_seq(), outbox_seq + 1);
}

// The management API in process: requests dispatched through its router, as the server does.
class InProcessApi {
 public:
  explicit InProcessApi(PrimaryStore& store) : ledger_(store, clock_), api_(ledger_, {}) {
    api_.register_routes(router_);
  }
  std::pair<unsigned, std::string> post(std::string_view path, std::string_view body,
                                        std::string_view api_key) {
    net::http::fields fields;
    fields.set(net::http::field::authorization, "Bearer " + std::string(api_key));
    net::Request req;
    req.method = net::http::verb::post;
    req.target = path;
    req.path = path;
    req.body = body;
    req.fields = &fields;
    std::string out;
    net::Response res(out);
    EXPECT_GE(router_.dispatch(req, res), 0) << path;
    return {res.status, out};
  }

 private:
  core::ManualClock clock_{test::kNow * 1000};
  Ledger ledger_;
  ManagementApi api_;
  net::Router router_;
};

TEST(PrimaryStore, ABatchCreateRefusedAtItsSecondItemLeavesNothingAndNoSequenceGap) {
  test::TempDir dir;
  auto store = PrimaryStore::open(dir.path("db")).value();
  {
    auto tx = store->begin();
    tx.put(change("account.created", test::account()));
    tx.put(change("account.created", test::account("acc_2")));
    tx.put(change("api_key.created", test::api_key("to_live_acme")));
    tx.put(change("product.created", test::product()));
    tx.put(change("product.created", test::product("prod_2", "Theirs", "acc_2")));
    ASSERT_TRUE(tx.commit());
  }
  InProcessApi api(*store);
  const std::string before = everything(*store);
  const auto outbox_seq = store->outbox_seq();
  // The first item is staged, the second names another account's product: 404, nothing created.
  auto [status, body] = api.post("/api/v1/licenses/batch",
                                 R"({"licenses":[{"product_id":"prod_1","type":"perpetual"},)"
                                 R"({"product_id":"prod_2","type":"perpetual"}]})",
                                 "to_live_acme");
  EXPECT_EQ(status, 404u) << body;
  EXPECT_EQ(everything(*store), before);
  EXPECT_EQ(store->outbox_seq(), outbox_seq);
  // The next change takes the next outbox seq, and the outbox runs 1..n without a hole.
  std::tie(status, body) =
      api.post("/api/v1/licenses", R"({"product_id":"prod_1","type":"perpetual"})", "to_live_acme");
  ASSERT_EQ(status, 201u) << body;
  EXPECT_EQ(store->outbox_seq(), outbox_seq + 1);
  const auto rows = store->outbox_after(0, 100).value();
  ASSERT_EQ(rows.size(), outbox_seq + 1);
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].seq, i + 1);
  EXPECT_EQ(rows.back().type, "license.created");
}

TEST(PrimaryStore, ReplicaWithoutWalReopensConsistent) {
  test::TempDir dir;
  store::RecordStoreOptions options{dir.path("edge")};
  options.wal = false;
  core::Digest digest;
  {
    auto replica = store::RecordStore::open(options).value();
    std::vector<core::ChangeEvent> events;
    for (int i = 0; i < 100; ++i)
      events.push_back(test::event(test::license("K" + std::to_string(i))));
    ASSERT_TRUE(replica->apply(events, 100));
    digest = replica->content_digest(true).value();
  }  // a clean close flushes the memtables
  auto replica = store::RecordStore::open(options).value();
  EXPECT_EQ(replica->applied_seq().value(), 100u);
  EXPECT_EQ(replica->content_digest(true).value(), digest);
}

}  // namespace
}  // namespace le::primary
