// The earlier form of an edge's report, JSON (see edge_report_json.h).
#include "core/edge_report_json.h"

#include <algorithm>
#include <array>

#include "core/json_read.h"
#include "core/signing.h"

namespace le::core {
namespace {

namespace dom = simdjson::dom;

// Reads an object's fields: `read(i, value)` for the field named names[i] (false: bad value);
// fields not named are ignored. Why not, when a field is bad, given twice, or a required one
// (the first `required` names) is missing.
template <std::size_t N, typename Read>
std::optional<std::string> read_fields(dom::element v, std::string_view what,
                                       const std::array<std::string_view, N>& names,
                                       std::size_t required, Read&& read) {
  dom::object obj;
  if (v.get_object().get(obj)) return std::string(what) + " is not an object";
  std::array<bool, N> seen{};
  for (const auto field : obj) {
    const auto it = std::find(names.begin(), names.end(), field.key);
    if (it == names.end()) continue;
    const auto i = static_cast<std::size_t>(it - names.begin());
    if (seen[i] || !read(i, field.value)) {
      return std::string(what) + ": bad field '" + std::string(names[i]) + "'";
    }
    seen[i] = true;
  }
  for (std::size_t i = 0; i < required; ++i) {
    if (!seen[i]) return std::string(what) + ": missing field '" + std::string(names[i]) + "'";
  }
  return std::nullopt;
}

bool read_count(dom::element v, std::uint64_t& out) {
  return !v.get_uint64().get(out) && out <= kMaxUsageCount;
}

bool read_id(dom::element v, std::string& out, bool allow_empty) {
  std::string_view s;
  if (v.get_string().get(s) || s.size() > kMaxUsageIdBytes || (!allow_empty && s.empty())) {
    return false;
  }
  out.assign(s);
  return true;
}

bool read_text(dom::element v, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s) || s.size() > kMaxAuthTextBytes) return false;
  out.assign(s);
  return true;
}

bool read_mode(dom::element v, Mode& out) {
  std::string_view s;
  auto m = v.get_string().get(s) ? std::nullopt : parse_mode(s);
  if (m) out = *m;
  return m.has_value();
}

bool read_time_ms(dom::element v, std::int64_t& out) { return !v.get_int64().get(out) && out >= 0; }

bool read_sketch(dom::element v, Hll& out) {
  std::string_view s;
  if (v.get_string().get(s) || s.size() > 2 * Hll::kMaxEncodedBytes) return false;
  auto bytes = from_base64(s);
  auto h = bytes ? Hll::decode(*bytes) : std::nullopt;
  if (h) out = std::move(*h);
  return h.has_value();
}

// {"NAME":count,…}: names from `name_of`, each at most once, counts 1…kMaxUsageCount.
template <std::size_t N, typename NameOf>
bool read_outcomes(dom::element v, std::array<std::uint64_t, N>& out, NameOf&& name_of) {
  dom::object obj;
  if (v.get_object().get(obj)) return false;
  std::array<bool, N> seen{};
  for (const auto field : obj) {
    const auto i = name_of(field.key);
    if (!i) continue;  // an outcome this primary does not know: ignored
    std::uint64_t n;
    if (seen[*i] || !read_count(field.value, n) || n == 0) return false;
    seen[*i] = true;
    out[*i] = n;
  }
  return true;
}

constexpr std::array<std::string_view, 11> kUsageFields = {
    "account",         "mode",     "day", "license", "product", "validations", "auths",
    "lastValidatedMs", "machines", "ips", "hwids"};
constexpr std::array<std::string_view, 10> kAuthFields = {
    "atMs",    "account", "mode", "outcome", "license",
    "product", "version", "ip",   "hwid",    "userAgent"};
constexpr std::array<std::string_view, 4> kHitFields = {"account", "entry", "attempts", "lastMs"};

