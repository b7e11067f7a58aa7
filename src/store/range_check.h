// The self-check of a replica against the primary (DESIGN: replication): digests of the
// record key spaces over fixed ranges of keys. Each key of a key space falls in one of
// kCheckRanges ranges by a fixed hash of the key (FNV-1a, the same in every build); a range's
// digest is SHA-256 over its keys and values in key order, each length-prefixed, cut to 16
// bytes. Two stores with equal digests for a range hold the same records in it.
//
// The primary publishes them on kCheckSubject in the change stream at a sequence where the
// stream holds exactly its records; an edge computes its own when it reaches that message.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/keys.h"

namespace le::store {

inline constexpr std::size_t kCheckRanges = 64;
inline constexpr const char* kCheckSubject = "lic.check";

using RangeDigest = std::array<std::uint8_t, 16>;

struct RangeDigests {
  std::vector<RangeDigest> digests;  // kKeySpaceCount * kCheckRanges, key space major
  std::uint64_t records = 0;
};

// The range a key of a key space falls in.
std::size_t check_range(std::string_view key);

// The check message: {"covers":P,"ranges":64,"digests":"<hex>"} where P is the stream
// sequence whose state the digests describe.
struct RangeCheck {
  std::uint64_t covers = 0;
  RangeDigests digests;
};
std::string encode_range_check(const RangeCheck& c);
std::optional<RangeCheck> decode_range_check(std::string_view body);

// (key space, range) pairs whose digests differ.
std::vector<std::pair<KeySpace, std::size_t>> differing_ranges(const RangeDigests& a,
                                                               const RangeDigests& b);

}  // namespace le::store
