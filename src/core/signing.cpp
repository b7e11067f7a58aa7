#include "core/signing.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <ctime>

namespace le::core {
namespace {

struct PkeyCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string raw(EVP_PKEY* k, bool priv) {
  std::string out(32, '\0');
  std::size_t n = out.size();
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  const int ok =
      priv ? EVP_PKEY_get_raw_private_key(k, p, &n) : EVP_PKEY_get_raw_public_key(k, p, &n);
  if (ok != 1 || n != 32) return {};
  return out;
}

std::int64_t unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string name_cn(const X509_NAME* name) {
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

bool set_cn(X509_NAME* name, std::string_view cn) {
  return X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, bytes(cn),
                                    static_cast<int>(cn.size()), -1, 0) == 1;
}

constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void encode_to(std::string& out, std::string_view in, const char* alphabet, bool pad) {
  const std::size_t start = out.size();
  out.resize(start + (in.size() + 2) / 3 * 4);
  char* o = out.data() + start;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    *o++ = alphabet[(v >> 18) & 63];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = alphabet[(v >> 6) & 63];
    *o++ = alphabet[v & 63];
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    *o++ = alphabet[(v >> 18) & 63];
    *o++ = alphabet[(v >> 12) & 63];
    if (rest == 2) *o++ = alphabet[(v >> 6) & 63];
    if (pad) {
      *o++ = '=';
      if (rest == 1) *o++ = '=';
    }
  }
  out.resize(static_cast<std::size_t>(o - out.data()));
}

std::string encode(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  encode_to(out, in, alphabet, pad);
  return out;
}

std::optional<std::string> decode(std::string_view in, const char* alphabet, bool padded) {
  if (padded) {
    if (in.size() % 4 != 0) return std::nullopt;
    while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  }
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    const char* at = std::char_traits<char>::find(alphabet, 64, c);
    if (at == nullptr) return std::nullopt;
    v = (v << 6) | static_cast<unsigned>(at - alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((v >> bits) & 0xFF));
    }
  }
  if (bits > 0 && (v & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical tail
  return out;
}

}  // namespace

void Ed25519Key::Free::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }

Ed25519Key::Ed25519Key(EVP_PKEY* k) : key_(k, Free{}) {}

std::optional<Ed25519Key> Ed25519Key::generate() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (k == nullptr) return std::nullopt;
  return Ed25519Key(k);
}

std::optional<Ed25519Key> Ed25519Key::from_private(std::string_view r) {
  if (r.size() != 32) return std::nullopt;
  EVP_PKEY* k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes(r), r.size());
  if (k == nullptr) return std::nullopt;
  return Ed25519Key(k);
}

std::optional<Ed25519Key> Ed25519Key::from_public(std::string_view r) {
  if (r.size() != 32) return std::nullopt;
  EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(r), r.size());
  if (k == nullptr) return std::nullopt;
  return Ed25519Key(k);
}

std::string Ed25519Key::public_raw() const { return raw(key_.get(), false); }
std::string Ed25519Key::private_raw() const { return raw(key_.get(), true); }

std::string Ed25519Key::sign(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, PkeyCtxFree> ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  std::size_t n = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &n, bytes(data),
                     data.size()) != 1 ||
      n != 64) {
    return {};
  }
  return sig;
}

bool Ed25519Key::verify(std::string_view data, std::string_view signature) const {
  std::unique_ptr<EVP_MD_CTX, PkeyCtxFree> ctx(EVP_MD_CTX_new());
  return ctx && signature.size() == 64 &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(data),
                          data.size()) == 1;
}

std::string issue_certificate(const Ed25519Key& issuer, std::string_view issuer_kid,
                              std::string_view subject_public, std::string_view subject_cn,
                              std::int64_t not_before, std::int64_t not_after) {
  auto subject = Ed25519Key::from_public(subject_public);
  std::unique_ptr<X509, X509Free> x(X509_new());
  if (!subject || !x) return {};
  // A random 16-byte serial, positive and without a leading zero byte.
  std::string serial(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(serial.data()), 16) != 1) return {};
  serial[0] = static_cast<char>((serial[0] & 0x7F) | 0x01);
  ASN1_INTEGER* sn = X509_get_serialNumber(x.get());
  if (X509_set_version(x.get(), 2) != 1 ||
      ASN1_STRING_set(sn, serial.data(), static_cast<int>(serial.size())) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(not_after)) == nullptr ||
      X509_set_pubkey(x.get(), subject->get()) != 1 ||
      !set_cn(X509_get_subject_name(x.get()), subject_cn) ||
      !set_cn(X509_get_issuer_name(x.get()), issuer_kid) ||
      X509_sign(x.get(), issuer.get(), nullptr) <= 0) {
    return {};
  }
  const int len = i2d_X509(x.get(), nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509(x.get(), &p) != len) return {};
  return der;
}

std::optional<CertificateInfo> read_certificate(std::string_view der, const Ed25519Key* issuer) {
  const unsigned char* p = bytes(der);
  std::unique_ptr<X509, X509Free> x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x || p != bytes(der) + der.size()) return std::nullopt;
  EVP_PKEY* pub = X509_get0_pubkey(x.get());
  if (pub == nullptr || EVP_PKEY_get_id(pub) != EVP_PKEY_ED25519) return std::nullopt;
  if (issuer != nullptr && X509_verify(x.get(), issuer->get()) != 1) return std::nullopt;
  CertificateInfo info;
  info.subject_public = raw(pub, false);
  info.issuer_cn = name_cn(X509_get_issuer_name(x.get()));
  info.subject_cn = name_cn(X509_get_subject_name(x.get()));
  info.not_before = unix_time(X509_get0_notBefore(x.get()));
  info.not_after = unix_time(X509_get0_notAfter(x.get()));
  if (info.subject_public.empty()) return std::nullopt;
  return info;
}

std::string base64url(std::string_view b) { return encode(b, kB64Url, false); }
std::string base64(std::string_view b) { return encode(b, kB64, true); }
void append_base64(std::string& out, std::string_view b) { encode_to(out, b, kB64, true); }
std::optional<std::string> from_base64url(std::string_view t) { return decode(t, kB64Url, false); }
std::optional<std::string> from_base64(std::string_view t) { return decode(t, kB64, true); }

}  // namespace le::core
