// The primary's domain transactions: every change to accounts, API keys, products, licenses,
// blacklist entries, activations and bindings, each one PrimaryStore::Tx, so a change is atomic
// with its outbox event (and webhook event) and serialized with every other change. Both entry
// points use it: the management API's HTTP handlers (which read requests and write answers) and
// the write service (the writes edges forward over NATS). The rules themselves are core's
// (core/activation.h, core/tki.h, core/model.h visible_to); the ledger applies them to the
// stored record under the writer lock, so limits hold under concurrent requests.
//
// Errors: a refused change throws Refusal with the client's answer and writes nothing (the Tx
// is dropped); execute() and change_activation() return the refusal in their WriteReply instead
// and throw nothing.
//
// Thread-safety: every member may be called from any thread concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/failure_report.h"
#include "core/model.h"
#include "core/write_protocol.h"
#include "primary/deliveries.h"
#include "primary/primary_store.h"
#include "primary/webhooks.h"

namespace le::primary {

struct LedgerOptions {
  // Activations that take a slot (a new machine), per license per window; beyond it 429
  // RATE_LIMITED, so cycling devices cannot share one license. Deactivations free a slot and
  // are neither limited nor counted. 0 = unlimited.
  std::uint32_t activation_changes = 10;
  std::int64_t activation_window_s = 86'400;
  // A license created with a customer email gets its mail row (mail.h) in the same Tx: on
  // when an SMTP relay is configured.
  bool license_mails = false;
};

// Applies a request's fields to the stored record read inside the Tx; may refuse, and then
// nothing is written.
template <typename Rec>
using Edit = std::function<void(Rec&)>;

struct IssuedKey {
  core::ApiKeyRecord record;
  std::string plaintext;  // shown once, never stored
};

class Ledger {
 public:
  Ledger(PrimaryStore& store, const core::Clock& clock, LedgerOptions options = {});

  PrimaryStore& store() { return store_; }
  const core::Clock& clock() const { return clock_; }

  // ---- accounts and API keys
  // `a.id` empty: a fresh id. 409 CONFLICT when the id is taken.
  core::AccountRecord create_account(core::AccountRecord a);
  core::AccountRecord update_account(std::string_view id, const Edit<core::AccountRecord>& edit);
  IssuedKey issue_api_key(std::string_view account_id, core::Mode mode);
  // Revokes the key with id `id` (of `account_id` when given, else 404); idempotent.
  core::ApiKeyRecord revoke_api_key(std::string_view id,
                                    std::optional<std::string_view> account_id);

  // ---- products (names are unique per account)
  core::ProductRecord create_product(core::ProductRecord p);
  core::ProductRecord update_product(const core::ApiKeyRecord& caller, std::string_view id,
                                     const Edit<core::ProductRecord>& edit);
  void delete_product(const core::ApiKeyRecord& caller, std::string_view id);
  // The caller's product, or 404 (other accounts' products do not exist for it).
  core::ProductRecord own_product(const core::ApiKeyRecord& caller, std::string_view id) const;

  // ---- licenses
  // Creates all of `licenses` (the caller's account and mode, of the caller's products) in one
  // Tx, or none; assigns each its id and returns the plaintext keys in the same order.
  std::vector<std::string> create_licenses(const core::ApiKeyRecord& caller,
                                           std::vector<core::LicenseRecord>& licenses);
  core::LicenseRecord update_license(const core::ApiKeyRecord& caller, std::string_view id,
                                     const Edit<core::LicenseRecord>& edit);
  // Suspend, revoke or reinstate; a revoked license stays revoked (400).
  core::LicenseRecord set_license_status(const core::ApiKeyRecord& caller, std::string_view id,
                                         core::LicenseStatus to);
  void delete_license(const core::ApiKeyRecord& caller, std::string_view id);
  // Renews a subscription by `days` (its plan's period, or the caller's): the new expiry is
  // `days` after the later of its expiry and now. Records license.renewed (change and webhook).
  // 400 for a license that is not a subscription, never expires, or is revoked.
  core::LicenseRecord renew_license(const core::ApiKeyRecord& caller, std::string_view id,
                                    std::uint32_t days);
  // The caller's license by id, or 404 (other accounts' and other modes' licenses do not exist).
  core::LicenseRecord own_license(const core::ApiKeyRecord& caller, std::string_view id) const;

  // ---- blacklist
  struct BlacklistAdded {
    core::BlacklistEntry entry;
    bool created = false;  // false: the same entry existed and is returned unchanged
  };
  // `b.value` is stored canonical: an IP as the edge prints it, a license key as its digest.
  BlacklistAdded add_blacklist(core::BlacklistEntry b);
  void delete_blacklist(const core::ApiKeyRecord& caller, std::string_view id);

  // ---- expiry
  // Records license.expired for every license whose expiry has passed by now (at most `max`
  // per call), each in one Tx with the removal of its expiry index entry: exactly once, also for
  // licenses that expired while the primary was down. Returns how many it recorded.
  std::size_t expire_due(std::size_t max = 100);

