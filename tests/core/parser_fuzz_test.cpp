// Mutation fuzzing of every decoder that takes outside bytes: the two request parsers, the
// change-event decoder and the stored-record decoder. Deterministic (fixed seed) so a failure
// reproduces; run under AddressSanitizer + UndefinedBehaviorSanitizer by scripts/test.sh.
// The properties: no crash, no sanitizer report; every accepted input honours its invariants
// and survives being written back and read again unchanged; every refused one gets a well-formed
// error answer of its protocol.
#include <gtest/gtest.h>
#include <simdjson.h>

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

// Owned copies of a request's fields (the parser's views die with the next parse).
struct ValidateFields {
  std::string license_key;
  std::optional<std::string> product_id, machine_id, domain;
  bool operator==(const ValidateFields&) const = default;
};

std::optional<std::string> owned(std::optional<std::string_view> v) {
  return v ? std::optional<std::string>(*v) : std::nullopt;
}

ValidateFields fields_of(const ValidateRequest& r) {
  return {std::string(r.license_key), owned(r.product_id), owned(r.machine_id), owned(r.domain)};
}

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

// A JSON error body of the Traffic Orchestrator protocol: {"error", "code", "help"}, all strings,
// the code and message those of `e`.
::testing::AssertionResult is_api_error_body(const std::string& body, const ApiError& e) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(body).get_object().get(obj)) {
    return ::testing::AssertionFailure() << "not a JSON object: " << body;
  }
  std::string_view error, code, help;
  if (obj["error"].get_string().get(error) || obj["code"].get_string().get(code) ||
      obj["help"].get_string().get(help) || obj.size() != 3) {
    return ::testing::AssertionFailure() << "not {error, code, help}: " << body;
  }
  if (error != e.message || code != e.code || help != kErrorHelp) {
    return ::testing::AssertionFailure() << "fields differ from the error: " << body;
  }
  return ::testing::AssertionSuccess();
}

TEST(ParserFuzz, ValidateRequestParserAcceptsConsistentlyAndRefusesWith400) {
  std::mt19937_64 rng(1);
  const std::vector<std::string> seeds = {
      R"({"key": "XXXX-XXXX-XXXX-XXXX", "domain": "example.com"})",
      R"({"license_key":"K","product_id":"p","machine_id":"m","domain":null,"x":[1,{"y":2}]})",
      R"({"license_key":"K\u00e9","key":"K\u00e9","product_id":"prod_1","machine_id":"m"})"};
  int accepted = 0, refused = 0;
  for (int i = 0; i < kIterations; ++i) {
    const std::string in = mutate(seeds[i % seeds.size()], rng);
    auto r = parse_validate_request(in);
    if (auto* req = std::get_if<ValidateRequest>(&r)) {
      ++accepted;
      const ValidateFields got = fields_of(*req);
      ASSERT_FALSE(got.license_key.empty()) << "input: " << in;
      ASSERT_LE(got.license_key.size(), kMaxLicenseKeyBytes) << "input: " << in;
      ASSERT_FALSE(has_control_char(got.license_key)) << "input: " << in;
      for (const auto* f : {&got.product_id, &got.machine_id, &got.domain}) {
        if (!*f) continue;
        ASSERT_LE((*f)->size(), kMaxFieldBytes) << "input: " << in;
        ASSERT_FALSE(has_control_char(**f)) << "input: " << in;
      }
      // Written back and parsed again: the same fields.
      const std::string text = canonical(*req);
      auto again = parse_validate_request(text);
      ASSERT_TRUE(std::holds_alternative<ValidateRequest>(again))
          << "input: " << in << "\nwritten back: " << text;
      ASSERT_EQ(fields_of(std::get<ValidateRequest>(again)), got) << "input: " << in;
    } else {
      ++refused;
      const auto& e = std::get<ApiError>(r);
      ASSERT_EQ(e.http_status, 400) << "input: " << in;
      ASSERT_TRUE(e.code == "VALIDATION_ERROR" || e.code == "MISSING_FIELDS") << e.code;
      ASSERT_FALSE(e.message.empty()) << "input: " << in;
      std::string body;
      write_api_error(body, e);
      ASSERT_TRUE(is_api_error_body(body, e)) << "input: " << in;
    }
  }
  EXPECT_GT(accepted, kIterations / 20);
  EXPECT_GT(refused, kIterations / 20);
}

