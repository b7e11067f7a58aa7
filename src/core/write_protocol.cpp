#include "core/write_protocol.h"

#include <algorithm>
#include <array>

#include "core/json_read.h"
#include "core/json_writer.h"
#include "core/license_json.h"
#include "core/validate.h"

namespace le::core {
namespace {

namespace dom = simdjson::dom;

constexpr std::array<std::string_view, 4> kOps = {"activate", "deactivate", "bind", "heartbeat"};
constexpr std::array<std::string_view, 5> kActivationResults = {
    "activated", "already_activated", "deactivated", "not_activated", "lease_extended"};
constexpr std::array<std::string_view, 2> kBindResults = {"bound", "already_bound"};
// Codes a primary may refuse a write with; ApiError::code views these literals.
constexpr std::array<std::string_view, 11> kErrorCodes = {"ACTIVATION_LIMIT_REACHED",
                                                          "EXPIRED",
                                                          "SUSPENDED",
                                                          "REVOKED",
                                                          "NOT_FOUND",
                                                          "INVALID_API_KEY",
                                                          "AUTH_REQUIRED",
                                                          "RATE_LIMITED",
                                                          "VALIDATION_ERROR",
                                                          "MISSING_FIELDS",
                                                          "INTERNAL_ERROR"};
constexpr std::size_t kMaxText = 512;

template <std::size_t N>
std::optional<std::size_t> index_of(const std::array<std::string_view, N>& names,
                                    std::string_view s) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) return i;
  }
  return std::nullopt;
}

bool read_text(dom::element v, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s) || s.size() > kMaxText) return false;
  out.assign(s);
  return true;
}

using json::read_digest;

// The top-level object of a message; false when it is not one.
bool parse_object(std::string_view json, dom::object& obj) {
  thread_local json::Parser parser;
  dom::element doc;
  return !parser.parse(json, doc) && !doc.get_object().get(obj);
}

}  // namespace

std::string_view to_string(WriteOp op) { return kOps[static_cast<std::size_t>(op)]; }

std::optional<WriteOp> write_op_from_string(std::string_view s) {
  if (auto i = index_of(kOps, s)) return static_cast<WriteOp>(*i);
  return std::nullopt;
}

std::string encode_write_command(const WriteCommand& c) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("op", to_string(c.op));
  w.key("apiKey");
  if (c.api_key) {
    w.value(to_hex(*c.api_key));
  } else {
    w.null();
  }
  w.field("mode", to_string(c.mode)).field("license", to_hex(c.license));
  w.field("machineId", c.machine_id).field("label", c.label);
  w.field("ip", c.ip).field("hwid", c.hwid);
  w.end_object();
  return out;
}

std::variant<WriteCommand, DecodeError> decode_write_command(std::string_view json) {
  dom::object obj;
  if (!parse_object(json, obj)) return DecodeError{"not a JSON object"};
  WriteCommand c;
  bool has_op = false, has_license = false;
  for (const auto field : obj) {
    const std::string_view k = field.key;
    const dom::element v = field.value;
    bool ok = true;
    if (k == "op") {
      std::string_view s;
      auto op = v.get_string().get(s) ? std::nullopt : write_op_from_string(s);
      ok = has_op = op.has_value();
      if (op) c.op = *op;
    } else if (k == "apiKey") {
      if (!v.is_null()) {
        Digest d;
        ok = read_digest(v, d);
        c.api_key = d;
      }
    } else if (k == "mode") {
      std::string_view s;
      ok = !v.get_string().get(s) && (s == "live" || s == "test");
      c.mode = s == "test" ? Mode::kTest : Mode::kLive;
    } else if (k == "license") {
      ok = has_license = read_digest(v, c.license);
    } else if (k == "machineId") {
      ok = read_text(v, c.machine_id) && c.machine_id.size() <= kMaxMachineIdBytes;
    } else if (k == "label") {
      ok = read_text(v, c.label) && c.label.size() <= kMaxLabelBytes;
    } else if (k == "ip") {
      ok = read_text(v, c.ip);
    } else if (k == "hwid") {
      ok = read_text(v, c.hwid);
    }
    if (!ok) return DecodeError{"bad field '" + std::string(k) + "'"};
  }
  if (!has_op || !has_license) return DecodeError{"missing op or license"};
  if (c.op != WriteOp::kBind && c.machine_id.empty()) return DecodeError{"missing machineId"};
  if (c.op == WriteOp::kBind && (!c.api_key || (c.ip.empty() && c.hwid.empty()))) {
    return DecodeError{"bind needs apiKey and an ip or hwid"};
  }
  return c;
}

