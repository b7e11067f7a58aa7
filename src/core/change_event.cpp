#include "core/change_event.h"

#include <algorithm>
#include <type_traits>

#include "core/digest.h"
#include "core/json_read.h"
#include "core/json_writer.h"
#include "core/time_format.h"

namespace le::core {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kKindNames[] = {"account", "api_key", "product", "license", "blacklist"};

std::optional<EntityKind> parse_kind(std::string_view s) {
  for (std::size_t i = 0; i < std::size(kKindNames); ++i) {
    if (kKindNames[i] == s) return static_cast<EntityKind>(i);
  }
  return std::nullopt;
}

// Field kinds that are not plain JSON values of their C++ type.
// Each wraps a member (const when encoding).
template <typename T>
struct Time {  // unix seconds; null when 0; read also from an ISO 8601 string
  T& v;
};
template <typename T>
struct Hex {  // a digest as lowercase hex
  T& v;
};
template <typename T>
struct RawObject {  // a JSON object kept as text; null leaves the record's default
  T& v;
};
template <typename T>
struct RawArray {  // a JSON array kept as text; null leaves the record's default
  T& v;
};
template <typename T>
Time(T&) -> Time<T>;
template <typename T>
RawArray(T&) -> RawArray<T>;
template <typename T>
Hex(T&) -> Hex<T>;
template <typename T>
RawObject(T&) -> RawObject<T>;

// Timestamps travel as unix seconds, as ISO 8601 strings, or as null (= none).
bool read_time(dom::element v, std::int64_t& out) {
  switch (v.type()) {
    case dom::element_type::NULL_VALUE:
      out = 0;
      return true;
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
      return json::read_i64(v, out);
    case dom::element_type::STRING: {
      std::string_view s;
      if (v.get_string().get(s)) return false;
      auto parsed = parse_iso8601(s);
      if (!parsed) return false;
      out = *parsed;
      return true;
    }
    default:
      return false;
  }
}

std::optional<Plan> parse_enum(std::string_view s, Plan*) { return parse_plan(s); }
std::optional<Mode> parse_enum(std::string_view s, Mode*) { return parse_mode(s); }
std::optional<LicenseType> parse_enum(std::string_view s, LicenseType*) {
  return parse_license_type(s);
}
std::optional<LicenseStatus> parse_enum(std::string_view s, LicenseStatus*) {
  return parse_license_status(s);
}
std::optional<BlacklistKind> parse_enum(std::string_view s, BlacklistKind*) {
  return parse_blacklist_kind(s);
}

// One field list per record, walked by JsonOut (encode) and JsonIn (decode), so the two
// directions cannot drift. Names are the wire names (DESIGN §4); order is the encoding order.
template <typename IO, typename A>
void fields(IO& io, A& a) requires std::is_same_v<std::remove_const_t<A>, Activation> {
  io.field("machine_id", a.machine_id);
  io.field("label", a.label);
  io.field("activated_at", Time{a.activated_at});
  io.field("lease_expires_at", Time{a.lease_expires_at});
}
template <typename IO, typename R>
void fields(IO& io, R& r) requires std::is_same_v<std::remove_const_t<R>, AccountRecord> {
  io.field("id", r.id);
  io.field("plan", r.plan);
  io.field("tki_require_hwid", r.tki_require_hwid);
  io.field("tki_rate_limit", r.tki_rate_limit);
}
template <typename IO, typename R>
void fields(IO& io, R& r) requires std::is_same_v<std::remove_const_t<R>, ApiKeyRecord> {
  io.field("id", r.id);
  io.field("key_sha256", Hex{r.digest});
  io.field("account_id", r.account_id);
  io.field("mode", r.mode);
  io.field("revoked", r.revoked);
}
template <typename IO, typename R>
void fields(IO& io, R& r) requires std::is_same_v<std::remove_const_t<R>, ProductRecord> {
  io.field("id", r.id);
  io.field("account_id", r.account_id);
  io.field("name", r.name);
  io.field("platforms", r.platforms);
  io.field("tki_versions", r.tki_versions);
  io.field("metadata", RawObject{r.metadata_json});
  io.field("offline_grace_hours", r.offline_grace_hours);
  io.field("lease_seconds", r.lease_seconds);
  io.field("plans", RawArray{r.plans_json});
}
template <typename IO, typename R>
void fields(IO& io, R& r) requires std::is_same_v<std::remove_const_t<R>, LicenseRecord> {
  io.field("id", r.id);
  io.field("key_sha256", Hex{r.key_digest});
  io.field("account_id", r.account_id);
  io.field("product_id", r.product_id);
  io.field("mode", r.mode);
  io.field("type", r.type);
  io.field("status", r.status);
  io.field("expires_at", Time{r.expires_at});
  io.field("max_activations", r.max_activations);
  io.field("activations", r.activations);
  io.field("allowed_domains", r.allowed_domains);
  io.field("metadata", RawObject{r.metadata_json});
  io.field("max_ips", r.max_ips);
  io.field("max_hwids", r.max_hwids);
  io.field("ips", r.ips);
  io.field("hwids", r.hwids);
  io.field("staff", r.staff);
  io.field("discord_id", r.discord_id);
  io.field("discord_username", r.discord_username);
  io.field("discord_tag", r.discord_tag);
  io.field("created_at", Time{r.created_at});
  io.field("email", r.email);
  io.field("offline_grace_hours", r.offline_grace_hours);
  io.field("lease_seconds", r.lease_seconds);
  io.field("plan_id", r.plan_id);
}
template <typename IO, typename R>
void fields(IO& io, R& r) requires std::is_same_v<std::remove_const_t<R>, BlacklistEntry> {
  io.field("id", r.id);
  io.field("account_id", r.account_id);
  io.field("kind", r.kind);
  io.field("value", r.value);
}

// Reads one JSON member into whichever field of the list has its name; members with no field
// are ignored (forward compatibility).
class JsonIn {
 public:
  JsonIn(std::string_view key, dom::element value) : key_(key), value_(value) {}
  bool ok() const { return ok_; }
  bool matched() const { return matched_; }

