#include "core/codec.h"

#include <cstring>
#include <type_traits>

namespace le::core {
namespace {

constexpr std::uint8_t kFormat = 6;
constexpr std::uint8_t kOldestFormat = 2;  // still read: fields added since take their defaults
constexpr std::uint8_t kDeletedFlag = 1;
// No field of a sane record comes near this; a larger length is corruption.
constexpr std::uint64_t kMaxFieldBytes = 1 << 20;
constexpr std::uint64_t kMaxListItems = 1 << 16;

// The leases of a license's activations, stored after the fields of format 3 (appended, so
// the activations' own encoding stays as it was).
template <typename V>
struct Leases {
  V& activations;
};
template <typename V>
Leases(V&) -> Leases<V>;

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void svarint(std::int64_t v) {  // zigzag
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void str(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }
  void digest(const Digest& d) { out_.append(reinterpret_cast<const char*>(d.data()), d.size()); }
  void strings(const std::vector<std::string>& v) {
    varint(v.size());
    for (const auto& s : v) str(s);
  }

  // The field-list interface shared with Reader (see the *_fields functions below).
  void field(const std::string& v) { str(v); }
  void field(const Digest& v) { digest(v); }
  void field(const std::vector<std::string>& v) { strings(v); }
  void field(bool v) { u8(v); }
  void field(std::uint32_t v) { varint(v); }
  void field(std::int64_t v) { svarint(v); }
  template <typename E>
  requires std::is_enum_v<E>
  void field(E v, std::uint8_t /*max*/) { u8(static_cast<std::uint8_t>(v)); }
  // A field added in `format`: always written.
  template <typename T>
  void field_since(std::uint8_t /*format*/, const T& v, const T& /*fallback*/) {
    field(v);
  }
  void field(const std::vector<Activation>& v) {
    varint(v.size());
    for (const auto& a : v) {
      str(a.machine_id);
      str(a.label);
      svarint(a.activated_at);
    }
  }
  void field(Leases<const std::vector<Activation>> l) {
    for (const auto& a : l.activations) svarint(a.lease_expires_at);
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }
  std::uint8_t format = kFormat;  // of the record being read (read_header sets it)

  std::uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1)) return 0;
      auto b = static_cast<std::uint8_t>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok_ = false;
    return 0;
  }
  std::int64_t svarint() {
    std::uint64_t z = varint();
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  template <typename E>
  E enumeration(std::uint8_t max) {
    std::uint8_t v = u8();
    if (v > max) ok_ = false;
    return static_cast<E>(ok_ ? v : 0);
  }
  bool boolean() {
    std::uint8_t v = u8();
    if (v > 1) ok_ = false;
    return v == 1;
  }
  std::uint32_t u32() {
    std::uint64_t v = varint();
    if (v > UINT32_MAX) ok_ = false;
    return static_cast<std::uint32_t>(v);
  }
  void str(std::string& out) {
    std::uint64_t n = varint();
    if (!ok_ || n > kMaxFieldBytes || !need(n)) {
      ok_ = false;
      return;
    }
    out.assign(in_.data() + pos_, n);
    pos_ += n;
  }
  void digest(Digest& d) {
    if (!need(d.size())) return;
    std::memcpy(d.data(), in_.data() + pos_, d.size());
    pos_ += d.size();
  }
  // A list length; bounded by what the remaining bytes could hold (each item takes >= 1 byte).
  std::uint64_t count() {
    std::uint64_t n = varint();
    if (!ok_ || n > kMaxListItems || n > in_.size() - pos_) {
      ok_ = false;
      return 0;
    }
    return n;
  }
  void strings(std::vector<std::string>& v) {
    v.resize(count());
    for (auto& s : v) str(s);
  }

  // The field-list interface shared with Writer.
  void field(std::string& v) { str(v); }
  void field(Digest& v) { digest(v); }
  void field(std::vector<std::string>& v) { strings(v); }
  void field(bool& v) { v = boolean(); }
  void field(std::uint32_t& v) { v = u32(); }
  void field(std::int64_t& v) { v = svarint(); }
  template <typename E>
  requires std::is_enum_v<E>
  void field(E& v, std::uint8_t max) { v = enumeration<E>(max); }
  // A field added in `since`: absent from older records, which take `fallback`.
  template <typename T>
  void field_since(std::uint8_t since, T& v, const T& fallback) {
    if (format >= since) {
      field(v);
    } else {
      v = fallback;
    }
  }
  void field(std::vector<Activation>& v) {
    v.resize(count());
    for (auto& a : v) {
      str(a.machine_id);
      str(a.label);
      a.activated_at = svarint();
    }
  }
  // Each activation's lease, in the activations' order (format 4 on; 0 before).
  void field(Leases<std::vector<Activation>> l) {
    for (auto& a : l.activations) a.lease_expires_at = svarint();
  }
  void field_since(std::uint8_t since, Leases<std::vector<Activation>> l,
                   Leases<std::vector<Activation>>) {
    if (format >= since) {
      field(l);
    } else {
      for (auto& a : l.activations) a.lease_expires_at = 0;
    }
  }

 private:
  bool need(std::uint64_t n) {
    if (!ok_ || n > in_.size() - pos_) ok_ = false;
    return ok_;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

void write_header(Writer& w, std::uint64_t version, bool deleted) {
  w.u8(kFormat);
  w.u8(deleted ? kDeletedFlag : 0);
  w.varint(version);
}

bool read_header(Reader& r, StoredHeader& h) {
  r.format = r.u8();
  if (r.format < kOldestFormat || r.format > kFormat) return false;
  std::uint8_t flags = r.u8();
  if (flags & ~kDeletedFlag) return false;
  h.deleted = flags & kDeletedFlag;
  h.version = r.varint();
  return r.ok();
}

template <typename Rec, typename Body>
std::string encode_with(const Rec& rec, bool deleted, Body body) {
  std::string out;
  out.reserve(128);
  Writer w(out);
  write_header(w, rec.version, deleted);
  body(w);
  return out;
}

template <typename Rec, typename Body>
bool decode_with(std::string_view bytes, Rec& out, StoredHeader& h, Body body) {
  Reader r(bytes);
  if (!read_header(r, h)) return false;
  // Every field is assigned by `body`, so decoding into a reused record keeps its strings'
  // capacity instead of freeing and reallocating them.
  out.version = h.version;
  body(r);
  return r.ok() && r.at_end();
}

}  // namespace

std::optional<StoredHeader> peek_header(std::string_view bytes) {
  Reader r(bytes);
  StoredHeader h;
  if (!read_header(r, h)) return std::nullopt;
  return h;
}

// One field list per record, walked by Writer (encode) and Reader (decode): the two directions
// cannot drift apart. `R` is the record, const for encoding. Order is the stored format: append
// new fields at the end and bump kFormat.
template <typename IO, typename R>
void account_fields(IO& io, R& a) {
  io.field(a.id);
  io.field(a.plan, 4);
  io.field(a.tki_require_hwid);
  io.field(a.tki_rate_limit);
}

template <typename IO, typename R>
void api_key_fields(IO& io, R& k) {
  io.field(k.id);
  io.field(k.digest);
  io.field(k.account_id);
  io.field(k.mode, 1);
  io.field(k.revoked);
}

template <typename IO, typename R>
void product_fields(IO& io, R& p) {
  io.field(p.id);
  io.field(p.account_id);
  io.field(p.name);
  io.field(p.platforms);
  io.field(p.tki_versions);
  io.field(p.metadata_json);
  io.field_since(3, p.offline_grace_hours, kDefaultOfflineGraceHours);
  io.field_since(4, p.lease_seconds, kDefaultLeaseSeconds);
  io.field_since(5, p.plans_json, std::string("[]"));
}

template <typename IO, typename R>
void license_fields(IO& io, R& l) {
  io.field(l.id);
  io.field(l.key_digest);
  io.field(l.account_id);
  io.field(l.product_id);
  io.field(l.mode, 1);
  io.field(l.type, 3);
  io.field(l.status, 3);
  io.field(l.expires_at);
  io.field(l.max_activations);
  io.field(l.activations);
  io.field(l.allowed_domains);
  io.field(l.metadata_json);
  io.field(l.max_ips);
  io.field(l.max_hwids);
  io.field(l.ips);
  io.field(l.hwids);
  io.field(l.staff);
  io.field(l.discord_id);
  io.field(l.discord_username);
  io.field(l.discord_tag);
  io.field(l.created_at);
  io.field(l.email);
  io.field_since(3, l.offline_grace_hours, std::int64_t{-1});
  io.field_since(4, l.lease_seconds, std::uint32_t{0});
  io.field_since(4, Leases{l.activations}, Leases{l.activations});
  io.field_since(6, l.plan_id, std::string{});
}

template <typename IO, typename R>
void blacklist_fields(IO& io, R& b) {
  io.field(b.id);
  io.field(b.account_id);
  io.field(b.kind, 2);
  io.field(b.value);
}

#define LE_RECORD_CODEC(Type, fields)                                    \
  std::string encode_record(const Type& r, bool deleted) {               \
    return encode_with(r, deleted, [&](Writer& w) { fields(w, r); });    \
  }                                                                      \
  bool decode_record(std::string_view bytes, Type& r, StoredHeader& h) { \
    return decode_with(bytes, r, h, [&](Reader& rd) { fields(rd, r); }); \
  }

LE_RECORD_CODEC(AccountRecord, account_fields)
LE_RECORD_CODEC(ApiKeyRecord, api_key_fields)
LE_RECORD_CODEC(ProductRecord, product_fields)
LE_RECORD_CODEC(LicenseRecord, license_fields)
LE_RECORD_CODEC(BlacklistEntry, blacklist_fields)
#undef LE_RECORD_CODEC

}  // namespace le::core
