// Decoded hot records in front of the replica, one RecordCache per I/O thread.
//
// Each lookup serves a decoded record (or a remembered absence) from this thread's LRU, checked
// against the shared InvalidationStamps; on a miss it reads the replica, decodes, and keeps the
// result. No lock anywhere: the cache is owned by one thread, the stamps are atomics.
//
// Thread-safety: a RecordCache is used by one thread only. apply_and_invalidate() may run on any
// thread concurrently with lookups on every thread's cache.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/invalidation.h"
#include "store/record_store.h"

namespace le::cache {

template <typename T>
using Ptr = std::shared_ptr<const T>;

struct CacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t store_errors = 0;
};

// A string-keyed cache of (stamp, value) with a fixed capacity and CLOCK eviction (second
// chance), single-threaded. Everything is allocated up front: slots, and hash buckets for the
// full capacity, so filling the cache never rehashes (a rehash of a large table is a
// multi-millisecond stall on the request that triggers it) and an evicted slot's key buffer is
// reused.
template <typename V>
class ClockCache {
 public:
  explicit ClockCache(std::size_t capacity) : slots_(capacity == 0 ? 1 : capacity) {
    index_.reserve(slots_.size());
  }

  // The value if present and stamped `stamp`; else nullptr.
  const V* find(std::string_view key, std::uint64_t stamp) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    Slot& slot = slots_[it->second];
    if (slot.stamp != stamp) return nullptr;
    slot.referenced = true;
    return &slot.value;
  }

  void put(std::string_view key, std::uint64_t stamp, V value) {
    if (auto it = index_.find(key); it != index_.end()) {
      Slot& slot = slots_[it->second];
      slot.stamp = stamp;
      slot.value = std::move(value);
      slot.referenced = true;
      return;
    }
    const std::size_t victim = next_victim();
    Slot& slot = slots_[victim];
    if (slot.used) index_.erase(std::string_view(slot.key));
    slot.key.assign(key);  // reuses the buffer's capacity
    slot.stamp = stamp;
    slot.value = std::move(value);
    slot.referenced = false;
    slot.used = true;
    index_.emplace(std::string_view(slot.key), victim);
  }

  std::size_t size() const { return index_.size(); }

 private:
  struct Slot {
    std::string key;
    std::uint64_t stamp = 0;
    V value{};
    bool referenced = false;
    bool used = false;
  };

  // Sweeps the hand past referenced slots, clearing their bit: a slot survives one sweep per use.
  std::size_t next_victim() {
    for (;;) {
      Slot& slot = slots_[hand_];
      const std::size_t at = hand_;
      hand_ = hand_ + 1 == slots_.size() ? 0 : hand_ + 1;
      if (!slot.used || !slot.referenced) return at;
      slot.referenced = false;
    }
  }

  // Whole-key hashing: keys of one account share their first bytes (blacklist entries, product
  // names), so a prefix would put them all in one bucket.
  struct KeyHash {
    std::size_t operator()(std::string_view k) const noexcept {
      return std::hash<std::string_view>{}(k);
    }
  };

  std::vector<Slot> slots_;
  std::size_t hand_ = 0;
  std::unordered_map<std::string_view, std::size_t, KeyHash> index_;  // views into slot keys
};

// Admission filter in front of a cache (TinyLFU's "doorkeeper"): a key is admitted on its second
// miss within the current window, so one-off keys (scans, uniformly random traffic, unknown keys)
// do not evict hot entries or pay for insertion. A bitset of 2^bits entries, cleared after
// `window` first sightings (aging). Single-threaded.
class Doorkeeper {
 public:
  explicit Doorkeeper(std::size_t bits_log2 = 20, std::size_t window = 1 << 18)
      : bits_((std::size_t{1} << bits_log2) / 64),
        mask_((std::size_t{1} << bits_log2) - 1),
        window_(window) {}

