#include "core/change_event.h"

#include "core/digest.h"
#include "core/json_read.h"
#include "core/json_writer.h"
#include "core/time_format.h"

namespace le::core {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kKindNames[] = {"account", "api_key", "product", "license",
                                           "blacklist"};

std::optional<EntityKind> parse_kind(std::string_view s) {
  for (std::size_t i = 0; i < std::size(kKindNames); ++i) {
    if (kKindNames[i] == s) return static_cast<EntityKind>(i);
  }
  return std::nullopt;
}

// Timestamps travel as unix seconds, as ISO 8601 strings, or as null (= none).
bool read_time(dom::element v, std::int64_t& out) {
  switch (v.type()) {
    case dom::element_type::NULL_VALUE: out = 0; return true;
    case dom::element_type::INT64:
    case dom::element_type::UINT64: return json::read_i64(v, out);
    case dom::element_type::STRING: {
      std::string_view s;
      if (v.get_string().get(s)) return false;
      auto parsed = parse_iso8601(s);
      if (!parsed) return false;
      out = *parsed;
      return true;
    }
    default: return false;
  }
}

using json::read_digest;

template <typename E, typename Parse>
bool read_enum(dom::element v, E& out, Parse parse) {
  std::string_view s;
  if (v.get_string().get(s)) return false;
  auto e = parse(s);
  if (!e) return false;
  out = *e;
  return true;
}

// Calls f(key, value) for each field; f returns false on a bad value. Unknown keys are ignored
// by f returning true without reading the value.
template <typename F>
bool for_each_field(dom::element v, std::string& error, F f) {
  dom::object obj;
  if (v.get_object().get(obj)) {
    error = "data must be an object";
    return false;
  }
  for (const auto field : obj) {
    if (!f(field.key, field.value)) {
      error = "bad value for field '" + std::string(field.key) + "'";
      return false;
    }
  }
  return true;
}

bool decode_account(dom::element v, AccountRecord& r, std::string& error) {
  return for_each_field(v, error, [&](std::string_view k, dom::element x) {
    if (k == "id") return json::read_string(x, r.id);
    if (k == "plan") return read_enum(x, r.plan, parse_plan);
    if (k == "tki_require_hwid") return json::read_bool(x, r.tki_require_hwid);
    if (k == "tki_rate_limit") return json::read_bool(x, r.tki_rate_limit);
    return true;
  });
}

bool decode_api_key(dom::element v, ApiKeyRecord& r, std::string& error, bool& has_digest) {
  return for_each_field(v, error, [&](std::string_view k, dom::element x) {
    if (k == "id") return json::read_string(x, r.id);
    if (k == "key_sha256") return has_digest = read_digest(x, r.digest);
    if (k == "account_id") return json::read_string(x, r.account_id);
    if (k == "mode") return read_enum(x, r.mode, parse_mode);
    if (k == "revoked") return json::read_bool(x, r.revoked);
    return true;
  });
}

bool decode_product(dom::element v, ProductRecord& r, std::string& error) {
  return for_each_field(v, error, [&](std::string_view k, dom::element x) {
    if (k == "id") return json::read_string(x, r.id);
    if (k == "account_id") return json::read_string(x, r.account_id);
    if (k == "name") return json::read_string(x, r.name);
    if (k == "platforms") return json::read_string_array(x, r.platforms);
    if (k == "tki_versions") return json::read_string_array(x, r.tki_versions);
    if (k == "metadata") return json::is_null(x) ? true : json::read_object_text(x, r.metadata_json);
    return true;
  });
}

bool decode_activations(dom::element v, std::vector<Activation>& out) {
  dom::array arr;
  if (v.get_array().get(arr)) return false;
  out.clear();
  std::string error;
  for (dom::element iv : arr) {
    Activation a;
    bool ok = for_each_field(iv, error, [&](std::string_view k, dom::element x) {
      if (k == "machine_id") return json::read_string(x, a.machine_id);
      if (k == "label") return json::is_null(x) ? true : json::read_string(x, a.label);
      if (k == "activated_at") return read_time(x, a.activated_at);
      return true;
    });
    if (!ok || a.machine_id.empty()) return false;
    out.push_back(std::move(a));
  }
  return true;
}

bool decode_license(dom::element v, LicenseRecord& r, std::string& error, bool& has_digest) {
  return for_each_field(v, error, [&](std::string_view k, dom::element x) {
    if (k == "id") return json::read_string(x, r.id);
    if (k == "key_sha256") return has_digest = read_digest(x, r.key_digest);
    if (k == "account_id") return json::read_string(x, r.account_id);
    if (k == "product_id") return json::read_string(x, r.product_id);
    if (k == "mode") return read_enum(x, r.mode, parse_mode);
    if (k == "type") return read_enum(x, r.type, parse_license_type);
    if (k == "status") return read_enum(x, r.status, parse_license_status);
    if (k == "expires_at") return read_time(x, r.expires_at);
    if (k == "max_activations") return json::read_u32(x, r.max_activations);
    if (k == "activations") return decode_activations(x, r.activations);
    if (k == "allowed_domains") return json::read_string_array(x, r.allowed_domains);
    if (k == "metadata") return json::is_null(x) ? true : json::read_object_text(x, r.metadata_json);
    if (k == "max_ips") return json::read_u32(x, r.max_ips);
    if (k == "max_hwids") return json::read_u32(x, r.max_hwids);
    if (k == "ips") return json::read_string_array(x, r.ips);
    if (k == "hwids") return json::read_string_array(x, r.hwids);
    if (k == "staff") return json::read_bool(x, r.staff);
    if (k == "discord_id") return json::read_string(x, r.discord_id);
    if (k == "discord_username") return json::read_string(x, r.discord_username);
    if (k == "discord_tag") return json::read_string(x, r.discord_tag);
    if (k == "created_at") return read_time(x, r.created_at);
    if (k == "email") return json::read_string(x, r.email);
    return true;
  });
}

bool decode_blacklist(dom::element v, BlacklistEntry& r, std::string& error) {
  return for_each_field(v, error, [&](std::string_view k, dom::element x) {
    if (k == "id") return json::read_string(x, r.id);
    if (k == "account_id") return json::read_string(x, r.account_id);
    if (k == "kind") return read_enum(x, r.kind, parse_blacklist_kind);
    if (k == "value") return json::read_string(x, r.value);
    return true;
  });
}

DecodeError fail(std::string msg) { return DecodeError{std::move(msg)}; }

}  // namespace

