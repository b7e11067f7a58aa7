#include "core/hll.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace le::core {
namespace {

// Sparse entries take 4 bytes, a dense register 1: past this many the dense form is smaller.
constexpr std::size_t kSparseMax = Hll::kRegisters / 4;

std::uint64_t fmix64(std::uint64_t k) {  // MurmurHash3's finalizer
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  return k ^ (k >> 33);
}

// Ertl's σ and τ (2017, algorithm 6).
double sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0;
  double z = x;
  for (;;) {
    x *= x;
    const double prev = z;
    z += x * y;
    y += y;
    if (z == prev) return z;
  }
}

double tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  for (;;) {
    x = std::sqrt(x);
    const double prev = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
    if (z == prev) return z / 3.0;
  }
}

}  // namespace

std::uint64_t hll_hash(std::string_view item) {
  static_assert(std::endian::native == std::endian::little, "the hash reads words little-endian");
  // 8 bytes at a time through MurmurHash3's finalizer, seeded with the length.
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ item.size();
  std::size_t i = 0;
  for (; i + 8 <= item.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, item.data() + i, 8);
    h = fmix64(h ^ word) * 0x9e3779b97f4a7c15ULL;
  }
  // The last 0…7 bytes as a little-endian number, read in fixed-size loads (two that may overlap)
  // rather than a memcpy of variable length, whose bytewise stores the 8-byte read then waits for.
  const std::size_t n = item.size() - i;
  const auto* p = reinterpret_cast<const unsigned char*>(item.data() + i);
  std::uint64_t tail = 0;
  if (n >= 4) {
    std::uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    tail = lo | std::uint64_t{hi} << (8 * (n - 4));
  } else if (n > 0) {
    tail = std::uint64_t{p[0]} | std::uint64_t{p[n / 2]} << (8 * (n / 2)) |
           std::uint64_t{p[n - 1]} << (8 * (n - 1));
  }
  return fmix64(h ^ tail ^ (std::uint64_t{n} << 56));
}

std::uint32_t Hll::register_of(std::uint64_t h) {
  const auto index = static_cast<std::uint32_t>(h >> (64 - kPrecision));
  const std::uint64_t rest = h << kPrecision;
  const unsigned rank =
      rest == 0 ? kMaxRank : std::min<unsigned>(kMaxRank, std::countl_zero(rest) + 1);
  return index << 8 | rank;
}

void Hll::set(std::uint32_t index, std::uint8_t rank) {
  if (dense_) {
    registers_[index] = std::max(registers_[index], rank);
    return;
  }
  const std::uint32_t entry = index << 8 | rank;
  auto it = std::lower_bound(sparse_.begin(), sparse_.end(), index << 8);
  if (it != sparse_.end() && (*it >> 8) == index) {
    *it = std::max(*it, entry);
    return;
  }
  sparse_.insert(it, entry);
  if (sparse_.size() > kSparseMax) densify();
}

void Hll::densify() {
  registers_.assign(kRegisters, 0);
  for (std::uint32_t e : sparse_) registers_[e >> 8] = static_cast<std::uint8_t>(e & 0xff);
  sparse_.clear();
  dense_ = true;
}

void Hll::merge(const Hll& other) {
  if (other.dense_) {
    if (!dense_) densify();
    for (std::size_t i = 0; i < kRegisters; ++i) {
      registers_[i] = std::max(registers_[i], other.registers_[i]);
    }
    return;
  }
  for (std::uint32_t e : other.sparse_) set(e >> 8, static_cast<std::uint8_t>(e & 0xff));
}

std::uint64_t Hll::estimate() const {
  // C[k]: how many registers hold rank k.
  std::array<double, kMaxRank + 1> c{};
  if (dense_) {
    for (std::uint8_t r : registers_) c[r] += 1;
  } else {
    c[0] = static_cast<double>(kRegisters - sparse_.size());
    for (std::uint32_t e : sparse_) c[e & 0xff] += 1;
  }
  constexpr double m = kRegisters;
  constexpr unsigned q = 64 - kPrecision;
  double z = m * tau(1.0 - c[q + 1] / m);
  for (unsigned k = q; k >= 1; --k) z = 0.5 * (z + c[k]);
  z += m * sigma(c[0] / m);
  if (std::isinf(z)) return 0;  // every register empty
  const double alpha = 1.0 / (2.0 * std::log(2.0));
  return static_cast<std::uint64_t>(std::llround(alpha * m * m / z));
}

void Hll::clear() {
  dense_ = false;
  sparse_.clear();
  registers_.clear();
}

void Hll::encode(std::string& out) const {
  if (dense_) {
    out.push_back('d');
    out.append(reinterpret_cast<const char*>(registers_.data()), registers_.size());
    return;
  }
  const std::size_t start = out.size();
  out.resize(start + 1 + 3 * sparse_.size());
  char* o = out.data() + start;
  *o++ = 's';
  for (std::uint32_t e : sparse_) {
    const std::uint32_t index = e >> 8;
    *o++ = static_cast<char>(index >> 8);
    *o++ = static_cast<char>(index & 0xff);
    *o++ = static_cast<char>(e & 0xff);
  }
}

std::optional<Hll> Hll::decode(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  Hll h;
  const std::string_view body = bytes.substr(1);
  if (bytes[0] == 'd') {
    if (body.size() != kRegisters) return std::nullopt;
    h.dense_ = true;
    h.registers_.resize(kRegisters);
    for (std::size_t i = 0; i < kRegisters; ++i) {
      const auto r = static_cast<std::uint8_t>(body[i]);
      if (r > kMaxRank) return std::nullopt;
      h.registers_[i] = r;
    }
    return h;
  }
  if (bytes[0] != 's' || body.size() % 3 != 0 || body.size() / 3 > kSparseMax) {
    return std::nullopt;
  }
  h.sparse_.reserve(body.size() / 3);
  for (std::size_t i = 0; i < body.size(); i += 3) {
    const std::uint32_t index =
        static_cast<std::uint8_t>(body[i]) << 8 | static_cast<std::uint8_t>(body[i + 1]);
    const auto rank = static_cast<std::uint8_t>(body[i + 2]);
    // Indexes strictly increasing, ranks 1…kMaxRank: one canonical form per sketch.
    if (index >= kRegisters || rank == 0 || rank > kMaxRank) return std::nullopt;
    if (!h.sparse_.empty() && (h.sparse_.back() >> 8) >= index) return std::nullopt;
    h.sparse_.push_back(index << 8 | rank);
  }
  return h;
}

bool Hll::operator==(const Hll& other) const {
  if (dense_ == other.dense_) {
    return dense_ ? registers_ == other.registers_ : sparse_ == other.sparse_;
  }
  const Hll& d = dense_ ? *this : other;
  const Hll& s = dense_ ? other : *this;
  std::array<std::uint8_t, kRegisters> regs{};
  for (std::uint32_t e : s.sparse_) regs[e >> 8] = static_cast<std::uint8_t>(e & 0xff);
  return std::equal(regs.begin(), regs.end(), d.registers_.begin());
}

}  // namespace le::core