  template <typename T>
  void field(std::string_view name, T&& out) {
    if (matched_ || name != key_) return;
    matched_ = true;
    ok_ = read(std::forward<T>(out));
  }

 private:
  bool read(std::string& v) { return json::read_string(value_, v); }
  bool read(bool& v) { return json::read_bool(value_, v); }
  bool read(std::uint32_t& v) { return json::read_u32(value_, v); }
  bool read(std::int64_t& v) { return json::read_i64(value_, v); }
  bool read(std::vector<std::string>& v) { return json::read_string_array(value_, v); }
  bool read(Time<std::int64_t> t) { return read_time(value_, t.v); }
  bool read(Hex<Digest> h) { return json::read_digest(value_, h.v); }
  bool read(RawObject<std::string> o) {
    return json::is_null(value_) || json::read_object_text(value_, o.v);
  }
  bool read(RawArray<std::string> a) {
    return json::is_null(value_) || json::read_array_text(value_, a.v);
  }
  template <typename E>
  bool read(E& v) requires std::is_enum_v<E> {
    std::string_view s;
    if (value_.get_string().get(s)) return false;
    auto e = parse_enum(s, static_cast<E*>(nullptr));
    if (!e) return false;
    v = *e;
    return true;
  }
  bool read(std::vector<Activation>& out);

