// Identifiers and secrets the primary issues, drawn from OpenSSL's CSPRNG: record ids
// (prefix + 16 hex digits), license keys and API keys. Each throws Refusal (500) if the
// generator fails. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/model.h"

namespace le::primary {

// `prefix` followed by 64 random bits in hex, e.g. "lic_3f9a…".
std::string random_id(std::string_view prefix);
// XXXX-XXXX-XXXX-XXXX from 32 unambiguous characters: 80 random bits.
std::string random_license_key();
// "to_live_" / "to_test_" followed by 32 characters of a 64-character alphabet: 192 bits.
std::string random_api_key(core::Mode mode);
// "whsec_" followed by 32 characters of a 64-character alphabet: a webhook signing secret.
std::string random_webhook_secret();

}  // namespace le::primary
