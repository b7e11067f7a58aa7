#include "core/validate.h"

#include <gtest/gtest.h>

#include "core/json_read.h"
#include "core/lease.h"
#include "support/fixtures.h"

namespace le::core {
namespace {

using test::kNow;

ValidateRequest request(std::string_view key) {
  ValidateRequest r;
  r.license_key = key;
  return r;
}

struct DecisionCase {
  std::string name;
  std::function<void(LicenseRecord&)> edit_license;  // nullptr license when this is null and
  bool license_exists;
  std::function<void(ValidateRequest&)> edit_request;
  bool with_api_key;
  Mode key_mode;
  std::string key_account;
  // expectation: either a code (200) or an HTTP error status with its code
  std::optional<ValidationCode> code;
  int error_status;
  std::string_view error_code;
};

class ValidateDecisionTest : public ::testing::TestWithParam<DecisionCase> {};

TEST_P(ValidateDecisionTest, DecidesAsTheSpecSays) {
  const DecisionCase& c = GetParam();
  LicenseRecord lic = test::license("AAAA-BBBB-CCCC-DDDD");
  lic.allowed_domains = {"example.com", "*.example.org"};
  lic.activations = {{"machine-1", "Laptop", kNow - 100}};
  if (c.edit_license) c.edit_license(lic);
  ValidateRequest req = request("AAAA-BBBB-CCCC-DDDD");
  if (c.edit_request) c.edit_request(req);
  ApiKeyRecord key = test::api_key("to_live_abc", c.key_account, c.key_mode);

  auto d = decide_validate(req, c.with_api_key ? &key : nullptr, c.license_exists ? &lic : nullptr,
                           kNow);
  if (c.code) {
    ASSERT_TRUE(std::holds_alternative<ValidateOutcome>(d)) << c.name;
    const auto& o = std::get<ValidateOutcome>(d);
    EXPECT_EQ(o.code, *c.code) << c.name;
    EXPECT_EQ(o.valid(), *c.code == ValidationCode::kValid);
    EXPECT_EQ(o.license != nullptr, *c.code != ValidationCode::kNotFound) << c.name;
  } else {
    ASSERT_TRUE(std::holds_alternative<ApiError>(d)) << c.name;
    EXPECT_EQ(std::get<ApiError>(d).http_status, c.error_status);
    EXPECT_EQ(std::get<ApiError>(d).code, c.error_code);
  }
}

const auto live = Mode::kLive;
const auto test_mode = Mode::kTest;

INSTANTIATE_TEST_SUITE_P(
    AllOutcomes, ValidateDecisionTest,
    ::testing::Values(
        DecisionCase{"ActiveLicenseIsValid", nullptr, true, nullptr, false, live, "acc_1",
                     ValidationCode::kValid, 0, ""},
        DecisionCase{"UnknownKeyIsNotFound", nullptr, false, nullptr, false, live, "acc_1",
                     ValidationCode::kNotFound, 0, ""},
        DecisionCase{"ExpiredByClockEvenBeforeExpiryEvent",
                     [](LicenseRecord& l) { l.expires_at = kNow - 1; }, true, nullptr, false, live,
                     "acc_1", ValidationCode::kExpired, 0, ""},
        DecisionCase{"ExpiresExactlyNowIsExpired", [](LicenseRecord& l) { l.expires_at = kNow; },
                     true, nullptr, false, live, "acc_1", ValidationCode::kExpired, 0, ""},
        DecisionCase{"NotYetExpiredIsValid", [](LicenseRecord& l) { l.expires_at = kNow + 1; },
                     true, nullptr, false, live, "acc_1", ValidationCode::kValid, 0, ""},
        DecisionCase{"StoredExpiredStatus",
                     [](LicenseRecord& l) { l.status = LicenseStatus::kExpired; }, true, nullptr,
                     false, live, "acc_1", ValidationCode::kExpired, 0, ""},
        DecisionCase{"Suspended", [](LicenseRecord& l) { l.status = LicenseStatus::kSuspended; },
                     true, nullptr, false, live, "acc_1", ValidationCode::kSuspended, 0, ""},
        DecisionCase{"Revoked", [](LicenseRecord& l) { l.status = LicenseStatus::kRevoked; }, true,
                     nullptr, false, live, "acc_1", ValidationCode::kRevoked, 0, ""},
        DecisionCase{"RevokedWinsOverExpired",
                     [](LicenseRecord& l) {
                       l.status = LicenseStatus::kRevoked;
                       l.expires_at = kNow - 10;
                     },
                     true, nullptr, false, live, "acc_1", ValidationCode::kRevoked, 0, ""},
        DecisionCase{"ProductMismatch", nullptr, true,
                     [](ValidateRequest& r) { r.product_id = "prod_other"; }, false, live, "acc_1",
                     ValidationCode::kProductMismatch, 0, ""},
        DecisionCase{"MatchingProduct", nullptr, true,
                     [](ValidateRequest& r) { r.product_id = "prod_1"; }, false, live, "acc_1",
                     ValidationCode::kValid, 0, ""},
        DecisionCase{"MachineNotActivated", nullptr, true,
                     [](ValidateRequest& r) { r.machine_id = "machine-2"; }, false, live, "acc_1",
                     ValidationCode::kMachineNotActivated, 0, ""},
        DecisionCase{"ActivatedMachine", nullptr, true,
                     [](ValidateRequest& r) { r.machine_id = "machine-1"; }, false, live, "acc_1",
                     ValidationCode::kValid, 0, ""},
        DecisionCase{"DomainMismatchIs403", nullptr, true,
                     [](ValidateRequest& r) { r.domain = "evil.com"; }, false, live, "acc_1",
                     std::nullopt, 403, "DOMAIN_MISMATCH"},
        DecisionCase{"AllowedDomain", nullptr, true,
                     [](ValidateRequest& r) { r.domain = "EXAMPLE.com"; }, false, live, "acc_1",
                     ValidationCode::kValid, 0, ""},
        DecisionCase{"WildcardSubdomain", nullptr, true,
                     [](ValidateRequest& r) { r.domain = "https://app.example.org:8443/x"; }, false,
                     live, "acc_1", ValidationCode::kValid, 0, ""},
        DecisionCase{"AnyDomainWhenUnrestricted",
                     [](LicenseRecord& l) { l.allowed_domains.clear(); }, true,
                     [](ValidateRequest& r) { r.domain = "anything.net"; }, false, live, "acc_1",
                     ValidationCode::kValid, 0, ""},
        DecisionCase{"ApiKeyOfOwningAccount", nullptr, true, nullptr, true, live, "acc_1",
                     ValidationCode::kValid, 0, ""},
        DecisionCase{"ApiKeyOfOtherAccountSeesNothing", nullptr, true, nullptr, true, live, "acc_2",
                     ValidationCode::kNotFound, 0, ""},
        DecisionCase{"TestKeyCannotSeeLiveLicense", nullptr, true, nullptr, true, test_mode,
                     "acc_1", ValidationCode::kNotFound, 0, ""},
        DecisionCase{"LiveKeyCannotSeeTestLicense", [](LicenseRecord& l) { l.mode = Mode::kTest; },
                     true, nullptr, true, live, "acc_1", ValidationCode::kNotFound, 0, ""}),
    [](const auto& info) { return info.param.name; });

TEST(DomainAllowed, WildcardDoesNotMatchApexOrLookalike) {
  std::vector<std::string> p = {"*.example.com"};
  EXPECT_TRUE(domain_allowed("a.example.com", p));
  EXPECT_TRUE(domain_allowed("a.b.example.com.", p));
  EXPECT_FALSE(domain_allowed("example.com", p));
  EXPECT_FALSE(domain_allowed("badexample.com", p));
  EXPECT_FALSE(domain_allowed("", p));
}

struct ParseCase {
  std::string name;
  std::string body;
  int status;  // 0 = parses
  std::string_view code;
};

class ValidateParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ValidateParseTest, RejectsBadBodiesWithTheRightError) {
  const auto& c = GetParam();
  auto r = parse_validate_request(c.body);
  if (c.status == 0) {
    ASSERT_TRUE(std::holds_alternative<ValidateRequest>(r)) << std::get<ApiError>(r).message;
  } else {
    ASSERT_TRUE(std::holds_alternative<ApiError>(r));
    EXPECT_EQ(std::get<ApiError>(r).http_status, c.status);
    EXPECT_EQ(std::get<ApiError>(r).code, c.code);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, ValidateParseTest,
    ::testing::Values(
        ParseCase{"KeyAlias", R"({"key":"K"})", 0, ""},
        ParseCase{"LicenseKey",
                  R"({"license_key":"K","product_id":"p","machine_id":"m","domain":"d"})", 0, ""},
        ParseCase{"BothAliasesSame", R"({"key":"K","license_key":"K"})", 0, ""},
        ParseCase{"NullOptionals", R"({"key":"K","domain":null,"product_id":null})", 0, ""},
        ParseCase{"UnknownFieldsIgnored", R"({"key":"K","extra":{"a":[1,2,{"b":null}]}})", 0, ""},
        ParseCase{"BothAliasesDiffer", R"({"key":"K","license_key":"L"})", 400, "VALIDATION_ERROR"},
        ParseCase{"MissingKey", R"({"domain":"example.com"})", 400, "MISSING_FIELDS"},
        ParseCase{"EmptyKey", R"({"key":""})", 400, "MISSING_FIELDS"},
        ParseCase{"EmptyObject", "{}", 400, "MISSING_FIELDS"},
        ParseCase{"EmptyBody", "", 400, "VALIDATION_ERROR"},
        ParseCase{"NotJson", "key=K", 400, "VALIDATION_ERROR"},
        ParseCase{"Array", R"(["K"])", 400, "VALIDATION_ERROR"},
        ParseCase{"String", R"("K")", 400, "VALIDATION_ERROR"},
        ParseCase{"KeyNumber", R"({"key":12345})", 400, "VALIDATION_ERROR"},
        ParseCase{"KeyObject", R"({"key":{"$ne":null}})", 400, "VALIDATION_ERROR"},
        ParseCase{"DomainNumber", R"({"key":"K","domain":5})", 400, "VALIDATION_ERROR"},
        ParseCase{"MachineBool", R"({"key":"K","machine_id":true})", 400, "VALIDATION_ERROR"},
        ParseCase{"Truncated", R"({"key":"K","dom)", 400, "VALIDATION_ERROR"},
        ParseCase{"TruncatedAfterValue", R"({"key":"K")", 400, "VALIDATION_ERROR"},
        ParseCase{"TrailingGarbage", R"({"key":"K"} xyz)", 400, "VALIDATION_ERROR"},
        ParseCase{"TwoDocuments", R"({"key":"K"}{"key":"L"})", 400, "VALIDATION_ERROR"},
        ParseCase{"NonUtf8", "{\"key\":\"\xff\xfe\"}", 400, "VALIDATION_ERROR"},
        ParseCase{"HugeKey", R"({"key":")" + std::string(5000, 'A') + R"("})", 400,
                  "VALIDATION_ERROR"},
        ParseCase{"NestedUnknownFieldIsIgnored",
                  R"({"key":"K","x":)" + std::string(500, '[') + std::string(500, ']') + "}", 0,
                  ""},
        ParseCase{"NestingBeyondDepthLimit",
                  R"({"key":"K","x":)" + std::string(5000, '[') + std::string(5000, ']') + "}", 400,
                  "VALIDATION_ERROR"},
        ParseCase{"MalformedIgnoredField", R"({"key":"K","x":{\ud800}})", 400, "VALIDATION_ERROR"},
        ParseCase{"LoneSurrogateInKey", R"({"key":"\ud800"})", 400, "VALIDATION_ERROR"},
        ParseCase{"DeeplyNestedKey",
                  R"({"key":)" + std::string(5000, '[') + std::string(5000, ']') + "}", 400,
                  "VALIDATION_ERROR"},
        ParseCase{"UnbalancedNesting", R"({"key":"K","x":)" + std::string(5000, '[') + "}", 400,
                  "VALIDATION_ERROR"},
        ParseCase{"NulInside", std::string("{\"key\":\"K\0\"}", 12), 400, "VALIDATION_ERROR"},
        ParseCase{"ByteOrderMark", "\xEF\xBB\xBF{\"key\":\"K\"}", 0, ""},
        ParseCase{"HugeExponentInIgnoredField", R"({"key":"K","x":1e999})", 0, ""},
        ParseCase{
            "BigIntegersInIgnoredFields",
            R"({"x":123456789012345678901234567890,"key":"K","y":[-123456789012345678901234567890]})",
            0, ""},
        ParseCase{"OutOfRangeKey", R"({"key":1e999})", 400, "VALIDATION_ERROR"},
        ParseCase{"MalformedNumberStillRefused", R"({"key":"K","x":01})", 400, "VALIDATION_ERROR"},
        ParseCase{"BomOnly", "\xEF\xBB\xBF", 400, "VALIDATION_ERROR"}),
    [](const auto& info) { return info.param.name; });

// Valid JSON is not called invalid: a number beyond our range is reported as what it is.
TEST(ValidateParse, MessagesSayWhatIsWrong) {
  auto message = [](std::string_view body) {
    auto r = parse_validate_request(body);
    return std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r).message
                                               : std::string("accepted");
  };
  EXPECT_EQ(message(R"({"key":1e999})"), "Field 'key' must be a string");
  EXPECT_EQ(message(R"({"key":"K","domain":123456789012345678901234567890})"),
            "Field 'domain' must be a string");
  EXPECT_EQ(message(R"({"key":"K","x":1e999})"), "accepted");
  EXPECT_EQ(message(R"({"key":"K","x":1e})"), "Request body is not valid JSON");
}

// "offline" and "nonce" ask for a receipt; anything else in them is a 400, never a lookup.
TEST(ValidateParse, OfflineAndNonceAreCheckedBeforeAnyLookup) {
  auto message = [](const std::string& body) {
    auto r = parse_validate_request(body);
    if (std::holds_alternative<ApiError>(r)) {
      EXPECT_EQ(std::get<ApiError>(r).http_status, 400u) << body;
      return std::get<ApiError>(r).message;
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message(R"({"key":"K","offline":"yes"})"), "Field 'offline' must be a boolean");
  EXPECT_EQ(message(R"({"key":"K","offline":1})"), "Field 'offline' must be a boolean");
  EXPECT_EQ(message(R"({"key":"K","offline":null})"), "Field 'offline' must be a boolean");
  EXPECT_EQ(message(R"({"key":"K","offline":true,"nonce":")" + std::string(10240, 'n') + "\"}"),
            "Field 'nonce' is too long");
  EXPECT_EQ(message(R"({"key":"K","offline":true,"nonce":"a\u0000b"})"),
            "Field 'nonce' contains control characters");
  EXPECT_EQ(message(R"({"key":"K","offline":true,"nonce":"a\nb"})"),
            "Field 'nonce' contains control characters");
  EXPECT_EQ(message(R"({"key":"K","offline":true,"nonce":7})"), "Field 'nonce' must be a string");
  auto ok = parse_validate_request(R"({"key":"K","offline":true,"nonce":"n-1"})");
  ASSERT_TRUE(std::holds_alternative<ValidateRequest>(ok));
  EXPECT_TRUE(std::get<ValidateRequest>(ok).offline);
  EXPECT_EQ(std::get<ValidateRequest>(ok).nonce, "n-1");
  auto plain = parse_validate_request(R"({"key":"K"})");
  EXPECT_FALSE(std::get<ValidateRequest>(plain).offline);
}

TEST(ValidateResponse, AnOfflineReceiptIsAddedToTheAnswer) {
  std::string out = R"({"valid":true,"code":"VALID"})";
  append_offline_receipt(out, "a.b.c", 1'700'000'000, 1'700'259'200);
  EXPECT_EQ(out, R"({"valid":true,"code":"VALID","offline":{"token":"a.b.c",)"
                 R"("issuedAt":"2023-11-14T22:13:20Z","validUntil":"2023-11-17T22:13:20Z"}})");
}

TEST(JsonRead, OnlyOutOfRangeNumbersAreMarked) {
  std::string out;
  EXPECT_FALSE(json::mark_out_of_range_numbers(
      R"({"a":1,"b":-2.5e10,"c":"1e999","d":18446744073709551615,"e":1e-999})", out));
  EXPECT_TRUE(json::mark_out_of_range_numbers(
      R"({"a":1e999,"s":"x\"1e999","b":-9223372036854775809})", out));
  EXPECT_EQ(out,
            R"({"a":"\u0000number out of range","s":"x\"1e999","b":"\u0000number out of range"})");
  json::Parser parser;
  simdjson::dom::element doc;
  ASSERT_FALSE(parser.parse(R"({"n":1E+400})", doc));
  EXPECT_TRUE(json::is_out_of_range(doc["n"].value()));
  ASSERT_FALSE(parser.parse(R"({"n":"plain"})", doc));
  EXPECT_FALSE(json::is_out_of_range(doc["n"].value()));
}