// Owned copies of a TKI request's fields.
struct TkiFields {
  std::string product, version, licensekey, ip;
  std::optional<std::string> hwid;
  bool operator==(const TkiFields&) const = default;
};

TkiFields fields_of(const TkiRequest& r) {
  return {std::string(r.product), std::string(r.version), std::string(r.licensekey),
          std::string(r.ip), owned(r.hwid)};
}

std::string canonical(const TkiFields& r) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("data").begin_object();
  w.field("product", r.product).field("version", r.version).field("licensekey", r.licensekey);
  w.field("ip", r.ip);
  if (r.hwid) w.field("hwid", *r.hwid);
  w.end_object().end_object();
  return out;
}

TEST(ParserFuzz, TkiRequestParserAcceptsOnlyCompleteRequestsAndRefusesWithTki400) {
  std::mt19937_64 rng(2);
  const std::vector<std::string> seeds = {
      R"({"data":{"product":"MyProduct","version":"1.0.0","licensekey":"TKI-XXXXX-XXXXX","ip":"192.168.1.1","hwid":"h"}})",
      R"({"data":{"product":"P","version":"2","licensekey":"K","ip":"2001:db8::1"},"extra":[1]})"};
  // What the handler has looked up for a request whose credentials are fine: the only reason
  // left to refuse a body the parser rejected is the body itself.
  const AccountRecord account = test::account();
  const ApiKeyRecord api_key = test::api_key("your-api-key-here");
  TkiRecords records;
  records.authorization_present = true;
  records.api_key = &api_key;
  records.account = &account;
  int accepted = 0, refused = 0;
  for (int i = 0; i < kIterations; ++i) {
    const std::string in = mutate(seeds[i % seeds.size()], rng);
    auto r = parse_tki_request(in);
    if (!r) {
      ++refused;
      const TkiDecision d = decide_tki(std::nullopt, records, test::kNow);
      ASSERT_EQ(d.status, TkiStatus::kMissingFields);
      ASSERT_EQ(http_status(d.status), 400);
      ASSERT_TRUE(message(d.status).starts_with("Missing required fields")) << message(d.status);
      std::string body;
      write_tki_failure(body, d.status);
      simdjson::dom::parser parser;
      std::string_view msg, overview;
      ASSERT_FALSE(parser.parse(body)["message"].get_string().get(msg)) << body;
      ASSERT_FALSE(parser.parse(body)["status_overview"].get_string().get(overview)) << body;
      ASSERT_EQ(msg, message(d.status));
      ASSERT_EQ(overview, "failed");
      continue;
    }
    ++accepted;
    const TkiFields got = fields_of(*r);
    ASSERT_FALSE(got.product.empty()) << in;
    ASSERT_FALSE(got.version.empty()) << in;
    ASSERT_FALSE(got.licensekey.empty()) << in;
    // What may be bound at the primary: a literal address, a printable HWID.
    ASSERT_EQ(got.ip.find_first_not_of("0123456789abcdefABCDEF.:"), std::string::npos) << in;
    if (got.hwid) {
      for (char c : *got.hwid) ASSERT_GE(static_cast<unsigned char>(c), 0x20) << in;
    }
    // Written back and parsed again: the same fields.
    const std::string text = canonical(got);
    auto again = parse_tki_request(text);
    ASSERT_TRUE(again) << "input: " << in << "\nwritten back: " << text;
    ASSERT_EQ(fields_of(*again), got) << "input: " << in;
  }
  EXPECT_GT(accepted, kIterations / 50);
  EXPECT_GT(refused, kIterations / 50);
}

::testing::AssertionResult same_event(const ChangeEvent& a, const ChangeEvent& b) {
  if (a.seq == b.seq && a.type == b.type && a.deleted == b.deleted && a.record == b.record) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << encode_change_event(a, true) << "\n  vs\n"
                                       << encode_change_event(b, true);
}

