#include "core/codec.h"

#include <cstring>
#include <type_traits>

namespace le::core {
namespace {

constexpr std::uint8_t kFormat = 1;
constexpr std::uint8_t kDeletedFlag = 1;
// No field of a sane record comes near this; a larger length is corruption.
constexpr std::uint64_t kMaxFieldBytes = 1 << 20;
constexpr std::uint64_t kMaxListItems = 1 << 16;

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

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }

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
  if (r.u8() != kFormat) return false;
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

std::string encode_record(const AccountRecord& a, bool deleted) {
  return encode_with(a, deleted, [&](Writer& w) {
    w.str(a.id);
    w.u8(static_cast<std::uint8_t>(a.plan));
    w.u8(a.tki_require_hwid);
    w.u8(a.tki_rate_limit);
  });
}

bool decode_record(std::string_view bytes, AccountRecord& a, StoredHeader& h) {
  return decode_with(bytes, a, h, [&](Reader& r) {
    r.str(a.id);
    a.plan = r.enumeration<Plan>(4);
    a.tki_require_hwid = r.boolean();
    a.tki_rate_limit = r.boolean();
  });
}

std::string encode_record(const ApiKeyRecord& k, bool deleted) {
  return encode_with(k, deleted, [&](Writer& w) {
    w.str(k.id);
    w.digest(k.digest);
    w.str(k.account_id);
    w.u8(static_cast<std::uint8_t>(k.mode));
    w.u8(k.revoked);
  });
}

bool decode_record(std::string_view bytes, ApiKeyRecord& k, StoredHeader& h) {
  return decode_with(bytes, k, h, [&](Reader& r) {
    r.str(k.id);
    r.digest(k.digest);
    r.str(k.account_id);
    k.mode = r.enumeration<Mode>(1);
    k.revoked = r.boolean();
  });
}

std::string encode_record(const ProductRecord& p, bool deleted) {
  return encode_with(p, deleted, [&](Writer& w) {
    w.str(p.id);
    w.str(p.account_id);
    w.str(p.name);
    w.strings(p.platforms);
    w.strings(p.tki_versions);
    w.str(p.metadata_json);
  });
}

bool decode_record(std::string_view bytes, ProductRecord& p, StoredHeader& h) {
  return decode_with(bytes, p, h, [&](Reader& r) {
    r.str(p.id);
    r.str(p.account_id);
    r.str(p.name);
    r.strings(p.platforms);
    r.strings(p.tki_versions);
    r.str(p.metadata_json);
  });
}

std::string encode_record(const LicenseRecord& l, bool deleted) {
  return encode_with(l, deleted, [&](Writer& w) {
    w.str(l.id);
    w.digest(l.key_digest);
    w.str(l.account_id);
    w.str(l.product_id);
    w.u8(static_cast<std::uint8_t>(l.mode));
    w.u8(static_cast<std::uint8_t>(l.type));
    w.u8(static_cast<std::uint8_t>(l.status));
    w.svarint(l.expires_at);
    w.varint(l.max_activations);
    w.varint(l.activations.size());
    for (const auto& a : l.activations) {
      w.str(a.machine_id);
      w.str(a.label);
      w.svarint(a.activated_at);
    }
    w.strings(l.allowed_domains);
    w.str(l.metadata_json);
    w.varint(l.max_ips);
    w.varint(l.max_hwids);
    w.strings(l.ips);
    w.strings(l.hwids);
    w.u8(l.staff);
    w.str(l.discord_id);
    w.str(l.discord_username);
    w.str(l.discord_tag);
    w.svarint(l.created_at);
  });
}

bool decode_record(std::string_view bytes, LicenseRecord& l, StoredHeader& h) {
  return decode_with(bytes, l, h, [&](Reader& r) {
    r.str(l.id);
    r.digest(l.key_digest);
    r.str(l.account_id);
    r.str(l.product_id);
    l.mode = r.enumeration<Mode>(1);
    l.type = r.enumeration<LicenseType>(3);
    l.status = r.enumeration<LicenseStatus>(3);
    l.expires_at = r.svarint();
    l.max_activations = r.u32();
    l.activations.resize(r.count());
    for (auto& a : l.activations) {
      r.str(a.machine_id);
      r.str(a.label);
      a.activated_at = r.svarint();
    }
    r.strings(l.allowed_domains);
    r.str(l.metadata_json);
    l.max_ips = r.u32();
    l.max_hwids = r.u32();
    r.strings(l.ips);
    r.strings(l.hwids);
    l.staff = r.boolean();
    r.str(l.discord_id);
    r.str(l.discord_username);
    r.str(l.discord_tag);
    l.created_at = r.svarint();
  });
}

std::string encode_record(const BlacklistEntry& b, bool deleted) {
  return encode_with(b, deleted, [&](Writer& w) {
    w.str(b.id);
    w.str(b.account_id);
    w.u8(static_cast<std::uint8_t>(b.kind));
    w.str(b.value);
  });
}

bool decode_record(std::string_view bytes, BlacklistEntry& b, StoredHeader& h) {
  return decode_with(bytes, b, h, [&](Reader& r) {
    r.str(b.id);
    r.str(b.account_id);
    b.kind = r.enumeration<BlacklistKind>(2);
    r.str(b.value);
  });
}

}  // namespace le::core