  // True when `hash` was seen in this window; records it otherwise.
  bool seen_before(std::uint64_t hash) {
    const std::size_t bit = static_cast<std::size_t>(hash) & mask_;
    std::uint64_t& word = bits_[bit / 64];
    const std::uint64_t m = std::uint64_t{1} << (bit % 64);
    if (word & m) return true;
    word |= m;
    if (++recorded_ >= window_) {
      std::fill(bits_.begin(), bits_.end(), 0);
      recorded_ = 0;
    }
    return false;
  }

 private:
  std::vector<std::uint64_t> bits_;
  std::size_t mask_;
  std::size_t window_;
  std::size_t recorded_ = 0;
};

struct CacheCapacity {
  std::size_t licenses = 1 << 16;
  std::size_t others = 1 << 14;  // each of: API keys, accounts, products, blacklist entries
  // Admit license records on their second miss only (see Doorkeeper). Off: admit every miss.
  bool license_doorkeeper = true;
};

class RecordCache {
 public:
  RecordCache(const store::RecordStore& replica, const InvalidationStamps& stamps,
              CacheCapacity capacity = {});

  // A null Ptr when absent or deleted; an error when the store could not be read (counted, and
  // not remembered: the next lookup tries the store again).
  // A license not admitted to the cache, and every license when the store has an in-memory
  // view, is decoded into this thread's scratch record: the Ptr then does not own it and stays
  // valid only until the next license() call on this cache.
  store::Result<Ptr<core::LicenseRecord>> license(const core::Digest& key_digest);
  store::Result<Ptr<core::ApiKeyRecord>> api_key(const core::Digest& digest);
  store::Result<Ptr<core::AccountRecord>> account(std::string_view id);
  store::Result<Ptr<core::ProductRecord>> product(std::string_view id);
  store::Result<Ptr<core::ProductRecord>> product_by_name(std::string_view account_id,
                                                          std::string_view name);
  store::Result<Ptr<core::BlacklistEntry>> blacklist(std::string_view account_id,
                                                     core::BlacklistKind kind,
                                                     std::string_view value);

  // A snapshot; safe to call from any thread.
  CacheStats stats() const {
    return {hits_.load(std::memory_order_relaxed), misses_.load(std::memory_order_relaxed),
            store_errors_.load(std::memory_order_relaxed)};
  }

 private:
  // A served entry for `key`, or nullptr (a miss); `stamp` receives the stamp to fill with.
  template <typename T>
  const Ptr<T>* fresh(ClockCache<Ptr<T>>& cache, store::KeySpace space, std::string_view key,
                      std::uint64_t& stamp);
  // Loads from the store and keeps the result under `stamp`.
  template <typename T, typename Load>
  store::Result<Ptr<T>> fill(ClockCache<Ptr<T>>& cache, std::string_view key, std::uint64_t stamp,
                             Load load);
  // The license decoded into scratch_license_ (non-owning Ptr).
  store::Result<Ptr<core::LicenseRecord>> scratch(const core::Digest& d);
  template <typename T, typename Load>
  store::Result<Ptr<T>> lookup(ClockCache<Ptr<T>>& cache, store::KeySpace space,
                               std::string_view key, Load load);

  const store::RecordStore& replica_;
  const InvalidationStamps& stamps_;
  ClockCache<Ptr<core::LicenseRecord>> licenses_;
  ClockCache<Ptr<core::ApiKeyRecord>> api_keys_;
  ClockCache<Ptr<core::AccountRecord>> accounts_;
  ClockCache<Ptr<core::ProductRecord>> products_;
  ClockCache<Ptr<core::BlacklistEntry>> blacklist_;
  std::optional<Doorkeeper> license_admission_;
  core::LicenseRecord scratch_license_;  // decoded non-admitted license (see license())
  std::string key_buf_;
  // Written by the owning thread only (load + store, no locked instruction), read by any.
  static void bump(std::atomic<std::uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, store_errors_{0};
};

// Applies a batch to the replica and then bumps the stamp of every key it changed, so every
// thread's cache stops serving the old state. The single write path into a served replica.
store::Result<store::ApplyResult> apply_and_invalidate(store::RecordStore& replica,
                                                       InvalidationStamps& stamps,
                                                       std::span<const core::ChangeEvent> events,
                                                       std::uint64_t last_seq);

}  // namespace le::cache