  // ---- floating seats' leases (ledger_leases.cpp; rules in core/lease.h)
  // Applies a batch of lease extensions edges answered (at most kExtensionsPerTx licenses per
  // Tx): each lease that still holds its seat is extended (core::extend_lease), the rest are
  // refused and counted. One license.updated change per license extended, no webhook.
  static constexpr std::size_t kExtensionsPerTx = 256;
  core::ExtendReply extend_leases(std::span<const core::LeaseExtension> items);
  // Records license.deactivated (webhook data.reason "lease_expired") for every lease whose seat
  // was released by now (lease end + drift) and not extended or re-taken meanwhile, at most
  // `max` leases per call, one Tx per license: read from the lease index, so exactly once, also
  // for leases that lapsed while the primary was down.
  struct Culled {
    std::size_t read = 0;      // index entries taken (== max: more may be due)
    std::size_t recorded = 0;  // leases recorded as released
  };
  Culled cull_leases(std::size_t max = 256);

  // ---- failed validations edges report (ledger_failures.cpp)
  // Records one validation.failed event per entry of `counts` (data: licenseId, machineId when
  // one was seen, productId, count, reason), for the license with that key digest; an entry
  // whose license does not exist (any more) is skipped. At most kValidationFailuresPerTx events
  // per Tx, so other changes are not held up behind a large window. Returns how many it
  // recorded.
  static constexpr std::size_t kValidationFailuresPerTx = 256;
  std::size_t record_validation_failures(std::span<const core::FailureCount> counts);

  // ---- webhook endpoints of the caller's account and mode (at most kMaxWebhooks)
  static constexpr std::size_t kMaxWebhooks = 20;
  // Assigns the id, a fresh secret and the creation time; `w.url` must already be checked.
  WebhookEndpoint create_webhook(const core::ApiKeyRecord& caller, WebhookEndpoint w);
  std::vector<WebhookEndpoint> webhooks(const core::ApiKeyRecord& caller) const;
  // The caller's endpoint, or 404.
  WebhookEndpoint webhook(const core::ApiKeyRecord& caller, std::string_view id) const;
  WebhookEndpoint update_webhook(const core::ApiKeyRecord& caller, std::string_view id,
                                 const Edit<WebhookEndpoint>& edit);
  void delete_webhook(const core::ApiKeyRecord& caller, std::string_view id);
  // A fresh secret; events are signed with it from the next delivery on.
  WebhookEndpoint rotate_webhook_secret(const core::ApiKeyRecord& caller, std::string_view id);

  // ---- webhook events and their deliveries
  // Records `event` about license `l` in `tx`, in the spec's payload form (license, product and,
  // when given, machine), and queues one delivery to every enabled endpoint of the license's
  // account and mode that takes the event: all committed with the change, or none of it.
  void record_webhook(PrimaryStore::Tx& tx, WebhookEvent event, const core::LicenseRecord& l,
                      std::string_view machine_id = {});
  // The same with the payload built by `payload(event seq)`.
  void record_webhook(PrimaryStore::Tx& tx, WebhookEvent event, const core::LicenseRecord& l,
                      const std::function<std::string(std::uint64_t seq)>& payload);
  struct DeliveryPage {
    std::uint64_t total = 0;
    std::vector<Delivery> items;
  };
  // The endpoint's deliveries, oldest event first (404 for another account's endpoint).
  DeliveryPage deliveries(const core::ApiKeyRecord& caller, std::string_view endpoint_id,
                          std::uint64_t offset, std::uint64_t limit) const;
  // Queues the delivery again, due now, with the same delivery id and a fresh retry schedule
  // (attempts start over); 404 when there is no such delivery of the caller's endpoint.
  Delivery redeliver(const core::ApiKeyRecord& caller, std::string_view endpoint_id,
                     std::string_view delivery_id);

  // ---- activations and bindings: the refusal is in the reply; these throw nothing
  // A write an edge forwards (activate, deactivate, TKI binding).
  core::WriteReply execute(const core::WriteCommand& cmd);
  // Activates, deactivates or (a floating license's) heartbeats `machine_id` on the license with
  // key digest `license`, for a caller authenticated by `caller` (nullptr: the license key is
  // the credential). `op` is not kBind.
  core::WriteReply change_activation(const core::Digest& license, std::string_view machine_id,
                                     std::string_view label, const core::ApiKeyRecord* caller,
                                     core::WriteOp op);

 private:
  core::WriteReply activation_tx(const core::Digest& license, std::string_view machine_id,
                                 std::string_view label, const core::ApiKeyRecord* caller,
                                 core::WriteOp op);
  // The lease length of floating license `l` (its own, else its product's in `db`).
  static std::uint32_t lease_length(const store::RecordStore& db, const core::LicenseRecord& l);
  // Stages the lease index changes (Cf::kLeases) of a license going from `before` to `after`.
  static void index_leases(PrimaryStore::Tx& tx, const core::LicenseRecord& before,
                           const core::LicenseRecord& after);
  core::WriteReply bind(const core::WriteCommand& cmd);

  PrimaryStore& store_;
  const core::Clock& clock_;
  LedgerOptions options_;
};

}  // namespace le::primary