std::string encode_write_reply(const WriteReply& r) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("result");
  if (r.activation) {
    w.value(kActivationResults[static_cast<std::size_t>(*r.activation)]);
  } else if (r.bind) {
    w.value(kBindResults[static_cast<std::size_t>(*r.bind)]);
  } else {
    w.null();
  }
  w.key("error");
  if (r.error) {
    w.begin_object().field("status", r.error->http_status).field("code", r.error->code);
    w.field("message", r.error->message).end_object();
  } else {
    w.null();
  }
  w.key("tki");
  if (r.tki) {
    w.value(static_cast<unsigned>(*r.tki));
  } else {
    w.null();
  }
  w.field("retryAfter", r.retry_after_s);
  w.key("license");
  if (r.license) {
    w.raw(encode_change_event(*r.license));
  } else {
    w.null();
  }
  w.end_object();
  return out;
}

std::variant<WriteReply, DecodeError> decode_write_reply(std::string_view json) {
  dom::object obj;
  if (!parse_object(json, obj)) return DecodeError{"not a JSON object"};
  WriteReply r;
  std::string license_json;
  for (const auto field : obj) {
    const std::string_view k = field.key;
    const dom::element v = field.value;
    bool ok = true;
    if (v.is_null()) continue;
    if (k == "result") {
      std::string_view s;
      ok = !v.get_string().get(s);
      if (auto i = index_of(kActivationResults, s)) {
        r.activation = static_cast<ActivationResult>(*i);
      } else if (auto j = index_of(kBindResults, s)) {
        r.bind = static_cast<BindResult>(*j);
      } else {
        ok = false;
      }
    } else if (k == "error") {
      dom::object e;
      if (v.get_object().get(e)) return DecodeError{"bad field 'error'"};
      ApiError err;
      bool has_code = false;
      for (const auto ef : e) {
        const std::string_view ek = ef.key;
        if (ek == "status") {
          std::int64_t st = 0;
          ok = ok && json::read_i64(ef.value, st) && st >= 400 && st <= 599;
          err.http_status = static_cast<int>(st);
        } else if (ek == "code") {
          std::string_view code;
          auto i = ef.value.get_string().get(code) ? std::nullopt : index_of(kErrorCodes, code);
          ok = ok && i.has_value();
          if (i) err.code = kErrorCodes[*i];
          has_code = i.has_value();
        } else if (ek == "message") {
          ok = ok && read_text(ef.value, err.message);
        }
      }
      ok = ok && has_code;
      if (ok) r.error = std::move(err);
    } else if (k == "tki") {
      std::uint32_t t = 0;
      ok = json::read_u32(v, t) && t <= static_cast<std::uint32_t>(TkiStatus::kBindingRequired) &&
           t != static_cast<std::uint32_t>(TkiStatus::kSuccess);
      r.tki = static_cast<TkiStatus>(t);
    } else if (k == "retryAfter") {
      ok = json::read_u32(v, r.retry_after_s);
    } else if (k == "license") {
      ok = v.is_object();
      if (ok) license_json = simdjson::minify(v);
    }
    if (!ok) return DecodeError{"bad field '" + std::string(k) + "'"};
  }
  if (!license_json.empty()) {
    auto ev = decode_change_event(license_json);
    if (auto* e = std::get_if<DecodeError>(&ev)) return DecodeError{"license: " + e->message};
    auto& event = std::get<ChangeEvent>(ev);
    if (event.kind() != EntityKind::kLicense) return DecodeError{"license: not a license"};
    r.license = std::move(event);
  }
  const int outcomes = int(r.ok()) + int(r.error.has_value()) + int(r.tki.has_value());
  if (outcomes != 1) return DecodeError{"a reply carries exactly one of result, error, tki"};
  return r;
}

// ---- lease extensions
// ----------------------------------------------------------------------------

