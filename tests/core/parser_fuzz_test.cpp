// Mutation fuzzing of every decoder that takes outside bytes: the two request parsers, the
// change-event decoder and the stored-record decoder. Deterministic (fixed seed) so a failure
// reproduces; run under AddressSanitizer + UndefinedBehaviorSanitizer by scripts/test.sh.
// The property: no crash, no sanitizer report, and every accepted input honours its invariants.
#include <gtest/gtest.h>

#include <random>

#include "core/change_event.h"
#include "core/codec.h"
#include "core/digest.h"
#include "core/tki.h"
#include "core/validate.h"
#include "support/fixtures.h"

namespace le::core {
namespace {

constexpr int kIterations = 100000;

std::string mutate(std::string s, std::mt19937_64& rng) {
  static const std::vector<std::string> kTokens = {
      "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u0000", "\\ud800", "null", "true", "1e999",
      "-0", "\xff", "\xc3", "\xed\xa0\x80", "\"key\"", "\"data\"", "\"license_key\":", "\0"};
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

TEST(ParserFuzz, ValidateRequestParserNeverMisbehaves) {
  std::mt19937_64 rng(1);
  const std::vector<std::string> seeds = {
      R"({"key": "XXXX-XXXX-XXXX-XXXX", "domain": "example.com"})",
      R"({"license_key":"K","product_id":"p","machine_id":"m","domain":null,"x":[1,{"y":2}]})"};
  for (int i = 0; i < kIterations; ++i) {
    const std::string in = mutate(seeds[i % seeds.size()], rng);
    auto r = parse_validate_request(in);
    if (auto* req = std::get_if<ValidateRequest>(&r)) {
      ASSERT_FALSE(req->license_key.empty());
      ASSERT_LE(req->license_key.size(), kMaxLicenseKeyBytes);
    } else {
      const auto& e = std::get<ApiError>(r);
      ASSERT_EQ(e.http_status, 400);
      std::string body;
      write_api_error(body, e);  // the error renders
    }
  }
}

TEST(ParserFuzz, TkiRequestParserNeverMisbehaves) {
  std::mt19937_64 rng(2);
  const std::string seed =
      R"({"data":{"product":"MyProduct","version":"1.0.0","licensekey":"TKI-XXXXX-XXXXX","ip":"192.168.1.1","hwid":"h"}})";
  for (int i = 0; i < kIterations; ++i) {
    auto r = parse_tki_request(mutate(seed, rng));
    if (r) {
      ASSERT_FALSE(r->product.empty());
      ASSERT_FALSE(r->licensekey.empty());
      ASSERT_FALSE(r->ip.empty());
    }
  }
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

TEST(ParserFuzz, RecordDecoderNeverMisbehaves) {
  std::mt19937_64 rng(4);
  LicenseRecord l = test::license("K");
  l.activations = {{"m", "label", 5}};
  const std::string seed = encode_record(l);
  for (int i = 0; i < kIterations; ++i) {
    LicenseRecord out;
    StoredHeader h;
    (void)decode_record(mutate(seed, rng), out, h);
  }
}

}  // namespace
}  // namespace le::core
