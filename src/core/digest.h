// SHA-256 of secrets (API keys, license keys) and constant-time comparison.
//
// Thread-safety: sha256() keeps one OpenSSL digest context per thread; safe to call from any
// thread concurrently.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "core/model.h"

namespace le::core {

Digest sha256(std::string_view data);

// Lowercase hex, 64 characters.
std::string to_hex(const Digest& d);
// The same 64 lowercase hex digits written into `out`, without allocating; a view of `out`.
using HexDigest = std::array<char, 64>;
std::string_view to_hex(const Digest& d, HexDigest& out);
void append_hex(std::string& out, const Digest& d);
std::optional<Digest> digest_from_hex(std::string_view hex);

// Constant-time equality of two equal-length byte strings; false when lengths differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace le::core
