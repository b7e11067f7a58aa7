#include "store/range_check.h"

#include <simdjson.h>

#include "core/json_writer.h"

namespace le::store {

std::size_t check_range(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return static_cast<std::size_t>(h % kCheckRanges);
}

std::string encode_range_check(const RangeCheck& c) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(c.digests.digests.size() * 32);
  for (const auto& d : c.digests.digests) {
    for (std::uint8_t b : d) {
      hex.push_back(kHex[b >> 4]);
      hex.push_back(kHex[b & 15]);
    }
  }
  std::string out;
  core::JsonWriter w(out);
  w.begin_object()
      .field("covers", c.covers)
      .field("ranges", static_cast<std::uint64_t>(kCheckRanges))
      .field("records", c.digests.records)
      .field("digests", hex)
      .end_object();
  return out;
}

std::optional<RangeCheck> decode_range_check(std::string_view body) {
  if (body.size() > 64 * 1024) return std::nullopt;
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  RangeCheck c;
  std::string_view hex;
  std::uint64_t ranges = 0;
  try {
    auto doc = parser.iterate(padded);
    for (auto field : doc.get_object()) {
      const std::string_view k = field.unescaped_key();
      if (k == "covers") {
        c.covers = field.value().get_uint64();
      } else if (k == "ranges") {
        ranges = field.value().get_uint64();
      } else if (k == "records") {
        c.digests.records = field.value().get_uint64();
      } else if (k == "digests") {
        hex = field.value().get_string();
        if (hex.size() != kKeySpaceCount * kCheckRanges * 32) return std::nullopt;
        c.digests.digests.resize(hex.size() / 32);
        auto nibble = [](char ch) -> int {
          if (ch >= '0' && ch <= '9') return ch - '0';
          if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
          return -1;
        };
        for (std::size_t i = 0; i < hex.size(); i += 2) {
          const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
          if (hi < 0 || lo < 0) return std::nullopt;
          c.digests.digests[i / 32][(i % 32) / 2] = static_cast<std::uint8_t>(hi << 4 | lo);
        }
      }
    }
  } catch (const simdjson::simdjson_error&) {
    return std::nullopt;
  }
  if (ranges != kCheckRanges || c.digests.digests.size() != kKeySpaceCount * kCheckRanges) {
    return std::nullopt;
  }
  return c;
}

std::vector<std::pair<KeySpace, std::size_t>> differing_ranges(const RangeDigests& a,
                                                               const RangeDigests& b) {
  std::vector<std::pair<KeySpace, std::size_t>> out;
  const std::size_t n = std::min(a.digests.size(), b.digests.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a.digests[i] != b.digests[i]) {
      out.emplace_back(static_cast<KeySpace>(i / kCheckRanges), i % kCheckRanges);
    }
  }
  return out;
}

}  // namespace le::store