std::string_view to_string(EntityKind k) { return kKindNames[static_cast<int>(k)]; }

std::uint64_t ChangeEvent::version() const {
  return std::visit([](const auto& r) { return r.version; }, record);
}

const std::string& ChangeEvent::id() const {
  return std::visit([](const auto& r) -> const std::string& { return r.id; }, record);
}

std::string ChangeEvent::subject() const {
  std::string s = "lic.";
  s.append(to_string(kind()));
  s.push_back('.');
  s.append(id());
  return s;
}

std::variant<ChangeEvent, DecodeError> decode_change_event(std::string_view text) {
  thread_local json::Parser parser;
  dom::element doc;
  if (parser.parse(text, doc)) return fail("not valid JSON");
  dom::object obj;
  if (doc.get_object().get(obj)) return fail("message must be a JSON object");

  ChangeEvent ev;
  std::string_view kind_name;
  if (obj["kind"].get_string().get(kind_name)) return fail("missing kind");
  auto kind = parse_kind(kind_name);
  if (!kind) return fail("unknown kind '" + std::string(kind_name) + "'");

  std::uint64_t version = 0;
  if (obj["version"].get_uint64().get(version) || version == 0) {
    return fail("missing or invalid version");
  }
  dom::element field;
  if (!obj["deleted"].get(field) && field.get_bool().get(ev.deleted)) {
    return fail("deleted must be a boolean");
  }
  if (!obj["seq"].get(field) && field.get_uint64().get(ev.seq)) {
    return fail("seq must be an unsigned integer");
  }
  if (!obj["type"].get(field)) {
    std::string_view t;
    if (field.get_string().get(t)) return fail("type must be a string");
    ev.type.assign(t);
  }
  dom::element data;
  if (obj["data"].get(data)) return fail("missing data");

  std::string error;
  bool ok = false;
  switch (*kind) {
    case EntityKind::kAccount: {
      AccountRecord r;
      ok = decode_account(data, r, error) && !r.id.empty();
      ev.record = std::move(r);
      break;
    }
    case EntityKind::kApiKey: {
      ApiKeyRecord r;
      bool has_digest = false;
      ok = decode_api_key(data, r, error, has_digest) && !r.id.empty() && has_digest &&
           !r.account_id.empty();
      ev.record = std::move(r);
      break;
    }
    case EntityKind::kProduct: {
      ProductRecord r;
      ok = decode_product(data, r, error) && !r.id.empty() && !r.account_id.empty();
      ev.record = std::move(r);
      break;
    }
    case EntityKind::kLicense: {
      LicenseRecord r;
      bool has_digest = false;
      ok = decode_license(data, r, error, has_digest) && !r.id.empty() && has_digest &&
           !r.account_id.empty();
      ev.record = std::move(r);
      break;
    }
    case EntityKind::kBlacklist: {
      BlacklistEntry r;
      ok = decode_blacklist(data, r, error) && !r.id.empty() && !r.account_id.empty() &&
           !r.value.empty();
      ev.record = std::move(r);
      break;
    }
  }
  if (!ok) {
    return fail(error.empty() ? std::string(kind_name) + ": missing required field" : error);
  }
  std::visit([&](auto& r) { r.version = version; }, ev.record);
  if (ev.type.empty()) {
    ev.type = std::string(kind_name) + (ev.deleted ? ".deleted" : ".updated");
  }
  return ev;
}

