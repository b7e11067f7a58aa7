// Unsigned LEB128 varints and length-prefixed strings: writing them, and reading them back from
// bytes that may be hostile (every read checks what is left and fails rather than overrun; a
// varint over 64 bits does not read). Edge reports (core/edge_report.h) and the primary's usage
// rows use them.
//
// Thread-safety: pure functions; a reader is used by one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace le::core {

inline void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// The length as a varint, then the bytes.
inline void put_bytes(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

class VarintReader {
 public:
  explicit VarintReader(std::string_view bytes) : rest_(bytes) {}

  bool empty() const { return rest_.empty(); }
  bool byte(std::uint8_t& out) {
    if (rest_.empty()) return false;
    out = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return true;
  }
  bool varint(std::uint64_t& out) {
    out = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      std::uint8_t b;
      if (!byte(b)) return false;
      // The tenth byte holds bit 63 alone; more would overflow.
      if (shift == 63 && b > 1) return false;
      out |= std::uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool varint_at_most(std::uint64_t max, std::uint64_t& out) { return varint(out) && out <= max; }
  // The next `n` bytes.
  bool bytes(std::size_t n, std::string_view& out) {
    if (n > rest_.size()) return false;
    out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }
  // What put_bytes() wrote, of at most `max` bytes.
  bool string(std::size_t max, std::string_view& out) {
    std::uint64_t n;
    return varint_at_most(max, n) && bytes(static_cast<std::size_t>(n), out);
  }

 private:
  std::string_view rest_;
};

}  // namespace le::core
