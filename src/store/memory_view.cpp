#include "store/memory_view.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <thread>

namespace le::store {
namespace {

// Epochs. A reading thread stores the global epoch in its slot on entry and 0 on exit; the writer
// tags what it retires with the epoch it advanced from, and frees it once every slot is 0 or
// newer. All operations are sequentially consistent: a reader that announced an epoch newer
// than a block's retirement loaded its pointer after the block was replaced.
constexpr std::size_t kReaderSlots = 1024;
struct alignas(64) ReaderSlot {
  std::atomic<std::uint64_t> epoch{0};
  std::atomic<bool> taken{false};
};
ReaderSlot g_readers[kReaderSlots];
std::atomic<std::size_t> g_reader_high{0};  // slots [0, high) may be in use
std::atomic<std::uint64_t> g_epoch{1};

struct ThreadReader {
  ReaderSlot* slot = nullptr;
  int depth = 0;
  ~ThreadReader() {
    if (slot != nullptr) slot->taken.store(false, std::memory_order_release);
    slot = nullptr;
  }
  ReaderSlot& get() {
    while (slot == nullptr) {
      for (std::size_t i = 0; i < kReaderSlots && slot == nullptr; ++i) {
        bool free = false;
        if (g_readers[i].taken.compare_exchange_strong(free, true)) {
          // Raised before the slot is first used, so the writer's scan covers it.
          std::size_t high = g_reader_high.load();
          while (high < i + 1 && !g_reader_high.compare_exchange_weak(high, i + 1)) {
          }
          slot = &g_readers[i];
        }
      }
      if (slot == nullptr) std::this_thread::yield();  // more reading threads than slots
    }
    return *slot;
  }
};
thread_local ThreadReader t_reader;

constexpr std::size_t kMinCapacity = 64;
constexpr std::size_t kHugePage = 2u << 20;

// `bytes` of zeroed memory, in transparent huge pages when it spans at least one.
void* alloc_pages(std::size_t bytes) {
  if (bytes < kHugePage) return std::calloc(1, bytes);
  bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, bytes);
  if (p == nullptr) throw std::bad_alloc();
  ::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: without it, 4 KiB pages
  std::memset(p, 0, bytes);
  return p;
}

}  // namespace

MemoryView::ReadGuard::ReadGuard() {
  ThreadReader& r = t_reader;
  if (r.depth++ == 0) r.get().epoch.store(g_epoch.load());
}

MemoryView::ReadGuard::~ReadGuard() {
  ThreadReader& r = t_reader;
  if (--r.depth == 0) r.slot->epoch.store(0);
}

MemoryView::Table::Table(std::size_t capacity)
    : mask(capacity - 1), slots(static_cast<Slot*>(alloc_pages(capacity * sizeof(Slot)))) {
  if (slots == nullptr) throw std::bad_alloc();
  std::uninitialized_default_construct_n(slots, capacity);
}

MemoryView::Table::~Table() { std::free(slots); }

std::size_t MemoryView::footprint(std::size_t bytes) {
  return bytes > kMaxClassBytes ? bytes : (bytes + kClassBytes - 1) / kClassBytes * kClassBytes;
}

void* MemoryView::allocate(std::size_t bytes) {
  if (bytes > kMaxClassBytes) return ::operator new(bytes);
  const std::size_t cls = (bytes + kClassBytes - 1) / kClassBytes;
  if (auto& list = free_[cls]; !list.empty()) {
    void* p = list.back();
    list.pop_back();
    return p;
  }
  const std::size_t size = cls * kClassBytes;
  if (chunk_next_ == nullptr || static_cast<std::size_t>(chunk_end_ - chunk_next_) < size) {
    chunk_next_ = static_cast<char*>(alloc_pages(kChunkBytes));
    chunk_end_ = chunk_next_ + kChunkBytes;
    chunks_.push_back(chunk_next_);
  }
  void* p = chunk_next_;
  chunk_next_ += size;
  return p;
}

