// Offline license receipts: verifies, without a network, a receipt an edge issued.
//
// A receipt is a compact JWS (RFC 7515) signed with Ed25519 (RFC 8037, alg "EdDSA") by the
// edge's own key. The edge's X.509 certificate travels in the header ("x5c"); it is signed with
// Ed25519 by a root key the primary publishes as a JWKS (GET /api/v1/signing-keys). The exact
// format and the order of the checks are in clients/README.md; the Python and JavaScript
// verifiers beside this one give the same reason for every input.
//
// Header-only, C++17 or later, needs only OpenSSL 3 (link OpenSSL::Crypto).
//
// verify() never throws on hostile input (std::bad_alloc aside): every refusal is a Reason.
// Thread safety: verify() keeps no state of its own and may run on several threads at once.
// An AnchorStore is not synchronized: give each thread its own, or serialize verify() calls
// that share one. Two processes sharing one FileAnchorStore may lose each other's last write.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <locale>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace license_receipt {

// In the order the checks run: the first that fails is the one reported.
enum class Reason {
  kOk,
  kMalformed,
  kUnknownRoot,
  kRootRetired,
  kBadCertificate,
  kCertificateExpired,
  kBadSignature,
  kIssuedInFuture,
  kExpired,
  kStatus,
  kAccountMismatch,
  kProductMismatch,
  kLicenseMismatch,
  kMachineMismatch,
  kNonceMismatch,
};

constexpr std::string_view reason_text(Reason reason) {
  switch (reason) {
    case Reason::kOk:
      return "ok";
    case Reason::kMalformed:
      return "malformed";
    case Reason::kUnknownRoot:
      return "unknown_root";
    case Reason::kRootRetired:
      return "root_retired";
    case Reason::kBadCertificate:
      return "bad_certificate";
    case Reason::kCertificateExpired:
      return "certificate_expired";
    case Reason::kBadSignature:
      return "bad_signature";
    case Reason::kIssuedInFuture:
      return "issued_in_future";
    case Reason::kExpired:
      return "expired";
    case Reason::kStatus:
      return "status";
    case Reason::kAccountMismatch:
      return "account_mismatch";
    case Reason::kProductMismatch:
      return "product_mismatch";
    case Reason::kLicenseMismatch:
      return "license_mismatch";
    case Reason::kMachineMismatch:
      return "machine_mismatch";
    case Reason::kNonceMismatch:
      return "nonce_mismatch";
  }
  return "malformed";
}

// What the app knows it is running as. An absent optional is not checked.
struct Expected {
  std::string account;
  std::string product;
  std::optional<std::string> license;
  std::optional<std::string> machine_id;
  std::optional<std::string> nonce;
};

// The claims of a receipt that verified. Optional claims that are absent, or not of their
// type, are empty; `json` is the payload as signed, for claims not listed here.
struct Claims {
  std::string account;
  std::string product;
  std::string license;
  std::string status;
  std::optional<std::string> type;
  std::optional<std::string> machine_id;
  std::optional<std::string> domain;
  std::optional<std::string> nonce;
  std::int64_t iat = 0;
  std::int64_t valid_until = 0;
  std::optional<std::int64_t> expires_at;
  std::optional<std::int64_t> replica_seq;
  std::optional<std::int64_t> replica_lag_ms;
  std::string json;
};

struct Result {
  Reason reason = Reason::kMalformed;
  std::optional<Claims> claims;  // set only when ok()

  bool ok() const { return reason == Reason::kOk; }
  std::string_view reason_text() const { return license_receipt::reason_text(reason); }
};

// The device's last-seen time (Unix seconds): it only moves forward, so a clock set back
// cannot bring an expired receipt back. load() returns 0 when nothing is stored.
class AnchorStore {
 public:
  virtual ~AnchorStore() = default;
  virtual std::int64_t load() = 0;
  virtual void save(std::int64_t last_seen) = 0;
};

class MemoryAnchorStore final : public AnchorStore {
 public:
  explicit MemoryAnchorStore(std::int64_t last_seen = 0) : last_seen_(last_seen) {}
  std::int64_t load() override { return last_seen_; }
  void save(std::int64_t last_seen) override { last_seen_ = last_seen; }

