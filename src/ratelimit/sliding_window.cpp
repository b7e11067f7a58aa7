#include "ratelimit/sliding_window.h"

#include <algorithm>
#include <cstring>

namespace le::ratelimit {
namespace {

constexpr std::uint32_t kWindowBits = 20;
constexpr std::uint32_t kWindowMask = (1u << kWindowBits) - 1;

struct State {
  std::uint32_t tag;
  std::uint32_t window;
  std::uint32_t prev;
  std::uint32_t cur;
};

std::uint64_t pack(const State& s) {
  return static_cast<std::uint64_t>(s.tag) << 52 | static_cast<std::uint64_t>(s.window) << 32 |
         static_cast<std::uint64_t>(s.prev) << 16 | s.cur;
}

State unpack(std::uint64_t v) {
  return {static_cast<std::uint32_t>(v >> 52), static_cast<std::uint32_t>(v >> 32) & kWindowMask,
          static_cast<std::uint32_t>(v >> 16) & 0xFFFF, static_cast<std::uint32_t>(v) & 0xFFFF};
}

// Tags are never 0, so a never-written state (0) always reads as "another key's".
std::uint32_t tag_of(std::uint64_t key) { return static_cast<std::uint32_t>(key >> 52) | 1; }

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - (a % b < 0); }

std::uint64_t mix(std::uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

std::uint64_t limiter_key(char kind, const void* data, std::size_t size) {
  // FNV-1a over kind + bytes, then a strong finalizer: keys are short, so this is cheap.
  std::uint64_t h = 0xcbf29ce484222325ull ^ static_cast<unsigned char>(kind);
  h *= 0x100000001b3ull;
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return mix(h);
}

SlidingWindowLimiter::SlidingWindowLimiter(Options options)
    : slots_(new Slot[std::size_t{1} << options.capacity_log2]),
      mask_((std::size_t{1} << options.capacity_log2) - 1),
      window_ms_(std::max<std::int64_t>(1, options.window_ms)),
      max_probe_(std::max(1u, options.max_probe)) {}

bool SlidingWindowLimiter::idle(std::uint64_t state, std::uint32_t window) const {
  const State s = unpack(state);
  return ((window - s.window) & kWindowMask) >= 2;
}

SlidingWindowLimiter::Outcome SlidingWindowLimiter::update(Slot& slot, std::uint64_t key,
                                                           std::uint32_t limit, std::int64_t now_ms,
                                                           Decision& out) {
  const std::int64_t index = floor_div(now_ms, window_ms_);
  const auto window = static_cast<std::uint32_t>(index) & kWindowMask;
  const auto w = static_cast<std::uint64_t>(window_ms_);
  const auto elapsed = static_cast<std::uint64_t>(now_ms - index * window_ms_);
  const std::uint32_t tag = tag_of(key);
  std::uint64_t observed = slot.state.load(std::memory_order_acquire);
  for (;;) {
    // The slot may have been reclaimed for another key since it was found.
    if (slot.key.load(std::memory_order_acquire) != key) return Outcome::kRestart;
    State s = unpack(observed);
    if (s.tag != tag) {
      s = {tag, window, 0, 0};  // a slot just claimed: start fresh
    } else {
      const std::uint32_t age = (window - s.window) & kWindowMask;
      if (age == 1) {
        s = {tag, window, s.cur, 0};
      } else if (age != 0) {
        s = {tag, window, 0, 0};
      }
    }
    // Scaled by W: used = prev * (W - elapsed) + cur * W.
    const std::uint64_t used = s.prev * (w - elapsed) + std::uint64_t{s.cur} * w;
    const std::uint64_t capacity = std::uint64_t{limit} * w;
    out.limit = limit;
    out.reset_unix_s = ((index + 1) * window_ms_ + 999) / 1000;
    if (used + w > capacity) {
      out.allowed = false;
      out.remaining = 0;
      // Earliest admission: later in this window as the previous count's weight decays, or
      // else in the next window, where the current count becomes the weighted one.
      std::uint64_t wait_ms;
      const std::uint64_t need = used + w - capacity;  // must shed this much of `used`
      if (s.prev > 0 && (need + s.prev - 1) / s.prev < w - elapsed) {
        wait_ms = (need + s.prev - 1) / s.prev;
      } else {
        const std::uint64_t next_used = std::uint64_t{s.cur} * w;  // at the next window start
        std::uint64_t into_next = 0;
        if (next_used + w > capacity && s.cur > 0) {
          into_next = (next_used + w - capacity + s.cur - 1) / s.cur;
        }
        wait_ms = (w - elapsed) + into_next;
      }
      out.retry_after_s =
          static_cast<std::uint32_t>(std::max<std::uint64_t>(1, (wait_ms + 999) / 1000));
      return Outcome::kDone;
    }
    const State next{tag, window, s.prev, s.cur + 1};
    if (slot.state.compare_exchange_weak(observed, pack(next), std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      out.allowed = true;
      out.remaining = static_cast<std::uint32_t>((capacity - used - w) / w);
      return Outcome::kDone;
    }
  }
}

Decision SlidingWindowLimiter::check(std::uint64_t key_hash, std::uint32_t limit,
                                     std::int64_t now_ms) {
  const std::uint64_t key = key_hash == 0 ? 1 : key_hash;
  limit = std::min(limit, kMaxLimit);
  const auto window = static_cast<std::uint32_t>(floor_div(now_ms, window_ms_)) & kWindowMask;
  Decision out;
  for (int attempt = 0; attempt < 4; ++attempt) {
    // First the key's own slot anywhere in its probe run: claiming an earlier free or idle slot
    // while the key lives further on would split its count in two. A never-used slot ends the
    // run (slots are reclaimed, never emptied). Along the way, note the first free or idle slot
    // and the quietest live one (smallest count in the last two windows).
    Slot* found = nullptr;
    Slot* claimable = nullptr;
    Slot* quietest = nullptr;
    std::uint32_t quietest_count = UINT32_MAX;
    for (unsigned p = 0; p < max_probe_; ++p) {
      Slot& slot = slots_[(key + p) & mask_];
      const std::uint64_t k = slot.key.load(std::memory_order_acquire);
      if (k == key) {
        found = &slot;
        break;
      }
      if (k == 0) {
        if (claimable == nullptr) claimable = &slot;
        break;
      }
      const std::uint64_t st = slot.state.load(std::memory_order_acquire);
      if (idle(st, window)) {
        if (claimable == nullptr) claimable = &slot;
        continue;
      }
      const State s = unpack(st);
      const std::uint32_t age = (window - s.window) & kWindowMask;
      const std::uint32_t count = age == 0 ? s.prev + s.cur : s.cur;
      if (count < quietest_count) {
        quietest_count = count;
        quietest = &slot;
      }
    }
    if (found == nullptr) {
      bool evicting = false;
      if (claimable == nullptr) {
        // A full run: evict the quietest key. It loses at most its own count, the smallest
        // here, while busy keys (the ones near their limit) stay tracked.
        if (quietest == nullptr) break;
        claimable = quietest;
        evicting = true;
      }
      std::uint64_t k = claimable->key.load(std::memory_order_acquire);
      if (k != key) {
        if (!claimable->key.compare_exchange_strong(k, key, std::memory_order_acq_rel)) {
          if (k != key) continue;  // taken meanwhile: look again
        } else {
          // Claimed. A previous owner's state reads as foreign through its tag, except when
          // the tags collide (1 in 2048): then clear it explicitly so no count is inherited.
          if (evicting) evictions_.fetch_add(1, std::memory_order_relaxed);
          const std::uint32_t tag = tag_of(key);
          std::uint64_t st = claimable->state.load(std::memory_order_acquire);
          while (unpack(st).tag == tag &&
                 !claimable->state.compare_exchange_weak(st, pack({tag ^ 2, 0, 0, 0}),
                                                         std::memory_order_acq_rel)) {
          }
        }
      }
      found = claimable;
    }
    if (update(*found, key, limit, now_ms, out) == Outcome::kDone) return out;
    // Reclaimed under us: look again.
  }
  untracked_.fetch_add(1, std::memory_order_relaxed);
  out = Decision{};
  out.allowed = true;
  out.tracked = false;
  out.limit = limit;
  out.remaining = limit;
  out.reset_unix_s = (floor_div(now_ms, window_ms_) + 1) * window_ms_ / 1000;
  return out;
}

}  // namespace le::ratelimit
