// Minimal streaming JSON writer appending to a caller-owned (reusable) std::string.
// The caller is responsible for structure (commas are handled per object/array level).
// Strings are escaped per RFC 8259; input is expected to be valid UTF-8 (it came through
// simdjson, which validates), bytes >= 0x80 pass through unchanged. Not thread-safe; cheap to
// construct over a per-thread buffer.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace le::core {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  JsonWriter& key(std::string_view k) {
    comma();
    append_string(out_, k);
    out_.push_back(':');
    after_key_ = true;
    return *this;
  }
  JsonWriter& value(std::string_view s) {
    comma();
    append_string(out_, s);
    return *this;
  }
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b) {
    comma();
    out_.append(b ? "true" : "false");
    return *this;
  }
  JsonWriter& value(std::int64_t v) { return number(v); }
  JsonWriter& value(std::uint64_t v) { return number(v); }
  JsonWriter& value(int v) { return value(static_cast<std::int64_t>(v)); }
  JsonWriter& value(unsigned v) { return value(static_cast<std::uint64_t>(v)); }
  JsonWriter& null() {
    comma();
    out_.append("null");
    return *this;
  }
  // Inserts already-serialized JSON (e.g. a stored metadata object) verbatim.
  JsonWriter& raw(std::string_view json) {
    comma();
    out_.append(json);
    return *this;
  }
  // Appends a value produced by f(std::string&) in place (e.g. a formatted timestamp), with
  // the writer's separators; f must write complete, valid JSON.
  template <typename F>
  JsonWriter& value_with(F&& f) {
    comma();
    f(out_);
    return *this;
  }
  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  static void append_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out.append(s.data() + run, i - run);
      run = i + 1;
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        default:
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
      }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
  }

 private:
  template <typename T>
  JsonWriter& number(T v) {
    comma();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
  }
  JsonWriter& open(char c) {
    comma();
    out_.push_back(c);
    first_ = true;
    return *this;
  }
  JsonWriter& close(char c) {
    out_.push_back(c);
    first_ = false;
    return *this;
  }
  void comma() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_.push_back(',');
    first_ = false;
  }

  std::string& out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace le::core
