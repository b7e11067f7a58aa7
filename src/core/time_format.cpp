#include "core/time_format.h"

#include <chrono>
#include <cstdio>

namespace le::core {
namespace {

struct Civil {
  int year;
  unsigned month, day, hour, minute, second;
};

Civil to_civil(std::int64_t t) {
  using namespace std::chrono;
  const sys_seconds tp{seconds{t}};
  const auto day_point = floor<days>(tp);
  const year_month_day ymd{day_point};
  const hh_mm_ss hms{tp - day_point};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()), static_cast<unsigned>(hms.hours().count()),
          static_cast<unsigned>(hms.minutes().count()),
          static_cast<unsigned>(hms.seconds().count())};
}

bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

void append_iso8601(std::string& out, std::int64_t t) {
  const Civil c = to_civil(t);
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02uZ", c.year, c.month, c.day,
                        c.hour, c.minute, c.second);
  out.append(buf, static_cast<std::size_t>(n));
}

std::string iso8601(std::int64_t t) {
  std::string s;
  append_iso8601(s, t);
  return s;
}

std::string mmddyyyy(std::int64_t t) {
  const Civil c = to_civil(t);
  char buf[16];
  int n = std::snprintf(buf, sizeof buf, "%02u/%02u/%04d", c.month, c.day, c.year);
  return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<std::int64_t> parse_iso8601(std::string_view s) {
  using namespace std::chrono;
  int y, mo, d, h = 0, mi = 0, se = 0;
  if (!read_digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !read_digits(s, 5, 2, mo) ||
      s[7] != '-' || !read_digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  std::int64_t offset = 0;
  if (s.size() > 10) {
    if ((s[10] != 'T' && s[10] != ' ') || !read_digits(s, 11, 2, h) || s.size() < 19 ||
        s[13] != ':' || !read_digits(s, 14, 2, mi) || s[16] != ':' || !read_digits(s, 17, 2, se) ||
        h > 23 || mi > 59 || se > 60) {
      return std::nullopt;
    }
    std::size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    }
    if (pos == s.size() - 1 && s[pos] == 'Z') {
      // UTC
    } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
      int oh, om;
      if (!read_digits(s, pos + 1, 2, oh) || !read_digits(s, pos + 4, 2, om) || oh > 23 ||
          om > 59) {
        return std::nullopt;
      }
      offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    } else {
      return std::nullopt;
    }
  }
  const sys_days days_point{ymd};
  return static_cast<std::int64_t>(days_point.time_since_epoch() / seconds{1}) + h * 3600 +
         mi * 60 + se - offset;
}

}  // namespace le::core
