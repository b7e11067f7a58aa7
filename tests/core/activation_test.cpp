// Activations as pure functions: the request parser, the decision (visibility, status, machine
// limit, idempotence) and the write-reply answer shared by edge and primary.
#include "core/activation.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "core/lease.h"
#include "core/license_json.h"
#include "core/write_protocol.h"
#include "support/fixtures.h"

namespace le::core {
namespace {

using test::kNow;

ActivationRequest req(std::string_view machine, std::string_view label = {}) {
  return ActivationRequest{"K", machine, label};
}

TEST(ActivationParse, ReadsKeyAliasMachineAndLabel) {
  auto r = parse_activation_request(R"({"key":"K","machine_id":"m1","label":"Laptop"})");
  ASSERT_TRUE(std::holds_alternative<ActivationRequest>(r));
  const auto& a = std::get<ActivationRequest>(r);
  EXPECT_EQ(a.license_key, "K");
  EXPECT_EQ(a.machine_id, "m1");
  EXPECT_EQ(a.label, "Laptop");
  EXPECT_TRUE(std::holds_alternative<ActivationRequest>(
      parse_activation_request(R"({"license_key":"K","key":"K","machine_id":"m","label":null})")));
}

TEST(ActivationParse, RefusesWithTheRightErrors) {
  struct Case {
    std::string body;
    std::string_view code;
    std::string message;
  };
  for (const auto& c : std::vector<Case>{
           {R"({"machine_id":"m"})", "MISSING_FIELDS", "Missing required field: license_key"},
           {R"({"key":"K"})", "MISSING_FIELDS", "Missing required field: machine_id"},
           {"{}", "MISSING_FIELDS", "Missing required fields: license_key, machine_id"},
           {R"({"key":"K","license_key":"L","machine_id":"m"})", "VALIDATION_ERROR",
            "Fields 'key' and 'license_key' differ"},
           {R"({"key":"K","machine_id":5})", "VALIDATION_ERROR",
            "Field 'machine_id' must be a string"},
           {R"({"key":"K","machine_id":"m","label":")" + std::string(300, 'l') + R"("})",
            "VALIDATION_ERROR", "Field 'label' is too long"},
           {R"({"key":"K","machine_id":"m\u0001"})", "VALIDATION_ERROR",
            "Field 'machine_id' contains control characters"},
           {R"({"key":"K","machine_id":)" + std::string(3000, '[') + std::string(3000, ']') + "}",
            "VALIDATION_ERROR", "Request body is nested too deeply"},
           {"{\"key\":\"\xff\"}", "VALIDATION_ERROR", "Request body is not valid UTF-8"},
           {"[1]", "VALIDATION_ERROR", "Request body must be a JSON object"},
           {"{", "VALIDATION_ERROR", "Request body is not valid JSON"}}) {
    auto r = parse_activation_request(c.body);
    ASSERT_TRUE(std::holds_alternative<ApiError>(r)) << c.body;
    EXPECT_EQ(std::get<ApiError>(r).http_status, 400) << c.body;
    EXPECT_EQ(std::get<ApiError>(r).code, c.code) << c.body;
    EXPECT_EQ(std::get<ApiError>(r).message, c.message) << c.body;
  }
}

TEST(Activate, TakesASlotOnceAndStopsAtTheLimit) {
  auto l = test::license("K");
  l.max_activations = 2;
  EXPECT_EQ(std::get<ActivationResult>(activate(req("a", "A"), nullptr, &l, kNow)),
            ActivationResult::kActivated);
  EXPECT_EQ(std::get<ActivationResult>(activate(req("a"), nullptr, &l, kNow)),
            ActivationResult::kAlreadyActivated);
  EXPECT_EQ(std::get<ActivationResult>(activate(req("b"), nullptr, &l, kNow)),
            ActivationResult::kActivated);
  auto full = activate(req("c"), nullptr, &l, kNow);
  ASSERT_TRUE(std::holds_alternative<ApiError>(full));
  EXPECT_EQ(std::get<ApiError>(full).code, "ACTIVATION_LIMIT_REACHED");
  ASSERT_EQ(l.activations.size(), 2u);
  EXPECT_EQ(l.activations[0].label, "A");
  EXPECT_EQ(l.activations[0].activated_at, kNow);
}

// Floating: seats are leases; only live ones count, a lapsed one frees its seat by itself.
TEST(FloatingSeats, LeasesCountWhileLiveAndLapseAfterTtlPlusDrift) {
  auto l = test::license("K");
  l.type = LicenseType::kFloating;
  l.max_activations = 2;
  auto result = [&](auto r) { return std::get<ActivationResult>(r); };
  EXPECT_EQ(result(activate(req("a"), nullptr, &l, kNow, 60)), ActivationResult::kActivated);
  EXPECT_EQ(l.activations[0].lease_expires_at, kNow + 60);
  EXPECT_EQ(result(activate(req("b"), nullptr, &l, kNow + 10, 60)), ActivationResult::kActivated);
  // Full: the answer says the soonest seat frees at a's lease end plus drift.
  auto full = activate(req("c"), nullptr, &l, kNow + 20, 60);
  ASSERT_TRUE(std::holds_alternative<ApiError>(full));
  EXPECT_EQ(std::get<ApiError>(full).code, "ACTIVATION_LIMIT_REACHED");
  EXPECT_EQ(seconds_until_seat_frees(l, kNow + 20), 60 + kLeaseDriftSeconds - 20 + 1);
  // Activating again extends the lease without taking a seat.
  EXPECT_EQ(result(activate(req("a"), nullptr, &l, kNow + 30, 60)),
            ActivationResult::kLeaseExtended);
  EXPECT_EQ(l.activations[0].lease_expires_at, kNow + 90);
  EXPECT_EQ(seats_held(l, kNow + 30), 2u);
  // b lapses at kNow + 10 + 60 + drift: still held at that second, free the next.
  const std::int64_t b_release = kNow + 70 + kLeaseDriftSeconds;
  EXPECT_TRUE(holds_seat(l, l.activations[1], b_release));
  EXPECT_FALSE(holds_seat(l, l.activations[1], b_release + 1));
  EXPECT_EQ(seats_held(l, b_release + 1), 1u);
  EXPECT_EQ(result(activate(req("c"), nullptr, &l, b_release + 1, 60)),
            ActivationResult::kActivated);
  // The lapsed b stays known: its heartbeat finds the pool full, then takes a freed seat.
  auto refused = heartbeat(req("b"), nullptr, &l, b_release + 2, 60);
  ASSERT_TRUE(std::holds_alternative<ApiError>(refused));
  EXPECT_EQ(std::get<ApiError>(refused).code, "ACTIVATION_LIMIT_REACHED");
  ASSERT_EQ(std::get<ActivationResult>(deactivate(req("c"), nullptr, &l)),
            ActivationResult::kDeactivated);
  EXPECT_EQ(result(heartbeat(req("b"), nullptr, &l, b_release + 3, 60)),
            ActivationResult::kActivated);
  EXPECT_EQ(l.activations[1].lease_expires_at, b_release + 63);
  EXPECT_EQ(result(heartbeat(req("b"), nullptr, &l, b_release + 4, 60)),
            ActivationResult::kLeaseExtended);
}

TEST(FloatingSeats, HeartbeatRefusals) {
  auto l = test::license("K");
  l.type = LicenseType::kFloating;
  l.max_activations = 1;
  auto code = [&](std::string_view machine, LicenseRecord* lic) {
    auto r = heartbeat(req(machine), nullptr, lic, kNow, 60);
    return std::holds_alternative<ApiError>(r) ? std::string(std::get<ApiError>(r).code) : "";
  };
  EXPECT_EQ(code("never-activated", &l), "NOT_FOUND");
  EXPECT_EQ(code("m", nullptr), "NOT_FOUND");
  auto perpetual = test::license("K");
  perpetual.activations.push_back({"m", "", kNow});
  EXPECT_EQ(code("m", &perpetual), "VALIDATION_ERROR");
  l.activations.push_back({"m", "", kNow, kNow + 60});
  l.status = LicenseStatus::kSuspended;
  EXPECT_EQ(code("m", &l), "SUSPENDED");
  l.status = LicenseStatus::kActive;
  EXPECT_EQ(code("m", &l), "");
}

// What an edge may answer itself, and what an extension it sent does at the primary.
TEST(FloatingSeats, EdgeAnswersLiveLeasesAndThePrimaryExtendsOnlyHeldSeats) {
  auto l = test::license("K");
  l.type = LicenseType::kFloating;
  l.max_activations = 2;
  l.activations.push_back({"m", "", kNow, kNow + 60});
  l.activations.push_back({"perpetual", "", kNow, 0});
  EXPECT_NE(extendable_at_edge(l, "m", kNow + 60), nullptr);
  // Within the drift the primary decides (the seat may lapse there before a batch arrives).
  EXPECT_EQ(extendable_at_edge(l, "m", kNow + 61), nullptr);
  EXPECT_EQ(extendable_at_edge(l, "perpetual", kNow), nullptr);
  EXPECT_EQ(extendable_at_edge(l, "unknown", kNow), nullptr);
  auto suspended = l;
  suspended.status = LicenseStatus::kSuspended;
  EXPECT_EQ(extendable_at_edge(suspended, "m", kNow), nullptr);
  auto locked = l;
  locked.type = LicenseType::kPerpetual;
  EXPECT_EQ(extendable_at_edge(locked, "m", kNow), nullptr);

  // At the primary: min(at, now) + lease, never shorter, only while the seat is held.
  EXPECT_TRUE(extend_lease(l, "m", kNow + 10, kNow + 20, 60));
  EXPECT_EQ(l.activations[0].lease_expires_at, kNow + 70);
  EXPECT_TRUE(extend_lease(l, "m", kNow + 500, kNow + 30, 60));
  EXPECT_EQ(l.activations[0].lease_expires_at, kNow + 90);
  EXPECT_TRUE(extend_lease(l, "m", kNow, kNow + 40, 60));
  EXPECT_EQ(l.activations[0].lease_expires_at, kNow + 90);
  EXPECT_TRUE(extend_lease(l, "m", kNow + 120, kNow + 90 + kLeaseDriftSeconds, 60));
  const auto before = l;
  const std::int64_t lapsed = l.activations[0].lease_expires_at + kLeaseDriftSeconds + 1;
  EXPECT_FALSE(extend_lease(l, "m", lapsed, lapsed, 60));
  EXPECT_FALSE(extend_lease(l, "perpetual", kNow, kNow, 60));
  EXPECT_FALSE(extend_lease(l, "unknown", kNow, kNow, 60));
  EXPECT_FALSE(extend_lease(suspended, "m", kNow, kNow, 60));
  EXPECT_EQ(l, before);
}

// Lapsed activations are dropped from the record a day after they lapse, on the next write.
TEST(FloatingSeats, LongLapsedActivationsAreDropped) {
  auto l = test::license("K");
  l.type = LicenseType::kFloating;
  l.max_activations = 3;
  l.activations.push_back({"old", "", kNow, kNow + 60});
  l.activations.push_back({"recent", "", kNow, kNow + kLapsedKeepSeconds});
  const std::int64_t later = kNow + 60 + kLeaseDriftSeconds + kLapsedKeepSeconds + 1;
  ASSERT_EQ(std::get<ActivationResult>(activate(req("new"), nullptr, &l, later, 60)),
            ActivationResult::kActivated);
  ASSERT_EQ(l.activations.size(), 2u);
  EXPECT_EQ(l.activations[0].machine_id, "recent");
  EXPECT_EQ(l.activations[1].machine_id, "new");
}

TEST(Activate, RefusesInvisibleAndInactiveLicenses) {
  auto l = test::license("K");
  const auto other = test::api_key("to_live_other", "acc_2");
  const auto test_mode = test::api_key("to_test_mine", "acc_1", Mode::kTest);
  for (const ApiKeyRecord* k : {&other, &test_mode}) {
    auto r = activate(req("m"), k, &l, kNow);
    ASSERT_TRUE(std::holds_alternative<ApiError>(r));
    EXPECT_EQ(std::get<ApiError>(r).http_status, 404);
  }
  EXPECT_EQ(std::get<ApiError>(activate(req("m"), nullptr, nullptr, kNow)).http_status, 404);
  for (auto [status, code] : {std::pair{LicenseStatus::kSuspended, "SUSPENDED"},
                              std::pair{LicenseStatus::kRevoked, "REVOKED"}}) {
    auto s = l;
    s.status = status;
    EXPECT_EQ(std::get<ApiError>(activate(req("m"), nullptr, &s, kNow)).code, code);
  }
  auto e = l;
  e.expires_at = kNow - 1;
  EXPECT_EQ(std::get<ApiError>(activate(req("m"), nullptr, &e, kNow)).code, "EXPIRED");
  EXPECT_TRUE(l.activations.empty());
}

TEST(Deactivate, FreesASlotAndIsIdempotent) {
  auto l = test::license("K");
  ASSERT_TRUE(std::holds_alternative<ActivationResult>(activate(req("a"), nullptr, &l, kNow)));
  EXPECT_EQ(std::get<ActivationResult>(deactivate(req("a"), nullptr, &l)),
            ActivationResult::kDeactivated);
  EXPECT_EQ(std::get<ActivationResult>(deactivate(req("a"), nullptr, &l)),
            ActivationResult::kNotActivated);
  EXPECT_TRUE(l.activations.empty());
  const auto other = test::api_key("to_live_other", "acc_2");
  EXPECT_EQ(std::get<ApiError>(deactivate(req("a"), &other, &l)).http_status, 404);
}

TEST(WriteAnswer, OneMappingFromThePrimarysReplyToTheHttpAnswer) {
  std::string body;
  WriteReply limited;
  limited.error = ApiError{429, "RATE_LIMITED", "Rate limit exceeded"};
  limited.retry_after_s = 120;
  auto a = write_activation_answer(body, limited, "m", kNow);
  EXPECT_EQ(a.status, 429u);
  EXPECT_EQ(a.retry_after_s, 120u);
  EXPECT_NE(body.find("RATE_LIMITED"), std::string::npos);

  body.clear();
  WriteReply refused;
  refused.error = ApiError{403, "ACTIVATION_LIMIT_REACHED", "full"};
  a = write_activation_answer(body, refused, "m", kNow);
  EXPECT_EQ(a.status, 403u);
  EXPECT_EQ(a.retry_after_s, 0u);
  EXPECT_NE(body.find("ACTIVATION_LIMIT_REACHED"), std::string::npos);

  body.clear();
  WriteReply done;
  done.activation = ActivationResult::kActivated;
  a = write_activation_answer(body, done, "m", kNow);  // no license: a server fault, not a 200
  EXPECT_EQ(a.status, 500u);

  body.clear();
  ChangeEvent ev;
  ev.record = test::license("K");
  done.license = ev;
  a = write_activation_answer(body, done, "m", kNow);
  EXPECT_EQ(a.status, 200u);
  EXPECT_NE(body.find("\"machineId\":\"m\""), std::string::npos);
}

}  // namespace
}  // namespace le::core
