// The Ledger's transactions for floating seats' leases (see ledger.h; the rules are
// core/lease.h): the lease index, batched extensions from edges, and the cull of lapsed leases.
#include <algorithm>
#include <map>

#include "core/lease.h"
#include "primary/ledger.h"
#include "primary/refusal.h"
#include "primary/resource_json.h"
#include "store/keys.h"

namespace le::primary {

namespace {

// The lease index entry of `a`, a seat of license `license_id`: released at lease end + drift.
std::string lease_key(const core::Activation& a, std::string_view license_id) {
  std::string k = store::be64(static_cast<std::uint64_t>(core::lease_release_at(a)));
  k.append(license_id).push_back('\0');
  k.append(a.machine_id);
  return k;
}

bool same_lease(const core::Activation* a, const core::Activation& b) {
  return a != nullptr && a->lease_expires_at == b.lease_expires_at;
}

}  // namespace

std::uint32_t Ledger::lease_length(const store::RecordStore& db, const core::LicenseRecord& l) {
  auto product = must(db.product(l.product_id));
  return core::lease_seconds(l, product ? &*product : nullptr);
}

void Ledger::index_leases(PrimaryStore::Tx& tx, const core::LicenseRecord& before,
                          const core::LicenseRecord& after) {
  // Removing an entry the cull took already is harmless; one per lease otherwise.
  for (const auto& a : before.activations) {
    if (a.lease_expires_at != 0 && !same_lease(core::find_activation(after, a.machine_id), a)) {
      tx.index(Cf::kLeases, lease_key(a, before.id), std::nullopt);
    }
  }
  if (!core::is_floating(after)) return;
  const std::string digest(store::digest_key(after.key_digest));
  for (const auto& a : after.activations) {
    if (a.lease_expires_at != 0 && !same_lease(core::find_activation(before, a.machine_id), a)) {
      tx.index(Cf::kLeases, lease_key(a, after.id), digest);
    }
  }
}

core::ExtendReply Ledger::extend_leases(std::span<const core::LeaseExtension> items) {
  core::ExtendReply out;
  // Grouped by license (one read and one change per license), in a stable order.
  std::map<core::Digest, std::vector<const core::LeaseExtension*>> by_license;
  for (const auto& e : items) by_license[e.license].push_back(&e);
  auto next = by_license.begin();
  while (next != by_license.end()) {
    const std::int64_t now = clock_.now_seconds();
    auto tx = store_.begin();
    bool staged = false;
    for (std::size_t n = 0; n < kExtensionsPerTx && next != by_license.end(); ++n, ++next) {
      const auto& [digest, extensions] = *next;
      auto l = must(tx.records().license(digest));
      if (!l || !core::is_floating(*l)) {
        out.refused += static_cast<std::uint32_t>(extensions.size());
        continue;
      }
      const std::uint32_t lease_s = lease_length(tx.records(), *l);
      const core::LicenseRecord before = *l;
      for (const auto* e : extensions) {
        if (core::extend_lease(*l, e->machine_id, e->at, now, lease_s)) {
          ++out.extended;
        } else {
          ++out.refused;
        }
      }
      if (l->activations == before.activations) continue;  // extended to where it was already
      ++l->version;
      tx.put(change_event("license.updated", *l));
      index_leases(tx, before, *l);
      staged = true;
    }
    if (staged) must(tx.commit());
  }
  return out;
}

Ledger::Culled Ledger::cull_leases(std::size_t max) {
  const std::int64_t now = clock_.now_seconds();
  // Seats released before now (holds_seat: now <= release), by license: a range read of the
  // index from its oldest entry, not a scan of licenses.
  const std::string end = store::be64(static_cast<std::uint64_t>(now));
  std::map<std::string, std::vector<std::string>> due;  // key digest → index keys
  std::size_t taken = 0;
  must(store_.records().scan_extra(static_cast<std::size_t>(Cf::kLeases), {}, {},
                                   [&](std::string_view key, std::string_view digest) {
                                     if (key >= end || taken == max) return false;
                                     due[std::string(digest)].emplace_back(key);
                                     ++taken;
                                     return true;
                                   }));
  Culled out{taken, 0};
  for (const auto& [digest_bytes, keys] : due) {
    auto tx = store_.begin();
    core::Digest digest{};
    std::optional<core::LicenseRecord> l;
    if (digest_bytes.size() == digest.size()) {
      std::copy(digest_bytes.begin(), digest_bytes.end(), digest.begin());
      l = must(tx.records().license(digest));
    }
    std::vector<std::string> culled;
    for (const auto& key : keys) {
      // Still there (not extended or culled meanwhile), and still this machine's lease.
      if (!must(tx.records().get_extra(static_cast<std::size_t>(Cf::kLeases), key))) continue;
      tx.index(Cf::kLeases, key, std::nullopt);
      if (!l || !core::is_floating(*l) || key.size() < 8) continue;
      const std::string_view rest = std::string_view(key).substr(8);
      const std::size_t nul = rest.find('\0');
      if (nul == std::string_view::npos || rest.substr(0, nul) != l->id) continue;
      const std::string machine(rest.substr(nul + 1));
      const core::Activation* a = core::find_activation(*l, machine);
      if (a == nullptr || a->lease_expires_at == 0 || lease_key(*a, l->id) != key ||
          core::holds_seat(*l, *a, now)) {
        continue;
      }
      culled.push_back(machine);
    }
    if (!culled.empty()) {
      // The lapsed activations stay in the record (a heartbeat re-takes a seat); the change
      // records that their seats are free.
      ++l->version;
      tx.put(change_event("license.deactivated", *l));
      for (const auto& machine : culled) {
        record_webhook(tx, WebhookEvent::kLicenseDeactivated, *l, [&](std::uint64_t seq) {
          return webhook_event(seq, to_string(WebhookEvent::kLicenseDeactivated), now, *l, machine,
                               [](core::JsonWriter& w) { w.field("reason", "lease_expired"); });
        });
      }
      out.recorded += culled.size();
    }
    must(tx.commit());
  }
  return out;
}

}  // namespace le::primary
