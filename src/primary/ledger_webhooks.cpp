// The Ledger's transactions for webhooks (see ledger.h): the expiry scan that records
// license.expired, and the account's webhook endpoints.
#include "common/log.h"
#include "primary/ids.h"
#include "primary/ledger.h"
#include "primary/refusal.h"
#include "primary/resource_json.h"
#include "store/keys.h"

namespace le::primary {

using core::ApiError;

// ---- expiry -----------------------------------------------------------------------------------

std::size_t Ledger::expire_due(std::size_t max) {
  const std::int64_t now = clock_.now_seconds();
  // Index entries up to now, oldest first: a range read of the index, not a scan of licenses.
  std::vector<std::pair<std::string, std::string>> due;
  const std::string end = store::be64(static_cast<std::uint64_t>(now) + 1);
  must(store_.records().scan_extra(static_cast<std::size_t>(Cf::kExpiries), {}, {},
                                   [&](std::string_view key, std::string_view digest) {
                                     if (key >= end || due.size() == max) return false;
                                     due.emplace_back(key, digest);
                                     return true;
                                   }));
  std::size_t recorded = 0;
  for (const auto& [key, digest_bytes] : due) {
    auto tx = store_.begin();
    // Still there (not taken meanwhile), and still this license's expiry.
    if (!must(tx.records().get_extra(static_cast<std::size_t>(Cf::kExpiries), key))) continue;
    tx.index(Cf::kExpiries, key, std::nullopt);
    core::Digest digest{};
    std::optional<core::LicenseRecord> l;
    if (digest_bytes.size() == digest.size()) {
      std::copy(digest_bytes.begin(), digest_bytes.end(), digest.begin());
      l = must(tx.records().license(digest));
    }
    const auto expires_at = store::from_be64(std::string_view(key).substr(0, 8));
    if (l && expires_at && l->expires_at == static_cast<std::int64_t>(*expires_at)) {
      record_webhook(tx, WebhookEvent::kLicenseExpired, *l);
      ++recorded;
    }
    must(tx.commit());
  }
  return recorded;
}

// ---- webhook endpoints
// ---------------------------------------------------------------------------

namespace {

std::string webhook_key(const core::ApiKeyRecord& caller, std::string_view id) {
  return endpoint_key(caller.account_id, caller.mode, id);
}

std::optional<WebhookEndpoint> stored_webhook(const store::RecordStore& db,
                                              const core::ApiKeyRecord& caller,
                                              std::string_view id) {
  auto raw = must(db.get_extra(static_cast<std::size_t>(Cf::kWebhooks), webhook_key(caller, id)));
  if (!raw) return std::nullopt;
  auto w = decode_webhook(*raw);
  if (!w) refuse_store_failure({"undecodable webhook endpoint " + std::string(id)});
  return w;
}

}  // namespace

WebhookEndpoint Ledger::create_webhook(const core::ApiKeyRecord& caller, WebhookEndpoint w) {
  auto tx = store_.begin();
  if (webhooks(caller).size() >= kMaxWebhooks) {
    refuse(ApiError::validation("An account has at most " + std::to_string(kMaxWebhooks) +
                                " webhook endpoints per mode"));
  }
  w.account_id = caller.account_id;
  w.mode = caller.mode;
  do {
    w.id = random_id("wh_");
  } while (stored_webhook(tx.records(), caller, w.id));
  w.secret = random_webhook_secret();
  w.created_at = clock_.now_seconds();
  tx.index(Cf::kWebhooks, webhook_key(caller, w.id), encode_webhook(w));
  must(tx.commit());
  return w;
}

std::vector<WebhookEndpoint> Ledger::webhooks(const core::ApiKeyRecord& caller) const {
  std::vector<WebhookEndpoint> out;
  bool corrupt = false;
  must(store_.records().scan_extra(static_cast<std::size_t>(Cf::kWebhooks),
                                   account_mode_prefix(caller.account_id, caller.mode), {},
                                   [&](std::string_view, std::string_view value) {
                                     auto w = decode_webhook(value);
                                     if (!w) corrupt = true;
                                     if (w) out.push_back(std::move(*w));
                                     return !corrupt;
                                   }));
  if (corrupt) refuse_store_failure({"undecodable webhook endpoint"});
  return out;
}

WebhookEndpoint Ledger::webhook(const core::ApiKeyRecord& caller, std::string_view id) const {
  auto w = stored_webhook(store_.records(), caller, id);
  if (!w) refuse(ApiError::not_found("Webhook endpoint not found"));
  return std::move(*w);
}

WebhookEndpoint Ledger::update_webhook(const core::ApiKeyRecord& caller, std::string_view id,
                                       const Edit<WebhookEndpoint>& edit) {
  auto tx = store_.begin();
  auto w = webhook(caller, id);
  edit(w);
  tx.index(Cf::kWebhooks, webhook_key(caller, id), encode_webhook(w));
  tx.queued_for(webhook_key(caller, id));  // enabled again: its pending deliveries go on
  must(tx.commit());
  return w;
}

void Ledger::delete_webhook(const core::ApiKeyRecord& caller, std::string_view id) {
  auto tx = store_.begin();
  webhook(caller, id);
  const std::string key = webhook_key(caller, id);
  tx.index(Cf::kWebhooks, key, std::nullopt);
  // Its deliveries go with it, pending or not.
  for (Cf cf : {Cf::kDeliveries, Cf::kDeliveryDue}) {
    must(tx.records().scan_extra(static_cast<std::size_t>(cf), delivery_prefix(key), {},
                                 [&](std::string_view k, std::string_view) {
                                   tx.index(cf, std::string(k), std::nullopt);
                                   return true;
                                 }));
  }
  must(tx.commit());
}

WebhookEndpoint Ledger::rotate_webhook_secret(const core::ApiKeyRecord& caller,
                                              std::string_view id) {
  return update_webhook(caller, id, [](WebhookEndpoint& w) { w.secret = random_webhook_secret(); });
}

}  // namespace le::primary