std::string encode_lease_extensions(const LeaseExtensions& b) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("edge", b.edge).key("extensions").begin_array();
  for (const auto& e : b.items) {
    w.begin_object().field("license", to_hex(e.license)).field("machineId", e.machine_id);
    w.field("at", e.at).end_object();
  }
  w.end_array().end_object();
  return out;
}

std::variant<LeaseExtensions, DecodeError> decode_lease_extensions(std::string_view json) {
  dom::object obj;
  if (!parse_object(json, obj)) return DecodeError{"not a JSON object"};
  LeaseExtensions b;
  bool has_items = false;
  for (const auto field : obj) {
    const std::string_view k = field.key;
    if (k == "edge") {
      if (!read_text(field.value, b.edge)) return DecodeError{"bad field 'edge'"};
    } else if (k == "extensions") {
      dom::array items;
      if (field.value.get_array().get(items) || items.size() > kMaxLeaseExtensions) {
        return DecodeError{"bad field 'extensions'"};
      }
      has_items = true;
      b.items.reserve(items.size());
      for (const dom::element item : items) {
        dom::object o;
        if (item.get_object().get(o)) return DecodeError{"an extension is not an object"};
        LeaseExtension e;
        bool has_license = false, has_at = false;
        for (const auto f : o) {
          const std::string_view ek = f.key;
          bool ok = true;
          if (ek == "license") {
            ok = has_license = read_digest(f.value, e.license);
          } else if (ek == "machineId") {
            ok = read_text(f.value, e.machine_id) && !e.machine_id.empty() &&
                 e.machine_id.size() <= kMaxMachineIdBytes;
          } else if (ek == "at") {
            ok = has_at = json::read_i64(f.value, e.at) && e.at > 0;
          }
          if (!ok) return DecodeError{"bad extension field '" + std::string(ek) + "'"};
        }
        if (!has_license || !has_at || e.machine_id.empty()) {
          return DecodeError{"an extension needs license, machineId and at"};
        }
        b.items.push_back(std::move(e));
      }
    }
  }
  if (!has_items) return DecodeError{"missing extensions"};
  return b;
}

std::string encode_extend_reply(const ExtendReply& r) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("extended", r.extended).field("refused", r.refused).end_object();
  return out;
}

std::variant<ExtendReply, DecodeError> decode_extend_reply(std::string_view json) {
  dom::object obj;
  if (!parse_object(json, obj)) return DecodeError{"not a JSON object"};
  ExtendReply r;
  int seen = 0;
  for (const auto field : obj) {
    const std::string_view k = field.key;
    if (k == "extended" || k == "refused") {
      if (!json::read_u32(field.value, k == "extended" ? r.extended : r.refused)) {
        return DecodeError{"bad field '" + std::string(k) + "'"};
      }
      ++seen;
    }
  }
  if (seen != 2) return DecodeError{"missing extended or refused"};
  return r;
}

WriteAnswer write_activation_answer(std::string& body, const WriteReply& r,
                                    std::string_view machine_id, std::int64_t now) {
  if (r.error && r.error->code == "RATE_LIMITED") {
    write_rate_limited(body, r.retry_after_s);
    return {429, std::max<std::uint32_t>(1, r.retry_after_s)};
  }
  const ApiError* error = r.error ? &*r.error : nullptr;
  const ApiError fault = ApiError::internal();
  if (error == nullptr &&
      (!r.activation || !r.license || !std::holds_alternative<LicenseRecord>(r.license->record))) {
    error = &fault;
  }
  if (error != nullptr) {
    write_api_error(body, *error);
    if (error->code == "ACTIVATION_LIMIT_REACHED" && r.retry_after_s != 0) {
      // A full pool of floating seats: when the soonest lease ends (core/lease.h).
      body.pop_back();
      body.append(",\"retryAfter\":").append(std::to_string(r.retry_after_s)).push_back('}');
      return {static_cast<unsigned>(error->http_status), r.retry_after_s};
    }
    return {static_cast<unsigned>(error->http_status), 0};
  }
  write_activation_response(body, *r.activation, machine_id,
                            std::get<LicenseRecord>(r.license->record), now);
  return {200, 0};
}

}  // namespace le::core
