// Command-line flags: "--name value" or "--name=value", "--flag" for booleans. Unknown flags and
// malformed values are errors reported with the flag's name, never silently ignored.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace le {

// "HOST:PORT" → host and port; false when malformed.
bool split_host_port(const std::string& listen, std::string& host, unsigned short& port);

// Writes "<port> <admin_port>\n" to `path` atomically (a temporary file renamed into place), so
// a reader sees the whole line or no file: how a process started on port 0 tells which ports the
// kernel gave it. False (and errno) when it could not be written.
bool write_port_file(const std::string& path, unsigned short port, unsigned short admin_port);

// Blocks SIGINT and SIGTERM in this thread (and the threads it starts later) and ignores
// SIGPIPE; wait_for_termination() then takes them synchronously and returns the signal.
void block_termination_signals();
int wait_for_termination();

class Flags {
 public:
  // `known` lists accepted names (without "--"); `booleans` those that take no value.
  Flags(int argc, char** argv, std::set<std::string> known, std::set<std::string> booleans = {});

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  bool has(std::string_view name) const { return values_.count(std::string(name)) > 0; }
  std::string str(std::string_view name, std::string fallback = {}) const;
  std::uint64_t u64(std::string_view name, std::uint64_t fallback);
  bool flag(std::string_view name) const { return has(name); }

 private:
  std::map<std::string, std::string> values_;
  std::string error_;
};

}  // namespace le
