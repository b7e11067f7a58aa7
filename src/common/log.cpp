#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

#include "core/json_writer.h"
#include "core/time_format.h"

namespace le::log {
namespace {
std::atomic<Level> g_min{Level::kInfo};
constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void set_min_level(Level l) { g_min.store(l, std::memory_order_relaxed); }

void write(Level l, std::string_view component, std::string_view msg,
           std::initializer_list<Field> fields) {
  if (l < g_min.load(std::memory_order_relaxed)) return;
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto secs = duration_cast<seconds>(now.time_since_epoch()).count();
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::string line;
  line.reserve(160);
  std::string ts = core::iso8601(secs);
  ts.insert(ts.size() - 1, "." + std::to_string(1000 + ms).substr(1));
  core::JsonWriter w(line);
  w.begin_object().field("ts", ts).field("level", kNames[static_cast<int>(l)]);
  w.field("component", component).field("msg", msg);
  for (const auto& [k, v] : fields) w.field(k, v);
  w.end_object();
  line.push_back('\n');
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace le::log
