#include "primary/ids.h"

#include <openssl/rand.h>

#include "common/log.h"
#include "primary/refusal.h"

namespace le::primary {
namespace {

void random_bytes(unsigned char* out, int n) {
  if (RAND_bytes(out, n) != 1) {
    log::error("primary", "the random generator failed");
    refuse(core::ApiError::internal());
  }
}

}  // namespace

std::string random_id(std::string_view prefix) {
  unsigned char b[8];
  random_bytes(b, sizeof b);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(prefix);
  for (unsigned char c : b) {
    id.push_back(kHex[c >> 4]);
    id.push_back(kHex[c & 0xF]);
  }
  return id;
}

std::string random_license_key() {
  static constexpr char kAlphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  unsigned char b[16];
  random_bytes(b, sizeof b);
  std::string key;
  for (int i = 0; i < 16; ++i) {
    if (i > 0 && i % 4 == 0) key.push_back('-');
    key.push_back(kAlphabet[b[i] & 31]);
  }
  return key;
}

namespace {

std::string random_secret(std::string prefix) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  unsigned char b[32];
  random_bytes(b, sizeof b);
  for (unsigned char c : b) prefix.push_back(kAlphabet[c & 63]);
  return prefix;
}

}  // namespace

std::string random_api_key(core::Mode mode) {
  return random_secret(mode == core::Mode::kLive ? "to_live_" : "to_test_");
}

std::string random_webhook_secret() { return random_secret("whsec_"); }

}  // namespace le::primary
