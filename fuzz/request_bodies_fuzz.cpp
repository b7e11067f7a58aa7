// The three request-body parsers on the same bytes: Traffic Orchestrator validate, activation,
// and TKI auth. An accepted body honours the parser's invariants and, written back as JSON,
// parses to the same fields; a refused one is a 400 with a code and a message.
#include <cstdint>
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

bool printable(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  auto v = parse_validate_request(in);
  if (auto* r = std::get_if<ValidateRequest>(&v)) {
    FUZZ_CHECK(!r->license_key.empty() && r->license_key.size() <= kMaxLicenseKeyBytes);
    FUZZ_CHECK(printable(r->license_key));
    const std::string key(r->license_key);
    std::string again;
    JsonWriter w(again);
    w.begin_object().field("key", r->license_key);
    if (r->domain) w.field("domain", *r->domain);
    w.end_object();
    auto v2 = parse_validate_request(again);
    FUZZ_CHECK(std::holds_alternative<ValidateRequest>(v2));
    FUZZ_CHECK(std::get<ValidateRequest>(v2).license_key == key);
  } else {
    check_refusal(std::get<ApiError>(v));
  }

  auto a = parse_activation_request(in);
  if (auto* r = std::get_if<ActivationRequest>(&a)) {
    FUZZ_CHECK(!r->license_key.empty() && !r->machine_id.empty());
    FUZZ_CHECK(r->machine_id.size() <= kMaxMachineIdBytes && r->label.size() <= kMaxLabelBytes);
    FUZZ_CHECK(printable(r->machine_id) && printable(r->label));
  } else {
    check_refusal(std::get<ApiError>(a));
  }

  auto t = parse_tki_request(in);
  if (t) {
    FUZZ_CHECK(!t->product.empty() && !t->version.empty() && !t->licensekey.empty());
    // Bound at the primary as given: a literal address and a printable id only.
    FUZZ_CHECK(t->ip.find_first_not_of("0123456789abcdefABCDEF.:") == std::string_view::npos);
    if (t->hwid) FUZZ_CHECK(printable(*t->hwid));
  }
  return 0;
}
