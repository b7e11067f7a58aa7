#include "common/flags.h"

#include <signal.h>

#include <charconv>
#include <cstdio>

namespace le {

Flags::Flags(int argc, char** argv, std::set<std::string> known, std::set<std::string> booleans) {
  for (int i = 1; i < argc && error_.empty(); ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("--")) {
      error_ = "unexpected argument '" + std::string(arg) + "'";
      break;
    }
    arg.remove_prefix(2);
    std::string name, value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    } else {
      name = arg;
    }
    if (!known.count(name) && !booleans.count(name)) {
      error_ = "unknown flag --" + name;
      break;
    }
    if (booleans.count(name)) {
      if (has_value) error_ = "--" + name + " takes no value";
      values_[name] = "1";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        error_ = "--" + name + " needs a value";
        break;
      }
      value = argv[++i];
    }
    values_[name] = value;
  }
}

std::string Flags::str(std::string_view name, std::string fallback) const {
  auto it = values_.find(std::string(name));
  return it == values_.end() ? fallback : it->second;
}

std::uint64_t Flags::u64(std::string_view name, std::uint64_t fallback) {
  auto it = values_.find(std::string(name));
  if (it == values_.end()) return fallback;
  std::uint64_t v = 0;
  const auto& s = it->second;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    if (error_.empty()) error_ = "--" + std::string(name) + " must be a non-negative integer";
    return fallback;
  }
  return v;
}

bool write_port_file(const std::string& path, unsigned short port, unsigned short admin_port) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return false;
  const bool written = std::fprintf(f, "%u %u\n", port, admin_port) > 0;
  const bool closed = std::fclose(f) == 0;
  return written && closed && std::rename(tmp.c_str(), path.c_str()) == 0;
}

bool split_host_port(const std::string& listen, std::string& host, unsigned short& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  try {
    unsigned long p = std::stoul(listen.substr(colon + 1));
    if (p > 65535) return false;
    port = static_cast<unsigned short>(p);
  } catch (...) {
    return false;
  }
  return !host.empty();
}

void block_termination_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int wait_for_termination() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int sig = 0;
  sigwait(&signals, &sig);
  return sig;
}

}  // namespace le
