// SHA-256 digests of the secrets a thread sees again and again — API keys, a few per vendor
// calling the edge — remembered by their text, so a request with a known key is one hash table
// probe instead of a SHA-256. Direct-mapped and fixed in size: a new key replaces the one in its
// slot. The stored text is compared in constant time, so the time taken tells nothing about how
// much of a guessed key matches the one remembered.
//
// Thread-safety: one DigestMemo per thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"

namespace le::cache {

class DigestMemo {
 public:
  explicit DigestMemo(std::size_t slots_log2 = 8) : slots_(std::size_t{1} << slots_log2) {}

  // sha256(secret); allocates only when a key longer than its slot held before is remembered.
  const core::Digest& digest(std::string_view secret);

  std::size_t hits() const { return hits_; }

 private:
  struct Slot {
    std::string text;
    core::Digest digest{};
    bool used = false;
  };
  static constexpr std::size_t kMaxKeptBytes = 128;
  std::vector<Slot> slots_;
  core::Digest scratch_{};
  std::size_t hits_ = 0;
};

}  // namespace le::cache
