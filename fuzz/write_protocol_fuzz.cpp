// The NATS write protocol between edges and primaries, both directions (the first byte picks
// command, reply, lease extension batch or its reply): what decodes honours the protocol's rules
// and re-encodes to a message that decodes to the same encoding. A decoded reply maps to an HTTP
// answer: 200 exactly for an activation with the license's state, else the reply's own refusal
// or a 500; Retry-After only with a 429 or a full pool of floating seats.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/write_protocol.h"
#include "fuzz_check.h"

using namespace le::core;

namespace {

void check_command(const WriteCommand& cmd) {
  if (cmd.op == WriteOp::kBind) {
    FUZZ_CHECK(cmd.api_key.has_value() && !(cmd.ip.empty() && cmd.hwid.empty()));
  } else {
    FUZZ_CHECK(!cmd.machine_id.empty());
  }
  const std::string once = encode_write_command(cmd);
  auto again = decode_write_command(once);
  FUZZ_CHECK(std::holds_alternative<WriteCommand>(again));
  const auto& cmd2 = std::get<WriteCommand>(again);
  FUZZ_CHECK(cmd2.op == cmd.op && cmd2.api_key == cmd.api_key && cmd2.mode == cmd.mode);
  FUZZ_CHECK(cmd2.license == cmd.license && cmd2.machine_id == cmd.machine_id);
  FUZZ_CHECK(cmd2.label == cmd.label && cmd2.ip == cmd.ip && cmd2.hwid == cmd.hwid);
  FUZZ_CHECK(encode_write_command(cmd2) == once);
}

void check_reply(const WriteReply& reply) {
  FUZZ_CHECK(int(reply.ok()) + int(reply.error.has_value()) + int(reply.tki.has_value()) == 1);
  FUZZ_CHECK(!(reply.activation && reply.bind));
  if (reply.error) {
    FUZZ_CHECK(reply.error->http_status >= 400 && reply.error->http_status <= 599);
    FUZZ_CHECK(!reply.error->code.empty());
  }
  if (reply.license) FUZZ_CHECK(reply.license->kind() == EntityKind::kLicense);
  const std::string once = encode_write_reply(reply);
  auto again = decode_write_reply(once);
  FUZZ_CHECK(std::holds_alternative<WriteReply>(again));
  const auto& reply2 = std::get<WriteReply>(again);
  FUZZ_CHECK(encode_write_reply(reply2) == once);

  std::string body;
  const WriteAnswer answer = write_activation_answer(body, reply, "machine", 1'700'000'000);
  FUZZ_CHECK(!body.empty() && body.front() == '{' && body.back() == '}');
  const bool success = !reply.error && reply.activation && reply.license;
  FUZZ_CHECK((answer.status == 200) == success);
  if (reply.error) {
    if (reply.error->code == "RATE_LIMITED") {
      FUZZ_CHECK(answer.status == 429 && answer.retry_after_s >= 1);
    } else {
      FUZZ_CHECK(answer.status == static_cast<unsigned>(reply.error->http_status));
    }
  } else if (!success) {
    FUZZ_CHECK(answer.status == 500);
  }
  if (answer.status != 429) {
    const bool full_pool = reply.error && reply.error->code == "ACTIVATION_LIMIT_REACHED";
    FUZZ_CHECK(answer.retry_after_s == (full_pool ? reply.retry_after_s : 0));
  }
}

void check_extensions(const LeaseExtensions& b) {
  FUZZ_CHECK(b.items.size() <= kMaxLeaseExtensions);
  for (const auto& e : b.items) {
    FUZZ_CHECK(!e.machine_id.empty() && e.machine_id.size() <= kMaxMachineIdBytes && e.at > 0);
  }
  const std::string once = encode_lease_extensions(b);
  auto again = decode_lease_extensions(once);
  FUZZ_CHECK(std::holds_alternative<LeaseExtensions>(again));
  FUZZ_CHECK(std::get<LeaseExtensions>(again).items == b.items);
  FUZZ_CHECK(encode_lease_extensions(std::get<LeaseExtensions>(again)) == once);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 4 == 2) {
    auto b = decode_lease_extensions(in);
    if (auto* batch = std::get_if<LeaseExtensions>(&b)) check_extensions(*batch);
    auto r = decode_extend_reply(in);
    if (auto* reply = std::get_if<ExtendReply>(&r)) {
      auto again = decode_extend_reply(encode_extend_reply(*reply));
      FUZZ_CHECK(std::holds_alternative<ExtendReply>(again));
      FUZZ_CHECK(std::get<ExtendReply>(again).extended == reply->extended &&
                 std::get<ExtendReply>(again).refused == reply->refused);
    }
  } else if (data[0] % 2 == 0) {
    auto c = decode_write_command(in);
    if (auto* cmd = std::get_if<WriteCommand>(&c)) {
      check_command(*cmd);
    } else {
      FUZZ_CHECK(!std::get<DecodeError>(c).message.empty());
    }
  } else {
    auto r = decode_write_reply(in);
    if (auto* reply = std::get_if<WriteReply>(&r)) {
      check_reply(*reply);
    } else {
      FUZZ_CHECK(!std::get<DecodeError>(r).message.empty());
    }
  }
  return 0;
}
