// Exact invalidation of per-thread caches without locks.
//
// A fixed table of atomic stamps, indexed by a hash of (key space, key). The applier bumps the
// stamp of every key it changed *after* the RocksDB write commits. A cache reads the stamp
// *before* reading the store and keeps it with the entry; the entry is served only while the
// stamp is unchanged. So a lookup that starts after an apply returned never serves the state
// before it. Two keys sharing a slot only cause an extra miss, never a stale hit.
//
// Thread-safety: stamp() from any thread; bump() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "store/keys.h"

namespace le::cache {

class InvalidationStamps {
 public:
  // 2^16 slots (512 KiB) stay cache-resident; a collision only costs an extra miss after an update.
  explicit InvalidationStamps(std::size_t slots_log2 = 16);

  std::uint64_t stamp(store::KeySpace space, std::string_view key) const {
    return slots_[slot(space, key)].load(std::memory_order_acquire);
  }
  void bump(store::KeySpace space, std::string_view key) {
    slots_[slot(space, key)].fetch_add(1, std::memory_order_acq_rel);
  }
  // Every key at once (after a snapshot replaced many records).
  void bump_all() {
    for (std::size_t i = 0; i <= mask_; ++i) slots_[i].fetch_add(1, std::memory_order_acq_rel);
  }

 private:
  std::size_t slot(store::KeySpace space, std::string_view key) const;

  std::unique_ptr<std::atomic<std::uint64_t>[]> slots_;
  std::size_t mask_;
};

}  // namespace le::cache
