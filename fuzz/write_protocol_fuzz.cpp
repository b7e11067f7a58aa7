// The NATS write protocol between edges and primaries, both directions (the first byte picks
// command or reply): what decodes re-encodes to a message that decodes to the same encoding.
#include <cstdint>
#include <string_view>

#include "core/write_protocol.h"
#include "fuzz_check.h"

using namespace le::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto c = decode_write_command(in);
    if (auto* cmd = std::get_if<WriteCommand>(&c)) {
      const std::string once = encode_write_command(*cmd);
      auto again = decode_write_command(once);
      FUZZ_CHECK(std::holds_alternative<WriteCommand>(again));
      FUZZ_CHECK(encode_write_command(std::get<WriteCommand>(again)) == once);
    } else {
      FUZZ_CHECK(!std::get<DecodeError>(c).message.empty());
    }
  } else {
    auto r = decode_write_reply(in);
    if (auto* reply = std::get_if<WriteReply>(&r)) {
      const std::string once = encode_write_reply(*reply);
      auto again = decode_write_reply(once);
      FUZZ_CHECK(std::holds_alternative<WriteReply>(again));
      FUZZ_CHECK(encode_write_reply(std::get<WriteReply>(again)) == once);
    } else {
      FUZZ_CHECK(!std::get<DecodeError>(r).message.empty());
    }
  }
  return 0;
}
