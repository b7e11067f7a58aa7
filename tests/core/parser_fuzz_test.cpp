// Mutation fuzzing of every decoder that takes outside bytes: the two request parsers, the
// change-event decoder and the stored-record decoder. Deterministic (fixed seed) so a failure
// reproduces; run under AddressSanitizer + UndefinedBehaviorSanitizer by scripts/test.sh.
// The property: no crash, no sanitizer report, and every accepted input honours its invariants.
#include <gtest/gtest.h>

#include <random>

#include "core/change_event.h"
#include "core/codec.h"
#include "core/digest.h"
#include "core/json_writer.h"
#include "core/tki.h"
#include "core/validate.h"
#include "support/fixtures.h"

namespace le::core {
namespace {

constexpr int kIterations = 100000;

std::string mutate(std::string s, std::mt19937_64& rng) {
  static const std::vector<std::string> kTokens = {"{",
                                                   "}",
                                                   "[",
                                                   "]",
                                                   ",",
                                                   ":",
                                                   "\"",
                                                   "\\",
                                                   "\\u0000",
                                                   "\\ud800",
                                                   "null",
                                                   "true",
                                                   "1e999",
                                                   "-0",
                                                   "\xff",
                                                   "\xc3",
                                                   "\xed\xa0\x80",
                                                   "\"key\"",
                                                   "\"data\"",
                                                   "\"license_key\":",
                                                   "\0"};
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const std::size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 5) {
      case 0:  // flip a byte
        if (!s.empty()) s[rng() % s.size()] = static_cast<char>(rng());
        break;
      case 1:  // truncate
        s.resize(pos);
        break;
      case 2:  // insert a token
        s.insert(pos, kTokens[rng() % kTokens.size()]);
        break;
      case 3:  // delete a span
        if (!s.empty()) s.erase(pos, rng() % 8);
        break;
      default:  // duplicate a span
        if (!s.empty()) s.insert(pos, s.substr(rng() % s.size(), rng() % 16));
    }
  }
  return s;
}

// The fields of an accepted request, written back as JSON: parsing that must give them again.
std::string canonical(const ValidateRequest& r) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("license_key", r.license_key);
  if (r.product_id) w.field("product_id", *r.product_id);
  if (r.machine_id) w.field("machine_id", *r.machine_id);
  if (r.domain) w.field("domain", *r.domain);
  w.end_object();
  return out;
}

TEST(ParserFuzz, ValidateRequestParserAcceptsConsistentlyAndRefusesWith400) {
  std::mt19937_64 rng(1);
  const std::vector<std::string> seeds = {
      R"({"key": "XXXX-XXXX-XXXX-XXXX", "domain": "example.com"})",
      R"({"license_key":"K","product_id":"p","machine_id":"m","domain":null,"x":[1,{"y":2}]})"};
  int accepted = 0, refused = 0;
  for (int i = 0; i < kIterations; ++i) {
    const std::string in = mutate(seeds[i % seeds.size()], rng);
    auto r = parse_validate_request(in);
    if (auto* req = std::get_if<ValidateRequest>(&r)) {
      ++accepted;
      ASSERT_FALSE(req->license_key.empty());
      ASSERT_LE(req->license_key.size(), kMaxLicenseKeyBytes);
      // The views die with the next parse: copy, re-encode, parse again, compare.
      const std::string key(req->license_key);
      const auto domain = req->domain ? std::optional<std::string>(*req->domain) : std::nullopt;
      const auto machine =
          req->machine_id ? std::optional<std::string>(*req->machine_id) : std::nullopt;
      const std::string text = canonical(*req);
      auto again = parse_validate_request(text);
      ASSERT_TRUE(std::holds_alternative<ValidateRequest>(again)) << "input: " << in;
      const auto& r2 = std::get<ValidateRequest>(again);
      ASSERT_EQ(r2.license_key, key) << "input: " << in;
      ASSERT_EQ(r2.domain ? std::optional<std::string>(*r2.domain) : std::nullopt, domain);
      ASSERT_EQ(r2.machine_id ? std::optional<std::string>(*r2.machine_id) : std::nullopt, machine);
    } else {
      ++refused;
      const auto& e = std::get<ApiError>(r);
      ASSERT_EQ(e.http_status, 400) << "input: " << in;
      ASSERT_TRUE(e.code == "VALIDATION_ERROR" || e.code == "MISSING_FIELDS") << e.code;
      ASSERT_FALSE(e.message.empty());
      std::string body;
      write_api_error(body, e);
      ASSERT_TRUE(body.starts_with("{\"error\":")) << body;
    }
  }
  EXPECT_GT(accepted, kIterations / 20);
  EXPECT_GT(refused, kIterations / 20);
}