TEST(ClassifyAuthorization, BearerKeysAndErrors) {
  EXPECT_TRUE(std::holds_alternative<NoCredential>(classify_authorization(std::nullopt)));
  auto live = classify_authorization("Bearer to_live_abc");
  ASSERT_TRUE(std::holds_alternative<BearerKey>(live));
  EXPECT_EQ(std::get<BearerKey>(live).key, "to_live_abc");
  EXPECT_EQ(std::get<BearerKey>(live).mode, Mode::kLive);
  auto test = classify_authorization("bearer  to_test_abc ");
  ASSERT_TRUE(std::holds_alternative<BearerKey>(test));
  EXPECT_EQ(std::get<BearerKey>(test).mode, Mode::kTest);
  EXPECT_EQ(std::get<ApiError>(classify_authorization("Bearer ")).code, "AUTH_REQUIRED");
  EXPECT_EQ(std::get<ApiError>(classify_authorization("")).code, "AUTH_REQUIRED");
  EXPECT_EQ(std::get<ApiError>(classify_authorization("Basic dXNlcg==")).code, "INVALID_API_KEY");
  EXPECT_EQ(std::get<ApiError>(classify_authorization("Bearer sk_live_x")).code, "INVALID_API_KEY");
  EXPECT_EQ(std::get<ApiError>(classify_authorization("Bearer to_live_")).code, "INVALID_API_KEY");
  EXPECT_EQ(
      std::get<ApiError>(classify_authorization("Bearer to_live_" + std::string(600, 'x'))).code,
      "INVALID_API_KEY");
}

