#include "cache/digest_memo.h"

#include <functional>

namespace le::cache {

const core::Digest& DigestMemo::digest(std::string_view secret) {
  // Keys are ~40 bytes; a longer header value is hashed but not kept.
  if (secret.size() > kMaxKeptBytes) {
    scratch_ = core::sha256(secret);
    return scratch_;
  }
  Slot& s = slots_[std::hash<std::string_view>{}(secret) & (slots_.size() - 1)];
  if (s.used && core::constant_time_equal(s.text, secret)) {
    ++hits_;
    return s.digest;
  }
  s.digest = core::sha256(secret);
  s.text.assign(secret);
  s.used = true;
  return s.digest;
}

}  // namespace le::cache
