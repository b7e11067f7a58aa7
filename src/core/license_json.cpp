#include "core/license_json.h"

#include "core/lease.h"
#include "core/time_format.h"
#include "core/validate.h"

namespace le::core {

void write_time_or_null(JsonWriter& w, std::string_view name, std::int64_t t) {
  w.key(name);
  if (t == 0) {
    w.null();
  } else {
    w.value(iso8601(t));
  }
}

void write_strings(JsonWriter& w, std::string_view name, const std::vector<std::string>& v) {
  w.key(name).begin_array();
  for (const auto& s : v) w.value(s);
  w.end_array();
}

void write_license(JsonWriter& w, const LicenseRecord& l, std::int64_t now, std::string_view key) {
  w.begin_object().field("id", l.id);
  if (!key.empty()) w.field("key", key);
  w.field("productId", l.product_id).field("type", to_string(l.type));
  w.field("status", to_string(effective_status(l, now)));
  w.field("mode", to_string(l.mode));
  w.field("activations", static_cast<std::uint64_t>(seats_held(l, now)));
  w.field("maxActivations", l.max_activations);
  w.key("machines").begin_array();
  for (const auto& a : l.activations) {
    if (!holds_seat(l, a, now)) continue;  // a lapsed lease (core/lease.h)
    w.begin_object().field("machineId", a.machine_id).field("label", a.label);
    write_time_or_null(w, "activatedAt", a.activated_at);
    if (a.lease_expires_at != 0) write_time_or_null(w, "leaseExpiresAt", a.lease_expires_at);
    w.end_object();
  }
  w.end_array();
  if (is_floating(l) && l.lease_seconds != 0) w.field("leaseSeconds", l.lease_seconds);
  write_time_or_null(w, "expiresAt", l.expires_at);
  if (!l.email.empty()) w.field("email", l.email);
  if (!l.plan_id.empty()) w.field("plan", l.plan_id);
  w.key("metadata").raw(l.metadata_json);
  write_strings(w, "allowedDomains", l.allowed_domains);
  w.field("maxIps", l.max_ips).field("maxHwids", l.max_hwids);
  write_strings(w, "ips", l.ips);
  write_strings(w, "hwids", l.hwids);
  w.field("staff", l.staff);
  w.field("discordId", l.discord_id).field("discordUsername", l.discord_username);
  w.field("discordTag", l.discord_tag);
  w.key("offlineGraceHours");
  if (l.offline_grace_hours >= 0) {
    w.value(l.offline_grace_hours);
  } else {
    w.null();
  }
  write_time_or_null(w, "createdAt", l.created_at);
  w.end_object();
}

void write_activation_response(std::string& out, ActivationResult result,
                               std::string_view machine_id, const LicenseRecord& l,
                               std::int64_t now) {
  out.clear();
  JsonWriter w(out);
  w.begin_object().field("success", true);
  w.field("activated", result == ActivationResult::kActivated ||
                           result == ActivationResult::kAlreadyActivated ||
                           result == ActivationResult::kLeaseExtended);
  w.field("changed",
          result == ActivationResult::kActivated || result == ActivationResult::kDeactivated);
  w.field("machineId", machine_id);
  // A floating seat: until when it is held unless a heartbeat extends it (core/lease.h).
  if (const Activation* a = find_activation(l, machine_id);
      a != nullptr && a->lease_expires_at != 0 && result != ActivationResult::kDeactivated) {
    write_time_or_null(w, "leaseExpiresAt", a->lease_expires_at);
  }
  w.key("license");
  write_license(w, l, now);
  w.end_object();
}

}  // namespace le::core
