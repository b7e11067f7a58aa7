#include "primary/ledger.h"

#include <algorithm>

#include "common/log.h"
#include "core/activation.h"
#include "core/digest.h"
#include "core/lease.h"
#include "core/tki.h"
#include "core/validate.h"
#include "primary/ids.h"
#include "primary/mail.h"
#include "primary/refusal.h"
#include "primary/resource_json.h"
#include "store/keys.h"

namespace le::primary {

using core::ApiError;
using store::KeySpace;

void refuse_store_failure(const store::StoreError& e) {
  log::error("primary", "store failure", {{"error", e.message}});
  refuse(ApiError::internal());
}

namespace {

core::ChangeEvent license_state(const core::LicenseRecord& l) {
  return change_event("license.state", l);
}

// Slot changes of one license within the window ending at `now` (8-byte BE unix seconds each).
std::vector<std::int64_t> recent_changes(std::optional<std::string> stored, std::int64_t now,
                                         std::int64_t window) {
  std::vector<std::int64_t> out;
  if (!stored) return out;
  for (std::size_t i = 0; i + 8 <= stored->size(); i += 8) {
    auto t = store::from_be64(std::string_view(*stored).substr(i, 8));
    if (t && static_cast<std::int64_t>(*t) > now - window)
      out.push_back(static_cast<std::int64_t>(*t));
  }
  return out;
}

// The expiry index entry of a license that expires (none for 0: never).
std::string expiry_key(std::int64_t expires_at, std::string_view license_id) {
  std::string k = store::be64(static_cast<std::uint64_t>(expires_at));
  k.append(license_id);
  return k;
}

// Stages the index change for a license whose expiry goes from `before` to `after` (0: none).
void index_expiry(PrimaryStore::Tx& tx, const core::LicenseRecord& l, std::int64_t before,
                  std::int64_t after) {
  if (before == after) return;
  if (before > 0) tx.index(Cf::kExpiries, expiry_key(before, l.id), std::nullopt);
  if (after > 0) {
    tx.index(Cf::kExpiries, expiry_key(after, l.id), std::string(store::digest_key(l.key_digest)));
  }
}

// Assigns a fresh id and key to `l` and stages its creation; returns the key.
std::string stage_new_license(PrimaryStore::Tx& tx, core::LicenseRecord& l) {
  const auto& db = tx.records();
  do {
    l.id = random_id("lic_");
  } while (must(db.get_extra(static_cast<std::size_t>(Cf::kLicenseIds), l.id)));
  std::string key;
  do {
    key = random_license_key();
    l.key_digest = core::sha256(key);
    // A tombstone counts too: a deleted license's key is never reissued.
  } while (must(db.stored_event(KeySpace::kLicense, store::digest_key(l.key_digest))));
  l.version = 1;
  const std::string digest(store::digest_key(l.key_digest));
  const std::uint64_t seq = tx.put(change_event("license.created", l));
  std::string list_key = l.account_id;
  list_key.push_back('\0');
  list_key.push_back(static_cast<char>('0' + static_cast<int>(l.mode)));
  list_key.push_back('\0');
  store::append_be64(list_key, seq);
  tx.index(Cf::kLicenseIds, l.id, digest);
  tx.index(Cf::kAccountLicenses, std::move(list_key), digest);
  index_expiry(tx, l, 0, l.expires_at);
  return key;
}

core::ProductRecord visible_product(const store::RecordStore& db, const core::ApiKeyRecord& caller,
                                    std::string_view id) {
  auto p = must(db.product(id));
  if (!p || !core::visible_to(caller, *p)) refuse(ApiError::not_found("Product not found"));
  return std::move(*p);
}

void check_unique_name(const store::RecordStore& db, const core::ProductRecord& p) {
  auto other = must(db.product_by_name(p.account_id, p.name));
  if (other && other->id != p.id) {
    refuse(ApiError::validation("A product named '" + p.name + "' already exists"));
  }
}

}  // namespace

Ledger::Ledger(PrimaryStore& store, const core::Clock& clock, LedgerOptions options)
    : store_(store), clock_(clock), options_(options) {}

// ---- accounts and API keys ---------------------------------------------------------------------

core::AccountRecord Ledger::create_account(core::AccountRecord a) {
  auto tx = store_.begin();
  if (a.id.empty()) {
    do {
      a.id = random_id("acc_");
    } while (must(tx.records().stored_event(KeySpace::kAccount, a.id)));
  } else if (must(tx.records().stored_event(KeySpace::kAccount, a.id))) {
    refuse({409, "CONFLICT", "An account with this id already exists"});
  }
  a.version = 1;
  tx.put(change_event("account.created", a));
  must(tx.commit());
  return a;
}

core::AccountRecord Ledger::update_account(std::string_view id,
                                           const Edit<core::AccountRecord>& edit) {
  auto tx = store_.begin();
  auto a = must(tx.records().account(id));
  if (!a) refuse(ApiError::not_found("Account not found"));
  edit(*a);
  ++a->version;
  tx.put(change_event("account.updated", *a));
  must(tx.commit());
  return std::move(*a);
}

IssuedKey Ledger::issue_api_key(std::string_view account_id, core::Mode mode) {
  auto tx = store_.begin();
  if (!must(tx.records().account(account_id))) refuse(ApiError::not_found("Account not found"));
  IssuedKey out;
  core::ApiKeyRecord& k = out.record;
  k.account_id = account_id;
  k.mode = mode;
  k.version = 1;
  do {
    k.id = random_id("key_");
  } while (must(tx.records().get_extra(static_cast<std::size_t>(Cf::kApiKeyIds), k.id)));
  out.plaintext = random_api_key(mode);
  k.digest = core::sha256(out.plaintext);
  tx.put(change_event("api_key.created", k));
  tx.index(Cf::kApiKeyIds, k.id, std::string(store::digest_key(k.digest)));
  must(tx.commit());
  return out;
}

core::ApiKeyRecord Ledger::revoke_api_key(std::string_view id,
                                          std::optional<std::string_view> account_id) {
  auto tx = store_.begin();
  auto k = must(store_.api_key_by_id(id));
  if (!k || (account_id && k->account_id != *account_id)) {
    refuse(ApiError::not_found("API key not found"));
  }
  if (!k->revoked) {
    k->revoked = true;
    ++k->version;
    tx.put(change_event("api_key.revoked", *k));
    must(tx.commit());
  }
  return std::move(*k);
}

// ---- products ----------------------------------------------------------------------------------

core::ProductRecord Ledger::create_product(core::ProductRecord p) {
  auto tx = store_.begin();
  check_unique_name(tx.records(), p);
  do {
    p.id = random_id("prod_");
  } while (must(tx.records().stored_event(KeySpace::kProduct, p.id)));
  p.version = 1;
  tx.put(change_event("product.created", p));
  must(tx.commit());
  return p;
}

core::ProductRecord Ledger::update_product(const core::ApiKeyRecord& caller, std::string_view id,
                                           const Edit<core::ProductRecord>& edit) {
  auto tx = store_.begin();
  auto p = visible_product(tx.records(), caller, id);
  edit(p);
  check_unique_name(tx.records(), p);
  ++p.version;
  tx.put(change_event("product.updated", p));
  must(tx.commit());
  return p;
}

void Ledger::delete_product(const core::ApiKeyRecord& caller, std::string_view id) {
  auto tx = store_.begin();
  auto p = visible_product(tx.records(), caller, id);
  // Its licenses would outlive it, naming a product that is gone: they go first. Checked under
  // the Tx's lock, so no license of it is created meanwhile.
  for (const auto mode : {core::Mode::kLive, core::Mode::kTest}) {
    LicenseFilter f{p.account_id, mode, std::nullopt, clock_.now_seconds(), p.id};
    if (must(store_.list_licenses(f, 0, 1)).total > 0) {
      refuse({409, "CONFLICT", "The product has licenses: delete them first"});
    }
  }
  ++p.version;
  tx.put(change_event("product.deleted", p, true));
  must(tx.commit());
}

core::ProductRecord Ledger::own_product(const core::ApiKeyRecord& caller,
                                        std::string_view id) const {
  return visible_product(store_.records(), caller, id);
}

// ---- licenses ----------------------------------------------------------------------------------

std::vector<std::string> Ledger::create_licenses(const core::ApiKeyRecord& caller,
                                                 std::vector<core::LicenseRecord>& licenses) {
  std::vector<std::string> keys;
  keys.reserve(licenses.size());
  auto tx = store_.begin();
  std::string checked_product;
  for (auto& l : licenses) {
    l.account_id = caller.account_id;
    l.mode = caller.mode;
    if (l.product_id != checked_product) {
      visible_product(tx.records(), caller, l.product_id);
      checked_product = l.product_id;
    }
    keys.push_back(stage_new_license(tx, l));
    record_webhook(tx, WebhookEvent::kLicenseCreated, l);
    if (options_.license_mails && !l.email.empty()) {
      stage_license_mail(tx, l, keys.back(), clock_.now_ms());
    }
  }
  must(tx.commit());
  return keys;
}

core::LicenseRecord Ledger::update_license(const core::ApiKeyRecord& caller, std::string_view id,
                                           const Edit<core::LicenseRecord>& edit) {
  auto tx = store_.begin();
  auto l = own_license(caller, id);
  const std::int64_t expired_before = l.expires_at;
  edit(l);
  index_expiry(tx, l, expired_before, l.expires_at);
  ++l.version;
  tx.put(change_event("license.updated", l));
  must(tx.commit());
  return l;
}

core::LicenseRecord Ledger::set_license_status(const core::ApiKeyRecord& caller,
                                               std::string_view id, core::LicenseStatus to) {
  auto tx = store_.begin();
  auto l = own_license(caller, id);
  if (l.status == core::LicenseStatus::kRevoked && to != core::LicenseStatus::kRevoked) {
    refuse(ApiError::validation("A revoked license is permanently disabled"));
  }
  if (l.status != to) {
    l.status = to;
    ++l.version;
    const char* type = to == core::LicenseStatus::kSuspended ? "license.suspended"
                       : to == core::LicenseStatus::kRevoked ? "license.revoked"
                                                             : "license.reinstated";
    tx.put(change_event(type, l));
    if (to == core::LicenseStatus::kSuspended) {
      record_webhook(tx, WebhookEvent::kLicenseSuspended, l);
    }
    must(tx.commit());
  }
  return l;
}

core::LicenseRecord Ledger::renew_license(const core::ApiKeyRecord& caller, std::string_view id,
                                          std::uint32_t days) {
  auto tx = store_.begin();
  auto l = own_license(caller, id);
  if (l.type != core::LicenseType::kSubscription) {
    refuse(ApiError::validation("Only subscription licenses renew"));
  }
  if (l.status == core::LicenseStatus::kRevoked) {
    refuse(ApiError::validation("A revoked license is permanently disabled"));
  }
  if (l.expires_at == 0) refuse(ApiError::validation("License does not expire"));
  const std::int64_t before = l.expires_at;
  l.expires_at = std::max(before, clock_.now_seconds()) + std::int64_t{days} * 86'400;
  index_expiry(tx, l, before, l.expires_at);
  ++l.version;
  tx.put(change_event("license.renewed", l));
  record_webhook(tx, WebhookEvent::kLicenseRenewed, l);
  must(tx.commit());
  return l;
}

void Ledger::delete_license(const core::ApiKeyRecord& caller, std::string_view id) {
  auto tx = store_.begin();
  auto l = own_license(caller, id);
  index_expiry(tx, l, l.expires_at, 0);
  unstage_license_mail(tx, l.id);
  ++l.version;
  tx.put(change_event("license.deleted", l, true));
  must(tx.commit());
}

core::LicenseRecord Ledger::own_license(const core::ApiKeyRecord& caller,
                                        std::string_view id) const {
  auto l = must(store_.license_by_id(id));
  if (!l || !core::visible_to(caller, *l)) refuse(ApiError::not_found("License not found"));
  return std::move(*l);
}

// ---- blacklist ---------------------------------------------------------------------------------

Ledger::BlacklistAdded Ledger::add_blacklist(core::BlacklistEntry b) {
  auto tx = store_.begin();
  if (auto existing = must(tx.records().blacklist(b.account_id, b.kind, b.value))) {
    return {std::move(*existing), false};
  }
  std::string key;
  store::blacklist_key(key, b.account_id, b.kind, b.value);
  auto stored = must(tx.records().stored_event(KeySpace::kBlacklist, key));
  b.version = stored ? stored->version() + 1 : 1;
  b.id = random_id("bl_");
  tx.put(change_event("blacklist.created", b));
  must(tx.commit());
  return {std::move(b), true};
}

void Ledger::delete_blacklist(const core::ApiKeyRecord& caller, std::string_view id) {
  auto tx = store_.begin();
  auto all = must(store_.list_account(KeySpace::kBlacklist, caller.account_id));
  auto it = std::find_if(all.begin(), all.end(),
                         [&](const core::ChangeEvent& ev) { return ev.id() == id; });
  if (it == all.end()) refuse(ApiError::not_found("Blacklist entry not found"));
  auto b = std::get<core::BlacklistEntry>(it->record);
  ++b.version;
  tx.put(change_event("blacklist.deleted", b, true));
  must(tx.commit());
}

// ---- activations and bindings ------------------------------------------------------------------

core::WriteReply Ledger::execute(const core::WriteCommand& cmd) {
  try {
    if (cmd.op == core::WriteOp::kBind) return bind(cmd);
    std::optional<core::ApiKeyRecord> key;
    if (cmd.api_key) {
      key = must(store_.records().api_key(*cmd.api_key));
      if (!core::api_key_authenticates(key ? &*key : nullptr, cmd.mode)) {
        core::WriteReply out;
        out.error = ApiError::invalid_api_key();
        return out;
      }
    }
    return activation_tx(cmd.license, cmd.machine_id, cmd.label, key ? &*key : nullptr, cmd.op);
  } catch (const Refusal& r) {
    core::WriteReply out;
    out.error = r.error();
    return out;
  }
}

core::WriteReply Ledger::change_activation(const core::Digest& license, std::string_view machine_id,
                                           std::string_view label, const core::ApiKeyRecord* caller,
                                           core::WriteOp op) {
  try {
    return activation_tx(license, machine_id, label, caller, op);
  } catch (const Refusal& r) {
    core::WriteReply out;
    out.error = r.error();
    return out;
  }
}

core::WriteReply Ledger::activation_tx(const core::Digest& license_digest,
                                       std::string_view machine_id, std::string_view label,
                                       const core::ApiKeyRecord* caller, core::WriteOp op) {
  const bool deactivate = op == core::WriteOp::kDeactivate;
  core::WriteReply out;
  const std::int64_t now = clock_.now_seconds();
  const core::ActivationRequest req{{}, machine_id, label};
  auto tx = store_.begin();
  auto license = must(tx.records().license(license_digest));
  core::LicenseRecord* l = license ? &*license : nullptr;
  const std::uint32_t lease_s = l != nullptr && core::is_floating(*l)
                                    ? lease_length(tx.records(), *l)
                                    : core::kDefaultLeaseSeconds;
  const core::LicenseRecord before = l != nullptr ? *l : core::LicenseRecord{};
  auto outcome = deactivate                        ? core::deactivate(req, caller, l)
                 : op == core::WriteOp::kHeartbeat ? core::heartbeat(req, caller, l, now, lease_s)
                                                   : core::activate(req, caller, l, now, lease_s);
  if (auto* e = std::get_if<ApiError>(&outcome)) {
    out.error = std::move(*e);
    // The caller may see the license (the refusal is about its state): send that state along.
    if (out.error->code != "NOT_FOUND") out.license = license_state(*l);
    // A full pool of floating seats: how long until the soonest lease ends.
    if (out.error->code == "ACTIVATION_LIMIT_REACHED") {
      out.retry_after_s =
          static_cast<std::uint32_t>(core::seconds_until_seat_frees(*l, now).value_or(0));
    }
    return out;
  }
  const auto result = std::get<core::ActivationResult>(outcome);
  if (result == core::ActivationResult::kActivated ||
      result == core::ActivationResult::kDeactivated ||
      result == core::ActivationResult::kLeaseExtended) {
    // The limit is on taking slots (a machine-swapping loop); freeing one is always allowed and
    // not counted, so a user at the limit can still release a seat. A floating license's seats
    // are meant to move between machines: its leases bound them instead.
    if (options_.activation_changes != 0 && result == core::ActivationResult::kActivated &&
        !core::is_floating(*l)) {
      auto changes = recent_changes(
          must(tx.records().get_extra(static_cast<std::size_t>(Cf::kActivationChanges), l->id)),
          now, options_.activation_window_s);
      if (changes.size() >= options_.activation_changes) {
        out.error = ApiError{429, "RATE_LIMITED", "Rate limit exceeded"};
        const std::int64_t wait = changes[changes.size() - options_.activation_changes] +
                                  options_.activation_window_s - now;
        out.retry_after_s = static_cast<std::uint32_t>(std::max<std::int64_t>(1, wait));
        // The record as read still holds the refused change: send the stored state instead.
        out.license = license_state(*must(tx.records().license(license_digest)));
        return out;
      }
      changes.push_back(now);
      std::string log;
      for (auto t : changes) store::append_be64(log, static_cast<std::uint64_t>(t));
      tx.index(Cf::kActivationChanges, l->id, std::move(log));
    }
    const std::string type = deactivate ? "license.deactivated"
                             : result == core::ActivationResult::kLeaseExtended
                                 ? "license.updated"
                                 : "license.activated";
    ++l->version;
    tx.put(change_event(type, *l));
    index_leases(tx, before, *l);
    if (result != core::ActivationResult::kLeaseExtended) {
      record_webhook(
          tx, deactivate ? WebhookEvent::kLicenseDeactivated : WebhookEvent::kLicenseActivated, *l,
          machine_id);
    }
    must(tx.commit());
  }
  out.activation = result;
  out.license = license_state(*l);
  return out;
}

core::WriteReply Ledger::bind(const core::WriteCommand& cmd) {
  core::WriteReply out;
  auto key = must(store_.records().api_key(*cmd.api_key));
  auto account = core::api_key_authenticates(key ? &*key : nullptr, cmd.mode)
                     ? must(store_.records().account(key->account_id))
                     : std::nullopt;
  if (!account) {
    out.tki = core::TkiStatus::kInvalidApiKey;
    return out;
  }
  auto tx = store_.begin();
  auto license = must(tx.records().license(cmd.license));
  if (!license || !core::visible_to(*key, *license)) {
    out.tki = core::TkiStatus::kLicenseNotFound;
    return out;
  }
  core::LicenseRecord& l = *license;
  // Decided again here, under the writer lock: the edge decided on its replica, which may lag.
  const auto d = core::decide_binding(
      l, cmd.ip, cmd.hwid.empty() ? std::nullopt : std::optional<std::string_view>(cmd.hwid),
      clock_.now_seconds());
  if (d.status != core::TkiStatus::kSuccess && d.status != core::TkiStatus::kBindingRequired) {
    out.tki = d.status;
    out.license = license_state(l);
    return out;
  }
  if (d.bind_ip) l.ips.push_back(cmd.ip);
  if (d.bind_hwid) l.hwids.push_back(cmd.hwid);
  const bool changed = d.bind_ip || d.bind_hwid;
  if (changed) {
    ++l.version;
    tx.put(change_event("license.updated", l));
    must(tx.commit());
  }
  out.bind = changed ? core::BindResult::kBound : core::BindResult::kAlreadyBound;
  out.license = license_state(l);
  return out;
}

}  // namespace le::primary
