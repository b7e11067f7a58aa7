// Binary encoding of records as the replica stores them.
//
// Layout of every stored value: [u8 format][u8 flags][varint version][record fields…].
// flags bit 0 marks a tombstone: the entity was deleted at that version; its identity fields
// are kept so a late, older message cannot resurrect it. Decoding never trusts its input: a
// truncated or corrupt value fails cleanly (returns false), it never reads out of bounds.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/model.h"

namespace le::core {

struct StoredHeader {
  std::uint64_t version = 0;
  bool deleted = false;
};

std::string encode_record(const AccountRecord& r, bool deleted = false);
std::string encode_record(const ApiKeyRecord& r, bool deleted = false);
std::string encode_record(const ProductRecord& r, bool deleted = false);
std::string encode_record(const LicenseRecord& r, bool deleted = false);
std::string encode_record(const BlacklistEntry& r, bool deleted = false);

// Reads the header only (version check on apply without a full decode).
std::optional<StoredHeader> peek_header(std::string_view bytes);

// Full decode; false on any malformed input. `header` receives version and tombstone flag.
// Every field of `out` is overwritten, so `out` may be a reused record (its buffers are kept);
// after a failed decode its contents are unspecified.
bool decode_record(std::string_view bytes, AccountRecord& out, StoredHeader& header);
bool decode_record(std::string_view bytes, ApiKeyRecord& out, StoredHeader& header);
bool decode_record(std::string_view bytes, ProductRecord& out, StoredHeader& header);
bool decode_record(std::string_view bytes, LicenseRecord& out, StoredHeader& header);
bool decode_record(std::string_view bytes, BlacklistEntry& out, StoredHeader& header);

}  // namespace le::core
