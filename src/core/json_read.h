// Helpers over simdjson's DOM API shared by the request and change-event decoders.
//
// The DOM parser validates the whole document (grammar, UTF-8, escapes, depth <= 1024) before
// anything is read, so malformed JSON anywhere — including in fields we ignore — is rejected.
// On the small documents we parse it is also faster than On-Demand (bench: BM_DomValidateBody).
// Strings read from a parsed document are views into the parser: valid until its next parse.
// Not thread-safe per object; each thread uses its own Parser.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api_error.h"
#include "core/digest.h"

namespace le::core::json {

namespace dom = simdjson::dom;

// What a number simdjson cannot represent (an integer beyond 64 bits, a magnitude beyond a
// double) reads as after a parse: this string, which no client sends by accident.
inline constexpr std::string_view kOutOfRangeJson = "\"\\u0000number out of range\"";
inline constexpr std::string_view kOutOfRange{"\0number out of range", 20};

// Copies `in` into `out` with every out-of-range number replaced by kOutOfRangeJson; false if
// there was none.
bool mark_out_of_range_numbers(std::string_view in, std::string& out);

// A reusable parser plus padded input buffer; both grow, never shrink.
class Parser {
 public:
  // Parses `in` into the parser's document; an error code when the input is not valid JSON.
  // A leading UTF-8 byte order mark is skipped; numbers out of range read as kOutOfRange.
  simdjson::error_code parse(std::string_view in, dom::element& out);

 private:
  void load(std::string_view in);
  std::vector<char> buf_;
  std::string rewritten_;
  dom::parser parser_;
};

// Whether `v` is a number the parse found out of range (see kOutOfRange).
inline bool is_out_of_range(dom::element v) {
  std::string_view s;
  return !v.get_string().get(s) && s == kOutOfRange;
}

inline bool read_string(dom::element v, std::string_view& out) { return !v.get_string().get(out); }
inline bool read_string(dom::element v, std::string& out) {
  std::string_view sv;
  if (v.get_string().get(sv)) return false;
  out.assign(sv);
  return true;
}
inline bool read_bool(dom::element v, bool& out) { return !v.get_bool().get(out); }
inline bool read_i64(dom::element v, std::int64_t& out) { return !v.get_int64().get(out); }
inline bool read_u32(dom::element v, std::uint32_t& out) {
  std::uint64_t x;
  if (v.get_uint64().get(x) || x > UINT32_MAX) return false;
  out = static_cast<std::uint32_t>(x);
  return true;
}
inline bool is_null(dom::element v) { return v.is_null(); }
inline bool read_string_array(dom::element v, std::vector<std::string>& out) {
  dom::array arr;
  if (v.get_array().get(arr)) return false;
  out.clear();
  for (dom::element item : arr) {
    std::string_view s;
    if (item.get_string().get(s)) return false;
    out.emplace_back(s);
  }
  return true;
}
// A lowercase or uppercase hex SHA-256.
inline bool read_digest(dom::element v, Digest& out) {
  std::string_view s;
  if (v.get_string().get(s)) return false;
  auto d = digest_from_hex(s);
  if (!d) return false;
  out = *d;
  return true;
}
// A JSON object value as compact text (validated by the parse, re-serialized minified).
inline bool read_object_text(dom::element v, std::string& out) {
  if (!v.is_object()) return false;
  out = simdjson::minify(v);
  return true;
}
inline bool read_array_text(dom::element v, std::string& out) {
  if (!v.is_array()) return false;
  out = simdjson::minify(v);
  return true;
}

// The answer to a body the parser refused, the same for every request parser.
ApiError body_error(simdjson::error_code e);

// Parses a request body that must be a JSON object into `out` (a view into `parser`); else the
// refusal: body_error(), or "Request body must be a JSON object".
std::optional<ApiError> parse_request_object(Parser& parser, std::string_view body,
                                             dom::object& out);

// Reads an optional string field of a request: null counts as absent. Refuses (with the field's
// name) anything but a string, longer than `limit` bytes, or holding a control character (a
// raw one is invalid JSON; an escaped one is never part of a key, id or domain).
std::optional<ApiError> read_request_string(dom::element v, std::string_view name,
                                            std::optional<std::string_view>& out,
                                            std::size_t limit);

}  // namespace le::core::json