TEST(ParserFuzz, ChangeEventsDecodedReEncodeAndDecodeToTheSameEvent) {
  std::mt19937_64 rng(3);
  LicenseRecord l = test::license("K");
  l.mode = Mode::kTest;
  l.type = LicenseType::kSubscription;
  l.status = LicenseStatus::kSuspended;
  l.expires_at = test::kNow + 86400;
  l.activations = {{"m", "label", 5}, {"m2", "", test::kNow}};
  l.allowed_domains = {"example.com", "*.example.org"};
  l.metadata_json = R"({"a":[1,2,{"b":"c"}]})";
  l.max_ips = 3;
  l.max_hwids = 2;
  l.ips = {"192.168.1.1"};
  l.hwids = {"hw-1"};
  l.staff = true;
  l.discord_id = "123";
  l.discord_username = "user";
  l.discord_tag = "user#1";
  l.email = "a@example.com";
  AccountRecord a = test::account();
  a.tki_require_hwid = true;
  ApiKeyRecord k = test::api_key("to_test_x", "acc_1", Mode::kTest);
  k.revoked = true;
  const std::vector<ChangeEvent> events = {
      test::event(l, 7),
      test::event(test::product(), 8),
      test::event(test::blacklist("b", BlacklistKind::kIp, "1.2.3.4"), 9),
      test::event(a, 10),
      test::event(k, 11),
      test::event(test::license("GONE", "lic_2"), 12, true)};
  std::vector<std::string> seeds;
  for (const auto& ev : events) {
    // The seeds themselves decode to exactly the events they were written from.
    seeds.push_back(encode_change_event(ev, true));
    auto decoded = decode_change_event(seeds.back());
    ASSERT_TRUE(std::holds_alternative<ChangeEvent>(decoded)) << seeds.back();
    ChangeEvent expected = ev;
    if (expected.type.empty()) expected.type = std::get<ChangeEvent>(decoded).type;
    ASSERT_TRUE(same_event(std::get<ChangeEvent>(decoded), expected));
  }
  // Written by hand too, so that what the encoder would leave out is still in the inputs.
  seeds.push_back(R"({"seq":13,"kind":"license","type":"license.deleted","version":3,)"
                  R"("deleted":true,"data":{"id":"lic_9","key_sha256":")" +
                  to_hex(sha256("K9")) +
                  R"(","account_id":"acc_1","email":"x@example.com","staff":true}})");
  int accepted = 0, refused = 0;
  for (int i = 0; i < kIterations; ++i) {
    const std::string in = mutate(seeds[i % seeds.size()], rng);
    auto r = decode_change_event(in);
    if (auto* err = std::get_if<DecodeError>(&r)) {
      ++refused;
      ASSERT_FALSE(err->message.empty()) << "input: " << in;
      continue;
    }
    ++accepted;
    const auto& ev = std::get<ChangeEvent>(r);
    ASSERT_GT(ev.version(), 0u);
    ASSERT_FALSE(ev.id().empty());
    // Whatever was accepted re-encodes and decodes to the same event, and its encoding is
    // then stable.
    const std::string text = encode_change_event(ev, true);
    auto again = decode_change_event(text);
    ASSERT_TRUE(std::holds_alternative<ChangeEvent>(again))
        << "input: " << in << "\nre-encoded: " << text
        << "\nerror: " << std::get<DecodeError>(again).message;
    ASSERT_TRUE(same_event(std::get<ChangeEvent>(again), ev)) << "input: " << in;
    ASSERT_EQ(encode_change_event(std::get<ChangeEvent>(again), true), text) << "input: " << in;
  }
  EXPECT_GT(accepted, kIterations / 50);
  EXPECT_GT(refused, kIterations / 50);
}

TEST(ParserFuzz, RecordDecoderRefusesOrDecodesConsistently) {
  std::mt19937_64 rng(4);
  LicenseRecord l = test::license("K");
  l.activations = {{"m", "label", 5}};
  l.hwids = {"h"};
  l.email = "e";
  const std::string seed = encode_record(l);
  int accepted = 0, refused = 0;
  for (int i = 0; i < kIterations; ++i) {
    LicenseRecord out;
    StoredHeader h;
    if (!decode_record(mutate(seed, rng), out, h)) {
      ++refused;
      continue;
    }
    ++accepted;
    ASSERT_LE(static_cast<int>(out.mode), 1);
    ASSERT_LE(static_cast<int>(out.type), 3);
    ASSERT_LE(static_cast<int>(out.status), 3);
    ASSERT_EQ(out.version, h.version);
    LicenseRecord again;
    StoredHeader h2;
    ASSERT_TRUE(decode_record(encode_record(out, h.deleted), again, h2));
    ASSERT_EQ(again, out);
    ASSERT_EQ(h2.version, h.version);
    ASSERT_EQ(h2.deleted, h.deleted);
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(refused, kIterations / 2);
}

}  // namespace
}  // namespace le::core
