// Time formats of the two protocols. Pure functions of a unix timestamp; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace le::core {

// "2024-01-15T12:00:00Z" (Traffic Orchestrator).
void append_iso8601(std::string& out, std::int64_t unix_seconds);
std::string iso8601(std::int64_t unix_seconds);
// "12/31/2024" (TKI expire_date, MM/DD/YYYY).
std::string mmddyyyy(std::int64_t unix_seconds);
// Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)" or "YYYY-MM-DD"; nullopt when malformed.
std::optional<std::int64_t> parse_iso8601(std::string_view s);

}  // namespace le::core
