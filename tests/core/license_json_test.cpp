// The license as clients see it (core/license_json.h), written the same by the primary's
// management API and by an edge answering an activation.
#include "core/license_json.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "support/fixtures.h"

namespace le::core {
namespace {

using test::kNow;

TEST(LicenseJson, LicenseObjectHasEveryFieldWithStatusAsOfNow) {
  auto l = test::license("K");
  l.activations.push_back({"m1", "Laptop", kNow});
  l.max_activations = 3;
  l.expires_at = kNow + 10;
  l.email = "user@example.com";
  l.metadata_json = R"({"seats":5})";
  l.allowed_domains = {"example.com"};
  l.ips = {"10.0.0.1"};
  l.staff = true;
  l.created_at = kNow - 86400;
  std::string out;
  JsonWriter w(out);
  write_license(w, l, kNow, "KEY-PLAIN");
  simdjson::dom::parser p;
  auto doc = p.parse(out).value();
  EXPECT_EQ(std::string_view(doc["id"].get_string().value()), "lic_1");
  EXPECT_EQ(std::string_view(doc["key"].get_string().value()), "KEY-PLAIN");
  EXPECT_EQ(std::string_view(doc["status"].get_string().value()), "active");
  EXPECT_EQ(doc["activations"].get_int64().value(), 1);
  EXPECT_EQ(doc["maxActivations"].get_int64().value(), 3);
  EXPECT_EQ(std::string_view(doc["machines"].at(0)["machineId"].get_string().value()), "m1");
  EXPECT_EQ(std::string_view(doc["machines"].at(0)["label"].get_string().value()), "Laptop");
  EXPECT_EQ(std::string_view(doc["email"].get_string().value()), "user@example.com");
  EXPECT_EQ(doc["metadata"]["seats"].get_int64().value(), 5);
  EXPECT_EQ(std::string_view(doc["allowedDomains"].at(0).get_string().value()), "example.com");
  EXPECT_EQ(std::string_view(doc["ips"].at(0).get_string().value()), "10.0.0.1");
  EXPECT_TRUE(doc["staff"].get_bool().value());
  EXPECT_EQ(std::string_view(doc["createdAt"].get_string().value()), "2023-11-13T22:13:20Z");

  // Later the same record reads expired; without a plaintext key none is shown, nor an empty
  // email; a license that never expires shows null.
  out.clear();
  l.email.clear();
  JsonWriter later(out);
  write_license(later, l, kNow + 11);
  auto expired = p.parse(out).value();
  EXPECT_EQ(std::string_view(expired["status"].get_string().value()), "expired");
  EXPECT_TRUE(expired["key"].error() == simdjson::NO_SUCH_FIELD);
  EXPECT_TRUE(expired["email"].error() == simdjson::NO_SUCH_FIELD);
  out.clear();
  l.expires_at = 0;
  JsonWriter never(out);
  write_license(never, l, kNow + 11);
  EXPECT_TRUE(p.parse(out).value()["expiresAt"].is_null());
}

TEST(LicenseJson, ActivationResponseNamesTheMachineAndTheLicense) {
  auto l = test::license("K");
  l.activations.push_back({"m1", "Laptop", kNow});
  l.expires_at = kNow + 86400;
  std::string out;
  write_activation_response(out, ActivationResult::kActivated, "m1", l, kNow);
  simdjson::dom::parser p;
  auto doc = p.parse(out).value();
  EXPECT_TRUE(doc["success"].get_bool().value());
  EXPECT_TRUE(doc["activated"].get_bool().value());
  EXPECT_TRUE(doc["changed"].get_bool().value());
  EXPECT_EQ(std::string_view(doc["machineId"].get_string().value()), "m1");
  EXPECT_EQ(std::string_view(doc["license"]["id"].get_string().value()), "lic_1");
  EXPECT_EQ(doc["license"]["activations"].get_int64().value(), 1);
  EXPECT_EQ(std::string_view(doc["license"]["expiresAt"].get_string().value()),
            "2023-11-15T22:13:20Z");
  // The plaintext key is shown only where the caller passes it.
  EXPECT_EQ(out.find("\"key\""), std::string::npos);

  out.clear();
  write_activation_response(out, ActivationResult::kNotActivated, "m2", l, kNow);
  auto again = p.parse(out).value();
  EXPECT_FALSE(again["activated"].get_bool().value());
  EXPECT_FALSE(again["changed"].get_bool().value());
}

TEST(LicenseJson, TimeOrNullAndStrings) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  write_time_or_null(w, "a", 0);
  write_time_or_null(w, "b", kNow);
  write_strings(w, "c", {"x", "\"y\""});
  w.end_object();
  EXPECT_EQ(out, R"({"a":null,"b":"2023-11-14T22:13:20Z","c":["x","\"y\""]})");
}

}  // namespace
}  // namespace le::core
