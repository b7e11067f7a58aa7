// Floating seats at the primary, in process with an injected clock: batched extensions extend
// only seats still held; the lease index releases every lapsed seat exactly once, with
// license.deactivated (reason lease_expired), also after a reopen of the store and after a
// lease was extended, re-taken or deactivated meanwhile.
#include <gtest/gtest.h>

#include "core/digest.h"
#include "core/lease.h"
#include "primary/ledger.h"
#include "support/fixtures.h"

namespace le::primary {
namespace {

class LeaseLedger : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    ledger_.reset();
    store_.reset();
    store_ = PrimaryStore::open(dir_.path("db")).value();
    ledger_ = std::make_unique<Ledger>(*store_, clock_);
    if (!caller_.id.empty()) return;
    ledger_->create_account(test::account());
    caller_ = ledger_->issue_api_key("acc_1", core::Mode::kLive).record;
    product_ = ledger_->create_product(test::product()).id;
  }
  // A floating license of `seats` with 60 s leases; returns its key digest.
  core::Digest floating(std::uint32_t seats) {
    std::vector<core::LicenseRecord> ls(1);
    ls[0].product_id = product_;
    ls[0].type = core::LicenseType::kFloating;
    ls[0].max_activations = seats;
    ls[0].lease_seconds = 60;
    return core::sha256(ledger_->create_licenses(caller_, ls).at(0));
  }
  core::WriteReply op(const core::Digest& d, const std::string& machine, core::WriteOp o) {
    return ledger_->change_activation(d, machine, {}, nullptr, o);
  }
  core::LicenseRecord stored(const core::Digest& d) {
    return store_->records().license(d).value().value();
  }
  std::int64_t lease_of(const core::Digest& d, const std::string& machine) {
    const auto l = stored(d);
    const auto* a = core::find_activation(l, machine);
    return a == nullptr ? -1 : a->lease_expires_at;
  }
  // license.deactivated events with reason lease_expired, by machine, in order.
  std::vector<std::string> released() {
    std::vector<std::string> out;
    auto page = store_->events_page("acc_1", core::Mode::kLive, 0, 0, 1000).value();
    for (const auto& e : page.items) {
      if (e.find("\"license.deactivated\"") == std::string::npos ||
          e.find("\"reason\":\"lease_expired\"") == std::string::npos) {
        continue;
      }
      const auto at = e.find("\"machineId\":\"") + 13;
      out.push_back(e.substr(at, e.find('"', at) - at));
    }
    return out;
  }
  // Entries of the lease index: one per lease not yet released.
  std::size_t index_entries() {
    std::size_t n = 0;
    EXPECT_TRUE(store_->records()
                    .scan_extra(static_cast<std::size_t>(Cf::kLeases), {}, {},
                                [&](std::string_view, std::string_view) { return ++n, true; })
                    .has_value());
    return n;
  }
  std::int64_t now() const { return clock_.now_seconds(); }
  void advance(std::int64_t s) { clock_.advance_ms(s * 1000); }

  test::TempDir dir_;
  core::ManualClock clock_{test::kNow * 1000};
  std::unique_ptr<PrimaryStore> store_;
  std::unique_ptr<Ledger> ledger_;
  core::ApiKeyRecord caller_;
  std::string product_;
};

TEST_F(LeaseLedger, ABatchExtendsHeldSeatsAndRefusesTheRest) {
  const auto d = floating(2);
  const auto other = floating(1);
  ASSERT_TRUE(op(d, "a", core::WriteOp::kActivate).ok());
  ASSERT_TRUE(op(d, "b", core::WriteOp::kActivate).ok());
  const std::int64_t t0 = now();
  advance(40);
  const std::uint64_t version = stored(d).version;
  std::vector<core::LeaseExtension> batch = {
      {d, "a", now()},                     // held: extended to at + 60
      {d, "b", now() + 3600},              // an edge clock ahead: no further than now + 60
      {d, "never", now()},                 // unknown machine
      {core::sha256("nope"), "a", now()},  // unknown license
      {other, "x", now()},                 // not activated there
  };
  const auto r = ledger_->extend_leases(batch);
  EXPECT_EQ(r.extended, 2u);
  EXPECT_EQ(r.refused, 3u);
  EXPECT_EQ(lease_of(d, "a"), t0 + 40 + 60);
  EXPECT_EQ(lease_of(d, "b"), t0 + 40 + 60);
  EXPECT_EQ(stored(d).version, version + 1) << "one change for the license's batch";
  // An extension answered long ago never shortens a lease.
  ASSERT_EQ(ledger_->extend_leases(std::vector<core::LeaseExtension>{{d, "a", t0}}).extended, 1u);
  EXPECT_EQ(lease_of(d, "a"), t0 + 100);
  EXPECT_EQ(stored(d).version, version + 1) << "nothing moved: nothing written";
  // Past lease end + drift the seat may have gone to someone else: refused, nothing changed.
  advance(60 + core::kLeaseDriftSeconds + 1);
  const auto late = ledger_->extend_leases(std::vector<core::LeaseExtension>{{d, "a", now()}});
  EXPECT_EQ(late.extended, 0u);
  EXPECT_EQ(late.refused, 1u);
  EXPECT_EQ(lease_of(d, "a"), t0 + 100);
}

