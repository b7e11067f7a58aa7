// The three request-body parsers on the same bytes: Traffic Orchestrator validate, activation,
// and TKI auth. An accepted body honours the parser's invariants and, written back as JSON,
// parses to the same fields; a refused one is a 400 with a code and a message. The parsers read
// JSON alike: a body one refuses as JSON the others refuse too, and a license key both the
// validate and the activation parser accept is the same key.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/activation.h"
#include "core/json_writer.h"
#include "core/tki.h"
#include "core/validate.h"
#include "fuzz_check.h"

using namespace le::core;

namespace {

void check_refusal(const ApiError& e) {
  FUZZ_CHECK(e.http_status == 400);
  FUZZ_CHECK(e.code == "VALIDATION_ERROR" || e.code == "MISSING_FIELDS");
  FUZZ_CHECK(!e.message.empty());
}

// A refusal of the body as JSON, before any field was read.
bool json_refusal(const ApiError& e) {
  return e.message == "Request body is not valid JSON" ||
         e.message == "Request body is not valid UTF-8" ||
         e.message == "Request body is nested too deeply";
}

bool printable(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

std::optional<std::string> copy(std::optional<std::string_view> s) {
  if (!s) return std::nullopt;
  return std::string(*s);
}

// The parsed fields, copied out of the parser's per-thread storage.
struct Validate {
  std::string key;
  std::optional<std::string> product_id, machine_id, domain;
  bool operator==(const Validate&) const = default;
};
struct Activation {
  std::string key, machine_id, label;
  bool operator==(const Activation&) const = default;
};
struct Tki {
  std::string product, version, licensekey, ip;
  std::optional<std::string> hwid;
  bool operator==(const Tki&) const = default;
};

std::optional<Validate> validate(std::string_view in, std::optional<ApiError>& refusal) {
  auto v = parse_validate_request(in);
  if (auto* e = std::get_if<ApiError>(&v)) {
    refusal = *e;
    return std::nullopt;
  }
  const auto& r = std::get<ValidateRequest>(v);
  return Validate{std::string(r.license_key), copy(r.product_id), copy(r.machine_id),
                  copy(r.domain)};
}

std::optional<Activation> activation(std::string_view in, std::optional<ApiError>& refusal) {
  auto a = parse_activation_request(in);
  if (auto* e = std::get_if<ApiError>(&a)) {
    refusal = *e;
    return std::nullopt;
  }
  const auto& r = std::get<ActivationRequest>(a);
  return Activation{std::string(r.license_key), std::string(r.machine_id), std::string(r.label)};
}

std::optional<Tki> tki(std::string_view in) {
  auto t = parse_tki_request(in);
  if (!t) return std::nullopt;
  return Tki{std::string(t->product), std::string(t->version), std::string(t->licensekey),
             std::string(t->ip), copy(t->hwid)};
}

void optional_field(JsonWriter& w, std::string_view name, const std::optional<std::string>& v) {
  if (v) w.field(name, *v);
}

void check_validate(const Validate& r) {
  FUZZ_CHECK(!r.key.empty() && r.key.size() <= kMaxLicenseKeyBytes && printable(r.key));
  for (const auto* f : {&r.product_id, &r.machine_id, &r.domain}) {
    if (*f) FUZZ_CHECK((*f)->size() <= kMaxFieldBytes && printable(**f));
  }
  std::string again;
  JsonWriter w(again);
  w.begin_object().field("license_key", r.key);
  optional_field(w, "product_id", r.product_id);
  optional_field(w, "machine_id", r.machine_id);
  optional_field(w, "domain", r.domain);
  w.end_object();
  std::optional<ApiError> refusal;
  const auto r2 = validate(again, refusal);
  FUZZ_CHECK(r2 && *r2 == r);
}

void check_activation(const Activation& r) {
  FUZZ_CHECK(!r.key.empty() && r.key.size() <= kMaxLicenseKeyBytes && printable(r.key));
  FUZZ_CHECK(!r.machine_id.empty() && r.machine_id.size() <= kMaxMachineIdBytes);
  FUZZ_CHECK(r.label.size() <= kMaxLabelBytes);
  FUZZ_CHECK(printable(r.machine_id) && printable(r.label));
  std::string again;
  JsonWriter w(again);
  w.begin_object().field("key", r.key).field("machine_id", r.machine_id);
  if (!r.label.empty()) w.field("label", r.label);
  w.end_object();
  std::optional<ApiError> refusal;
  const auto r2 = activation(again, refusal);
  FUZZ_CHECK(r2 && *r2 == r);
}

void check_tki(const Tki& r) {
  FUZZ_CHECK(!r.product.empty() && !r.version.empty() && !r.licensekey.empty());
  FUZZ_CHECK(r.product.size() <= 512 && r.version.size() <= 512 && r.licensekey.size() <= 512);
  // Bound at the primary as given: a literal address and a printable id only.
  FUZZ_CHECK(!r.ip.empty() && r.ip.find_first_not_of("0123456789abcdefABCDEF.:") == r.ip.npos);
  if (r.hwid) FUZZ_CHECK(!r.hwid->empty() && r.hwid->size() <= 256 && printable(*r.hwid));
  std::string again;
  JsonWriter w(again);
  w.begin_object().key("data").begin_object();
  w.field("product", r.product).field("version", r.version).field("licensekey", r.licensekey);
  w.field("ip", r.ip);
  optional_field(w, "hwid", r.hwid);
  w.end_object().end_object();
  const auto r2 = tki(again);
  FUZZ_CHECK(r2 && *r2 == r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  std::optional<ApiError> v_refusal, a_refusal;
  const auto v = validate(in, v_refusal);
  const auto a = activation(in, a_refusal);
  const auto t = tki(in);

  if (v) check_validate(*v);
  if (v_refusal) check_refusal(*v_refusal);
  if (a) check_activation(*a);
  if (a_refusal) check_refusal(*a_refusal);
  if (t) check_tki(*t);

  if (v_refusal && json_refusal(*v_refusal)) {
    FUZZ_CHECK(a_refusal && a_refusal->message == v_refusal->message && !t);
  }
  if (a_refusal && json_refusal(*a_refusal)) FUZZ_CHECK(v_refusal);
  if (v && a) FUZZ_CHECK(v->key == a->key);
  return 0;
}
