// Reading the management API's requests: the JSON body's fields and the query parameters, each
// checked for type, size and content. A field that fails throws Refusal with 400
// VALIDATION_ERROR naming it ("Field 'email' is too long"); the JSON-error mapping is core's
// (core::json::body_error), the same as the edge's.
//
// Values read from body_object() are views into a per-thread parser: valid until the next
// body_object() on this thread.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http.h"
#include "primary/refusal.h"

namespace le::primary {

namespace dom = simdjson::dom;

inline constexpr std::size_t kMaxIdBytes = 64;
inline constexpr std::size_t kMaxNameBytes = 200;
inline constexpr std::size_t kMaxMetadataBytes = 8 * 1024;
inline constexpr std::size_t kMaxListItems = 100;

// The body as a JSON object.
dom::object body_object(const net::Request& req);

[[noreturn]] void bad_field(std::string_view name, std::string_view why);
[[noreturn]] void unknown_field(std::string_view name);

// A string of at most `max` bytes without control characters; null is refused.
std::string read_str(dom::element v, std::string_view name, std::size_t max,
                     bool allow_empty = true);
bool read_bool(dom::element v, std::string_view name);
std::uint32_t read_u32(dom::element v, std::string_view name, std::uint64_t max);
// A floating license's lease length: kMinLeaseSeconds…kMaxLeaseSeconds.
std::uint32_t read_lease_seconds(dom::element v, std::string_view name);
// ISO 8601, or null (0: never expires).
std::int64_t read_expiry(dom::element v, std::string_view name);
// Non-empty strings, at most `max_items` of at most `max_len` bytes each.
std::vector<std::string> read_strings(dom::element v, std::string_view name, std::size_t max_items,
                                      std::size_t max_len);
// An object of at most kMaxMetadataBytes as compact JSON text; null is "{}". A number out of
// range is refused rather than stored changed.
std::string read_metadata(dom::element v, std::string_view name);
// An email address as far as a server can tell: one '@' between a non-empty local part and a
// domain with a dot, no spaces, control characters, quotes, brackets or other characters of
// markup or address lists, at most 254 bytes.
std::string read_email(dom::element v, std::string_view name);
// A non-empty id of at most kMaxIdBytes letters, digits, '_' and '-'.
std::string read_id(dom::element v, std::string_view name);

template <typename T>
T read_enum(dom::element v, std::string_view name, std::optional<T> (*parse)(std::string_view),
            std::string_view allowed) {
  std::string_view s;
  if (v.get_string().get(s)) bad_field(name, "must be a string");
  auto e = parse(s);
  if (!e) bad_field(name, "must be one of: " + std::string(allowed));
  return *e;
}

// Query parameter `name` as an integer in [min, max], `dflt` when absent.
std::uint64_t query_number(const net::Request& req, std::string_view name, std::uint64_t min,
                           std::uint64_t max, std::uint64_t dflt);

// The page a list request asks for (spec "Pagination"): ?limit= (1..100, default 20) with
// ?page= (from 1) or ?offset=.
struct PageRequest {
  std::uint64_t page = 1;
  std::uint64_t limit = 20;
  std::uint64_t offset = 0;
};
PageRequest page_request(const net::Request& req);

}  // namespace le::primary
