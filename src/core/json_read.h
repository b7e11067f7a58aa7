// Helpers over simdjson On-Demand shared by the request and change-event decoders: typed reads
// that report a failure as false instead of throwing, and a per-thread padded input buffer.
// Not thread-safe per object; each thread uses its own PaddedInput and parser.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace le::core::json {

namespace od = simdjson::ondemand;

// A reusable buffer that holds input followed by SIMDJSON_PADDING bytes; grows, never shrinks.
class PaddedInput {
 public:
  simdjson::padded_string_view assign(std::string_view in) {
    if (buf_.size() < in.size() + simdjson::SIMDJSON_PADDING) {
      buf_.resize(in.size() + simdjson::SIMDJSON_PADDING);
    }
    std::copy(in.begin(), in.end(), buf_.begin());
    return simdjson::padded_string_view(buf_.data(), in.size(), buf_.size());
  }

 private:
  std::vector<char> buf_;
};

inline bool read_string(od::value v, std::string_view& out) { return !v.get_string().get(out); }
inline bool read_string(od::value v, std::string& out) {
  std::string_view sv;
  if (v.get_string().get(sv)) return false;
  out.assign(sv);
  return true;
}
inline bool read_bool(od::value v, bool& out) { return !v.get_bool().get(out); }
inline bool read_u64(od::value v, std::uint64_t& out) { return !v.get_uint64().get(out); }
inline bool read_i64(od::value v, std::int64_t& out) { return !v.get_int64().get(out); }
inline bool read_u32(od::value v, std::uint32_t& out) {
  std::uint64_t x;
  if (v.get_uint64().get(x) || x > UINT32_MAX) return false;
  out = static_cast<std::uint32_t>(x);
  return true;
}
inline bool is_null(od::value v) {
  od::json_type t;
  return !v.type().get(t) && t == od::json_type::null;
}
inline bool read_string_array(od::value v, std::vector<std::string>& out) {
  od::array arr;
  if (v.get_array().get(arr)) return false;
  out.clear();
  for (auto item : arr) {
    std::string_view s;
    if (item.get_string().get(s)) return false;
    out.emplace_back(s);
  }
  return true;
}
// True when the whole input was consumed: nothing but whitespace follows the document.
// (simdjson 3.0 has no document::at_end(); its iterator reports OUT_OF_BOUNDS there.)
inline bool at_end(od::document& doc) {
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

// The text of a JSON object value, verbatim.
inline bool read_object_text(od::value v, std::string& out) {
  od::object obj;
  std::string_view raw;
  if (v.get_object().get(obj) || obj.raw_json().get(raw)) return false;
  out.assign(raw);
  return true;
}

}  // namespace le::core::json
