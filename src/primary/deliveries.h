// Webhook deliveries: one per event per subscribed endpoint, queued durably in the primary's
// RocksDB in the same transaction as the event (so an event is never recorded without its
// deliveries, nor delivered without having happened), and worked off by the DeliveryWorker.
//
// Key spaces (primary_store.h):
//   kDeliveries:   <endpoint key> \0 <event seq, 8 bytes BE>                 → Delivery (encoded)
//   kDeliveryDue:  <endpoint key> \0 <next attempt ms, BE> <event seq, BE>   → "" while pending
// where <endpoint key> is the endpoint's key in kWebhooks (account \0 mode \0 id). A pending
// delivery has exactly one due entry; a delivered or failed one has none. The due index is
// per endpoint so one endpoint's backlog is never scanned on behalf of another.
//
// A delivery is attempted at once, then retried after 30 s, 5 min, 30 min and 4 h
// (kRetryDelaysMs); when that last attempt fails too, it is marked failed. Its id, sent as
// X-TO-Delivery-ID, is fixed when it is queued and the same on every attempt.
//
// Pure functions and value types; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/model.h"
#include "primary/webhooks.h"

namespace le::primary {

inline constexpr std::array<std::int64_t, 4> kRetryDelaysMs = {30'000, 300'000, 1'800'000,
                                                               14'400'000};
inline constexpr std::uint32_t kMaxAttempts = kRetryDelaysMs.size() + 1;

enum class DeliveryStatus : std::uint8_t { kPending = 0, kSucceeded = 1, kFailed = 2 };
std::string_view to_string(DeliveryStatus s);

struct Delivery {
  std::string id;  // "whd_<event seq, 16 hex><random>"
  std::uint64_t event_seq = 0;
  WebhookEvent event = WebhookEvent::kLicenseCreated;
  std::string license_id;  // deliveries of one license to one endpoint go one at a time
  DeliveryStatus status = DeliveryStatus::kPending;
  std::uint32_t attempts = 0;
  std::uint16_t last_status_code = 0;  // 0: no HTTP answer (yet)
  std::string last_error;              // why the last attempt failed, when it did
  std::int64_t created_ms = 0;         // when the event was committed
  std::int64_t last_attempt_ms = 0;
  std::int64_t next_attempt_ms = 0;  // while pending
  std::int64_t done_ms = 0;          // when it succeeded or failed
};

std::string encode_delivery(const Delivery& d);
std::optional<Delivery> decode_delivery(std::string_view bytes);

// A fresh delivery id for the event `seq`; delivery_id_seq() reads the seq back (nullopt when
// `id` is not a delivery id).
std::string new_delivery_id(std::uint64_t seq);
std::optional<std::uint64_t> delivery_id_seq(std::string_view id);

// The endpoint's key in kWebhooks: account \0 mode \0 id.
std::string endpoint_key(std::string_view account_id, core::Mode mode, std::string_view id);
// Its deliveries' prefix in kDeliveries and kDeliveryDue: endpoint key \0.
std::string delivery_prefix(std::string_view endpoint_key);
std::string delivery_key(std::string_view endpoint_key, std::uint64_t seq);
std::string due_key(std::string_view endpoint_key, std::int64_t at_ms, std::uint64_t seq);
// The (next attempt ms, event seq) of a due key under `prefix`; nullopt when malformed.
std::optional<std::pair<std::int64_t, std::uint64_t>> parse_due_key(std::string_view key,
                                                                    std::size_t prefix_size);

// The outcome of one attempt, applied to `d` at `now_ms`: a 2xx succeeds; anything else
// schedules the next retry, or fails the delivery after kMaxAttempts.
struct AttemptResult {
  std::uint16_t status_code = 0;  // 0: no HTTP answer
  std::string error;              // when there was no 2xx: why
};
void apply_attempt(Delivery& d, const AttemptResult& r, std::int64_t now_ms);

// The delivery as the API shows it (GET /api/v1/webhooks/{id}/deliveries).
std::string delivery_json(const Delivery& d, std::string_view endpoint_id);

}  // namespace le::primary
