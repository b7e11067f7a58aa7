// How each kind of record is keyed in the replica. Shared by the store (column families) and the
// cache (invalidation), so both always agree on what "the same record" is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/model.h"

namespace le::store {

// One key space per column family; kProductName is the (account, name) → product id index.
enum class KeySpace : std::uint8_t {
  kAccount = 0,
  kApiKey = 1,
  kProduct = 2,
  kProductName = 3,
  kLicense = 4,
  kBlacklist = 5,
};
inline constexpr int kKeySpaceCount = 6;

inline std::string_view digest_key(const core::Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

// account_id \0 name
inline void product_name_key(std::string& out, std::string_view account_id, std::string_view name) {
  out.assign(account_id);
  out.push_back('\0');
  out.append(name);
}

// account_id \0 kind \0 value
inline void blacklist_key(std::string& out, std::string_view account_id, core::BlacklistKind kind,
                          std::string_view value) {
  out.assign(account_id);
  out.push_back('\0');
  out.push_back(static_cast<char>('0' + static_cast<int>(kind)));
  out.push_back('\0');
  out.append(value);
}

// 8-byte big-endian integers: keys that sort in numeric order.
inline void append_be64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline std::string be64(std::uint64_t v) {
  std::string s;
  append_be64(s, v);
  return s;
}
inline std::optional<std::uint64_t> from_be64(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) v = v << 8 | static_cast<std::uint8_t>(c);
  return v;
}

struct TouchedKey {
  KeySpace space;
  std::string key;
};

}  // namespace le::store
