#include "cache/invalidation.h"

#include <cstring>
#include <functional>

namespace le::cache {

InvalidationStamps::InvalidationStamps(std::size_t slots_log2)
    : slots_(new std::atomic<std::uint64_t>[std::size_t{1} << slots_log2]),
      mask_((std::size_t{1} << slots_log2) - 1) {
  for (std::size_t i = 0; i <= mask_; ++i) slots_[i].store(0, std::memory_order_relaxed);
}

std::size_t InvalidationStamps::slot(store::KeySpace space, std::string_view key) const {
  std::uint64_t h;
  if (key.size() == 32) {
    // A SHA-256 digest is already uniformly distributed.
    std::memcpy(&h, key.data(), sizeof h);
  } else {
    h = std::hash<std::string_view>{}(key);
  }
  h ^= static_cast<std::uint64_t>(space) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  return static_cast<std::size_t>(h) & mask_;
}

}  // namespace le::cache