TEST(CheckApiKey, RevokedOrUnknownKeysAre401) {
  auto key = test::api_key("to_live_abc");
  BearerKey bearer{"to_live_abc", Mode::kLive};
  EXPECT_TRUE(std::holds_alternative<const ApiKeyRecord*>(check_api_key(bearer, &key)));
  EXPECT_EQ(std::get<ApiError>(check_api_key(bearer, nullptr)).http_status, 401);
  key.revoked = true;
  EXPECT_EQ(std::get<ApiError>(check_api_key(bearer, &key)).code, "INVALID_API_KEY");
}

TEST(ValidateResponse, MatchesTheSpecShapePlusCodeAndDetail) {
  LicenseRecord l = test::license("XXXX-XXXX-XXXX-XXXX", "lic_1234567890");
  l.max_activations = 5;
  l.activations = {{"m1", "", 0}, {"m2", "", 0}};
  l.metadata_json = R"({"tier":"pro"})";
  std::string out;
  write_validate_response(out, {ValidationCode::kValid, &l}, "XXXX-XXXX-XXXX-XXXX", 1705320000);
  EXPECT_EQ(out,
            R"({"valid":true,"license":{"id":"lic_1234567890","key":"XXXX-XXXX-XXXX-XXXX",)"
            R"("status":"active","type":"perpetual","activations":2,"maxActivations":5,)"
            R"("expiresAt":null,"metadata":{"tier":"pro"}},"validatedAt":"2024-01-15T12:00:00Z",)"
            R"("code":"VALID","detail":"License is valid"})");
  write_validate_response(out, {ValidationCode::kNotFound, nullptr}, "K\"\n", 1705320000);
  EXPECT_EQ(out, R"({"valid":false,"validatedAt":"2024-01-15T12:00:00Z","code":"NOT_FOUND",)"
                 R"("detail":"License key not found"})");
}