TEST_F(LeaseLedger, LapsedSeatsAreReleasedExactlyOnceAcrossAReopen) {
  const auto d = floating(2);
  ASSERT_TRUE(op(d, "a", core::WriteOp::kActivate).ok());
  ASSERT_TRUE(op(d, "b", core::WriteOp::kActivate).ok());
  advance(30);
  ASSERT_EQ(ledger_->extend_leases(std::vector<core::LeaseExtension>{{d, "b", now()}}).extended,
            1u);
  // a is released at t0 + 60 + drift: held at that second, free the next.
  advance(30 + core::kLeaseDriftSeconds);
  EXPECT_EQ(ledger_->cull_leases().recorded, 0u);
  advance(1);
  const auto c = ledger_->cull_leases();
  EXPECT_EQ(c.recorded, 1u);
  EXPECT_EQ(released(), std::vector<std::string>{"a"});
  EXPECT_EQ(core::seats_held(stored(d), now()), 1u);
  // A full pool now has a free seat.
  ASSERT_TRUE(op(d, "c", core::WriteOp::kActivate).ok());
  // b lapses while the primary is down; it is released once after the reopen.
  open();
  advance(60 + core::kLeaseDriftSeconds + 1);  // past b's release (t0 + 120) and c's
  EXPECT_EQ(ledger_->cull_leases().recorded, 2u);
  EXPECT_EQ(ledger_->cull_leases().recorded, 0u);
  EXPECT_EQ(released(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(LeaseLedger, ALeaseRetakenOrDeactivatedBeforeItsReleaseIsNotReleased) {
  const auto d = floating(3);
  ASSERT_TRUE(op(d, "heartbeats", core::WriteOp::kActivate).ok());
  ASSERT_TRUE(op(d, "leaves", core::WriteOp::kActivate).ok());
  ASSERT_TRUE(op(d, "lapses", core::WriteOp::kActivate).ok());
  advance(50);
  // A heartbeat forwarded to the primary extends the lease (the index entry moves with it).
  const auto hb = op(d, "heartbeats", core::WriteOp::kHeartbeat);
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(*hb.activation, core::ActivationResult::kLeaseExtended);
  ASSERT_TRUE(op(d, "leaves", core::WriteOp::kDeactivate).ok());
  EXPECT_EQ(index_entries(), 2u) << "the extended lease moved its entry; the freed seat has none";
  advance(10 + core::kLeaseDriftSeconds + 1);
  EXPECT_EQ(ledger_->cull_leases().recorded, 1u);
  EXPECT_EQ(released(), std::vector<std::string>{"lapses"});
  EXPECT_EQ(index_entries(), 1u);
  // The lapsed machine's heartbeat takes a seat again (one is free) with a new lease…
  const auto again = op(d, "lapses", core::WriteOp::kHeartbeat);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again.activation, core::ActivationResult::kActivated);
  EXPECT_EQ(lease_of(d, "lapses"), now() + 60);
  // …which is released once more when it lapses again, and the extended one after it.
  advance(60 + core::kLeaseDriftSeconds + 1);
  EXPECT_EQ(ledger_->cull_leases().recorded, 2u);
  EXPECT_EQ(released(), (std::vector<std::string>{"lapses", "heartbeats", "lapses"}));
  EXPECT_EQ(core::seats_held(stored(d), now()), 0u);
  EXPECT_EQ(index_entries(), 0u);
}

TEST_F(LeaseLedger, HeartbeatRefusalsAtThePrimary) {
  const auto d = floating(1);
  std::vector<core::LicenseRecord> ls(1);
  ls[0].product_id = product_;
  ls[0].max_activations = 2;
  const auto locked = core::sha256(ledger_->create_licenses(caller_, ls).at(0));
  ASSERT_TRUE(op(locked, "m", core::WriteOp::kActivate).ok());
  auto code = [&](const core::Digest& lic, const std::string& machine) {
    const auto r = op(lic, machine, core::WriteOp::kHeartbeat);
    return r.error ? std::string(r.error->code) : std::string("ok");
  };
  EXPECT_EQ(code(locked, "m"), "VALIDATION_ERROR");
  EXPECT_EQ(code(d, "unknown"), "NOT_FOUND");
  EXPECT_EQ(code(core::sha256("no such key"), "m"), "NOT_FOUND");
  ASSERT_TRUE(op(d, "holder", core::WriteOp::kActivate).ok());
  ASSERT_TRUE(op(d, "waiting", core::WriteOp::kActivate).error);  // full; "waiting" unknown
  advance(60 + core::kLeaseDriftSeconds + 1);
  ASSERT_TRUE(op(d, "taker", core::WriteOp::kActivate).ok());
  // The lapsed holder's heartbeat finds the pool full: the error says when a seat frees.
  const auto full = op(d, "holder", core::WriteOp::kHeartbeat);
  ASSERT_TRUE(full.error);
  EXPECT_EQ(full.error->code, "ACTIVATION_LIMIT_REACHED");
  EXPECT_EQ(full.retry_after_s, 60u + core::kLeaseDriftSeconds + 1);
}

}  // namespace
}  // namespace le::primary
