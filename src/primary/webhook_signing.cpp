#include "primary/webhook_signing.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "core/digest.h"

namespace le::primary {

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  core::Digest mac{};  // SHA-256 sized
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(),
           &len) == nullptr ||
      len != mac.size()) {
    throw std::runtime_error("OpenSSL: HMAC-SHA256 failed");
  }
  return core::to_hex(mac);
}

std::string webhook_signature(std::string_view secret, std::int64_t timestamp,
                              std::string_view body) {
  std::string signed_text = std::to_string(timestamp);
  signed_text.push_back('.');
  signed_text.append(body);
  return hmac_sha256_hex(secret, signed_text);
}

}  // namespace le::primary
