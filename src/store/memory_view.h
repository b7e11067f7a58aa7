// The whole record store in memory for the hot path: every stored value of every record key
// space (tombstones included, as RocksDB holds them), by key, in one open-addressing table per
// key space. RocksDB stays the durable copy: the view is loaded from it at open and changed by
// RecordStore::apply() after each batch commits, before apply() returns — so a lookup that
// starts after an apply returned sees it, as with the cache stamps bumped after it.
//
// Compact: a value and its key are one heap block (no std::string, no shared_ptr per record),
// referenced from a 16-byte slot holding the key's hash.
//
// Readers take no lock and never see a torn value: a value is immutable once published, a
// change publishes a new block with one atomic pointer store, and the old block is freed only
// when every reader that could hold it has left (epoch-based reclamation: each reading thread
// announces the epoch it entered in its own slot for the few hundred nanoseconds a read takes).
//
// Thread-safety: read() from any thread concurrently; load() and put() from one writer at a
// time (RecordStore serializes them), concurrently with readers.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "store/keys.h"

namespace le::store {

class MemoryView {
 public:
  // `budget_bytes`: what the view may hold (0 = no limit); see load().
  explicit MemoryView(std::size_t budget_bytes = 0);
  ~MemoryView();
  MemoryView(const MemoryView&) = delete;
  MemoryView& operator=(const MemoryView&) = delete;

  // Sizes a key space's table for about `keys` entries ahead of loading.
  void reserve(KeySpace space, std::size_t keys);
  // Adds a value while loading; false (nothing added) when it would exceed the budget.
  bool load(KeySpace space, std::string_view key, std::string_view value);
  // Sets (or, with nullopt, removes) the value of a key, publishing it to readers.
  void put(KeySpace space, std::string_view key, std::optional<std::string_view> value);

  // Calls `fn(value)` with the key's value while it cannot be freed; false when absent. `fn`
  // must not keep a view of the value past its return, nor read the view again.
  template <typename F>
  bool read(KeySpace space, std::string_view key, F&& fn) const {
    ReadGuard guard;
    const Block* b = find(space, key);
    if (b == nullptr) return false;
    fn(b->value());
    return true;
  }

  // Bytes held: values, keys, tables.
  std::size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  std::size_t entries(KeySpace space) const;
  // The most slots one probe of the writer visited in a key space's current table (writer's
  // thread only; for tests: a clustered table shows here).
  std::size_t longest_probe(KeySpace space) const;
  // Frees what readers can no longer hold; the writer calls it after a batch of put()s.
  void reclaim();

 private:
  struct Block {
    std::uint32_t key_size;
    std::uint32_t value_size;
    bool present;  // false: the key was removed (its slot stays, keyed by this block)
    std::string_view key() const { return {data(), key_size}; }
    std::string_view value() const { return {data() + key_size, value_size}; }
    const char* data() const { return reinterpret_cast<const char*>(this + 1); }
    char* data() { return reinterpret_cast<char*>(this + 1); }
  };
  struct Slot {
    std::atomic<std::uint64_t> hash{0};  // 0 = empty; set once, after `block`
    std::atomic<const Block*> block{nullptr};
  };
  struct Table {
    explicit Table(std::size_t capacity);
    ~Table();
    std::size_t mask;
    std::size_t used = 0;                   // slots with a hash (writer only)
    std::atomic<std::size_t> present{0};    // keys with a value (written by the writer only)
    mutable std::size_t longest_probe = 0;  // slots a writer's probe visited, at most (writer only)
    Slot* slots;                            // in huge pages where large (see alloc_pages)
    // One more key would pass the load factor of 1/2: grow first.
    bool full() const { return (used + 1) * 2 > mask + 1; }
  };
  // Marks this thread as reading for its lifetime (nestable).
  class ReadGuard {
   public:
    ReadGuard();
    ~ReadGuard();
    ReadGuard(const ReadGuard&) = delete;
    ReadGuard& operator=(const ReadGuard&) = delete;
  };

  static std::uint64_t hash_of(KeySpace space, std::string_view key);
  const Block* find(KeySpace space, std::string_view key) const;
  // The slot of `key` in `t` (its own, or the empty one where it would go).
  static Slot& probe(const Table& t, std::uint64_t h, std::string_view key);
  const Block* make_block(std::string_view key, std::optional<std::string_view> value);
  void free_block(const Block* b);
  void release(const Block* b);  // at destruction: what chunks do not cover
  static std::size_t footprint(std::size_t bytes);
  void grow(KeySpace space, std::size_t capacity);
  // Frees a block or table once no reader can hold it.
  void retire(const Block* b);
  void retire(Table* t);

  std::atomic<Table*> tables_[kKeySpaceCount];
  std::size_t budget_;
  std::atomic<std::size_t> bytes_{0};
  struct Retired {
    std::uint64_t epoch;
    const Block* block;
    Table* table;
  };
  std::vector<Retired> retired_;  // writer only
  std::size_t reclaim_at_ = 4096;
  // Blocks are carved from 2 MiB chunks in transparent huge pages (a lookup touches a slot and
  // a block at random: with 4 KiB pages nearly every one is also a TLB miss), by size class of
  // 16 bytes, and freed blocks are reused by their class. Writer only.
  static constexpr std::size_t kChunkBytes = 2u << 20;
  static constexpr std::size_t kClassBytes = 16;
  static constexpr std::size_t kMaxClassBytes = 4096;
  std::vector<void*> chunks_;
  char* chunk_next_ = nullptr;
  char* chunk_end_ = nullptr;
  std::vector<void*> free_[kMaxClassBytes / kClassBytes + 1];
  void* allocate(std::size_t bytes);
  void deallocate(void* p, std::size_t bytes);
};

}  // namespace le::store