void MemoryView::deallocate(void* p, std::size_t bytes) {
  if (bytes > kMaxClassBytes) {
    ::operator delete(p);
    return;
  }
  free_[(bytes + kClassBytes - 1) / kClassBytes].push_back(p);
}

MemoryView::MemoryView(std::size_t budget_bytes) : budget_(budget_bytes) {
  for (auto& t : tables_) {
    t.store(new Table(kMinCapacity));
    bytes_ += kMinCapacity * sizeof(Slot);
  }
}

MemoryView::~MemoryView() {
  for (auto& ta : tables_) {
    Table* t = ta.load();
    for (std::size_t i = 0; i <= t->mask; ++i) {
      if (const Block* b = t->slots[i].block.load()) release(b);
    }
    delete t;
  }
  for (const auto& r : retired_) {
    if (r.block != nullptr) release(r.block);
    delete r.table;
  }
  for (void* c : chunks_) std::free(c);
}

std::uint64_t MemoryView::hash_of(KeySpace space, std::string_view key) {
  std::uint64_t h;
  // License and API key records are keyed by a SHA-256 digest, already uniform. Every other key
  // (an account, a blacklist entry: account id first) is hashed whole, or keys sharing a prefix
  // would share a hash and a probe chain.
  if (key.size() == 32 && (space == KeySpace::kLicense || space == KeySpace::kApiKey)) {
    std::memcpy(&h, key.data(), sizeof h);
  } else {
    h = std::hash<std::string_view>{}(key)*0x9E3779B97F4A7C15ull;
  }
  return h == 0 ? 1 : h;
}

MemoryView::Slot& MemoryView::probe(const Table& t, std::uint64_t h, std::string_view key) {
  for (std::size_t i = h & t.mask, n = 1;; i = (i + 1) & t.mask, ++n) {
    Slot& s = t.slots[i];
    const std::uint64_t sh = s.hash.load();
    if (sh == 0 || (sh == h && s.block.load()->key() == key)) {
      t.longest_probe = std::max(t.longest_probe, n);
      return s;
    }
  }
}

const MemoryView::Block* MemoryView::find(KeySpace space, std::string_view key) const {
  const Table* t = tables_[static_cast<int>(space)].load();
  const std::uint64_t h = hash_of(space, key);
  for (std::size_t i = h & t->mask;; i = (i + 1) & t->mask) {
    const Slot& s = t->slots[i];
    const std::uint64_t sh = s.hash.load();
    if (sh == 0) return nullptr;
    if (sh == h) {
      const Block* b = s.block.load();
      if (b->key() == key) return b->present ? b : nullptr;
    }
  }
}

const MemoryView::Block* MemoryView::make_block(std::string_view key,
                                                std::optional<std::string_view> value) {
  const std::size_t vsize = value ? value->size() : 0;
  void* mem = allocate(sizeof(Block) + key.size() + vsize);
  auto* b = new (mem) Block{static_cast<std::uint32_t>(key.size()),
                            static_cast<std::uint32_t>(vsize), value.has_value()};
  std::memcpy(b->data(), key.data(), key.size());
  if (vsize != 0) std::memcpy(b->data() + key.size(), value->data(), vsize);
  bytes_.fetch_add(footprint(sizeof(Block) + key.size() + vsize), std::memory_order_relaxed);
  return b;
}

void MemoryView::release(const Block* b) {
  // Small blocks go with their chunks.
  const std::size_t bytes = sizeof(Block) + b->key_size + b->value_size;
  if (bytes > kMaxClassBytes) ::operator delete(const_cast<Block*>(b));
}

void MemoryView::free_block(const Block* b) {
  bytes_.fetch_sub(footprint(sizeof(Block) + b->key_size + b->value_size),
                   std::memory_order_relaxed);
  deallocate(const_cast<Block*>(b), sizeof(Block) + b->key_size + b->value_size);
}

