// The hash index of a bounded tally (FailureTally, UsageTally): the tally keeps its entries in
// a vector, in the order first counted; this finds an entry's position by its hash.
//
// Open addressing with linear probing, at most half full. A slot is 0 when empty, else the
// entry's position + 1 in the low kIndexBits and 8 more bits of its hash above them, so a probe
// reads an entry only when those match. At most kMaxEntries entries.
//
// Thread-safety: none; used by its tally's thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace le::core {

// splitmix64's finalizer: the tallies' hashes mix their fields through it.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Starts loading every cache line of `item` for writing: a tally's next entry, last touched an
// interval ago, before a new key is counted into it.
template <typename T>
void prefetch_for_write(const T& item) {
  constexpr std::uintptr_t kLine = 64;
  const auto first = reinterpret_cast<std::uintptr_t>(&item) & ~(kLine - 1);
  const auto last = reinterpret_cast<std::uintptr_t>(&item) + sizeof(T) - 1;
  for (std::uintptr_t line = first; line <= last; line += kLine) {
    __builtin_prefetch(reinterpret_cast<const void*>(line), 1);
  }
}

class SlotIndex {
 public:
  static constexpr unsigned kIndexBits = 24;
  static constexpr std::size_t kMaxEntries = (std::size_t{1} << kIndexBits) - 2;

  // The position of the entry with hash `h` that `same(position)` accepts; nullopt when there is
  // none, and then insert() puts a new one where the probe stopped.
  template <typename Same>
  std::optional<std::size_t> find(std::uint64_t h, Same&& same) {
    if (slots_.empty()) slots_.assign(64, 0);
    tag_ = tag(h);
    std::size_t s = static_cast<std::size_t>(h) & (slots_.size() - 1);
    for (std::uint32_t slot; (slot = slots_[s]) != 0; s = (s + 1) & (slots_.size() - 1)) {
      if ((slot & ~kIndexMask) == tag_ && same((slot & kIndexMask) - 1)) {
        return (slot & kIndexMask) - 1;
      }
    }
    free_ = s;
    return std::nullopt;
  }

  // Right after a find() of nothing: the entry at `position` (the tally's size before it) has
  // that hash. `hash_of(position)` gives any entry's hash when the table grows.
  template <typename HashOf>
  void insert(std::size_t position, HashOf&& hash_of) {
    slots_[free_] = tag_ | static_cast<std::uint32_t>(position + 1);
    const std::size_t size = position + 1;
    if (size * 2 <= slots_.size()) return;
    slots_.assign(slots_.size() * 2, 0);
    for (std::size_t i = 0; i < size; ++i) {
      const std::uint64_t h = hash_of(i);
      std::size_t s = static_cast<std::size_t>(h) & (slots_.size() - 1);
      while (slots_[s] != 0) s = (s + 1) & (slots_.size() - 1);
      slots_[s] = tag(h) | static_cast<std::uint32_t>(i + 1);
    }
  }

  // Starts loading the slot where a find() of `h` begins, so that find() later does not wait
  // for memory (a tally of many distinct licenses misses the cache on nearly every probe).
  void prefetch(std::uint64_t h) const {
    if (!slots_.empty())
      __builtin_prefetch(&slots_[static_cast<std::size_t>(h) & (slots_.size() - 1)]);
  }

  // Empties the index, keeping its memory.
  void clear() { std::fill(slots_.begin(), slots_.end(), 0); }
  void swap(SlotIndex& other) noexcept {
    slots_.swap(other.slots_);
    std::swap(free_, other.free_);
    std::swap(tag_, other.tag_);
  }

 private:
  static constexpr std::uint32_t kIndexMask = (1u << kIndexBits) - 1;
  static std::uint32_t tag(std::uint64_t h) {
    return static_cast<std::uint32_t>(h >> 56 << kIndexBits);
  }

  std::vector<std::uint32_t> slots_;
  std::size_t free_ = 0;   // where find() stopped
  std::uint32_t tag_ = 0;  // of the hash find() looked for
};

}  // namespace le::core