namespace {

void write_strings(JsonWriter& w, std::string_view k, const std::vector<std::string>& v) {
  w.key(k).begin_array();
  for (const auto& s : v) w.value(s);
  w.end_array();
}

void write_time(JsonWriter& w, std::string_view k, std::int64_t t) {
  w.key(k);
  if (t == 0) {
    w.null();
  } else {
    w.value(t);
  }
}

void write_data(JsonWriter& w, const AccountRecord& r) {
  w.field("id", r.id).field("plan", to_string(r.plan));
  w.field("tki_require_hwid", r.tki_require_hwid).field("tki_rate_limit", r.tki_rate_limit);
}

void write_data(JsonWriter& w, const ApiKeyRecord& r) {
  w.field("id", r.id).field("key_sha256", to_hex(r.digest)).field("account_id", r.account_id);
  w.field("mode", to_string(r.mode)).field("revoked", r.revoked);
}

void write_data(JsonWriter& w, const ProductRecord& r) {
  w.field("id", r.id).field("account_id", r.account_id).field("name", r.name);
  write_strings(w, "platforms", r.platforms);
  write_strings(w, "tki_versions", r.tki_versions);
  w.key("metadata").raw(r.metadata_json);
}

void write_data(JsonWriter& w, const LicenseRecord& r) {
  w.field("id", r.id).field("key_sha256", to_hex(r.key_digest)).field("account_id", r.account_id);
  w.field("product_id", r.product_id).field("mode", to_string(r.mode));
  w.field("type", to_string(r.type)).field("status", to_string(r.status));
  write_time(w, "expires_at", r.expires_at);
  w.field("max_activations", r.max_activations);
  w.key("activations").begin_array();
  for (const auto& a : r.activations) {
    w.begin_object().field("machine_id", a.machine_id).field("label", a.label);
    write_time(w, "activated_at", a.activated_at);
    w.end_object();
  }
  w.end_array();
  write_strings(w, "allowed_domains", r.allowed_domains);
  w.key("metadata").raw(r.metadata_json);
  w.field("max_ips", r.max_ips).field("max_hwids", r.max_hwids);
  write_strings(w, "ips", r.ips);
  write_strings(w, "hwids", r.hwids);
  w.field("staff", r.staff).field("discord_id", r.discord_id);
  w.field("discord_username", r.discord_username).field("discord_tag", r.discord_tag);
  write_time(w, "created_at", r.created_at);
  w.field("email", r.email);
}

void write_data(JsonWriter& w, const BlacklistEntry& r) {
  w.field("id", r.id).field("account_id", r.account_id).field("kind", to_string(r.kind));
  w.field("value", r.value);
}

}  // namespace

std::string encode_change_event(const ChangeEvent& ev, bool include_seq) {
  std::string out;
  out.reserve(256);
  JsonWriter w(out);
  w.begin_object();
  if (include_seq) w.field("seq", ev.seq);
  w.field("kind", to_string(ev.kind()));
  w.field("type", ev.type.empty() ? std::string(to_string(ev.kind())) + ".updated" : ev.type);
  w.field("version", ev.version()).field("deleted", ev.deleted);
  w.key("data").begin_object();
  std::visit([&](const auto& r) { write_data(w, r); }, ev.record);
  w.end_object();
  w.end_object();
  return out;
}

}  // namespace le::core
