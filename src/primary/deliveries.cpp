#include "primary/deliveries.h"

#include <charconv>
#include <cstdio>

#include "core/json_writer.h"
#include "core/time_format.h"
#include "primary/ids.h"
#include "store/keys.h"

namespace le::primary {
namespace {

constexpr char kFormat = 1;  // first byte of an encoded delivery

void put_string(std::string& out, std::string_view s) {
  store::append_be64(out, s.size());
  out.append(s);
}

// Reads the encoded fields in order; any shortfall fails the whole decode.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u64(std::uint64_t& v) {
    if (in_.size() < 8) return ok_ = false;
    v = *store::from_be64(in_.substr(0, 8));
    in_.remove_prefix(8);
    return true;
  }
  bool i64(std::int64_t& v) {
    std::uint64_t u = 0;
    if (!u64(u)) return false;
    v = static_cast<std::int64_t>(u);
    return true;
  }
  bool str(std::string& s) {
    std::uint64_t n = 0;
    if (!u64(n) || n > in_.size()) return ok_ = false;
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return ok_ && in_.empty(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace

std::string_view to_string(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kPending:
      return "pending";
    case DeliveryStatus::kSucceeded:
      return "succeeded";
    case DeliveryStatus::kFailed:
      return "failed";
  }
  return "pending";
}

std::string encode_delivery(const Delivery& d) {
  std::string out(1, kFormat);
  put_string(out, d.id);
  store::append_be64(out, d.event_seq);
  store::append_be64(out, static_cast<std::uint64_t>(d.event));
  put_string(out, d.license_id);
  store::append_be64(out, static_cast<std::uint64_t>(d.status));
  store::append_be64(out, d.attempts);
  store::append_be64(out, d.last_status_code);
  put_string(out, d.last_error);
  for (std::int64_t t : {d.created_ms, d.last_attempt_ms, d.next_attempt_ms, d.done_ms}) {
    store::append_be64(out, static_cast<std::uint64_t>(t));
  }
  return out;
}

std::optional<Delivery> decode_delivery(std::string_view bytes) {
  if (bytes.empty() || bytes[0] != kFormat) return std::nullopt;
  Reader r(bytes.substr(1));
  Delivery d;
  std::uint64_t event = 0, status = 0, attempts = 0, code = 0;
  if (!r.str(d.id) || !r.u64(d.event_seq) || !r.u64(event) || !r.str(d.license_id) ||
      !r.u64(status) || !r.u64(attempts) || !r.u64(code) || !r.str(d.last_error) ||
      !r.i64(d.created_ms) || !r.i64(d.last_attempt_ms) || !r.i64(d.next_attempt_ms) ||
      !r.i64(d.done_ms) || !r.done() || event >= kWebhookEventCount || status > 2 ||
      attempts > kMaxAttempts || code > 999) {
    return std::nullopt;
  }
  d.event = static_cast<WebhookEvent>(event);
  d.status = static_cast<DeliveryStatus>(status);
  d.attempts = static_cast<std::uint32_t>(attempts);
  d.last_status_code = static_cast<std::uint16_t>(code);
  return d;
}

std::string new_delivery_id(std::uint64_t seq) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(seq));
  return "whd_" + std::string(hex, 16) + random_id("").substr(0, 8);
}

std::optional<std::uint64_t> delivery_id_seq(std::string_view id) {
  if (id.size() != 4 + 16 + 8 || !id.starts_with("whd_")) return std::nullopt;
  std::uint64_t seq = 0;
  const char* begin = id.data() + 4;
  auto [end, ec] = std::from_chars(begin, begin + 16, seq, 16);
  if (ec != std::errc() || end != begin + 16) return std::nullopt;
  return seq;
}

std::string endpoint_key(std::string_view account_id, core::Mode mode, std::string_view id) {
  std::string k(account_id);
  k.push_back('\0');
  k.push_back(static_cast<char>('0' + static_cast<int>(mode)));
  k.push_back('\0');
  k.append(id);
  return k;
}

std::string delivery_prefix(std::string_view endpoint_key) {
  std::string k(endpoint_key);
  k.push_back('\0');
  return k;
}

std::string delivery_key(std::string_view endpoint_key, std::uint64_t seq) {
  std::string k = delivery_prefix(endpoint_key);
  store::append_be64(k, seq);
  return k;
}

std::string due_key(std::string_view endpoint_key, std::int64_t at_ms, std::uint64_t seq) {
  std::string k = delivery_prefix(endpoint_key);
  store::append_be64(k, static_cast<std::uint64_t>(std::max<std::int64_t>(at_ms, 0)));
  store::append_be64(k, seq);
  return k;
}

std::optional<std::pair<std::int64_t, std::uint64_t>> parse_due_key(std::string_view key,
                                                                    std::size_t prefix_size) {
  if (key.size() != prefix_size + 16) return std::nullopt;
  const auto at = store::from_be64(key.substr(prefix_size, 8));
  const auto seq = store::from_be64(key.substr(prefix_size + 8, 8));
  if (!at || !seq) return std::nullopt;
  return std::pair{static_cast<std::int64_t>(*at), *seq};
}

void apply_attempt(Delivery& d, const AttemptResult& r, std::int64_t now_ms) {
  ++d.attempts;
  d.last_attempt_ms = now_ms;
  d.last_status_code = r.status_code;
  if (r.status_code >= 200 && r.status_code < 300) {
    d.status = DeliveryStatus::kSucceeded;
    d.last_error.clear();
    d.next_attempt_ms = 0;
    d.done_ms = now_ms;
    return;
  }
  d.last_error = r.error.empty() ? "HTTP " + std::to_string(r.status_code) : r.error;
  if (d.attempts >= kMaxAttempts) {
    d.status = DeliveryStatus::kFailed;
    d.next_attempt_ms = 0;
    d.done_ms = now_ms;
    return;
  }
  d.status = DeliveryStatus::kPending;
  d.next_attempt_ms = now_ms + kRetryDelaysMs[d.attempts - 1];
}

std::string delivery_json(const Delivery& d, std::string_view endpoint_id) {
  std::string out;
  core::JsonWriter w(out);
  w.begin_object()
      .field("id", d.id)
      .field("webhookId", endpoint_id)
      .field("eventId", "evt_" + std::to_string(d.event_seq))
      .field("event", to_string(d.event))
      .field("licenseId", d.license_id)
      .field("status", to_string(d.status))
      .field("attempts", d.attempts);
  w.key("lastStatusCode");
  if (d.last_status_code != 0) {
    w.value(static_cast<unsigned>(d.last_status_code));
  } else {
    w.null();
  }
  w.key("lastError");
  if (!d.last_error.empty()) {
    w.value(d.last_error);
  } else {
    w.null();
  }
  auto time = [&](std::string_view k, std::int64_t ms) {
    w.key(k);
    if (ms != 0) {
      w.value(core::iso8601(ms / 1000));
    } else {
      w.null();
    }
  };
  time("createdAt", d.created_ms);
  time("lastAttemptAt", d.last_attempt_ms);
  time("nextAttemptAt", d.status == DeliveryStatus::kPending ? d.next_attempt_ms : 0);
  w.end_object();
  return out;
}

}  // namespace le::primary
