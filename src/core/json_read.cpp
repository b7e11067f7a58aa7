#include "core/json_read.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace le::core::json {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of the JSON number (RFC 8259 6) at the start of `s`, or 0 if there is none.
std::size_t number_length(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !is_digit(s[i])) return 0;
  if (s[i] == '0') {
    ++i;
  } else {
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || !is_digit(s[i])) return 0;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !is_digit(s[i])) return 0;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  return i;
}

// Whether simdjson refuses this well-formed number: an integer beyond 64 bits, or a magnitude
// beyond double (underflow rounds to zero and is accepted).
bool out_of_range(std::string_view n) {
  if (n.find_first_of(".eE") == std::string_view::npos) {
    if (n.front() == '-') {
      std::int64_t v;
      return std::from_chars(n.data(), n.data() + n.size(), v).ec != std::errc();
    }
    std::uint64_t v;
    return std::from_chars(n.data(), n.data() + n.size(), v).ec != std::errc();
  }
  const std::string text(n);
  errno = 0;
  const double v = std::strtod(text.c_str(), nullptr);
  return errno == ERANGE && std::isinf(v);
}

}  // namespace

bool mark_out_of_range_numbers(std::string_view in, std::string& out) {
  out.clear();
  bool marked = false;
  bool in_string = false;
  for (std::size_t i = 0; i < in.size();) {
    const char c = in[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < in.size()) {
        out.push_back(in[i + 1]);
        i += 2;
        continue;
      }
      if (c == '"') in_string = false;
      ++i;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '-' || is_digit(c)) {
      const std::size_t n = number_length(in.substr(i));
      if (n > 0 && out_of_range(in.substr(i, n))) {
        out.append(kOutOfRangeJson);
        marked = true;
        i += n;
        continue;
      }
      if (n > 0) {
        out.append(in.substr(i, n));
        i += n;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  return marked;
}

simdjson::error_code Parser::parse(std::string_view in, dom::element& out) {
  // RFC 8259 8.1: a parser may ignore a byte order mark; clients that write one mean no harm.
  if (in.starts_with("\xEF\xBB\xBF")) in.remove_prefix(3);
  load(in);
  const auto e = parser_.parse(buf_.data(), in.size(), false).get(out);
  if (e != simdjson::NUMBER_ERROR) return e;
  // Valid JSON may hold numbers beyond what simdjson represents; each becomes a marker string
  // that a reader of that field reports as out of range (is_out_of_range), and a field nobody
  // reads is accepted as the JSON it is. A number that is malformed stays an error.
  if (!mark_out_of_range_numbers(in, rewritten_)) return e;
  load(rewritten_);
  return parser_.parse(buf_.data(), rewritten_.size(), false).get(out);
}

void Parser::load(std::string_view in) {
  if (buf_.size() < in.size() + simdjson::SIMDJSON_PADDING) {
    buf_.resize(in.size() + simdjson::SIMDJSON_PADDING);
  }
  std::copy(in.begin(), in.end(), buf_.begin());
}

ApiError body_error(simdjson::error_code e) {
  if (e == simdjson::UTF8_ERROR) return ApiError::validation("Request body is not valid UTF-8");
  if (e == simdjson::DEPTH_ERROR) return ApiError::validation("Request body is nested too deeply");
  return ApiError::validation("Request body is not valid JSON");
}

std::optional<ApiError> parse_request_object(Parser& parser, std::string_view body,
                                             dom::object& out) {
  dom::element doc;
  if (auto e = parser.parse(body, doc)) return body_error(e);
  if (doc.get_object().get(out)) return ApiError::validation("Request body must be a JSON object");
  return std::nullopt;
}

std::optional<ApiError> read_request_string(dom::element v, std::string_view name,
                                            std::optional<std::string_view>& out,
                                            std::size_t limit) {
  if (is_null(v)) {
    out.reset();
    return std::nullopt;
  }
  auto refuse = [name](std::string_view why) {
    return ApiError::validation("Field '" + std::string(name) + "' " + std::string(why));
  };
  std::string_view s;
  if (v.get_string().get(s) || is_out_of_range(v)) return refuse("must be a string");
  if (s.size() > limit) return refuse("is too long");
  if (std::any_of(s.begin(), s.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return refuse("contains control characters");
  }
  out = s;
  return std::nullopt;
}

}  // namespace le::core::json
