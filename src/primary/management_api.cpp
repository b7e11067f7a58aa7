#include "primary/management_api.h"

#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "common/log.h"
#include "core/digest.h"
#include "core/json_read.h"
#include "core/json_writer.h"
#include "core/license_json.h"
#include "core/time_format.h"
#include "core/validate.h"
#include "store/keys.h"

namespace le::primary {
namespace {

namespace dom = simdjson::dom;
using core::ApiError;
using core::JsonWriter;
using core::write_license;
using core::write_strings;
using core::write_time_or_null;
using store::KeySpace;

constexpr std::size_t kMaxIdBytes = 64;
constexpr std::size_t kMaxNameBytes = 200;
constexpr std::size_t kMaxMetadataBytes = 8 * 1024;
constexpr std::size_t kMaxListItems = 100;
constexpr std::size_t kMaxActivationsLimit = 100'000;
constexpr std::int64_t kTrialSeconds = 14 * 86'400;

// A store failure inside a handler: answered 500 INTERNAL_ERROR (the spec's server error).
struct StoreFailure {
  std::string message;
};

template <typename T>
T value_or_throw(store::Result<T> r) {
  if (!r) throw StoreFailure{r.error().message};
  return std::move(*r);
}
void ok_or_throw(store::Result<void> r) {
  if (!r) throw StoreFailure{r.error().message};
}

void answer(net::Response& res, const ApiError& e) {
  res.status = static_cast<unsigned>(e.http_status);
  core::write_api_error(res.body, e);
}

// ---- request bodies --------------------------------------------------------------------------

dom::object body_object(const net::Request& req) {
  thread_local core::json::Parser parser;
  thread_local dom::element doc;
  if (auto e = parser.parse(req.body, doc)) {
    if (e == simdjson::UTF8_ERROR) throw ApiError::validation("Request body is not valid UTF-8");
    if (e == simdjson::DEPTH_ERROR) throw ApiError::validation("Request body is nested too deeply");
    throw ApiError::validation("Request body is not valid JSON");
  }
  dom::object obj;
  if (doc.get_object().get(obj)) throw ApiError::validation("Request body must be a JSON object");
  return obj;
}

[[noreturn]] void bad_field(std::string_view name, std::string_view why) {
  throw ApiError::validation("Field '" + std::string(name) + "' " + std::string(why));
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

std::string read_str(dom::element v, std::string_view name, std::size_t max,
                     bool allow_empty = true) {
  std::string_view s;
  if (v.get_string().get(s) || core::json::is_out_of_range(v)) bad_field(name, "must be a string");
  if (s.size() > max) bad_field(name, "is too long");
  if (!allow_empty && s.empty()) bad_field(name, "must not be empty");
  if (has_control(s)) bad_field(name, "contains control characters");
  return std::string(s);
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

// ISO 8601 or null (never expires).
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

template <typename T>
T read_enum(dom::element v, std::string_view name, std::optional<T> (*parse)(std::string_view),
            std::string_view allowed) {
  std::string_view s;
  if (v.get_string().get(s)) bad_field(name, "must be a string");
  auto e = parse(s);
  if (!e) bad_field(name, "must be one of: " + std::string(allowed));
  return *e;
}

[[noreturn]] void unknown_field(std::string_view name) {
  throw ApiError::validation("Unknown field '" + std::string(name) + "'");
}

// ---- identifiers and keys --------------------------------------------------------------------

void random_bytes(unsigned char* out, int n) {
  if (RAND_bytes(out, n) != 1) throw StoreFailure{"the random generator failed"};
}

std::string random_id(std::string_view prefix) {
  unsigned char b[8];
  random_bytes(b, sizeof b);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(prefix);
  for (unsigned char c : b) {
    id.push_back(kHex[c >> 4]);
    id.push_back(kHex[c & 0xF]);
  }
  return id;
}

// XXXX-XXXX-XXXX-XXXX from 32 unambiguous characters: 80 bits from the CSPRNG.
std::string random_license_key() {
  static constexpr char kAlphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  unsigned char b[16];
  random_bytes(b, sizeof b);
  std::string key;
  for (int i = 0; i < 16; ++i) {
    if (i > 0 && i % 4 == 0) key.push_back('-');
    key.push_back(kAlphabet[b[i] & 31]);
  }
  return key;
}

// to_live_ / to_test_ followed by 32 random base62-ish characters (190 bits).
std::string random_api_key(core::Mode mode) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  unsigned char b[32];
  random_bytes(b, sizeof b);
  std::string key = mode == core::Mode::kLive ? "to_live_" : "to_test_";
  for (unsigned char c : b) key.push_back(kAlphabet[c & 63]);
  return key;
}

// ---- responses --------------------------------------------------------------------------------

void write_product(JsonWriter& w, const core::ProductRecord& p) {
  w.begin_object().field("id", p.id).field("name", p.name);
  write_strings(w, "platforms", p.platforms);
  w.key("metadata").raw(p.metadata_json);
  write_strings(w, "tkiVersions", p.tki_versions);
  w.end_object();
}

void write_account(JsonWriter& w, const core::AccountRecord& a) {
  w.begin_object().field("id", a.id).field("plan", core::to_string(a.plan));
  w.field("rateLimit", core::requests_per_minute(a.plan));
  w.field("tkiRequireHwid", a.tki_require_hwid).field("tkiRateLimit", a.tki_rate_limit);
  w.end_object();
}

void write_api_key(JsonWriter& w, const core::ApiKeyRecord& k, std::string_view key = {}) {
  w.begin_object().field("id", k.id);
  if (!key.empty()) w.field("key", key);
  w.field("accountId", k.account_id).field("mode", core::to_string(k.mode));
  w.field("revoked", k.revoked).end_object();
}

void write_blacklist(JsonWriter& w, const core::BlacklistEntry& b) {
  w.begin_object().field("id", b.id).field("type", core::to_string(b.kind));
  w.field("value", b.value).end_object();
}

// {"<name>": …} with the writer callback for the inner value.
template <typename F>
void reply(net::Response& res, unsigned status, std::string_view name, F&& inner) {
  res.status = status;
  res.body.clear();
  JsonWriter w(res.body);
  w.begin_object().key(name);
  inner(w);
  w.end_object();
}

// ---- pagination (spec "Pagination") ------------------------------------------------------------

struct PageRequest {
  std::uint64_t page = 1;
  std::uint64_t limit = 20;
  std::uint64_t offset = 0;
};

std::uint64_t query_number(const net::Request& req, std::string_view name, std::uint64_t min,
                           std::uint64_t max, std::uint64_t dflt) {
  auto v = req.query(name);
  if (!v) return dflt;
  std::uint64_t x = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size() || x < min || x > max) {
    throw ApiError::validation("Query parameter '" + std::string(name) +
                               "' must be an integer from " + std::to_string(min) + " to " +
                               std::to_string(max));
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

template <typename Items, typename F>
void reply_page(net::Response& res, const PageRequest& p, std::uint64_t total, const Items& items,
                F&& write_item) {
  res.status = 200;
  res.body.clear();
  JsonWriter w(res.body);
  w.begin_object().key("data").begin_array();
  for (const auto& item : items) write_item(w, item);
  w.end_array();
  w.key("pagination").begin_object();
  w.field("page", p.page).field("limit", p.limit).field("total", total);
  w.field("totalPages", (total + p.limit - 1) / p.limit);
  w.field("hasMore", p.offset + items.size() < total);
  w.end_object().end_object();
}

// One page of an account's records of one key space (products, blacklist entries).
template <typename Rec, typename Write>
void reply_account_page(const PrimaryStore& store, const net::Request& req, net::Response& res,
                        KeySpace space, std::string_view account_id, Write write) {
  const auto page = page_request(req);
  auto all = value_or_throw(store.list_account(space, account_id));
  std::vector<Rec> items;
  for (std::size_t i = page.offset; i < all.size() && items.size() < page.limit; ++i) {
    items.push_back(std::get<Rec>(all[i].record));
  }
  reply_page(res, page, all.size(), items, write);
}

// ---- authentication ----------------------------------------------------------------------------

core::ApiKeyRecord authenticate(const store::Replica& db, const net::Request& req) {
  auto cred = core::classify_authorization(req.header(net::http::field::authorization));
  if (std::holds_alternative<core::NoCredential>(cred)) throw ApiError::auth_required();
  if (auto* e = std::get_if<ApiError>(&cred)) throw *e;
  const auto& bearer = std::get<core::BearerKey>(cred);
  auto found = value_or_throw(db.api_key(core::sha256(bearer.key)));
  auto checked = core::check_api_key(bearer, found ? &*found : nullptr);
  if (auto* e = std::get_if<ApiError>(&checked)) throw *e;
  return *found;
}

std::string_view bearer_token(const net::Request& req) {
  auto h = req.header(net::http::field::authorization);
  if (!h || h->size() < 7 || h->substr(0, 7) != "Bearer ") throw ApiError::auth_required();
  return h->substr(7);
}

core::ChangeEvent change(std::string type, auto record, bool deleted = false) {
  core::ChangeEvent ev;
  ev.type = std::move(type);
  ev.deleted = deleted;
  ev.record = std::move(record);
  return ev;
}

// The caller's license by id, or 404 (other accounts' and other modes' licenses do not exist).
core::LicenseRecord own_license(const PrimaryStore& store, const core::ApiKeyRecord& key,
                                std::string_view id) {
  auto l = value_or_throw(store.license_by_id(id));
  if (!l || l->account_id != key.account_id || l->mode != key.mode) {
    throw ApiError::not_found("License not found");
  }
  return std::move(*l);
}

core::ProductRecord own_product(const store::Replica& db, const core::ApiKeyRecord& key,
                                std::string_view id) {
  auto p = value_or_throw(db.product(id));
  if (!p || p->account_id != key.account_id) throw ApiError::not_found("Product not found");
  return std::move(*p);
}

// Applies one license field from a create or update body; false when the name is not a field.
bool license_field(core::LicenseRecord& l, std::string_view k, dom::element v) {
  if (k == "type") {
    l.type = read_enum(v, k, core::parse_license_type, "perpetual, subscription, trial, floating");
  } else if (k == "max_activations") {
    l.max_activations = read_u32(v, k, kMaxActivationsLimit);
  } else if (k == "expires_at") {
    l.expires_at = read_expiry(v, k);
  } else if (k == "email") {
    l.email = v.is_null() ? std::string() : read_str(v, k, 254);
  } else if (k == "metadata") {
    l.metadata_json = read_metadata(v, k);
  } else if (k == "allowed_domains") {
    l.allowed_domains = read_strings(v, k, kMaxListItems, 253);
  } else if (k == "max_ips") {
    l.max_ips = read_u32(v, k, 10'000);
  } else if (k == "max_hwids") {
    l.max_hwids = read_u32(v, k, 10'000);
  } else if (k == "staff") {
    l.staff = read_bool(v, k);
  } else if (k == "discord_id") {
    l.discord_id = read_str(v, k, kMaxIdBytes);
  } else if (k == "discord_username") {
    l.discord_username = read_str(v, k, kMaxNameBytes);
  } else if (k == "discord_tag") {
    l.discord_tag = read_str(v, k, kMaxIdBytes);
  } else {
    return false;
  }
  return true;
}

// A new license of the caller's account and mode from a create body (id and key not yet set).
core::LicenseRecord license_from(dom::object obj, const core::ApiKeyRecord& key, std::int64_t now) {
  core::LicenseRecord l;
  l.account_id = key.account_id;
  l.mode = key.mode;
  l.created_at = now;
  bool has_type = false, has_expiry = false;
  for (auto field : obj) {
    const std::string_view k = field.key;
    if (k == "product_id") {
      l.product_id = read_id(field.value, k);
    } else if (license_field(l, k, field.value)) {
      has_type |= k == "type";
      has_expiry |= k == "expires_at";
    } else {
      unknown_field(k);
    }
  }
  if (l.product_id.empty() && !has_type) {
    throw ApiError::missing_fields("Missing required fields: product_id, type");
  }
  if (l.product_id.empty()) throw ApiError::missing_fields("Missing required field: product_id");
  if (!has_type) throw ApiError::missing_fields("Missing required field: type");
  if (l.type == core::LicenseType::kTrial && !has_expiry) l.expires_at = now + kTrialSeconds;
  return l;
}

// Assigns a fresh id and key to `l` and stages its creation; returns the key.
std::string stage_new_license(PrimaryStore& store, PrimaryStore::Tx& tx, core::LicenseRecord& l) {
  const auto& db = tx.records();
  do {
    l.id = random_id("lic_");
  } while (value_or_throw(db.get_extra(static_cast<std::size_t>(Cf::kLicenseIds), l.id)));
  std::string key;
  do {
    key = random_license_key();
    l.key_digest = core::sha256(key);
    // A tombstone counts too: a deleted license's key is never reissued.
  } while (value_or_throw(db.stored_event(KeySpace::kLicense, store::digest_key(l.key_digest))));
  l.version = 1;
  const std::string digest(store::digest_key(l.key_digest));
  const std::uint64_t seq = tx.put(change("license.created", l));
  std::string list_key = l.account_id;
  list_key.push_back('\0');
  list_key.push_back(static_cast<char>('0' + static_cast<int>(l.mode)));
  list_key.push_back('\0');
  store::append_be64(list_key, seq);
  tx.index(Cf::kLicenseIds, l.id, digest);
  tx.index(Cf::kAccountLicenses, std::move(list_key), digest);
  return key;
}

}  // namespace

ManagementApi::ManagementApi(PrimaryStore& store, const core::Clock& clock,
                             ManagementOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

void ManagementApi::write_protocol_error(const net::ErrorContext&, net::ProtocolError e,
                                         net::Response& res) {
  answer(res, ApiError::for_protocol_status(net::status_of(e)));
}

void ManagementApi::register_routes(net::Router& router) {
  using V = net::http::verb;
  auto wrap = [this](void (ManagementApi::*fn)(const net::Request&, net::Response&)) {
    return [this, fn](const net::Request& req, net::Response& res) {
      try {
        (this->*fn)(req, res);
      } catch (const ApiError& e) {
        answer(res, e);
      } catch (const StoreFailure&) {
        answer(res, {500, "INTERNAL_ERROR", "Server error; retry with exponential backoff"});
      }
    };
  };
  auto status = [this](core::LicenseStatus to) {
    return [this, to](const net::Request& req, net::Response& res) {
      try {
        set_license_status(req, res, to);
      } catch (const ApiError& e) {
        answer(res, e);
      } catch (const StoreFailure&) {
        answer(res, {500, "INTERNAL_ERROR", "Server error; retry with exponential backoff"});
      }
    };
  };
  router.set_error_writer(&ManagementApi::write_protocol_error);
  router.add(V::get, "/healthz",
             [](const net::Request&, net::Response& res) { res.body = R"({"status":"ok"})"; });
  router.add(V::get, "/readyz", [this](const net::Request&, net::Response& res) {
    const bool ready = ready_.load(std::memory_order_acquire);
    res.status = ready ? 200 : 503;
    res.body.clear();
    JsonWriter w(res.body);
    w.begin_object().field("status", ready ? "ready" : "not_ready");
    w.field("outboxSeq", store_.outbox_seq());
    if (publisher_ != nullptr) {
      w.field("publishedSeq", publisher_->outbox_seq.load());
      w.field("natsConnected", publisher_->connected.load());
    }
    if (edge_writes_ != nullptr) w.field("edgeWrites", edge_writes_->load());
    w.end_object();
  });
  router.add(V::post, "/admin/v1/accounts", wrap(&ManagementApi::create_account));
  router.add(V::patch, "/admin/v1/accounts/{}", wrap(&ManagementApi::update_account));
  router.add(V::post, "/admin/v1/accounts/{}/api-keys", wrap(&ManagementApi::create_api_key_admin));
  router.add(V::post, "/admin/v1/api-keys/{}/revoke", wrap(&ManagementApi::revoke_api_key_admin));
  router.add(V::get, "/api/v1/account", wrap(&ManagementApi::get_account));
  router.add(V::patch, "/api/v1/account/settings", wrap(&ManagementApi::update_settings));
  router.add(V::post, "/api/v1/api-keys", wrap(&ManagementApi::create_api_key));
  router.add(V::post, "/api/v1/api-keys/{}/revoke", wrap(&ManagementApi::revoke_api_key));
  router.add(V::post, "/api/v1/products", wrap(&ManagementApi::create_product));
  router.add(V::get, "/api/v1/products", wrap(&ManagementApi::list_products));
  router.add(V::get, "/api/v1/products/{}", wrap(&ManagementApi::get_product));
  router.add(V::patch, "/api/v1/products/{}", wrap(&ManagementApi::update_product));
  router.add(V::delete_, "/api/v1/products/{}", wrap(&ManagementApi::delete_product));
  router.add(V::post, "/api/v1/licenses", wrap(&ManagementApi::create_license));
  router.add(V::get, "/api/v1/licenses", wrap(&ManagementApi::list_licenses));
  router.add(V::post, "/api/v1/licenses/batch", wrap(&ManagementApi::create_license_batch));
  router.add(V::get, "/api/v1/licenses/{}", wrap(&ManagementApi::get_license));
  router.add(V::patch, "/api/v1/licenses/{}", wrap(&ManagementApi::update_license));
  router.add(V::delete_, "/api/v1/licenses/{}", wrap(&ManagementApi::delete_license));
  router.add(V::post, "/api/v1/licenses/{}/suspend", status(core::LicenseStatus::kSuspended));
  router.add(V::post, "/api/v1/licenses/{}/revoke", status(core::LicenseStatus::kRevoked));
  router.add(V::post, "/api/v1/licenses/{}/reinstate", status(core::LicenseStatus::kActive));
  router.add(V::post, "/api/v1/blacklist", wrap(&ManagementApi::create_blacklist));
  router.add(V::get, "/api/v1/blacklist", wrap(&ManagementApi::list_blacklist));
  router.add(V::delete_, "/api/v1/blacklist/{}", wrap(&ManagementApi::delete_blacklist));
  router.add(V::get, "/api/v1/events", wrap(&ManagementApi::list_events));
  router.add(V::post, "/api/v1/activate",
             [this](const net::Request& req, net::Response& res) { activation(req, res, false); });
  router.add(V::post, "/api/v1/deactivate",
             [this](const net::Request& req, net::Response& res) { activation(req, res, true); });
}

// ---- operator endpoints ----------------------------------------------------------------------

namespace {

void check_admin(const ManagementOptions& o, const net::Request& req) {
  if (o.admin_token.empty())
    throw ApiError{403, "INVALID_TOKEN", "Operator endpoints are disabled"};
  const std::string_view token = bearer_token(req);
  const auto given = core::sha256(token);
  const auto want = core::sha256(o.admin_token);
  if (!core::constant_time_equal(store::digest_key(given), store::digest_key(want))) {
    throw ApiError{403, "INVALID_TOKEN", "Operator token is invalid"};
  }
}

// Applies account fields; false when the name is not one.
bool account_field(core::AccountRecord& a, std::string_view k, dom::element v, bool settings_only) {
  if (k == "plan" && !settings_only) {
    a.plan =
        read_enum(v, k, core::parse_plan, "builder, starter, professional, business, enterprise");
  } else if (k == "tki_require_hwid") {
    a.tki_require_hwid = read_bool(v, k);
  } else if (k == "tki_rate_limit") {
    a.tki_rate_limit = read_bool(v, k);
  } else {
    return false;
  }
  return true;
}

}  // namespace

void ManagementApi::create_account(const net::Request& req, net::Response& res) {
  check_admin(options_, req);
  core::AccountRecord a;
  bool has_plan = false;
  for (auto field : body_object(req)) {
    const std::string_view k = field.key;
    if (k == "id") {
      a.id = read_id(field.value, k);
    } else if (account_field(a, k, field.value, false)) {
      has_plan |= k == "plan";
    } else {
      unknown_field(k);
    }
  }
  if (!has_plan) throw ApiError::missing_fields("Missing required field: plan");
  auto tx = store_.begin();
  if (a.id.empty()) {
    do {
      a.id = random_id("acc_");
    } while (value_or_throw(tx.records().stored_event(KeySpace::kAccount, a.id)));
  } else if (value_or_throw(tx.records().stored_event(KeySpace::kAccount, a.id))) {
    throw ApiError{409, "CONFLICT", "An account with this id already exists"};
  }
  a.version = 1;
  tx.put(change("account.created", a));
  ok_or_throw(tx.commit());
  reply(res, 201, "account", [&](JsonWriter& w) { write_account(w, a); });
}

void ManagementApi::update_account(const net::Request& req, net::Response& res) {
  check_admin(options_, req);
  auto obj = body_object(req);
  auto tx = store_.begin();
  auto a = value_or_throw(tx.records().account(req.params[0]));
  if (!a) throw ApiError::not_found("Account not found");
  for (auto field : obj) {
    if (!account_field(*a, field.key, field.value, false)) unknown_field(field.key);
  }
  ++a->version;
  tx.put(change("account.updated", *a));
  ok_or_throw(tx.commit());
  reply(res, 200, "account", [&](JsonWriter& w) { write_account(w, *a); });
}

namespace {

// Issues a key for `account_id` in one Tx; returns the record and the plaintext (shown once).
std::pair<core::ApiKeyRecord, std::string> issue_api_key(PrimaryStore& store,
                                                         std::string_view account_id,
                                                         core::Mode mode) {
  auto tx = store.begin();
  auto account = value_or_throw(tx.records().account(account_id));
  if (!account) throw ApiError::not_found("Account not found");
  core::ApiKeyRecord k;
  k.account_id = account_id;
  k.mode = mode;
  k.version = 1;
  do {
    k.id = random_id("key_");
  } while (value_or_throw(tx.records().get_extra(static_cast<std::size_t>(Cf::kApiKeyIds), k.id)));
  std::string plaintext = random_api_key(mode);
  k.digest = core::sha256(plaintext);
  tx.put(change("api_key.created", k));
  tx.index(Cf::kApiKeyIds, k.id, std::string(store::digest_key(k.digest)));
  ok_or_throw(tx.commit());
  return {std::move(k), std::move(plaintext)};
}

core::ApiKeyRecord revoke_key(PrimaryStore& store, std::string_view id,
                              std::optional<std::string_view> account_id) {
  auto tx = store.begin();
  auto k = value_or_throw(store.api_key_by_id(id));
  if (!k || (account_id && k->account_id != *account_id))
    throw ApiError::not_found("API key not found");
  if (!k->revoked) {
    k->revoked = true;
    ++k->version;
    tx.put(change("api_key.revoked", *k));
    ok_or_throw(tx.commit());
  }
  return *k;
}

core::Mode read_mode(dom::object obj, core::Mode dflt) {
  core::Mode mode = dflt;
  for (auto field : obj) {
    if (field.key == "mode") {
      mode = read_enum(field.value, "mode", core::parse_mode, "live, test");
    } else {
      unknown_field(field.key);
    }
  }
  return mode;
}

}  // namespace

void ManagementApi::create_api_key_admin(const net::Request& req, net::Response& res) {
  check_admin(options_, req);
  const core::Mode mode = read_mode(body_object(req), core::Mode::kLive);
  auto [k, plaintext] = issue_api_key(store_, req.params[0], mode);
  reply(res, 201, "apiKey", [&](JsonWriter& w) { write_api_key(w, k, plaintext); });
}

void ManagementApi::revoke_api_key_admin(const net::Request& req, net::Response& res) {
  check_admin(options_, req);
  auto k = revoke_key(store_, req.params[0], std::nullopt);
  reply(res, 200, "apiKey", [&](JsonWriter& w) { write_api_key(w, k); });
}

// ---- account ----------------------------------------------------------------------------------

void ManagementApi::get_account(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  auto a = value_or_throw(store_.records().account(key.account_id));
  if (!a) throw ApiError::not_found("Account not found");
  reply(res, 200, "account", [&](JsonWriter& w) { write_account(w, *a); });
}

void ManagementApi::update_settings(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  auto obj = body_object(req);
  auto tx = store_.begin();
  auto a = value_or_throw(tx.records().account(key.account_id));
  if (!a) throw ApiError::not_found("Account not found");
  for (auto field : obj) {
    if (!account_field(*a, field.key, field.value, true)) unknown_field(field.key);
  }
  ++a->version;
  tx.put(change("account.updated", *a));
  ok_or_throw(tx.commit());
  reply(res, 200, "account", [&](JsonWriter& w) { write_account(w, *a); });
}

// Rotation: a second key of the caller's account (mode as given, default the caller's), valid
// at once; the old one is revoked when clients have switched.
void ManagementApi::create_api_key(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  const core::Mode mode = req.body.empty() ? key.mode : read_mode(body_object(req), key.mode);
  auto [k, plaintext] = issue_api_key(store_, key.account_id, mode);
  reply(res, 201, "apiKey", [&](JsonWriter& w) { write_api_key(w, k, plaintext); });
}

void ManagementApi::revoke_api_key(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  auto k = revoke_key(store_, req.params[0], key.account_id);
  reply(res, 200, "apiKey", [&](JsonWriter& w) { write_api_key(w, k); });
}

// ---- products ---------------------------------------------------------------------------------

namespace {

bool product_field(core::ProductRecord& p, std::string_view k, dom::element v) {
  if (k == "name") {
    p.name = read_str(v, k, kMaxNameBytes, false);
  } else if (k == "platforms") {
    p.platforms = read_strings(v, k, 8, 16);
    for (const auto& s : p.platforms) {
      if (s != "windows" && s != "mac" && s != "linux" && s != "web") {
        bad_field(k, "may contain only windows, mac, linux, web");
      }
    }
  } else if (k == "metadata") {
    p.metadata_json = read_metadata(v, k);
  } else if (k == "tki_versions") {
    p.tki_versions = read_strings(v, k, kMaxListItems, 64);
  } else {
    return false;
  }
  return true;
}

void check_unique_name(const store::Replica& db, const core::ProductRecord& p) {
  auto other = value_or_throw(db.product_by_name(p.account_id, p.name));
  if (other && other->id != p.id) {
    throw ApiError::validation("A product named '" + p.name + "' already exists");
  }
}

}  // namespace

void ManagementApi::create_product(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  core::ProductRecord p;
  p.account_id = key.account_id;
  for (auto field : body_object(req)) {
    if (!product_field(p, field.key, field.value)) unknown_field(field.key);
  }
  if (p.name.empty()) throw ApiError::missing_fields("Missing required field: name");
  auto tx = store_.begin();
  check_unique_name(tx.records(), p);
  do {
    p.id = random_id("prod_");
  } while (value_or_throw(tx.records().stored_event(KeySpace::kProduct, p.id)));
  p.version = 1;
  tx.put(change("product.created", p));
  ok_or_throw(tx.commit());
  reply(res, 201, "product", [&](JsonWriter& w) { write_product(w, p); });
}

void ManagementApi::list_products(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  reply_account_page<core::ProductRecord>(store_, req, res, KeySpace::kProduct, key.account_id,
                                          write_product);
}

void ManagementApi::get_product(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  auto p = own_product(store_.records(), key, req.params[0]);
  reply(res, 200, "product", [&](JsonWriter& w) { write_product(w, p); });
}

void ManagementApi::update_product(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  auto obj = body_object(req);
  auto tx = store_.begin();
  auto p = own_product(tx.records(), key, req.params[0]);
  for (auto field : obj) {
    if (!product_field(p, field.key, field.value)) unknown_field(field.key);
  }
  check_unique_name(tx.records(), p);
  ++p.version;
  tx.put(change("product.updated", p));
  ok_or_throw(tx.commit());
  reply(res, 200, "product", [&](JsonWriter& w) { write_product(w, p); });
}

void ManagementApi::delete_product(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  auto tx = store_.begin();
  auto p = own_product(tx.records(), key, req.params[0]);
  ++p.version;
  tx.put(change("product.deleted", p, true));
  ok_or_throw(tx.commit());
  reply(res, 200, "deleted", [&](JsonWriter& w) { w.value(true); });
}

// ---- licenses ---------------------------------------------------------------------------------

void ManagementApi::create_license(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  const std::int64_t now = clock_.now_seconds();
  auto l = license_from(body_object(req), key, now);
  auto tx = store_.begin();
  own_product(tx.records(), key, l.product_id);
  const std::string plaintext = stage_new_license(store_, tx, l);
  ok_or_throw(tx.commit());
  reply(res, 201, "license", [&](JsonWriter& w) { write_license(w, l, now, plaintext); });
}

// {"licenses":[{…create body…}, …]}: all created in one Tx, or none.
void ManagementApi::create_license_batch(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  const std::int64_t now = clock_.now_seconds();
  std::vector<core::LicenseRecord> licenses;
  for (auto field : body_object(req)) {
    if (field.key != "licenses") unknown_field(field.key);
    dom::array arr;
    if (field.value.get_array().get(arr)) bad_field("licenses", "must be an array of objects");
    for (dom::element item : arr) {
      if (licenses.size() == options_.max_batch) {
        bad_field("licenses", "has more than " + std::to_string(options_.max_batch) + " items");
      }
      dom::object obj;
      if (item.get_object().get(obj)) bad_field("licenses", "must be an array of objects");
      licenses.push_back(license_from(obj, key, now));
    }
  }
  if (licenses.empty()) throw ApiError::missing_fields("Missing required field: licenses");
  std::vector<std::string> keys;
  keys.reserve(licenses.size());
  auto tx = store_.begin();
  std::string checked_product;
  for (auto& l : licenses) {
    if (l.product_id != checked_product) {
      own_product(tx.records(), key, l.product_id);
      checked_product = l.product_id;
    }
    keys.push_back(stage_new_license(store_, tx, l));
  }
  ok_or_throw(tx.commit());
  reply(res, 201, "licenses", [&](JsonWriter& w) {
    w.begin_array();
    for (std::size_t i = 0; i < licenses.size(); ++i) {
      w.begin_object().field("id", licenses[i].id).field("key", keys[i]).end_object();
    }
    w.end_array();
  });
}

void ManagementApi::list_licenses(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  const std::int64_t now = clock_.now_seconds();
  const auto page = page_request(req);
  LicenseFilter filter;
  filter.account_id = key.account_id;
  filter.mode = key.mode;
  filter.now = now;
  if (auto s = req.query("status")) {
    filter.status = core::parse_license_status(*s);
    if (!filter.status) {
      throw ApiError::validation(
          "Query parameter 'status' must be one of: active, expired, suspended, revoked");
    }
  }
  if (auto p = req.query("product_id")) {
    if (p->empty() || p->size() > kMaxIdBytes) {
      throw ApiError::validation("Query parameter 'product_id' is invalid");
    }
    filter.product_id = std::string(*p);
  }
  auto result = value_or_throw(store_.list_licenses(filter, page.offset, page.limit));
  reply_page(res, page, result.total, result.items,
             [&](JsonWriter& w, const core::LicenseRecord& l) { write_license(w, l, now); });
}

void ManagementApi::get_license(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  auto l = own_license(store_, key, req.params[0]);
  reply(res, 200, "license", [&](JsonWriter& w) { write_license(w, l, clock_.now_seconds()); });
}

void ManagementApi::update_license(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  auto obj = body_object(req);
  auto tx = store_.begin();
  auto l = own_license(store_, key, req.params[0]);
  for (auto field : obj) {
    if (!license_field(l, field.key, field.value)) unknown_field(field.key);
  }
  ++l.version;
  tx.put(change("license.updated", l));
  ok_or_throw(tx.commit());
  reply(res, 200, "license", [&](JsonWriter& w) { write_license(w, l, clock_.now_seconds()); });
}

void ManagementApi::set_license_status(const net::Request& req, net::Response& res,
                                       core::LicenseStatus to) {
  const auto key = authenticate(store_.records(), req);
  auto tx = store_.begin();
  auto l = own_license(store_, key, req.params[0]);
  if (l.status == core::LicenseStatus::kRevoked && to != core::LicenseStatus::kRevoked) {
    throw ApiError::validation("A revoked license is permanently disabled");
  }
  if (l.status != to) {
    l.status = to;
    ++l.version;
    const char* type = to == core::LicenseStatus::kSuspended ? "license.suspended"
                       : to == core::LicenseStatus::kRevoked ? "license.revoked"
                                                             : "license.reinstated";
    tx.put(change(type, l));
    ok_or_throw(tx.commit());
  }
  reply(res, 200, "license", [&](JsonWriter& w) { write_license(w, l, clock_.now_seconds()); });
}

void ManagementApi::delete_license(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  auto tx = store_.begin();
  auto l = own_license(store_, key, req.params[0]);
  ++l.version;
  tx.put(change("license.deleted", l, true));
  ok_or_throw(tx.commit());
  reply(res, 200, "deleted", [&](JsonWriter& w) { w.value(true); });
}

// ---- blacklist --------------------------------------------------------------------------------

void ManagementApi::create_blacklist(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  core::BlacklistEntry b;
  b.account_id = key.account_id;
  bool has_type = false;
  for (auto field : body_object(req)) {
    const std::string_view k = field.key;
    if (k == "type") {
      b.kind = read_enum(field.value, k, core::parse_blacklist_kind, "ip, hwid, license");
      has_type = true;
    } else if (k == "value") {
      b.value = read_str(field.value, k, core::kMaxFieldBytes, false);
    } else {
      unknown_field(k);
    }
  }
  if (!has_type || b.value.empty())
    throw ApiError::missing_fields("Missing required fields: type, value");
  if (b.kind == core::BlacklistKind::kIp) {
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(b.value, ec);
    if (ec) bad_field("value", "must be an IP address");
    b.value = ip.to_string();  // canonical, as the edge compares it
  } else if (b.kind == core::BlacklistKind::kLicense) {
    b.value = core::to_hex(core::sha256(b.value));  // the key itself is never stored
  }
  auto tx = store_.begin();
  if (auto existing = value_or_throw(tx.records().blacklist(b.account_id, b.kind, b.value))) {
    reply(res, 200, "entry", [&](JsonWriter& w) { write_blacklist(w, *existing); });
    return;
  }
  auto stored = value_or_throw(tx.records().stored_event(KeySpace::kBlacklist, [&] {
    std::string k;
    store::blacklist_key(k, b.account_id, b.kind, b.value);
    return k;
  }()));
  b.version = stored ? stored->version() + 1 : 1;
  b.id = random_id("bl_");
  tx.put(change("blacklist.created", b));
  ok_or_throw(tx.commit());
  reply(res, 201, "entry", [&](JsonWriter& w) { write_blacklist(w, b); });
}

void ManagementApi::list_blacklist(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  reply_account_page<core::BlacklistEntry>(store_, req, res, KeySpace::kBlacklist, key.account_id,
                                           write_blacklist);
}

void ManagementApi::delete_blacklist(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  auto tx = store_.begin();
  auto all = value_or_throw(store_.list_account(KeySpace::kBlacklist, key.account_id));
  auto it = std::find_if(all.begin(), all.end(),
                         [&](const core::ChangeEvent& ev) { return ev.id() == req.params[0]; });
  if (it == all.end()) throw ApiError::not_found("Blacklist entry not found");
  auto b = std::get<core::BlacklistEntry>(it->record);
  ++b.version;
  tx.put(change("blacklist.deleted", b, true));
  ok_or_throw(tx.commit());
  reply(res, 200, "deleted", [&](JsonWriter& w) { w.value(true); });
}

// ---- activations and bindings ------------------------------------------------------------------

namespace {

core::ChangeEvent license_state(const core::LicenseRecord& l) { return change("license.state", l); }

// Slot changes of one license within the window ending at `now` (8-byte BE unix seconds each).
std::vector<std::int64_t> recent_changes(std::optional<std::string> stored, std::int64_t now,
                                         std::int64_t window) {
  std::vector<std::int64_t> out;
  if (!stored) return out;
  for (std::size_t i = 0; i + 8 <= stored->size(); i += 8) {
    auto t = store::from_be64(std::string_view(*stored).substr(i, 8));
    if (t && static_cast<std::int64_t>(*t) > now - window)
      out.push_back(static_cast<std::int64_t>(*t));
  }
  return out;
}

std::string webhook_event(std::uint64_t seq, std::string_view type, std::int64_t now,
                          const core::LicenseRecord& l, std::string_view machine_id) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("id", "evt_" + std::to_string(seq)).field("event", type);
  w.field("timestamp", core::iso8601(now));
  w.key("data").begin_object().field("licenseId", l.id).field("machineId", machine_id);
  w.field("productId", l.product_id).end_object();
  w.end_object();
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

core::WriteReply ManagementApi::change_activation(const core::Digest& license_digest,
                                                  std::string_view machine_id,
                                                  std::string_view label,
                                                  const core::ApiKeyRecord* key, bool deactivate) {
  core::WriteReply out;
  const std::int64_t now = clock_.now_seconds();
  const core::ActivationRequest req{{}, machine_id, label};
  auto tx = store_.begin();
  auto license = value_or_throw(tx.records().license(license_digest));
  core::LicenseRecord* l = license ? &*license : nullptr;
  auto outcome = deactivate ? core::deactivate(req, key, l) : core::activate(req, key, l, now);
  if (auto* e = std::get_if<ApiError>(&outcome)) {
    out.error = std::move(*e);
    // The caller may see the license (the refusal is about its state): send that state along.
    if (out.error->code != "NOT_FOUND") out.license = license_state(*l);
    return out;
  }
  const auto result = std::get<core::ActivationResult>(outcome);
  if (result == core::ActivationResult::kActivated ||
      result == core::ActivationResult::kDeactivated) {
    // The limit is on taking slots (a machine-swapping loop); freeing one is always allowed and
    // not counted, so a user at the limit can still release a seat.
    if (options_.activation_changes != 0 && result == core::ActivationResult::kActivated) {
      auto changes = recent_changes(value_or_throw(tx.records().get_extra(
                                        static_cast<std::size_t>(Cf::kActivationChanges), l->id)),
                                    now, options_.activation_window_s);
      if (changes.size() >= options_.activation_changes) {
        out.error = ApiError{429, "RATE_LIMITED", "Rate limit exceeded"};
        const std::int64_t wait = changes[changes.size() - options_.activation_changes] +
                                  options_.activation_window_s - now;
        out.retry_after_s = static_cast<std::uint32_t>(std::max<std::int64_t>(1, wait));
        // The record as read still holds the refused change: send the stored state instead.
        out.license = license_state(*value_or_throw(tx.records().license(license_digest)));
        return out;
      }
      changes.push_back(now);
      std::string log;
      for (auto t : changes) store::append_be64(log, static_cast<std::uint64_t>(t));
      tx.index(Cf::kActivationChanges, l->id, std::move(log));
    }
    const std::string type = deactivate ? "license.deactivated" : "license.activated";
    ++l->version;
    tx.put(change(type, *l));
    tx.record_event(l->account_id, l->mode, [&](std::uint64_t seq) {
      return webhook_event(seq, type, now, *l, machine_id);
    });
    ok_or_throw(tx.commit());
  }
  out.activation = result;
  out.license = license_state(*l);
  return out;
}

core::WriteReply ManagementApi::bind(const core::WriteCommand& cmd) {
  using core::TkiStatus;
  core::WriteReply out;
  const std::int64_t now = clock_.now_seconds();
  auto key = value_or_throw(store_.records().api_key(*cmd.api_key));
  auto account = key && !key->revoked && key->mode == cmd.mode
                     ? value_or_throw(store_.records().account(key->account_id))
                     : std::nullopt;
  if (!account) {
    out.tki = TkiStatus::kInvalidApiKey;
    return out;
  }
  auto tx = store_.begin();
  auto license = value_or_throw(tx.records().license(cmd.license));
  if (!license || license->account_id != key->account_id || license->mode != key->mode) {
    out.tki = TkiStatus::kLicenseNotFound;
    return out;
  }
  core::LicenseRecord& l = *license;
  const auto stored = license_state(l);
  auto refuse = [&](TkiStatus s) {
    out.tki = s;
    out.license = stored;
    return out;
  };
  if (l.status == core::LicenseStatus::kSuspended || l.status == core::LicenseStatus::kRevoked) {
    return refuse(TkiStatus::kLicenseBlacklisted);
  }
  if (core::effective_status(l, now) == core::LicenseStatus::kExpired)
    return refuse(TkiStatus::kExpired);
  bool changed = false;
  if (!cmd.ip.empty() && !contains(l.ips, cmd.ip)) {
    if (l.max_ips != 0 && l.ips.size() >= l.max_ips) return refuse(TkiStatus::kMaxIps);
    l.ips.push_back(cmd.ip);
    changed = true;
  }
  if (!cmd.hwid.empty() && !contains(l.hwids, cmd.hwid)) {
    if (l.max_hwids != 0 && l.hwids.size() >= l.max_hwids) return refuse(TkiStatus::kMaxHwids);
    l.hwids.push_back(cmd.hwid);
    changed = true;
  }
  if (changed) {
    ++l.version;
    tx.put(change("license.updated", l));
    ok_or_throw(tx.commit());
  }
  out.bind = changed ? core::BindResult::kBound : core::BindResult::kAlreadyBound;
  out.license = license_state(l);
  return out;
}

core::WriteReply ManagementApi::execute(const core::WriteCommand& cmd) {
  try {
    if (cmd.op == core::WriteOp::kBind) return bind(cmd);
    std::optional<core::ApiKeyRecord> key;
    if (cmd.api_key) {
      key = value_or_throw(store_.records().api_key(*cmd.api_key));
      if (!key || key->revoked || key->mode != cmd.mode) {
        core::WriteReply out;
        out.error = ApiError::invalid_api_key();
        return out;
      }
    }
    return change_activation(cmd.license, cmd.machine_id, cmd.label, key ? &*key : nullptr,
                             cmd.op == core::WriteOp::kDeactivate);
  } catch (const StoreFailure& f) {
    log::error("primary", "write failed", {{"error", f.message}});
    core::WriteReply out;
    out.error = ApiError{500, "INTERNAL_ERROR", "Server error; retry with exponential backoff"};
    return out;
  }
}

void ManagementApi::activation(const net::Request& req, net::Response& res, bool deactivate) {
  try {
    // The API key is optional: without one the license key is the credential.
    std::optional<core::ApiKeyRecord> key;
    if (req.header(net::http::field::authorization)) key = authenticate(store_.records(), req);
    auto parsed = core::parse_activation_request(req.body);
    if (auto* e = std::get_if<ApiError>(&parsed)) throw *e;
    const auto& request = std::get<core::ActivationRequest>(parsed);
    auto r = change_activation(core::sha256(request.license_key), request.machine_id, request.label,
                               key ? &*key : nullptr, deactivate);
    if (r.error && r.error->code == "RATE_LIMITED") {
      res.status = 429;
      core::write_rate_limited(res.body, r.retry_after_s);
      res.add_header("Retry-After", std::to_string(r.retry_after_s));
      return;
    }
    if (r.error) throw *r.error;
    const auto& l = std::get<core::LicenseRecord>(r.license->record);
    core::write_activation_response(res.body, *r.activation, request.machine_id, l,
                                    clock_.now_seconds());
    res.status = 200;
  } catch (const ApiError& e) {
    answer(res, e);
  } catch (const StoreFailure&) {
    answer(res, {500, "INTERNAL_ERROR", "Server error; retry with exponential backoff"});
  }
}

// GET /api/v1/events?after=<seq>&limit=<n>: the account's webhook events (mode of the key),
// oldest first: {"data":[…],"hasMore":bool}. Pass the last event's number as `after` to go on.
void ManagementApi::list_events(const net::Request& req, net::Response& res) {
  const auto key = authenticate(store_.records(), req);
  const std::uint64_t after = query_number(req, "after", 0, UINT64_MAX, 0);
  const std::uint64_t limit = query_number(req, "limit", 1, kMaxListItems, 20);
  auto events = value_or_throw(store_.events_after(key.account_id, key.mode, after, limit + 1));
  const bool more = events.size() > limit;
  if (more) events.pop_back();
  res.status = 200;
  res.body.clear();
  JsonWriter w(res.body);
  w.begin_object().key("data").begin_array();
  for (const auto& [seq, json] : events) w.raw(json);
  w.end_array().field("hasMore", more).end_object();
}

}  // namespace le::primary
