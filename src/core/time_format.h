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

// The UTC day (days since 1970-01-01) of a unix time in seconds.
constexpr std::int32_t utc_day(std::int64_t unix_seconds) {
  return static_cast<std::int32_t>(unix_seconds >= 0 ? unix_seconds / 86400
                                                     : (unix_seconds - 86399) / 86400);
}
// "2024-01-15" of a UTC day.
std::string date_of_day(std::int32_t day);
// The UTC day of exactly "YYYY-MM-DD" (a real date, years 1970…9999); nullopt otherwise.
std::optional<std::int32_t> parse_date(std::string_view s);

}  // namespace le::core
