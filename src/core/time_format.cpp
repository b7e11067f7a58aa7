#include "core/time_format.h"

#include <chrono>
#include <cstdio>

namespace le::core {
namespace {

struct Civil {
  int year;
  unsigned month, day, hour, minute, second;
};

// Days since 1970-01-01 to a civil date (H. Hinnant's civil_from_days): integer math only, so a
// timestamp formats in a few nanoseconds on the hot path.
Civil to_civil(std::int64_t t) {
  std::int64_t days = t / 86400;
  std::int64_t secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const auto y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
  return {y,
          m,
          d,
          static_cast<unsigned>(secs / 3600),
          static_cast<unsigned>(secs / 60 % 60),
          static_cast<unsigned>(secs % 60)};
}

void put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10 % 10);
  p[1] = static_cast<char>('0' + v % 10);
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
  if (c.year < 0 || c.year > 9999) {  // outside what 4 digits hold: slow path, still correct
    char buf[48];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02uZ", c.year, c.month, c.day,
                          c.hour, c.minute, c.second);
    out.append(buf, static_cast<std::size_t>(n));
    return;
  }
  char buf[20] = {'0', '0', '0', '0', '-', '0', '0', '-', '0', '0',
                  'T', '0', '0', ':', '0', '0', ':', '0', '0', 'Z'};
  put2(buf, static_cast<unsigned>(c.year) / 100);
  put2(buf + 2, static_cast<unsigned>(c.year) % 100);
  put2(buf + 5, c.month);
  put2(buf + 8, c.day);
  put2(buf + 11, c.hour);
  put2(buf + 14, c.minute);
  put2(buf + 17, c.second);
  out.append(buf, sizeof buf);
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

std::string date_of_day(std::int32_t day) {
  std::string s = iso8601(static_cast<std::int64_t>(day) * 86400);
  s.resize(s.find('T'));
  return s;
}

std::optional<std::int32_t> parse_date(std::string_view s) {
  if (s.size() != 10) return std::nullopt;
  auto t = parse_iso8601(s);
  if (!t || *t < 0) return std::nullopt;
  return utc_day(*t);
}

}  // namespace le::core
