#include "core/api_version.h"

#include <ctime>

#include "core/time_format.h"

namespace le::core {

std::optional<std::string_view> select_api_version(std::optional<std::string_view> header) {
  if (!header) return kCurrentApiVersion;
  for (const std::string_view v : kApiVersions) {
    if (*header == v) return v;  // a pinned release, as clients send it: no date to parse
  }
  const auto day = parse_date(*header);
  if (!day) return std::nullopt;
  // Dates as YYYY-MM-DD compare as strings; the newest released on or before the day.
  std::optional<std::string_view> chosen;
  for (const std::string_view v : kApiVersions) {
    if (v <= *header) chosen = v;
  }
  return chosen;
}

ApiError bad_api_version() {
  std::string message = "X-API-Version must be a date (YYYY-MM-DD) on or after ";
  message.append(kApiVersions.front());
  return ApiError::validation(std::move(message));
}

std::string deprecation_header(const Deprecation& d) {
  std::string out(1, '@');
  out.append(std::to_string(d.deprecated_at));
  return out;
}

std::string sunset_header(const Deprecation& d) {
  const std::time_t t = d.sunset_at;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

std::string deprecation_link_header(const Deprecation& d) {
  std::string out(1, '<');
  out.append(d.link).append(">; rel=\"deprecation\"");
  return out;
}

}  // namespace le::core
