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

TEST(WriteProtocol, HeartbeatIsAnOperation) {
  WriteCommand c;
  c.op = WriteOp::kHeartbeat;
  c.license = sha256("KEY");
  c.machine_id = "m";
  auto d = decode_write_command(encode_write_command(c));
  ASSERT_TRUE(std::holds_alternative<WriteCommand>(d));
  EXPECT_EQ(std::get<WriteCommand>(d).op, WriteOp::kHeartbeat);
  EXPECT_EQ(to_string(WriteOp::kHeartbeat), "heartbeat");
  c.machine_id.clear();
  EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_write_command(encode_write_command(c))));
}

TEST(WriteProtocol, LeaseExtensionBatchesRoundTrip) {
  LeaseExtensions b;
  b.edge = "edge-1";
  b.items = {{sha256("A"), "machine \"1\"", test::kNow}, {sha256("B"), "m2", test::kNow + 1}};
  auto d = decode_lease_extensions(encode_lease_extensions(b));
  ASSERT_TRUE(std::holds_alternative<LeaseExtensions>(d)) << std::get<DecodeError>(d).message;
  EXPECT_EQ(std::get<LeaseExtensions>(d).edge, "edge-1");
  EXPECT_EQ(std::get<LeaseExtensions>(d).items, b.items);
  auto r = decode_extend_reply(encode_extend_reply({7, 2}));
  ASSERT_TRUE(std::holds_alternative<ExtendReply>(r));
  EXPECT_EQ(std::get<ExtendReply>(r).extended, 7u);
  EXPECT_EQ(std::get<ExtendReply>(r).refused, 2u);
}

TEST(WriteProtocol, MalformedLeaseExtensionsAreRefused) {
  const std::string hex = to_hex(sha256("A"));
  const std::string ok = R"({"license":")" + hex + R"(","machineId":"m","at":1700000000})";
  std::string too_many = R"({"extensions":[)";
  for (std::size_t i = 0; i <= kMaxLeaseExtensions; ++i) too_many += (i ? "," : "") + ok;
  too_many += "]}";
  const std::vector<std::string> bad = {
      "",
      "[]",
      "{}",
      R"({"extensions":{}})",
      R"({"extensions":[1]})",
      R"({"extensions":[{"machineId":"m","at":1}]})",
      R"({"extensions":[{"license":")" + hex + R"(","at":1}]})",
      R"({"extensions":[{"license":")" + hex + R"(","machineId":"m"}]})",
      R"({"extensions":[{"license":")" + hex + R"(","machineId":"","at":1}]})",
      R"({"extensions":[{"license":")" + hex + R"(","machineId":"m","at":-5}]})",
      R"({"extensions":[{"license":")" + hex + R"(","machineId":"m","at":"now"}]})",
      R"({"extensions":[{"license":"zz","machineId":"m","at":1}]})",
      R"({"extensions":[{"license":")" + hex + R"(","machineId":")" + std::string(300, 'm') +
          R"(","at":1}]})",
      R"({"edge":7,"extensions":[]})",
      too_many,
  };
  for (const auto& json : bad) {
    EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_lease_extensions(json)))
        << json.substr(0, 120);
  }
  EXPECT_TRUE(std::holds_alternative<LeaseExtensions>(
      decode_lease_extensions(R"({"extensions":[)" + ok + "]}")));
  for (const auto* reply : {"", "{}", R"({"extended":1})", R"({"extended":-1,"refused":0})",
                            R"({"extended":"1","refused":0})"}) {
    EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_extend_reply(reply))) << reply;
  }
}

}  // namespace
}  // namespace le::core