  std::string_view key_;
  dom::element value_;
  bool matched_ = false;
  bool ok_ = true;
};

// Decodes the members of object `v` into `r` through its field list. `seen` collects the names
// of the fields that were present (for required-field checks).
template <typename R>
bool decode_fields(dom::element v, R& r, std::string& error,
                   std::vector<std::string_view>* seen = nullptr) {
  dom::object obj;
  if (v.get_object().get(obj)) {
    error = "data must be an object";
    return false;
  }
  for (const auto member : obj) {
    JsonIn in(member.key, member.value);
    fields(in, r);
    if (!in.ok()) {
      error = "bad value for field '" + std::string(member.key) + "'";
      return false;
    }
    if (in.matched() && seen != nullptr) seen->push_back(member.key);
  }
  return true;
}

bool JsonIn::read(std::vector<Activation>& out) {
  dom::array arr;
  if (value_.get_array().get(arr)) return false;
  out.clear();
  std::string error;
  for (dom::element item : arr) {
    Activation a;
    if (!decode_fields(item, a, error) || a.machine_id.empty()) return false;
    out.push_back(std::move(a));
  }
  return true;
}

bool has(const std::vector<std::string_view>& seen, std::string_view name) {
  return std::find(seen.begin(), seen.end(), name) != seen.end();
}

// Writes each field of the list as a JSON member.
class JsonOut {
 public:
  explicit JsonOut(JsonWriter& w) : w_(w) {}

  template <typename T>
  void field(std::string_view name, T&& v) {
    w_.key(name);
    write(std::forward<T>(v));
  }

 private:
  void write(const std::string& v) { w_.value(v); }
  void write(bool v) { w_.value(v); }
  void write(std::uint32_t v) { w_.value(v); }
  void write(std::int64_t v) { w_.value(v); }
  void write(const std::vector<std::string>& v) {
    w_.begin_array();
    for (const auto& s : v) w_.value(s);
    w_.end_array();
  }
  void write(Time<const std::int64_t> t) {
    if (t.v == 0) {
      w_.null();
    } else {
      w_.value(t.v);
    }
  }
  void write(Hex<const Digest> h) { w_.value(to_hex(h.v)); }
  void write(RawObject<const std::string> o) { w_.raw(o.v); }
  void write(RawArray<const std::string> a) { w_.raw(a.v); }
  template <typename E>
  void write(E v) requires std::is_enum_v<E> {
    w_.value(to_string(v));
  }
  void write(const std::vector<Activation>& v) {
    w_.begin_array();
    for (const auto& a : v) {
      w_.begin_object();
      fields(*this, a);
      w_.end_object();
    }
    w_.end_array();
  }

  JsonWriter& w_;
};

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
  std::vector<std::string_view> seen;
  bool ok = false;
  // Each kind's required fields: the id, the index fields its key spaces need, and a secret's
  // digest.
  auto decode = [&](auto r, std::initializer_list<std::string_view> required) {
    ok = decode_fields(data, r, error, &seen);
    for (auto name : required) ok = ok && has(seen, name);
    ev.record = std::move(r);
  };
  switch (*kind) {
    case EntityKind::kAccount:
      decode(AccountRecord{}, {"id"});
      break;
    case EntityKind::kApiKey:
      decode(ApiKeyRecord{}, {"id", "key_sha256", "account_id"});
      break;
    case EntityKind::kProduct:
      decode(ProductRecord{}, {"id", "account_id"});
      break;
    case EntityKind::kLicense:
      decode(LicenseRecord{}, {"id", "key_sha256", "account_id"});
      break;
    case EntityKind::kBlacklist:
      decode(BlacklistEntry{}, {"id", "account_id", "value"});
      break;
  }
  // Present is not enough for these: an empty id or index value names nothing.
  ok = ok && std::visit(
                 [](const auto& r) {
                   using R = std::decay_t<decltype(r)>;
                   if (r.id.empty()) return false;
                   if constexpr (!std::is_same_v<R, AccountRecord>) {
                     if (r.account_id.empty()) return false;
                   }
                   if constexpr (std::is_same_v<R, BlacklistEntry>) {
                     if (r.value.empty()) return false;
                   }
                   return true;
                 },
                 ev.record);
  if (!ok) {
    return fail(error.empty() ? std::string(kind_name) + ": missing required field" : error);
  }
  std::visit([&](auto& r) { r.version = version; }, ev.record);
  if (ev.type.empty()) {
    ev.type = std::string(kind_name) + (ev.deleted ? ".deleted" : ".updated");
  }
  return ev;
}

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
  JsonOut out_fields(w);
  std::visit([&](const auto& r) { fields(out_fields, r); }, ev.record);
  w.end_object();
  w.end_object();
  return out;
}

}  // namespace le::core