 private:
  std::int64_t last_seen_;
};

// Decimal seconds and a newline in one file, replaced atomically (temporary file in the same
// folder, then rename). A missing or unreadable file reads as 0; a failed write leaves the
// previous value (the verification result stands).
class FileAnchorStore final : public AnchorStore {
 public:
  explicit FileAnchorStore(std::filesystem::path path) : path_(std::move(path)) {}
  std::int64_t load() override;
  void save(std::int64_t last_seen) override;

 private:
  std::filesystem::path path_;
};

inline constexpr std::size_t kMaxTokenBytes = 16 * 1024;
inline constexpr std::int64_t kDefaultToleranceSeconds = 300;
inline constexpr std::int64_t kMaxCertificateLifetimeSeconds = 7 * 24 * 3600;

// Verifies `token` against the roots in `jwks_json` (the primary's JWKS document, as text) for
// the app described by `expected`. `now` (Unix seconds) defaults to the system clock. The anchor
// is max(now, stored last-seen); afterwards the store holds max(stored, now), and also the
// receipt's iat when it verified.
Result verify(std::string_view token, std::string_view jwks_json, const Expected& expected,
              AnchorStore& anchor_store, std::optional<std::int64_t> now = std::nullopt,
              std::int64_t tolerance_seconds = kDefaultToleranceSeconds);

namespace detail {

inline constexpr int kMaxJsonDepth = 16;
inline constexpr std::int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1, as in JavaScript

// ---- base64: strict, so one byte string has exactly one accepted text ----

inline int base64_value(char c, bool url) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == (url ? '-' : '+')) return 62;
  if (c == (url ? '_' : '/')) return 63;
  return -1;
}

// base64url (RFC 4648 §5) without padding, or standard base64 with its padding. The unused low
// bits of the last character must be zero.
inline std::optional<std::string> decode_base64(std::string_view text, bool url) {
  std::size_t pad = 0;
  if (!url) {
    if (text.size() % 4 != 0) return std::nullopt;
    while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
    text.remove_suffix(pad);
  }
  if (text.size() % 4 == 1) return std::nullopt;
  if (!url && pad != (4 - text.size() % 4) % 4) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (char c : text) {
    int value = base64_value(c, url);
    if (value < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<char>((bits >> bit_count) & 0xFF));
    }
    bits &= (1u << bit_count) - 1;
  }
  if (bits != 0) return std::nullopt;
  return out;
}

// ---- UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF) ----

inline bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t follow = 0;
    unsigned char low = 0x80, high = 0xBF;  // range of the first continuation byte
    if (c >= 0xC2 && c <= 0xDF) {
      follow = 1;
    } else if (c == 0xE0) {
      follow = 2, low = 0xA0;
    } else if (c == 0xED) {
      follow = 2, high = 0x9F;
    } else if (c >= 0xE1 && c <= 0xEF) {
      follow = 2;
    } else if (c == 0xF0) {
      follow = 3, low = 0x90;
    } else if (c == 0xF4) {
      follow = 3, high = 0x8F;
    } else if (c >= 0xF1 && c <= 0xF3) {
      follow = 3;
    } else {
      return false;
    }
    if (text.size() - i <= follow) return false;
    for (std::size_t k = 1; k <= follow; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return false;
    }
    i += follow + 1;
  }
  return true;
}

// ---- JSON (RFC 8259), as JSON.parse and Python's json read it ----
// Duplicate names: the last one wins. Nesting deeper than kMaxJsonDepth is refused. Numbers are
// doubles, like JavaScript's. A \u escape of a lone surrogate becomes its 3-byte form.

struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<Json> items;         // array elements, or object values
  std::vector<std::string> names;  // object names, parallel to items

  const Json* find(std::string_view name) const {
    if (kind != Kind::kObject) return nullptr;
    for (std::size_t i = names.size(); i-- > 0;) {
      if (names[i] == name) return &items[i];
    }
    return nullptr;
  }
  const std::string* string_member(std::string_view name) const {
    const Json* value = find(name);
    return value != nullptr && value->kind == Kind::kString ? &value->text : nullptr;
  }
};

