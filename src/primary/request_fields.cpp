#include "primary/request_fields.h"

#include <cctype>
#include <charconv>

#include "core/json_read.h"
#include "core/time_format.h"

namespace le::primary {

using core::ApiError;

dom::object body_object(const net::Request& req) {
  thread_local core::json::Parser parser;
  dom::object obj;
  if (auto e = core::json::parse_request_object(parser, req.body, obj)) refuse(std::move(*e));
  return obj;
}

void bad_field(std::string_view name, std::string_view why) {
  refuse(ApiError::validation("Field '" + std::string(name) + "' " + std::string(why)));
}

void unknown_field(std::string_view name) {
  refuse(ApiError::validation("Unknown field '" + std::string(name) + "'"));
}

std::string read_str(dom::element v, std::string_view name, std::size_t max, bool allow_empty) {
  if (v.is_null()) bad_field(name, "must be a string");
  std::optional<std::string_view> s;
  if (auto e = core::json::read_request_string(v, name, s, max)) refuse(std::move(*e));
  if (!allow_empty && s->empty()) bad_field(name, "must not be empty");
  return std::string(*s);
}

bool read_bool(dom::element v, std::string_view name) {
  bool b;
  if (v.get_bool().get(b)) bad_field(name, "must be true or false");
  return b;
}

std::uint32_t read_u32(dom::element v, std::string_view name, std::uint64_t max) {
  std::uint64_t x;
  if (core::json::is_out_of_range(v))
    bad_field(name, "is out of range (max " + std::to_string(max) + ")");
  if (v.get_uint64().get(x)) bad_field(name, "must be a non-negative integer");
  if (x > max) bad_field(name, "is too large (max " + std::to_string(max) + ")");
  return static_cast<std::uint32_t>(x);
}

std::uint32_t read_lease_seconds(dom::element v, std::string_view name) {
  const std::uint32_t s = read_u32(v, name, core::kMaxLeaseSeconds);
  if (s < core::kMinLeaseSeconds) bad_field(name, "must be at least 1");
  return s;
}

std::int64_t read_expiry(dom::element v, std::string_view name) {
  if (v.is_null()) return 0;
  std::string_view s;
  if (v.get_string().get(s)) bad_field(name, "must be an ISO 8601 date or null");
  auto t = core::parse_iso8601(s);
  if (!t || *t <= 0) bad_field(name, "must be an ISO 8601 date or null");
  return *t;
}

std::vector<std::string> read_strings(dom::element v, std::string_view name, std::size_t max_items,
                                      std::size_t max_len) {
  dom::array arr;
  if (v.get_array().get(arr)) bad_field(name, "must be an array of strings");
  std::vector<std::string> out;
  for (dom::element item : arr) {
    if (out.size() == max_items) bad_field(name, "has too many items");
    out.push_back(read_str(item, name, max_len, false));
  }
  return out;
}

std::string read_metadata(dom::element v, std::string_view name) {
  if (v.is_null()) return "{}";
  std::string text;
  if (!core::json::read_object_text(v, text)) bad_field(name, "must be an object");
  if (text.size() > kMaxMetadataBytes) bad_field(name, "is too large");
  // Stored as given or not at all: a number we cannot represent is refused, not rewritten.
  if (text.find(core::json::kOutOfRangeJson.substr(1, core::json::kOutOfRangeJson.size() - 2)) !=
      std::string::npos) {
    bad_field(name, "holds a number out of range");
  }
  return text;
}

std::string read_id(dom::element v, std::string_view name) {
  std::string s = read_str(v, name, kMaxIdBytes, false);
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      bad_field(name, "may contain only letters, digits, '_' and '-'");
    }
  }
  return s;
}

std::uint64_t query_number(const net::Request& req, std::string_view name, std::uint64_t min,
                           std::uint64_t max, std::uint64_t dflt) {
  auto v = req.query(name);
  if (!v) return dflt;
  std::uint64_t x = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size() || x < min || x > max) {
    refuse(ApiError::validation("Query parameter '" + std::string(name) +
                                "' must be an integer from " + std::to_string(min) + " to " +
                                std::to_string(max)));
  }
  return x;
}

PageRequest page_request(const net::Request& req) {
  PageRequest p;
  p.limit = query_number(req, "limit", 1, 100, 20);
  if (req.query("offset")) {
    p.offset = query_number(req, "offset", 0, UINT32_MAX, 0);
    p.page = p.offset / p.limit + 1;
  } else {
    p.page = query_number(req, "page", 1, UINT32_MAX, 1);
    p.offset = (p.page - 1) * p.limit;
  }
  return p;
}

// An email address as far as a server can tell: one '@' between a non-empty local part and a
// domain with a dot, no spaces, control characters, quotes, brackets or other characters of
// markup or address lists, at most 254 bytes.
std::string read_email(dom::element v, std::string_view name) {
  std::string s = read_str(v, name, 254, false);
  const auto at = s.find('@');
  const bool ok = at != std::string::npos && at > 0 && s.find('@', at + 1) == std::string::npos &&
                  s.find('.', at + 2) != std::string::npos && s.back() != '.' &&
                  s.find_first_of(" <>()[]\\,;:\"'`") == std::string::npos;
  if (!ok) bad_field(name, "must be an email address");
  return s;
}

}  // namespace le::primary
