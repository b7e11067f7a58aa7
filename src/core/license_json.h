// The license as the management API and activation answers show it (spec "Licenses"), shared
// by the primary and by the edge, which answers activations with the state the primary returned.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/activation.h"
#include "core/json_writer.h"
#include "core/model.h"

namespace le::core {

// `name`: ISO 8601 time, or null when t == 0.
void write_time_or_null(JsonWriter& w, std::string_view name, std::int64_t t);
void write_strings(JsonWriter& w, std::string_view name, const std::vector<std::string>& v);
// The license object; `key` (the plaintext key) only where the caller has it to show.
void write_license(JsonWriter& w, const LicenseRecord& l, std::int64_t now,
                   std::string_view key = {});

// The 200 answer of POST /api/v1/activate and /deactivate:
// {"success":true,"activated":…,"changed":…,"machineId":…,"license":{…}}.
void write_activation_response(std::string& out, ActivationResult result,
                               std::string_view machine_id, const LicenseRecord& l,
                               std::int64_t now);

}  // namespace le::core