class JsonReader {
 public:
  static std::optional<Json> parse(std::string_view text) {
    if (!valid_utf8(text)) return std::nullopt;
    JsonReader reader(text);
    Json value;
    reader.skip_space();
    if (!reader.read_value(value, 0)) return std::nullopt;
    reader.skip_space();
    if (reader.pos_ != text.size()) return std::nullopt;
    return value;
  }

 private:
  explicit JsonReader(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++pos_;
    }
  }
  bool consume(char c) {
    if (at_end() || peek() != c) return false;
    ++pos_;
    return true;
  }
  bool consume_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool read_value(Json& out, int depth) {
    if (at_end()) return false;
    switch (peek()) {
      case '{':
        return read_object(out, depth);
      case '[':
        return read_array(out, depth);
      case '"':
        out.kind = Json::Kind::kString;
        return read_string(out.text);
      case 't':
        out.kind = Json::Kind::kBool, out.boolean = true;
        return consume_word("true");
      case 'f':
        out.kind = Json::Kind::kBool, out.boolean = false;
        return consume_word("false");
      case 'n':
        out.kind = Json::Kind::kNull;
        return consume_word("null");
      default:
        return read_number(out);
    }
  }

  bool read_object(Json& out, int depth) {
    if (depth >= kMaxJsonDepth) return false;
    out.kind = Json::Kind::kObject;
    ++pos_;
    skip_space();
    if (consume('}')) return true;
    while (true) {
      skip_space();
      std::string name;
      if (at_end() || peek() != '"' || !read_string(name)) return false;
      skip_space();
      if (!consume(':')) return false;
      skip_space();
      Json value;
      if (!read_value(value, depth + 1)) return false;
      out.names.push_back(std::move(name));
      out.items.push_back(std::move(value));
      skip_space();
      if (consume('}')) return true;
      if (!consume(',')) return false;
    }
  }

  bool read_array(Json& out, int depth) {
    if (depth >= kMaxJsonDepth) return false;
    out.kind = Json::Kind::kArray;
    ++pos_;
    skip_space();
    if (consume(']')) return true;
    while (true) {
      skip_space();
      Json value;
      if (!read_value(value, depth + 1)) return false;
      out.items.push_back(std::move(value));
      skip_space();
      if (consume(']')) return true;
      if (!consume(',')) return false;
    }
  }

  bool read_hex4(std::uint32_t& out) {
    if (text_.size() - pos_ < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      int digit = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
      if (digit < 0) return false;
      out = out * 16 + static_cast<std::uint32_t>(digit);
    }
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (code >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  bool read_string(std::string& out) {
    ++pos_;  // the opening quote
    while (!at_end()) {
      char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (at_end()) return false;
      switch (text_[pos_++]) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          std::uint32_t code = 0;
          if (!read_hex4(code)) return false;
          if (code >= 0xD800 && code <= 0xDBFF && text_.substr(pos_, 2) == "\\u") {
            std::size_t mark = pos_;
            pos_ += 2;
            std::uint32_t low = 0;
            if (!read_hex4(low)) return false;
            if (low >= 0xDC00 && low <= 0xDFFF) {
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            } else {
              pos_ = mark;  // a lone high surrogate; the next escape stands alone
            }
          }
          append_utf8(out, code);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool read_digits() {
    std::size_t start = pos_;
    while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
    return pos_ > start;
  }

  bool read_number(Json& out) {
    std::size_t start = pos_;
    consume('-');
    if (consume('0')) {
      // no leading zeros
    } else if (at_end() || peek() < '1' || peek() > '9' || !read_digits()) {
      return false;
    }
    if (consume('.') && !read_digits()) return false;
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (!consume('+')) consume('-');
      if (!read_digits()) return false;
    }
    // The classic locale, whatever the app set: '.' is the decimal point. Out of range is
    // ±infinity, as in JSON.parse.
    std::istringstream stream(std::string(text_.substr(start, pos_ - start)));
    stream.imbue(std::locale::classic());
    double value = 0;
    stream >> value;
    if (stream.fail()) value = text_[start] == '-' ? -HUGE_VAL : HUGE_VAL;
    out.kind = Json::Kind::kNumber;
    out.number = value;
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// A JSON number that is a whole number JavaScript represents exactly (1.0 and 1e3 included).
inline std::optional<std::int64_t> safe_integer(const Json* value) {
  if (value == nullptr || value->kind != Json::Kind::kNumber) return std::nullopt;
  double number = value->number;
  if (!std::isfinite(number) || std::trunc(number) != number) return std::nullopt;
  if (std::fabs(number) > static_cast<double>(kMaxSafeInteger)) return std::nullopt;
  return static_cast<std::int64_t>(number);
}

inline std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  if (b > 0 && a > kMax - b) return kMax;
  if (b < 0 && a < kMin - b) return kMin;
  return a + b;
}

// ---- OpenSSL ownership ----

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct BnFree {
  void operator()(BIGNUM* number) const { BN_free(number); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Certificate = std::unique_ptr<X509, X509Free>;

inline Pkey ed25519_public_key(std::string_view raw) {
  return Pkey(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
}

inline bool ed25519_verify(EVP_PKEY* key, std::string_view message, std::string_view signature) {
  if (signature.size() != 64) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
inline std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

// A certificate time in its DER form only (RFC 5280 §4.1.2.5): UTCTime YYMMDDHHMMSSZ for the
// years 1950-2049, GeneralizedTime YYYYMMDDHHMMSSZ for the others; OpenSSL's calendar checks do
// the rest.
inline std::optional<std::int64_t> certificate_time(const ASN1_TIME* time) {
  if (time == nullptr) return std::nullopt;
  const int type = ASN1_STRING_type(time);
  const int length = ASN1_STRING_length(time);
  const unsigned char* data = ASN1_STRING_get0_data(time);
  const int digits = type == V_ASN1_UTCTIME ? 12 : type == V_ASN1_GENERALIZEDTIME ? 14 : -1;
  if (digits < 0 || length != digits + 1 || data[digits] != 'Z') return std::nullopt;
  for (int i = 0; i < digits; ++i) {
    if (data[i] < '0' || data[i] > '9') return std::nullopt;
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  const bool utc_years = tm.tm_year >= 50 && tm.tm_year < 150;  // tm_year counts from 1900
  if (utc_years != (type == V_ASN1_UTCTIME)) return std::nullopt;
  return days_from_civil(tm.tm_year + 1900, static_cast<unsigned>(tm.tm_mon + 1),
                         static_cast<unsigned>(tm.tm_mday)) *
             86400 +
         tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

// PrintableString's character set (X.680 §41.4).
inline bool printable_string(std::string_view text) {
  for (char c : text) {
    const bool alphanumeric =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alphanumeric && std::string_view(" '()+,-./:=?").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// RFC 5280 §4.1.2.2: a positive serial number (Python's cryptography warns on others, and says
// it will refuse them).
inline bool positive_serial(const X509* cert) {
  std::unique_ptr<BIGNUM, BnFree> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  return serial && !BN_is_zero(serial.get()) && !BN_is_negative(serial.get());
}

inline std::string_view string_bytes(const ASN1_STRING* value) {
  return std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                          static_cast<std::size_t>(ASN1_STRING_length(value)));
}

// Every value in the issuer and the subject is a UTF8String in UTF-8 or a PrintableString in its
// character set, as RFC 5280 §4.1.2.4 asks of CAs. Where OpenSSL's and Python's X.509 parsers
// differ on other string types, none is accepted, so the verifiers agree.
inline bool names_well_formed(X509* cert) {
  for (const X509_NAME* name : {X509_get_issuer_name(cert), X509_get_subject_name(cert)}) {
    for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
      const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
      const int type = ASN1_STRING_type(value);
      if (!(type == V_ASN1_UTF8STRING && valid_utf8(string_bytes(value))) &&
          !(type == V_ASN1_PRINTABLESTRING && printable_string(string_bytes(value)))) {
        return false;
      }
    }
  }
  return true;
}

// The root key id the issuer names: the issuer must be exactly one RDN holding one commonName.
inline std::optional<std::string> issuer_kid(X509* cert) {
  X509_NAME* issuer = X509_get_issuer_name(cert);
  if (issuer == nullptr || X509_NAME_entry_count(issuer) != 1) return std::nullopt;
  X509_NAME_ENTRY* entry = X509_NAME_get_entry(issuer, 0);
  if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry)) != NID_commonName) return std::nullopt;
  return std::string(string_bytes(X509_NAME_ENTRY_get_data(entry)));
}

// Ed25519 with its parameters absent (RFC 8410 §3), which OpenSSL 3.0 does not insist on.
inline bool is_ed25519_algorithm(const X509_ALGOR* algorithm) {
  const ASN1_OBJECT* object = nullptr;
  int parameter_type = 0;
  X509_ALGOR_get0(&object, &parameter_type, nullptr, algorithm);
  return OBJ_obj2nid(object) == NID_ED25519 && parameter_type == V_ASN1_UNDEF;
}

// Both signature algorithms, the signed one in the TBSCertificate and the outer one, are Ed25519.
inline bool signed_with_ed25519(const X509* cert) {
  const ASN1_BIT_STRING* signature = nullptr;
  const X509_ALGOR* outer = nullptr;
  X509_get0_signature(&signature, &outer, cert);
  return is_ed25519_algorithm(outer) && is_ed25519_algorithm(X509_get0_tbs_sigalg(cert));
}

struct RootKey {
  Pkey key;
  std::optional<std::int64_t> exp;
};

// The first usable entry of the JWKS with this kid: an Ed25519 OKP key whose "use" and "alg",
// when present, are "sig" and "EdDSA", and whose "exp", when present and not null, is an
// integer. Anything else in the document is passed over.
inline std::optional<RootKey> find_root(const Json& jwks, std::string_view kid) {
  const Json* keys = jwks.find("keys");
  if (keys == nullptr || keys->kind != Json::Kind::kArray) return std::nullopt;
  for (const Json& entry : keys->items) {
    const std::string* entry_kid = entry.string_member("kid");
    if (entry_kid == nullptr || *entry_kid != kid) continue;
    const std::string* kty = entry.string_member("kty");
    const std::string* crv = entry.string_member("crv");
    const std::string* x = entry.string_member("x");
    if (kty == nullptr || *kty != "OKP" || crv == nullptr || *crv != "Ed25519" || x == nullptr) {
      continue;
    }
    if (const Json* use = entry.find("use");
        use && !(use->kind == Json::Kind::kString && use->text == "sig")) {
      continue;
    }
    if (const Json* alg = entry.find("alg");
        alg && !(alg->kind == Json::Kind::kString && alg->text == "EdDSA")) {
      continue;
    }
    RootKey root;
    if (const Json* exp = entry.find("exp"); exp && exp->kind != Json::Kind::kNull) {
      root.exp = safe_integer(exp);
      if (!root.exp) continue;
    }
    std::optional<std::string> raw = decode_base64(*x, /*url=*/true);
    if (!raw || raw->size() != 32) continue;
    root.key = ed25519_public_key(*raw);
    if (!root.key) continue;
    return root;
  }
  return std::nullopt;
}

struct Token {
  std::string_view signing_input;  // BASE64URL(header) "." BASE64URL(payload)
  std::string signature;
  std::string certificate_der;
  Json claims;
  std::string payload;
};

inline bool parse_token(std::string_view token, Token& out) {
  if (token.size() > kMaxTokenBytes) return false;
  const std::size_t first = token.find('.');
  if (first == std::string_view::npos) return false;
  const std::size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return false;
  }
  std::optional<std::string> header = decode_base64(token.substr(0, first), true);
  std::optional<std::string> payload =
      decode_base64(token.substr(first + 1, second - first - 1), true);
  std::optional<std::string> signature = decode_base64(token.substr(second + 1), true);
  if (!header || !payload || !signature) return false;

  std::optional<Json> header_json = JsonReader::parse(*header);
  if (!header_json || header_json->kind != Json::Kind::kObject) return false;
  const std::string* alg = header_json->string_member("alg");
  if (alg == nullptr || *alg != "EdDSA") return false;
  // RFC 7515 §4.1.11: extensions we do not know, marked critical, must not be ignored.
  if (header_json->find("crit") != nullptr) return false;
  const Json* x5c = header_json->find("x5c");
  if (x5c == nullptr || x5c->kind != Json::Kind::kArray || x5c->items.size() != 1 ||
      x5c->items[0].kind != Json::Kind::kString) {
    return false;
  }
  std::optional<std::string> der = decode_base64(x5c->items[0].text, /*url=*/false);
  if (!der) return false;

  std::optional<Json> claims = JsonReader::parse(*payload);
  if (!claims || claims->kind != Json::Kind::kObject) return false;
  for (const char* name : {"account", "product", "license", "status"}) {
    if (claims->string_member(name) == nullptr) return false;
  }
  if (!safe_integer(claims->find("iat")) || !safe_integer(claims->find("validUntil"))) {
    return false;
  }
  out.signing_input = token.substr(0, second);
  out.signature = std::move(*signature);
  out.certificate_der = std::move(*der);
  out.claims = std::move(*claims);
  out.payload = std::move(*payload);
  return true;
}

inline std::optional<std::string> optional_string(const Json& claims, std::string_view name) {
  if (const std::string* value = claims.string_member(name)) return *value;
  return std::nullopt;
}

inline Claims to_claims(const Json& json, std::string payload) {
  Claims claims;
  claims.account = *json.string_member("account");
  claims.product = *json.string_member("product");
  claims.license = *json.string_member("license");
  claims.status = *json.string_member("status");
  claims.type = optional_string(json, "type");
  claims.machine_id = optional_string(json, "machineId");
  claims.domain = optional_string(json, "domain");
  claims.nonce = optional_string(json, "nonce");
  claims.iat = *safe_integer(json.find("iat"));
  claims.valid_until = *safe_integer(json.find("validUntil"));
  claims.expires_at = safe_integer(json.find("expiresAt"));
  claims.replica_seq = safe_integer(json.find("replicaSeq"));
  claims.replica_lag_ms = safe_integer(json.find("replicaLagMs"));
  claims.json = std::move(payload);
  return claims;
}

// An expected value the caller set must equal the claim, which must then be a string.
inline bool matches(const Json& claims, std::string_view name,
                    const std::optional<std::string>& expected) {
  if (!expected) return true;
  const std::string* value = claims.string_member(name);
  return value != nullptr && *value == *expected;
}

inline Reason check(std::string_view token_text, std::string_view jwks_json,
                    const Expected& expected, std::int64_t anchor, std::int64_t tolerance,
                    Token& token) {
  if (!parse_token(token_text, token)) return Reason::kMalformed;
  const Json& claims = token.claims;
  const std::int64_t iat = *safe_integer(claims.find("iat"));
  const std::int64_t valid_until = *safe_integer(claims.find("validUntil"));

  const auto* der = reinterpret_cast<const unsigned char*>(token.certificate_der.data());
  const unsigned char* cursor = der;
  Certificate cert(d2i_X509(nullptr, &cursor, static_cast<long>(token.certificate_der.size())));
  if (!cert || cursor != der + token.certificate_der.size() || X509_get_version(cert.get()) != 2) {
    return Reason::kBadCertificate;  // not one X.509 v3 certificate (version 3 is encoded as 2)
  }
  // What every verifier's X.509 parser can read the same way, before the issuer is looked up.
  std::optional<std::int64_t> not_before = certificate_time(X509_get0_notBefore(cert.get()));
  std::optional<std::int64_t> not_after = certificate_time(X509_get0_notAfter(cert.get()));
  if (!not_before || !not_after || !names_well_formed(cert.get()) || !positive_serial(cert.get())) {
    return Reason::kBadCertificate;
  }

  std::optional<std::string> kid = issuer_kid(cert.get());
  if (!kid) return Reason::kUnknownRoot;
  std::optional<Json> jwks = JsonReader::parse(jwks_json);
  std::optional<RootKey> root = jwks ? find_root(*jwks, *kid) : std::nullopt;
  if (!root) return Reason::kUnknownRoot;
  if (root->exp && anchor > *root->exp) return Reason::kRootRetired;

  EVP_PKEY* edge_key = X509_get0_pubkey(cert.get());
  if (!signed_with_ed25519(cert.get()) || edge_key == nullptr ||
      EVP_PKEY_base_id(edge_key) != EVP_PKEY_ED25519 ||
      X509_verify(cert.get(), root->key.get()) != 1) {
    return Reason::kBadCertificate;
  }
  if (*not_after < *not_before || *not_after - *not_before > kMaxCertificateLifetimeSeconds) {
    return Reason::kBadCertificate;
  }
  if (iat < *not_before || iat > *not_after) return Reason::kCertificateExpired;

  if (!ed25519_verify(edge_key, token.signing_input, token.signature)) {
    return Reason::kBadSignature;
  }
  if (iat > saturating_add(anchor, tolerance)) return Reason::kIssuedInFuture;
  if (anchor > valid_until) return Reason::kExpired;
  if (*claims.string_member("status") != "active") return Reason::kStatus;
  if (*claims.string_member("account") != expected.account) return Reason::kAccountMismatch;
  if (*claims.string_member("product") != expected.product) return Reason::kProductMismatch;
  if (!matches(claims, "license", expected.license)) return Reason::kLicenseMismatch;
  if (!matches(claims, "machineId", expected.machine_id)) return Reason::kMachineMismatch;
  if (!matches(claims, "nonce", expected.nonce)) return Reason::kNonceMismatch;
  return Reason::kOk;
}

// The stored text: 1 to 16 decimal digits, then optionally a newline.
inline std::int64_t parse_anchor(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.empty() || text.size() > 16) return 0;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace detail

inline std::int64_t FileAnchorStore::load() {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return 0;
  char buffer[32];
  in.read(buffer, sizeof buffer);
  return detail::parse_anchor(std::string_view(buffer, static_cast<std::size_t>(in.gcount())));
}

inline void FileAnchorStore::save(std::int64_t last_seen) {
  std::random_device random;
  std::filesystem::path temporary = path_;
  temporary += ".tmp." + std::to_string(random());
  const std::string text = std::to_string(last_seen) + "\n";
  std::FILE* file = std::fopen(temporary.string().c_str(), "wb");
  if (file == nullptr) return;
  bool written =
      std::fwrite(text.data(), 1, text.size(), file) == text.size() && std::fflush(file) == 0;
#if defined(__unix__) || defined(__APPLE__)
  // The rename must not reach the disk before the bytes it points to.
  written = written && ::fsync(::fileno(file)) == 0;
#endif
  written = std::fclose(file) == 0 && written;
  std::error_code error;
  if (written) std::filesystem::rename(temporary, path_, error);
  if (!written || error) std::filesystem::remove(temporary, error);
}

inline Result verify(std::string_view token, std::string_view jwks_json, const Expected& expected,
                     AnchorStore& anchor_store, std::optional<std::int64_t> now,
                     std::int64_t tolerance_seconds) {
  const std::int64_t clock = now ? *now
                                 : std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
  const std::int64_t stored = anchor_store.load();
  const std::int64_t anchor = std::max(clock, stored);

  detail::Token parsed;
  Result result;
  result.reason = detail::check(token, jwks_json, expected, anchor, tolerance_seconds, parsed);
  // Every call records the clock it saw, so a later call with the clock set back still measures
  // from here; a verified receipt's iat is a time the edge vouches for.
  std::int64_t last_seen = anchor;
  if (result.ok()) {
    result.claims = detail::to_claims(parsed.claims, std::move(parsed.payload));
    last_seen = std::max(last_seen, result.claims->iat);
  }
  if (last_seen > stored) anchor_store.save(last_seen);
  return result;
}

}  // namespace license_receipt
