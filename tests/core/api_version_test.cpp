// API versions: a date selects the newest version released on or before it, no header the
// newest; anything else is refused. Deprecation headers are in their RFCs' formats.
#include "core/api_version.h"

#include <gtest/gtest.h>

namespace le::core {
namespace {

TEST(ApiVersion, ADateSelectsTheNewestVersionReleasedByThen) {
  EXPECT_EQ(select_api_version(std::nullopt), kCurrentApiVersion);
  EXPECT_EQ(select_api_version("2026-01-01"), "2026-01-01");
  EXPECT_EQ(select_api_version("2026-11-24"), "2026-01-01");
  EXPECT_EQ(select_api_version("9999-12-31"), kCurrentApiVersion);
  for (const char* bad : {"2025-12-31", "1970-01-01", "garbage", "", "2026-1-1", "2026-13-01",
                          "2026-02-30", "2026-01-01T00:00:00Z", "2026-01-01 ", "v1", "20260101"}) {
    EXPECT_EQ(select_api_version(std::string_view(bad)), std::nullopt) << bad;
  }
  const auto e = bad_api_version();
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.code, "VALIDATION_ERROR");
  EXPECT_NE(e.message.find("2026-01-01"), std::string::npos);
}

TEST(ApiVersion, DeprecationHeadersFollowTheirRfcs) {
  const Deprecation d{"GET", "/x", "after", 1'795'478'400, 1'803'859'200, "https://e.x/docs"};
  EXPECT_EQ(deprecation_header(d), "@1795478400");               // RFC 9745: sf-date
  EXPECT_EQ(sunset_header(d), "Mon, 01 Mar 2027 00:00:00 GMT");  // RFC 8594: IMF-fixdate
  EXPECT_EQ(deprecation_link_header(d), "<https://e.x/docs>; rel=\"deprecation\"");
  // The spec's migration window: removal at least 90 days after deprecation.
  for (const auto& dep : kDeprecations) EXPECT_GE(dep.sunset_at - dep.deprecated_at, 90 * 86400);
}

}  // namespace
}  // namespace le::core
