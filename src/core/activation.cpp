#include "core/activation.h"

#include <algorithm>
#include <string>

#include "core/json_read.h"
#include "core/lease.h"
#include "core/validate.h"

namespace le::core {
namespace {

namespace dom = simdjson::dom;

// Reads an optional string field into `out` (left empty when absent or null).
std::optional<ApiError> read_field(dom::element v, std::string_view name, std::string_view& out,
                                   std::size_t limit) {
  std::optional<std::string_view> s;
  if (auto e = json::read_request_string(v, name, s, limit)) return e;
  out = s.value_or(std::string_view());
  return std::nullopt;
}

std::optional<ApiError> visible(const ApiKeyRecord* api_key, const LicenseRecord* license) {
  if (!visible_to(api_key, license)) return ApiError::not_found("License not found");
  return std::nullopt;
}

}  // namespace

std::variant<ActivationRequest, ApiError> parse_activation_request(std::string_view body) {
  thread_local json::Parser parser;
  dom::object obj;
  if (auto e = json::parse_request_object(parser, body, obj)) return std::move(*e);
  ActivationRequest req;
  for (const auto field : obj) {
    const std::string_view name = field.key;
    std::optional<ApiError> err;
    if (name == "license_key" || name == "key") {
      std::string_view k;
      err = read_field(field.value, name, k, kMaxLicenseKeyBytes);
      if (!err && !k.empty()) {
        if (!req.license_key.empty() && req.license_key != k) {
          return ApiError::validation("Fields 'key' and 'license_key' differ");
        }
        req.license_key = k;
      }
    } else if (name == "machine_id") {
      err = read_field(field.value, name, req.machine_id, kMaxMachineIdBytes);
    } else if (name == "label") {
      err = read_field(field.value, name, req.label, kMaxLabelBytes);
    }
    if (err) return *err;
  }
  if (req.license_key.empty() && req.machine_id.empty()) {
    return ApiError::missing_fields("Missing required fields: license_key, machine_id");
  }
  if (req.license_key.empty())
    return ApiError::missing_fields("Missing required field: license_key");
  if (req.machine_id.empty()) return ApiError::missing_fields("Missing required field: machine_id");
  return req;
}

namespace {

std::optional<ApiError> status_refusal(const LicenseRecord& l, std::int64_t now) {
  switch (effective_status(l, now)) {
    case LicenseStatus::kExpired:
      return ApiError{403, "EXPIRED", "License has expired"};
    case LicenseStatus::kSuspended:
      return ApiError{403, "SUSPENDED", "License is suspended"};
    case LicenseStatus::kRevoked:
      return ApiError{403, "REVOKED", "License has been revoked"};
    case LicenseStatus::kActive:
      break;
  }
  return std::nullopt;
}

ApiError limit_reached() {
  return ApiError{403, "ACTIVATION_LIMIT_REACHED",
                  "License has reached its maximum number of activations"};
}

// Floating: takes or extends the seat of `req.machine_id`.
std::variant<ActivationResult, ApiError> take_seat(const ActivationRequest& req, LicenseRecord& l,
                                                   std::int64_t now, std::uint32_t lease_s,
                                                   bool known_only) {
  auto& acts = l.activations;
  std::erase_if(acts, [&](const Activation& a) {
    return a.lease_expires_at != 0 && lease_release_at(a) + kLapsedKeepSeconds < now &&
           a.machine_id != req.machine_id;
  });
  auto it = std::find_if(acts.begin(), acts.end(),
                         [&](const Activation& a) { return a.machine_id == req.machine_id; });
  if (it == acts.end() && known_only) {
    return ApiError::not_found("Machine is not activated for this license");
  }
  if (it != acts.end() && holds_seat(l, *it, now)) {
    if (it->lease_expires_at == 0) return ActivationResult::kAlreadyActivated;
    it->lease_expires_at = std::max(it->lease_expires_at, now + std::int64_t{lease_s});
    return ActivationResult::kLeaseExtended;
  }
  if (seats_held(l, now) >= l.max_activations) return limit_reached();
  if (it != acts.end()) {
    it->lease_expires_at = now + lease_s;
    it->activated_at = now;
    if (!req.label.empty()) it->label.assign(req.label);
  } else {
    acts.push_back(Activation{std::string(req.machine_id), std::string(req.label), now,
                              now + std::int64_t{lease_s}});
  }
  return ActivationResult::kActivated;
}

}  // namespace

std::variant<ActivationResult, ApiError> activate(const ActivationRequest& req,
                                                  const ApiKeyRecord* api_key,
                                                  LicenseRecord* license, std::int64_t now,
                                                  std::uint32_t lease_s) {
  if (auto e = visible(api_key, license)) return *e;
  if (auto e = status_refusal(*license, now)) return *e;
  if (is_floating(*license)) return take_seat(req, *license, now, lease_s, false);
  auto& acts = license->activations;
  auto it = std::find_if(acts.begin(), acts.end(),
                         [&](const Activation& a) { return a.machine_id == req.machine_id; });
  if (it != acts.end()) return ActivationResult::kAlreadyActivated;
  if (acts.size() >= license->max_activations) return limit_reached();
  acts.push_back(Activation{std::string(req.machine_id), std::string(req.label), now});
  return ActivationResult::kActivated;
}

std::optional<ApiError> heartbeat_refusal(const ActivationRequest& req, const ApiKeyRecord* api_key,
                                          const LicenseRecord* license, std::int64_t now) {
  if (auto e = visible(api_key, license)) return e;
  if (!is_floating(*license)) return ApiError::validation("License is not a floating license");
  if (auto e = status_refusal(*license, now)) return e;
  const auto& acts = license->activations;
  if (std::none_of(acts.begin(), acts.end(),
                   [&](const Activation& a) { return a.machine_id == req.machine_id; })) {
    return ApiError::not_found("Machine is not activated for this license");
  }
  return std::nullopt;
}

std::variant<ActivationResult, ApiError> heartbeat(const ActivationRequest& req,
                                                   const ApiKeyRecord* api_key,
                                                   LicenseRecord* license, std::int64_t now,
                                                   std::uint32_t lease_s) {
  if (auto e = heartbeat_refusal(req, api_key, license, now)) return *e;
  return take_seat(req, *license, now, lease_s, true);
}

std::variant<ActivationResult, ApiError> deactivate(const ActivationRequest& req,
                                                    const ApiKeyRecord* api_key,
                                                    LicenseRecord* license) {
  if (auto e = visible(api_key, license)) return *e;
  auto& acts = license->activations;
  auto it = std::find_if(acts.begin(), acts.end(),
                         [&](const Activation& a) { return a.machine_id == req.machine_id; });
  if (it == acts.end()) return ActivationResult::kNotActivated;
  acts.erase(it);
  return ActivationResult::kDeactivated;
}

}  // namespace le::core
