// API versions (spec "API Versioning" / "Stability Promise"): versions are release dates, and a
// client pins one with `X-API-Version: <date>`; the newest version released on or before that
// date serves it, no header means the newest, and every answer names the version that served it.
// A route or one of its parameters can be deprecated with a removal date: answers that use it
// carry Deprecation (RFC 9745), Sunset (RFC 8594) and a Link to the documentation.
//
// Pure and constant; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/api_error.h"

namespace le::core {

inline constexpr std::string_view kApiVersionHeader = "X-API-Version";
// Released versions, oldest first.
inline constexpr std::array<std::string_view, 1> kApiVersions = {"2026-01-01"};
inline constexpr std::string_view kCurrentApiVersion = kApiVersions.back();

// The version serving a request whose X-API-Version is `header` (nullopt: not sent). nullopt
// when it is not a date (YYYY-MM-DD) or names a day before the first version.
std::optional<std::string_view> select_api_version(std::optional<std::string_view> header);
// The 400 VALIDATION_ERROR for such a header.
ApiError bad_api_version();

struct Deprecation {
  std::string_view method;     // "GET"
  std::string_view path;       // the route as registered
  std::string_view parameter;  // a query parameter; empty: the whole route
  std::int64_t deprecated_at;  // unix seconds
  std::int64_t sunset_at;      // unix seconds: removed from then on
  std::string_view link;       // what to use instead
};

// The deprecations in force. Removal comes at least 90 days after deprecation (the spec's
// migration window).
inline constexpr std::array<Deprecation, 1> kDeprecations = {{
    // The event list's cursor, in favour of the spec's page / limit / offset.
    {"GET", "/api/v1/events", "after", 1'795'478'400 /* 2026-11-24 */,
     1'803'859'200 /* 2027-03-01 */, "https://docs.license-edge.dev/api#pagination"},
}};

// The header values for `d`: "@<unix seconds>" (RFC 9745 Date), an IMF-fixdate (RFC 8594) and
// `<link>; rel="deprecation"`.
std::string deprecation_header(const Deprecation& d);
std::string sunset_header(const Deprecation& d);
std::string deprecation_link_header(const Deprecation& d);

}  // namespace le::core
