// Per-key sliding-window rate limiting (the estimate Cloudflare describes): the previous
// window's count weighted by the share of it still inside the sliding window, plus the current
// window's count. A request is admitted when
//     prev * (W - elapsed) / W + cur + 1 <= limit
// evaluated in exact integer arithmetic. Refused requests are not counted.
//
// Storage is a fixed-capacity open-addressing table allocated once. Each slot holds the key's
// 64-bit hash and one packed 64-bit state word [tag 12 | window 20 | prev 16 | cur 16]; every
// transition is a compare-and-swap on that word: no mutex, no allocation per check. A slot whose
// key saw no request in the current or previous window is idle and may be reclaimed by another
// key. When a key's probe run holds no free or idle slot (the table is full), the key with the
// smallest count in that run is evicted (counted in evictions()): it loses at most that count,
// while keys near their limit stay tracked, so a flood of distinct keys cannot switch limiting
// off for busy ones. Only if slots keep changing hands under contention is a request admitted
// untracked (counted in untracked()). A slot's state carries a 12-bit tag of its key so that an
// update racing a change of owner retries instead of counting for the wrong key; when the new
// owner's tag equals the old one's (1 in 2048), the claimer clears the state, and a request of
// the new key counted in the instant between claim and clear is lost (at most that one count).
//
// Limits are at most kMaxLimit per window. Time is injected (unix milliseconds).
// Thread-safety: check() from any number of threads concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace le::ratelimit {

struct Decision {
  bool allowed = true;
  bool tracked = true;  // false when admitted untracked (see untracked())
  std::uint32_t limit = 0;
  std::uint32_t remaining = 0;      // requests still admitted in the sliding window after this one
  std::int64_t reset_unix_s = 0;    // when the current fixed window ends
  std::uint32_t retry_after_s = 0;  // when refused: seconds until a request would be admitted
};

class SlidingWindowLimiter {
 public:
  static constexpr std::uint32_t kMaxLimit = 0xFFFF;

  struct Options {
    std::size_t capacity_log2 = 20;  // 2^20 slots x 16 bytes = 16 MiB
    std::int64_t window_ms = 60'000;
    unsigned max_probe = 16;
  };

  explicit SlidingWindowLimiter(Options options);
  SlidingWindowLimiter() : SlidingWindowLimiter(Options{}) {}

  // Counts one request for `key_hash` against `limit` (clamped to kMaxLimit) at `now_ms`.
  Decision check(std::uint64_t key_hash, std::uint32_t limit, std::int64_t now_ms);

  std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  std::uint64_t untracked() const { return untracked_.load(std::memory_order_relaxed); }
  std::int64_t window_ms() const { return window_ms_; }

 private:
  struct Slot {
    std::atomic<std::uint64_t> key{0};  // 0 = never used
    std::atomic<std::uint64_t> state{0};
  };
  enum class Outcome { kDone, kRestart };

  Outcome update(Slot& slot, std::uint64_t key, std::uint32_t limit, std::int64_t now_ms,
                 Decision& out);
  bool idle(std::uint64_t state, std::uint32_t window) const;

  std::unique_ptr<Slot[]> slots_;
  std::size_t mask_;
  std::int64_t window_ms_;
  unsigned max_probe_;
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> untracked_{0};
};

// A 64-bit hash of a limiter key, with a namespace byte so that equal strings of different
// kinds (an IP and a license key, say) never share a counter.
std::uint64_t limiter_key(char kind, const void* data, std::size_t size);

}  // namespace le::ratelimit