// A floating seat is VALID only while its lease is live, and the answer says until when.
TEST(ValidateFloating, ValidWhileTheLeaseIsLiveWithLeaseExpiresAt) {
  LicenseRecord l = test::license("K");
  l.type = LicenseType::kFloating;
  l.max_activations = 3;
  l.activations = {{"m1", "", kNow, kNow + 600}, {"m2", "", kNow, kNow - 100}};
  ValidateRequest r = request("K");
  r.machine_id = "m1";
  auto d = decide_validate(r, nullptr, &l, kNow);
  ASSERT_TRUE(std::holds_alternative<ValidateOutcome>(d));
  EXPECT_EQ(std::get<ValidateOutcome>(d).code, ValidationCode::kValid);
  EXPECT_EQ(std::get<ValidateOutcome>(d).lease_expires_at, kNow + 600);
  std::string out;
  write_validate_response(out, std::get<ValidateOutcome>(d), "K", kNow);
  EXPECT_NE(out.find(R"("activations":1,)"), std::string::npos) << out;  // m2 lapsed
  EXPECT_NE(out.find(R"("leaseExpiresAt":"2023-11-14T22:23:20Z")"), std::string::npos) << out;
  // Past lease end + drift: not activated, at request time.
  d = decide_validate(r, nullptr, &l, kNow + 600 + kLeaseDriftSeconds + 1);
  EXPECT_EQ(std::get<ValidateOutcome>(d).code, ValidationCode::kMachineNotActivated);
  r.machine_id = "m2";
  d = decide_validate(r, nullptr, &l, kNow);
  EXPECT_EQ(std::get<ValidateOutcome>(d).code, ValidationCode::kMachineNotActivated);
  // No machine: the license is valid, no lease to show.
  r.machine_id.reset();
  d = decide_validate(r, nullptr, &l, kNow);
  EXPECT_EQ(std::get<ValidateOutcome>(d).code, ValidationCode::kValid);
  EXPECT_EQ(std::get<ValidateOutcome>(d).lease_expires_at, 0);
}

TEST(ApiErrorBody, HasErrorCodeAndHelp) {
  std::string out;
  write_api_error(out, ApiError::missing_fields("Missing required field: license_key"));
  EXPECT_EQ(out, R"({"error":"Missing required field: license_key","code":"MISSING_FIELDS",)"
                 R"("help":"/docs#errors"})");
}

}  // namespace
}  // namespace le::core
