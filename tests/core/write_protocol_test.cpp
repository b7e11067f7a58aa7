// The edge → primary write protocol: commands and replies round-trip exactly; anything else —
// malformed, oversized, inconsistent or hostile — is a DecodeError, never a crash.
#include "core/write_protocol.h"

#include <gtest/gtest.h>

#include "support/fixtures.h"

namespace le::core {
namespace {

TEST(WriteProtocol, CommandsRoundTrip) {
  WriteCommand a;
  a.op = WriteOp::kActivate;
  a.api_key = sha256("to_test_k");
  a.mode = Mode::kTest;
  a.license = sha256("KEY");
  a.machine_id = "machine \"1\"";
  a.label = "Läptop";
  WriteCommand b;
  b.op = WriteOp::kBind;
  b.api_key = sha256("raw");
  b.license = sha256("KEY2");
  b.ip = "2001:db8::1";
  b.hwid = "hw";
  for (const auto& c : {a, b}) {
    auto d = decode_write_command(encode_write_command(c));
    ASSERT_TRUE(std::holds_alternative<WriteCommand>(d)) << std::get<DecodeError>(d).message;
    const auto& got = std::get<WriteCommand>(d);
    EXPECT_EQ(got.op, c.op);
    EXPECT_EQ(got.api_key, c.api_key);
    EXPECT_EQ(got.mode, c.mode);
    EXPECT_EQ(got.license, c.license);
    EXPECT_EQ(got.machine_id, c.machine_id);
    EXPECT_EQ(got.label, c.label);
    EXPECT_EQ(got.ip, c.ip);
    EXPECT_EQ(got.hwid, c.hwid);
  }
}

TEST(WriteProtocol, RepliesRoundTripWithTheLicenseState) {
  LicenseRecord l = test::license("K");
  l.activations = {{"m", "label", test::kNow}};
  l.version = 9;
  WriteReply ok;
  ok.activation = ActivationResult::kAlreadyActivated;
  ok.license = test::event(l, 0);
  WriteReply refused;
  refused.error = ApiError{429, "RATE_LIMITED", "Rate limit exceeded"};
  refused.retry_after_s = 77;
  refused.license = test::event(l, 0);
  WriteReply tki;
  tki.tki = TkiStatus::kMaxHwids;
  WriteReply bound;
  bound.bind = BindResult::kBound;
  bound.license = test::event(l, 0);
  for (const auto& r : {ok, refused, tki, bound}) {
    const std::string json = encode_write_reply(r);
    auto d = decode_write_reply(json);
    ASSERT_TRUE(std::holds_alternative<WriteReply>(d))
        << json << " " << std::get<DecodeError>(d).message;
    const auto& got = std::get<WriteReply>(d);
    EXPECT_EQ(got.activation, r.activation);
    EXPECT_EQ(got.bind, r.bind);
    EXPECT_EQ(got.tki, r.tki);
    EXPECT_EQ(got.retry_after_s, r.retry_after_s);
    ASSERT_EQ(got.error.has_value(), r.error.has_value());
    if (r.error) {
      EXPECT_EQ(got.error->http_status, r.error->http_status);
      EXPECT_EQ(got.error->code, r.error->code);
      EXPECT_EQ(got.error->message, r.error->message);
    }
    ASSERT_EQ(got.license.has_value(), r.license.has_value());
    if (r.license) {
      EXPECT_EQ(got.license->record, r.license->record);
    }
  }
}

TEST(WriteProtocol, MalformedAndHostileInputIsADecodeError) {
  const std::string hex(64, 'a');
  const std::vector<std::string> commands = {
      "",
      "null",
      "[]",
      "{",
      std::string(3000, '['),
      "{}",
      "\xff\xfe",
      R"({"op":"explode","license":")" + hex + R"(","machineId":"m"})",
      R"({"op":"activate","license":"abc","machineId":"m"})",
      R"({"op":"activate","license":")" + std::string(64, 'g') + R"(","machineId":"m"})",
      R"({"op":"activate","license":")" + hex + R"("})",
      R"({"op":"activate","license":")" + hex + R"(","machineId":7})",
      R"({"op":"activate","license":")" + hex + R"(","machineId":")" + std::string(300, 'm') +
          R"("})",
      R"({"op":"activate","license":")" + hex + R"(","machineId":"m","mode":"prod"})",
      R"({"op":"activate","license":")" + hex + R"(","machineId":"m","apiKey":5})",
      R"({"op":"bind","license":")" + hex + R"(","ip":"1.2.3.4"})",
      R"({"op":"bind","apiKey":")" + hex + R"(","license":")" + hex + R"("})",
      R"({"op":"bind","apiKey":")" + hex + R"(","license":")" + hex + R"(","ip":")" +
          std::string(600, '1') + R"("})",
  };
  for (const auto& c : commands) {
    EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_write_command(c))) << c.substr(0, 120);
  }
  const std::vector<std::string> replies = {
      "",
      "garbage",
      "{}",
      R"({"result":"activated"})" /* no license is fine, but: */,
      R"({"result":"exploded"})",
      R"({"result":"activated","error":{"status":403,"code":"REVOKED","message":"x"}})",
      R"({"error":{"status":200,"code":"REVOKED","message":"x"}})",
      R"({"error":{"status":403,"code":"MADE_UP","message":"x"}})",
      R"({"error":{"status":403,"message":"x"}})",
      R"({"error":"REVOKED"})",
      R"({"tki":0})",
      R"({"tki":99})",
      R"({"tki":-1})",
      R"({"result":"activated","license":{"kind":"account","version":1,"data":{"id":"a","plan":"starter"}}})",
      R"({"result":"activated","license":{"kind":"license"}})",
      R"({"result":"activated","retryAfter":"soon"})",
  };
  for (std::size_t i = 0; i < replies.size(); ++i) {
    auto d = decode_write_reply(replies[i]);
    if (i == 3) {
      EXPECT_TRUE(std::holds_alternative<WriteReply>(d))
          << "an outcome without a state is well-formed";
      continue;
    }
    EXPECT_TRUE(std::holds_alternative<DecodeError>(d)) << replies[i];
  }
}

}  // namespace
}  // namespace le::core
