// The change stream contract between the primary and the edges (DESIGN §4).
//
// A message is one JSON object carrying the full current state of one entity:
//   {"kind":"license","type":"license.updated","version":7,"deleted":false,"data":{…}}
// kind ∈ account | api_key | product | license | blacklist; subject lic.<kind>.<id>.
// deleted:true is a tombstone; its data still names the entity (id and index fields).
// The JSON-lines seed format adds "seq" (the stream sequence) to each line.
//
// Decoding validates every field it reads and rejects what does not fit (returns an error
// message); it never throws. Thread-safety: each call uses its own or a per-thread parser.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/model.h"

namespace le::core {

enum class EntityKind : std::uint8_t { kAccount, kApiKey, kProduct, kLicense, kBlacklist };

std::string_view to_string(EntityKind k);

struct ChangeEvent {
  std::uint64_t seq = 0;  // stream sequence (0 when not known)
  std::string type;       // e.g. "license.updated"; informative
  bool deleted = false;
  std::variant<AccountRecord, ApiKeyRecord, ProductRecord, LicenseRecord, BlacklistEntry> record;

  EntityKind kind() const { return static_cast<EntityKind>(record.index()); }
  std::uint64_t version() const;
  const std::string& id() const;
  // "lic.<kind>.<id>"
  std::string subject() const;
};

struct DecodeError {
  std::string message;
};

// Decodes one message. `json` need not be padded; it is copied into a padded per-thread buffer.
std::variant<ChangeEvent, DecodeError> decode_change_event(std::string_view json);

// Serializes an event to its JSON message form (with "seq" when include_seq is set).
std::string encode_change_event(const ChangeEvent& ev, bool include_seq = false);

}  // namespace le::core
