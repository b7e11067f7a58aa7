// Names the calling thread (its first 15 bytes; Linux's limit), so that top -H, perf and
// /proc/<pid>/task/*/comm tell a process's threads apart.
#pragma once

#include <pthread.h>

#include <string>
#include <string_view>

namespace le {

inline void name_this_thread(std::string_view name) {
  const std::string n(name.substr(0, 15));
  pthread_setname_np(pthread_self(), n.c_str());
}

}  // namespace le
