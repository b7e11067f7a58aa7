#include "core/time_format.h"

#include <gtest/gtest.h>

namespace le::core {
namespace {

TEST(TimeFormat, Iso8601AndTkiDates) {
  EXPECT_EQ(iso8601(1705320000), "2024-01-15T12:00:00Z");
  EXPECT_EQ(iso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(mmddyyyy(1735603200), "12/31/2024");
}

TEST(TimeFormat, ParsesIsoVariantsAndRejectsGarbage) {
  EXPECT_EQ(parse_iso8601("2024-01-15T12:00:00Z"), 1705320000);
  EXPECT_EQ(parse_iso8601("2024-01-15T12:00:00.123Z"), 1705320000);
  EXPECT_EQ(parse_iso8601("2024-01-15T14:00:00+02:00"), 1705320000);
  EXPECT_EQ(parse_iso8601("2024-01-15"), 1705276800);
  for (auto bad : {"", "2024", "2024-13-01", "2024-02-30", "2024-01-15T25:00:00Z",
                   "2024-01-15T12:00:00", "2024-01-15T12:00:00Zjunk", "yyyy-mm-dd"}) {
    EXPECT_FALSE(parse_iso8601(bad)) << bad;
  }
}

}  // namespace
}  // namespace le::core
