// The change-stream decoder: whatever it accepts has a version and an id, and re-encodes to a
// message that decodes to the same event and encodes to the same text; a refusal says why.
#include <cstdint>
#include <string_view>

#include "core/change_event.h"
#include "fuzz_check.h"

using namespace le::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = decode_change_event(std::string_view(reinterpret_cast<const char*>(data), size));
  if (auto* ev = std::get_if<ChangeEvent>(&r)) {
    FUZZ_CHECK(ev->version() > 0);
    FUZZ_CHECK(!ev->id().empty());
    const std::string text = encode_change_event(*ev, true);
    auto again = decode_change_event(text);
    FUZZ_CHECK(std::holds_alternative<ChangeEvent>(again));
    const auto& ev2 = std::get<ChangeEvent>(again);
    FUZZ_CHECK(ev2.record == ev->record);
    FUZZ_CHECK(ev2.deleted == ev->deleted && ev2.seq == ev->seq && ev2.type == ev->type);
    FUZZ_CHECK(ev2.subject() == ev->subject());
    FUZZ_CHECK(encode_change_event(ev2, true) == text);
  } else {
    FUZZ_CHECK(!std::get<DecodeError>(r).message.empty());
  }
  return 0;
}
