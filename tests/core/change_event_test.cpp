#include "core/change_event.h"

#include <gtest/gtest.h>

#include "core/digest.h"
#include "support/fixtures.h"

namespace le::core {
namespace {

TEST(ChangeEvent, EncodeDecodeRoundTripsEveryKind) {
  LicenseRecord l = test::license("K");
  l.expires_at = test::kNow;
  l.activations = {{"m", "label \"quoted\"", test::kNow}};
  l.metadata_json = R"({"x":"y"})";
  l.version = 3;
  auto product = test::product();
  product.plans_json =
      R"([{"id":"pro","type":"subscription","max_activations":3,"duration_days":365,)"
      R"("offline_grace_hours":null,"metadata":{"tier":2}}])";
  std::vector<ChangeEvent> events = {
      test::event(test::account(), 1), test::event(test::api_key("to_live_a"), 2),
      test::event(product, 3), test::event(l, 4),
      test::event(test::blacklist("bl_1", BlacklistKind::kLicense, to_hex(sha256("K"))), 5, true)};
  for (const auto& ev : events) {
    auto json = encode_change_event(ev, true);
    auto decoded = decode_change_event(json);
    ASSERT_TRUE(std::holds_alternative<ChangeEvent>(decoded))
        << json << " -> " << std::get<DecodeError>(decoded).message;
    const auto& d = std::get<ChangeEvent>(decoded);
    EXPECT_EQ(d.seq, ev.seq);
    EXPECT_EQ(d.deleted, ev.deleted);
    EXPECT_EQ(d.kind(), ev.kind());
    EXPECT_EQ(d.record, ev.record) << json;
  }
}

TEST(ChangeEvent, SubjectNamesKindAndId) {
  EXPECT_EQ(test::event(test::license("K", "lic_9")).subject(), "lic.license.lic_9");
  EXPECT_EQ(test::event(test::api_key("to_live_abc")).subject(), "lic.api_key.key_to_live_abc");
}

TEST(ChangeEvent, AcceptsIsoTimesAndFieldsInAnyOrder) {
  auto d = decode_change_event(R"({"data":{"expires_at":"2024-12-31T00:00:00Z","key_sha256":")" +
                               to_hex(sha256("K")) +
                               R"(","account_id":"a","id":"lic_1"},"version":2,"kind":"license"})");
  ASSERT_TRUE(std::holds_alternative<ChangeEvent>(d)) << std::get<DecodeError>(d).message;
  const auto& l = std::get<LicenseRecord>(std::get<ChangeEvent>(d).record);
  EXPECT_EQ(l.expires_at, 1735603200);
  EXPECT_EQ(l.version, 2u);
}

TEST(ChangeEvent, MalformedMessagesAreRejectedWithAReason) {
  const std::string digest = to_hex(sha256("K"));
  for (
      const std::string& bad : {
          std::string(""),
          std::string("not json"),
          std::string("[]"),
          std::string(R"({"kind":"license","version":1})"),
          std::string(R"({"kind":"nope","version":1,"data":{}})"),
          std::string(R"({"kind":"account","version":0,"data":{"id":"a"}})"),
          std::string(R"({"kind":"account","version":-1,"data":{"id":"a"}})"),
          std::string(R"({"kind":"account","version":1,"data":{}})"),
          std::string(R"({"kind":"account","version":1,"data":{"id":"a","plan":"gold"}})"),
          std::string(R"({"kind":"account","version":1,"deleted":"yes","data":{"id":"a"}})"),
          std::string(
              R"({"kind":"license","version":1,"data":{"id":"l","account_id":"a","key_sha256":"zz"}})"),
          std::string(R"({"kind":"license","version":1,"data":{"id":"l","account_id":"a"}})"),
          R"({"kind":"license","version":1,"data":{"id":"l","account_id":"a","key_sha256":")" +
              digest + R"(","expires_at":"tomorrow"}})",
          R"({"kind":"license","version":1,"data":{"id":"l","account_id":"a","key_sha256":")" +
              digest + R"(","max_activations":-3}})",
          R"({"kind":"license","version":1,"data":{"id":"l","account_id":"a","key_sha256":")" +
              digest + R"(","activations":[{"label":"no machine"}]}})",
          std::string(
              R"({"kind":"blacklist","version":1,"data":{"id":"b","account_id":"a","kind":"ip"}})"),
          std::string(
              R"({"kind":"product","version":1,"data":{"id":"p","account_id":"a","metadata":[1]}})"),
          std::string(
              R"({"kind":"product","version":1,"data":{"id":"p","account_id":"a","metadata":{\ud800}}})"),
          std::string(R"({"kind":"account","version":1,"data":{"id":"a"}}})"),
          std::string(R"({"kind":"account","version":1,"data":{"id":"a"}} {})"),
      }) {
    auto d = decode_change_event(bad);
    ASSERT_TRUE(std::holds_alternative<DecodeError>(d)) << bad;
    EXPECT_FALSE(std::get<DecodeError>(d).message.empty());
  }
}

}  // namespace
}  // namespace le::core
