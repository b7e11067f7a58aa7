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
      tx.record_event(l->account_id, l->mode, [&](std::uint64_t seq) {
        return webhook_event(seq, "license.expired", now, *l, {});
      });
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
  return account_mode_prefix(caller.account_id, caller.mode) + std::string(id);
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
  must(tx.commit());
  return w;
}

void Ledger::delete_webhook(const core::ApiKeyRecord& caller, std::string_view id) {
  auto tx = store_.begin();
  webhook(caller, id);
  tx.index(Cf::kWebhooks, webhook_key(caller, id), std::nullopt);
  must(tx.commit());
}

WebhookEndpoint Ledger::rotate_webhook_secret(const core::ApiKeyRecord& caller,
                                              std::string_view id) {
  return update_webhook(caller, id, [](WebhookEndpoint& w) { w.secret = random_webhook_secret(); });
}

}  // namespace le::primary
