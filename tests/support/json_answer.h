// An answer's JSON body in tests, read by JSON pointer: a value that is absent or of another
// type reads as a sentinel ("<none>", -1, 999'999) that no assertion expects.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace le::test {

// A parsed answer, read by JSON pointer.
class Json {
 public:
  explicit Json(const std::string& body) { parse(body); }
  Json(const Json&) = delete;  // the element points into the parser
  Json& operator=(const Json&) = delete;
  void parse(const std::string& body) { ok_ = !parser_.parse(body).get(doc_); }
  bool ok() const { return ok_; }
  bool has(std::string_view p) const {
    simdjson::dom::element e;
    return ok_ && !doc_.at_pointer(p).get(e);
  }
  std::string str(std::string_view p) const {
    std::string_view s;
    if (!ok_ || doc_.at_pointer(p).get_string().get(s)) return "<none>";
    return std::string(s);
  }
  std::int64_t num(std::string_view p) const {
    std::int64_t v;
    if (!ok_ || doc_.at_pointer(p).get_int64().get(v)) return -1;
    return v;
  }
  bool boolean(std::string_view p) const {
    bool v = false;
    return ok_ && !doc_.at_pointer(p).get_bool().get(v) && v;
  }
  bool is_bool(std::string_view p) const {
    bool v;
    return ok_ && !doc_.at_pointer(p).get_bool().get(v);
  }
  bool is_null(std::string_view p) const {
    simdjson::dom::element e;
    return ok_ && !doc_.at_pointer(p).get(e) && e.is_null();
  }
  std::size_t size(std::string_view p) const {
    simdjson::dom::array a;
    if (!ok_ || doc_.at_pointer(p).get_array().get(a)) return 999'999;
    return a.size();
  }
  std::size_t object_size(std::string_view p) const {
    simdjson::dom::object o;
    if (!ok_ || doc_.at_pointer(p).get_object().get(o)) return 999'999;
    return o.size();
  }

 private:
  simdjson::dom::parser parser_;
  simdjson::dom::element doc_;
  bool ok_ = false;
};

}  // namespace le::test
