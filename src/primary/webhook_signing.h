// Webhook signatures (spec "Webhooks", "Verifying Signatures"): X-TO-Signature is the hex
// HMAC-SHA256, keyed with the endpoint's signing secret (its text, "whsec_…"), of
// "<X-TO-Timestamp>.<body>" — what the spec's Express, Flask and PHP verifiers recompute.
// The body must be sent byte for byte as signed; the Express verifier signs
// JSON.stringify(req.body), so bodies are compact JSON with their keys in order.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace le::primary {

// Lowercase hex HMAC-SHA256 of `data` keyed with `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// The X-TO-Signature of `body` sent at `timestamp` (unix seconds, as in X-TO-Timestamp).
std::string webhook_signature(std::string_view secret, std::int64_t timestamp,
                              std::string_view body);

}  // namespace le::primary
