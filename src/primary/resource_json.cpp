#include "primary/resource_json.h"

#include "core/license_json.h"
#include "core/time_format.h"

namespace le::primary {

using core::JsonWriter;

void write_product(JsonWriter& w, const core::ProductRecord& p) {
  w.begin_object().field("id", p.id).field("name", p.name);
  core::write_strings(w, "platforms", p.platforms);
  w.key("metadata").raw(p.metadata_json);
  core::write_strings(w, "tkiVersions", p.tki_versions);
  w.field("offlineGraceHours", p.offline_grace_hours);
  w.field("leaseSeconds", p.lease_seconds);
  w.key("plans").raw(p.plans_json);
  w.end_object();
}

void write_account(JsonWriter& w, const core::AccountRecord& a) {
  w.begin_object().field("id", a.id).field("plan", core::to_string(a.plan));
  w.field("rateLimit", core::requests_per_minute(a.plan));
  w.field("tkiRequireHwid", a.tki_require_hwid).field("tkiRateLimit", a.tki_rate_limit);
  w.end_object();
}

void write_api_key(JsonWriter& w, const core::ApiKeyRecord& k, std::string_view key) {
  w.begin_object().field("id", k.id);
  if (!key.empty()) w.field("key", key);
  w.field("accountId", k.account_id).field("mode", core::to_string(k.mode));
  w.field("revoked", k.revoked).end_object();
}

void write_blacklist(JsonWriter& w, const core::BlacklistEntry& b, std::uint64_t attempts,
                     std::int64_t last_attempt_ms) {
  w.begin_object().field("id", b.id).field("type", core::to_string(b.kind));
  w.field("value", b.value).field("attempts", attempts).key("lastAttemptAt");
  if (last_attempt_ms > 0) {
    w.value(core::iso8601(last_attempt_ms / 1000));
  } else {
    w.null();
  }
  w.end_object();
}

std::string webhook_event(std::uint64_t seq, std::string_view type, std::int64_t now,
                          const core::LicenseRecord& l, std::string_view machine_id) {
  return webhook_event(seq, type, now, l, machine_id, {});
}

std::string webhook_event(std::uint64_t seq, std::string_view type, std::int64_t now,
                          const core::LicenseRecord& l, std::string_view machine_id,
                          const std::function<void(core::JsonWriter&)>& more) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("id", "evt_" + std::to_string(seq)).field("event", type);
  w.field("timestamp", core::iso8601(now));
  w.key("data").begin_object().field("licenseId", l.id);
  if (!machine_id.empty()) w.field("machineId", machine_id);
  w.field("productId", l.product_id);
  if (more) more(w);
  w.end_object();
  w.end_object();
  return out;
}

}  // namespace le::primary
