// Structured one-line JSON logs to stderr: {"ts":…,"level":…,"component":…,"msg":…,…}.
// Thread-safe: each line is formatted into a local buffer and written with one write(2).
#pragma once

#include <initializer_list>
#include <string_view>
#include <utility>

namespace le::log {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };  // kOff: as a minimum, nothing is written

using Field = std::pair<std::string_view, std::string_view>;

void set_min_level(Level l);
void write(Level l, std::string_view component, std::string_view msg,
           std::initializer_list<Field> fields = {});

inline void info(std::string_view c, std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kInfo, c, m, f);
}
inline void warn(std::string_view c, std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kWarn, c, m, f);
}
inline void error(std::string_view c, std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kError, c, m, f);
}

}  // namespace le::log
