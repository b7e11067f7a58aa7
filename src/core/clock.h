// Time as the decisions see it: injected, so expiry and rate limits are tested without sleeping.
// SystemClock is thread-safe; ManualClock is safe to read from many threads while one sets it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace le::core {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now_seconds() const = 0;  // unix seconds
  virtual std::int64_t now_ms() const = 0;       // unix milliseconds
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_seconds() const override { return now_ms() / 1000; }
  std::int64_t now_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t ms = 0) : ms_(ms) {}
  std::int64_t now_seconds() const override { return now_ms() / 1000; }
  std::int64_t now_ms() const override { return ms_.load(std::memory_order_acquire); }
  void set_ms(std::int64_t ms) { ms_.store(ms, std::memory_order_release); }
  void advance_ms(std::int64_t d) { ms_.fetch_add(d, std::memory_order_acq_rel); }

 private:
  std::atomic<std::int64_t> ms_;
};

}  // namespace le::core
