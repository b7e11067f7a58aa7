// Activations (POST /api/v1/activate, /api/v1/deactivate): request parsing and the decision, as
// pure functions of (request, caller, license, now). The primary applies the decision to its
// record under its writer lock, so the machine limit holds under concurrent requests.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "core/api_error.h"
#include "core/model.h"

namespace le::core {

inline constexpr std::size_t kMaxMachineIdBytes = 256;
inline constexpr std::size_t kMaxLabelBytes = 256;

// Views into the parser's per-thread storage: valid until the next parse on this thread.
struct ActivationRequest {
  std::string_view license_key;  // "license_key" or its alias "key"
  std::string_view machine_id;
  std::string_view label;  // activate only; empty when absent
};

std::variant<ActivationRequest, ApiError> parse_activation_request(std::string_view body);

enum class ActivationResult : std::uint8_t {
  kActivated,         // a slot was taken
  kAlreadyActivated,  // the machine was active already: no slot used
  kDeactivated,       // a slot was freed
  kNotActivated,      // deactivate of a machine that holds no slot: nothing to do
  kLeaseExtended,     // floating: the machine's seat is held longer (no seat taken)
};

// Applies an activation to `license` (found by the key's digest, nullptr when absent) for a
// caller authenticated by `api_key` (nullptr: the license key is the credential). Returns what
// changed, or the error answer: 404 NOT_FOUND, 403 EXPIRED / SUSPENDED / REVOKED, 403
// ACTIVATION_LIMIT_REACHED.
// A floating license (core/lease.h) counts only seats held at `now`: a new machine, or one whose
// lease lapsed, takes a seat with a lease of `lease_s` seconds (kActivated); a machine holding
// its seat has its lease extended (kLeaseExtended). Lapsed activations past kLapsedKeepSeconds
// are dropped from the record on the way.
std::variant<ActivationResult, ApiError> activate(const ActivationRequest& req,
                                                  const ApiKeyRecord* api_key,
                                                  LicenseRecord* license, std::int64_t now,
                                                  std::uint32_t lease_s = kDefaultLeaseSeconds);
// A heartbeat of a floating license's machine: extends its lease (kLeaseExtended) or, lapsed,
// takes a seat again when one is free (kActivated). 400 VALIDATION_ERROR for a license that is
// not floating, 404 NOT_FOUND for a machine the license does not know, else as activate().
std::variant<ActivationResult, ApiError> heartbeat(const ActivationRequest& req,
                                                   const ApiKeyRecord* api_key,
                                                   LicenseRecord* license, std::int64_t now,
                                                   std::uint32_t lease_s);
// The refusal of a heartbeat that the record alone decides (an edge answers these without the
// primary): visibility, status, type, unknown machine; nullopt when it may proceed.
std::optional<ApiError> heartbeat_refusal(const ActivationRequest& req, const ApiKeyRecord* api_key,
                                          const LicenseRecord* license, std::int64_t now);
std::variant<ActivationResult, ApiError> deactivate(const ActivationRequest& req,
                                                    const ApiKeyRecord* api_key,
                                                    LicenseRecord* license);

}  // namespace le::core