std::optional<std::string> read_usage(dom::element v, UsageCount& c) {
  return read_fields(v, "a usage entry", kUsageFields, 3, [&](std::size_t i, dom::element f) {
    switch (i) {
      case 0:
        return read_id(f, c.account_id, false);
      case 1:
        return read_mode(f, c.mode);
      case 2: {
        std::int64_t day;
        if (f.get_int64().get(day) || day < 0 || day > 2'932'896) return false;  // ≤ 9999-12-31
        c.day = static_cast<std::int32_t>(day);
        return true;
      }
      case 3:
        return read_id(f, c.license_id, true);
      case 4:
        return read_id(f, c.product_id, true);
      case 5:
        return read_outcomes(f, c.validations, [](std::string_view s) {
          auto o = usage_outcome_from_string(s);
          return o ? std::optional<std::size_t>(static_cast<std::size_t>(*o)) : std::nullopt;
        });
      case 6:
        return read_outcomes(f, c.auths, [](std::string_view s) {
          auto o = tki_outcome_from_string(s);
          return o ? std::optional<std::size_t>(static_cast<std::size_t>(*o)) : std::nullopt;
        });
      case 7:
        return read_time_ms(f, c.last_validated_ms);
      case 8:
        return read_sketch(f, c.machines);
      case 9:
        return read_sketch(f, c.ips);
      case 10:
        return read_sketch(f, c.hwids);
      default:
        return true;
    }
  });
}

std::optional<std::string> read_auth(dom::element v, AuthAttempt& a) {
  return read_fields(v, "an auth record", kAuthFields, 4, [&](std::size_t i, dom::element f) {
    switch (i) {
      case 0:
        return read_time_ms(f, a.at_ms);
      case 1:
        return read_id(f, a.account_id, false);
      case 2:
        return read_mode(f, a.mode);
      case 3: {
        std::string_view s;
        auto o = f.get_string().get(s) ? std::nullopt : tki_outcome_from_string(s);
        if (o) a.status = *o;
        return o.has_value();
      }
      case 4:
        return read_id(f, a.license_id, true);
      case 5:
        return read_text(f, a.product);
      case 6:
        return read_text(f, a.version);
      case 7:
        return read_text(f, a.ip);
      case 8:
        return read_text(f, a.hwid);
      case 9:
        return read_text(f, a.user_agent);
      default:
        return true;
    }
  });
}

std::optional<std::string> read_hit(dom::element v, BlacklistHit& h) {
  return read_fields(v, "a blacklist hit", kHitFields, 4, [&](std::size_t i, dom::element f) {
    switch (i) {
      case 0:
        return read_id(f, h.account_id, false);
      case 1:
        return read_id(f, h.entry_id, false);
      case 2:
        return read_count(f, h.attempts) && h.attempts > 0;
      case 3:
        return read_time_ms(f, h.last_ms);
      default:
        return true;
    }
  });
}

template <typename T, typename Read>
std::optional<std::string> read_list(dom::element v, std::vector<T>& out, Read&& read) {
  dom::array items;
  if (v.get_array().get(items)) return std::string("not an array");
  out.reserve(items.size());
  for (const dom::element item : items) {
    T t;
    if (auto error = read(item, t)) return error;
    out.push_back(std::move(t));
  }
  return std::nullopt;
}

}  // namespace

std::variant<EdgeReport, DecodeError> decode_edge_report_json(std::string_view json) {
  thread_local json::Parser parser;
  dom::element doc;
  if (parser.parse(json, doc)) return DecodeError{"not JSON"};
  EdgeReport r;
  static constexpr std::array<std::string_view, 7> kFields = {
      "edge", "boot", "seq", "failures", "usage", "auths", "blacklist"};
  std::optional<std::string> inner;
  auto error = read_fields(doc, "the report", kFields, 3, [&](std::size_t i, dom::element f) {
    switch (i) {
      case 0: {
        std::string_view s;
        if (f.get_string().get(s) || !valid_edge_id(s)) return false;
        r.header.edge.assign(s);
        return true;
      }
      case 1:
        return !f.get_uint64().get(r.header.boot);
      case 2:
        return !f.get_uint64().get(r.header.seq) && r.header.seq > 0;
      case 3:
        inner = read_list(f, r.failures,
                          [](dom::element e, FailureCount& c) { return read_failure_entry(e, c); });
        return !inner;
      case 4:
        inner = read_list(f, r.usage, read_usage);
        return !inner;
      case 5:
        inner = read_list(f, r.auths, read_auth);
        return !inner;
      case 6:
        inner = read_list(f, r.blacklist, read_hit);
        return !inner;
      default:
        return true;
    }
  });
  if (error) return DecodeError{inner ? *error + " (" + *inner + ")" : *error};
  return r;
}

}  // namespace le::core
