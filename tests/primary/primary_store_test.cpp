// The primary's store: a change, its index entries and its outbox row commit together; the
// outbox reads back every key space exactly as written; a replica written without a WAL stays
// consistent across reopen.
#include "primary/primary_store.h"

#include <gtest/gtest.h>

#include "core/digest.h"
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
    tx.put(change("blacklist.created", test::blacklist("bl_1", core::BlacklistKind::kIp, "1.2.3.4")));
    ASSERT_TRUE(tx.commit());
  }
  auto rows = store->outbox_after(0, 100).value();
  ASSERT_EQ(rows.size(), 5u);
  const KeySpace spaces[] = {KeySpace::kAccount, KeySpace::kApiKey, KeySpace::kProduct,
                             KeySpace::kLicense, KeySpace::kBlacklist};
  const char* types[] = {"account.created", "api_key.created", "product.created",
                         "license.created", "blacklist.created"};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].seq, i + 1);
    EXPECT_EQ(rows[i].space, spaces[i]);
    EXPECT_EQ(rows[i].type, types[i]);
    auto ev = store->records().stored_event(rows[i].space, rows[i].key).value();
    ASSERT_TRUE(ev) << types[i];
    EXPECT_EQ(ev->version(), 1u);
  }
  EXPECT_EQ(store->outbox_seq(), 5u);
  // Acknowledged rows disappear; the sequence survives a reopen.
  ASSERT_TRUE(store->ack_outbox(1, 3));
  EXPECT_EQ(store->outbox_after(0, 100).value().size(), 2u);
  store.reset();
  store = PrimaryStore::open(dir.path("db")).value();
  EXPECT_EQ(store->outbox_seq(), 5u);
  EXPECT_EQ(store->outbox_after(0, 100).value().front().seq, 4u);
}

TEST(PrimaryStore, AStaleChangeCommitsNothing) {
  test::TempDir dir;
  auto store = PrimaryStore::open(dir.path("db")).value();
  auto account = test::account();
  account.version = 3;
  {
    auto tx = store->begin();
    tx.put(change("account.created", account));
    ASSERT_TRUE(tx.commit());
  }
  const auto before = store->records().content_digest().value();
  {
    auto tx = store->begin();
    account.version = 2;  // not newer
    tx.put(change("account.updated", account));
    tx.index(Cf::kLicenseIds, "lic_x", std::string(32, 'x'));
    EXPECT_FALSE(tx.commit());
  }
  EXPECT_EQ(store->records().content_digest().value(), before);
  EXPECT_FALSE(store->license_by_id("lic_x").value());
}

TEST(PrimaryStore, ReplicaWithoutWalReopensConsistent) {
  test::TempDir dir;
  store::ReplicaOptions options{dir.path("edge")};
  options.wal = false;
  core::Digest digest;
  {
    auto replica = store::Replica::open(options).value();
    std::vector<core::ChangeEvent> events;
    for (int i = 0; i < 100; ++i) events.push_back(test::event(test::license("K" + std::to_string(i))));
    ASSERT_TRUE(replica->apply(events, 100));
    digest = replica->content_digest(true).value();
  }  // a clean close flushes the memtables
  auto replica = store::Replica::open(options).value();
  EXPECT_EQ(replica->applied_seq().value(), 100u);
  EXPECT_EQ(replica->content_digest(true).value(), digest);
}

}  // namespace
}  // namespace le::primary