void MemoryView::grow(KeySpace space, std::size_t capacity) {
  auto& ta = tables_[static_cast<int>(space)];
  Table* old = ta.load();
  auto* t = new Table(capacity);
  for (std::size_t i = 0; i <= old->mask; ++i) {
    const std::uint64_t h = old->slots[i].hash.load();
    if (h == 0) continue;
    const Block* b = old->slots[i].block.load();
    Slot& s = probe(*t, h, b->key());
    s.block.store(b);
    s.hash.store(h);
  }
  t->used = old->used;
  t->present.store(old->present.load());
  bytes_.fetch_add(capacity * sizeof(Slot), std::memory_order_relaxed);
  ta.store(t);
  retire(old);
}

void MemoryView::reserve(KeySpace space, std::size_t keys) {
  const std::size_t want = std::bit_ceil(std::max(kMinCapacity, keys * 2));
  if (want > tables_[static_cast<int>(space)].load()->mask + 1) grow(space, want);
}

bool MemoryView::load(KeySpace space, std::string_view key, std::string_view value) {
  const Table* t = tables_[static_cast<int>(space)].load();
  const std::size_t growth = t->full() ? (t->mask + 1) * sizeof(Slot) * 2 : 0;
  if (budget_ != 0 && bytes() + sizeof(Block) + key.size() + value.size() + growth > budget_) {
    return false;
  }
  put(space, key, value);
  return true;
}

void MemoryView::put(KeySpace space, std::string_view key, std::optional<std::string_view> value) {
  Table* t = tables_[static_cast<int>(space)].load();
  if (t->full()) {
    grow(space, (t->mask + 1) * 2);
    t = tables_[static_cast<int>(space)].load();
  }
  const std::uint64_t h = hash_of(space, key);
  Slot& s = probe(*t, h, key);
  const Block* b = make_block(key, value);
  if (s.hash.load() == 0) {
    if (!value) {  // removing a key that is not there
      free_block(b);
      return;
    }
    s.block.store(b);
    s.hash.store(h);
    ++t->used;
    ++t->present;
    return;
  }
  const Block* old = s.block.exchange(b);
  t->present +=
      static_cast<std::size_t>(value.has_value()) - static_cast<std::size_t>(old->present);
  retire(old);
  // A reader that stalls holds back reclamation; rescanning is then spaced out, not per put.
  if (retired_.size() >= reclaim_at_) {
    reclaim();
    reclaim_at_ = std::max<std::size_t>(4096, retired_.size() * 2);
  }
}

std::size_t MemoryView::longest_probe(KeySpace space) const {
  return tables_[static_cast<int>(space)].load()->longest_probe;
}

std::size_t MemoryView::entries(KeySpace space) const {
  return tables_[static_cast<int>(space)].load()->present;
}

void MemoryView::retire(const Block* b) { retired_.push_back({g_epoch.fetch_add(1), b, nullptr}); }

void MemoryView::retire(Table* t) {
  bytes_.fetch_sub((t->mask + 1) * sizeof(Slot), std::memory_order_relaxed);
  retired_.push_back({g_epoch.fetch_add(1), nullptr, t});
}

void MemoryView::reclaim() {
  if (retired_.empty()) return;
  std::uint64_t oldest_reader = UINT64_MAX;
  const std::size_t high = g_reader_high.load();
  for (std::size_t i = 0; i < high; ++i) {
    const std::uint64_t e = g_readers[i].epoch.load();
    if (e != 0) oldest_reader = std::min(oldest_reader, e);
  }
  auto keep = std::partition(retired_.begin(), retired_.end(),
                             [&](const Retired& r) { return r.epoch >= oldest_reader; });
  for (auto it = keep; it != retired_.end(); ++it) {
    if (it->block != nullptr) free_block(it->block);
    delete it->table;
  }
  retired_.erase(keep, retired_.end());
}

}  // namespace le::store
