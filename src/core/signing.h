// Ed25519 through OpenSSL for offline receipts: keys, signatures, the X.509 certificate a root
// key issues for an edge's key, and the base64 forms JOSE uses.
//
// A receipt is a compact JWS (RFC 7515) signed with EdDSA (RFC 8037) by an edge key; its header
// carries the edge's certificate (x5c), issued by a root key that only the primary holds (issuer
// CN = the root's kid). Clients verify with clients/ (see clients/README.md).
//
// Thread-safety: an Ed25519Key may sign from many threads at once (each call makes its own
// OpenSSL context); the free functions are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

typedef struct evp_pkey_st EVP_PKEY;

namespace le::core {

class Ed25519Key {
 public:
  // A fresh key from OpenSSL's CSPRNG; nullopt when OpenSSL fails.
  static std::optional<Ed25519Key> generate();
  // From the raw 32-byte private key (what the primary stores for a root).
  static std::optional<Ed25519Key> from_private(std::string_view raw);
  // A verifying-only key from the raw 32-byte public key.
  static std::optional<Ed25519Key> from_public(std::string_view raw);

  std::string public_raw() const;   // 32 bytes
  std::string private_raw() const;  // 32 bytes; empty for a verifying-only key
  // The 64-byte signature of `data`; empty when OpenSSL fails.
  std::string sign(std::string_view data) const;
  bool verify(std::string_view data, std::string_view signature) const;
  EVP_PKEY* get() const { return key_.get(); }

 private:
  struct Free {
    void operator()(EVP_PKEY* k) const;
  };
  explicit Ed25519Key(EVP_PKEY* k);
  std::shared_ptr<EVP_PKEY> key_;
};

// An X.509 v3 certificate (DER) for `subject_public` (raw Ed25519), subject CN=`subject_cn`,
// issuer CN=`issuer_kid`, valid from `not_before` to `not_after` (unix seconds), signed by
// `issuer`. Empty when OpenSSL fails.
std::string issue_certificate(const Ed25519Key& issuer, std::string_view issuer_kid,
                              std::string_view subject_public, std::string_view subject_cn,
                              std::int64_t not_before, std::int64_t not_after);

struct CertificateInfo {
  std::string subject_public;  // raw Ed25519
  std::string issuer_cn;
  std::string subject_cn;
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
};
// What a DER certificate says, when it is an Ed25519 certificate signed by `issuer` (nullptr:
// signature not checked); nullopt otherwise.
std::optional<CertificateInfo> read_certificate(std::string_view der, const Ed25519Key* issuer);

std::string base64url(std::string_view bytes);  // no padding
std::string base64(std::string_view bytes);     // standard, padded
void append_base64(std::string& out, std::string_view bytes);
std::optional<std::string> from_base64url(std::string_view text);
std::optional<std::string> from_base64(std::string_view text);

}  // namespace le::core