TEST(ParserFuzz, TkiRequestParserAcceptsOnlyCompleteRequests) {
  std::mt19937_64 rng(2);
  const std::string seed =
      R"({"data":{"product":"MyProduct","version":"1.0.0","licensekey":"TKI-XXXXX-XXXXX","ip":"192.168.1.1","hwid":"h"}})";
  int accepted = 0, refused = 0;
  for (int i = 0; i < kIterations; ++i) {
    const std::string in = mutate(seed, rng);
    auto r = parse_tki_request(in);
    if (!r) {
      ++refused;
      continue;
    }
    ++accepted;
    ASSERT_FALSE(r->product.empty());
    ASSERT_FALSE(r->version.empty());
    ASSERT_FALSE(r->licensekey.empty());
    // What may be bound at the primary: a literal address, a printable HWID.
    ASSERT_EQ(r->ip.find_first_not_of("0123456789abcdefABCDEF.:"), std::string_view::npos) << in;
    if (r->hwid) {
      for (char c : *r->hwid) ASSERT_GE(static_cast<unsigned char>(c), 0x20) << in;
    }
  }
  EXPECT_GT(accepted, kIterations / 50);
  EXPECT_GT(refused, kIterations / 50);
}

TEST(ParserFuzz, ChangeEventDecoderNeverMisbehaves) {
  std::mt19937_64 rng(3);
  LicenseRecord l = test::license("K");
  l.activations = {{"m", "label", 5}};
  l.metadata_json = R"({"a":[1,2,{"b":"c"}]})";
  const std::vector<std::string> seeds = {
      encode_change_event(test::event(l, 7), true),
      encode_change_event(test::event(test::product(), 8), true),
      encode_change_event(test::event(test::blacklist("b", BlacklistKind::kIp, "1.2.3.4"), 9))};
  for (int i = 0; i < kIterations; ++i) {
    const std::string in = mutate(seeds[i % seeds.size()], rng);
    auto r = decode_change_event(in);
    if (auto* ev = std::get_if<ChangeEvent>(&r)) {
      ASSERT_GT(ev->version(), 0u);
      ASSERT_FALSE(ev->id().empty());
      // Whatever was accepted re-encodes and decodes to the same record.
      auto again = decode_change_event(encode_change_event(*ev, true));
      ASSERT_TRUE(std::holds_alternative<ChangeEvent>(again))
          << "input: " << in << "\nre-encoded: " << encode_change_event(*ev, true)
          << "\nerror: " << std::get<DecodeError>(again).message;
      ASSERT_EQ(std::get<ChangeEvent>(again).record, ev->record);
    }
  }
}

TEST(ParserFuzz, RecordDecoderRefusesOrDecodesConsistently) {
  std::mt19937_64 rng(4);
  LicenseRecord l = test::license("K");
  l.activations = {{"m", "label", 5}};
  const std::string seed = encode_record(l);
  int accepted = 0;
  for (int i = 0; i < kIterations; ++i) {
    LicenseRecord out;
    StoredHeader h;
    if (!decode_record(mutate(seed, rng), out, h)) continue;
    ++accepted;
    LicenseRecord again;
    StoredHeader h2;
    ASSERT_TRUE(decode_record(encode_record(out, h.deleted), again, h2));
    ASSERT_EQ(again, out);
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace le::core