namespace le::primary {

// ---- webhook events and deliveries ------------------------------------------------------------

void Ledger::record_webhook(PrimaryStore::Tx& tx, WebhookEvent event, const core::LicenseRecord& l,
                            std::string_view machine_id) {
  const std::int64_t now = clock_.now_seconds();
  record_webhook(tx, event, l, [&](std::uint64_t seq) {
    return webhook_event(seq, to_string(event), now, l, machine_id);
  });
}

void Ledger::record_webhook(PrimaryStore::Tx& tx, WebhookEvent event, const core::LicenseRecord& l,
                            const std::function<std::string(std::uint64_t)>& payload) {
  const std::uint64_t seq = tx.record_event(l.account_id, l.mode, payload);
  const std::int64_t now_ms = clock_.now_ms();
  must(tx.records().scan_extra(
      static_cast<std::size_t>(Cf::kWebhooks), account_mode_prefix(l.account_id, l.mode), {},
      [&](std::string_view key, std::string_view value) {
        auto w = decode_webhook(value);
        if (!w) {
          log::warn("primary", "undecodable webhook endpoint skipped", {{"account", l.account_id}});
          return true;
        }
        if (!w->enabled || !w->takes(event)) return true;
        Delivery d;
        d.id = new_delivery_id(seq);
        d.event_seq = seq;
        d.event = event;
        d.license_id = l.id;
        d.created_ms = now_ms;
        d.next_attempt_ms = now_ms;
        tx.index(Cf::kDeliveries, delivery_key(key, seq), encode_delivery(d));
        tx.index(Cf::kDeliveryDue, due_key(key, now_ms, seq), std::string());
        tx.queued_for(std::string(key), QueuedDue{now_ms, seq});
        return true;
      }));
}

Ledger::DeliveryPage Ledger::deliveries(const core::ApiKeyRecord& caller,
                                        std::string_view endpoint_id, std::uint64_t offset,
                                        std::uint64_t limit) const {
  webhook(caller, endpoint_id);
  DeliveryPage page;
  bool corrupt = false;
  must(store_.records().scan_extra(static_cast<std::size_t>(Cf::kDeliveries),
                                   delivery_prefix(webhook_key(caller, endpoint_id)), {},
                                   [&](std::string_view, std::string_view value) {
                                     const std::uint64_t i = page.total++;
                                     if (i < offset || i - offset >= limit) return true;
                                     auto d = decode_delivery(value);
                                     if (!d) corrupt = true;
                                     if (d) page.items.push_back(std::move(*d));
                                     return !corrupt;
                                   }));
  if (corrupt) refuse_store_failure({"undecodable webhook delivery"});
  return page;
}

Delivery Ledger::redeliver(const core::ApiKeyRecord& caller, std::string_view endpoint_id,
                           std::string_view delivery_id) {
  auto tx = store_.begin();
  webhook(caller, endpoint_id);
  const std::string key = webhook_key(caller, endpoint_id);
  const auto seq = delivery_id_seq(delivery_id);
  std::optional<Delivery> d;
  if (seq) {
    auto raw = must(
        tx.records().get_extra(static_cast<std::size_t>(Cf::kDeliveries), delivery_key(key, *seq)));
    if (raw) d = decode_delivery(*raw);
  }
  if (!d || d->id != delivery_id) refuse(ApiError::not_found("Delivery not found"));
  if (d->status == DeliveryStatus::kPending) {
    tx.index(Cf::kDeliveryDue, due_key(key, d->next_attempt_ms, *seq), std::nullopt);
  }
  const std::int64_t now_ms = clock_.now_ms();
  d->status = DeliveryStatus::kPending;
  d->attempts = 0;
  d->next_attempt_ms = now_ms;
  d->done_ms = 0;
  tx.index(Cf::kDeliveries, delivery_key(key, *seq), encode_delivery(*d));
  tx.index(Cf::kDeliveryDue, due_key(key, now_ms, *seq), std::string());
  tx.queued_for(key, QueuedDue{now_ms, *seq});
  must(tx.commit());
  return *d;
}

}  // namespace le::primary
