// The stored-record codec, for every record kind (the first byte picks the kind): bytes either
// fail to decode or decode to a record that encodes and decodes back to itself, with the header
// peek_header() reads without a full decode.
#include <cstdint>
#include <string_view>

#include "core/codec.h"
#include "fuzz_check.h"

using namespace le::core;

namespace {

template <typename R>
void check(std::string_view bytes) {
  R out;
  StoredHeader h;
  if (!decode_record(bytes, out, h)) return;
  const auto peeked = peek_header(bytes);
  FUZZ_CHECK(peeked && peeked->version == h.version && peeked->deleted == h.deleted);
  const std::string once = encode_record(out, h.deleted);
  R again;
  StoredHeader h2;
  FUZZ_CHECK(decode_record(once, again, h2));
  FUZZ_CHECK(again == out);
  FUZZ_CHECK(h2.version == h.version && h2.deleted == h.deleted);
  FUZZ_CHECK(encode_record(again, h2.deleted) == once);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      check<AccountRecord>(bytes);
      break;
    case 1:
      check<ApiKeyRecord>(bytes);
      break;
    case 2:
      check<ProductRecord>(bytes);
      break;
    case 3:
      check<LicenseRecord>(bytes);
      break;
    default:
      check<BlacklistEntry>(bytes);
      break;
  }
  return 0;
}
