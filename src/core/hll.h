// HyperLogLog: the number of distinct machines, IPs and HWIDs a license was seen with, counted
// approximately in a few bytes however many there are, and mergeable — each edge thread counts
// its own and the primary merges them (a union of the sets, not a sum).
//
// 2^12 registers (precision 12), a 64-bit hash, and Ertl's improved estimator ("New
// cardinality estimation algorithms for HyperLogLog sketches", 2017), which needs no bias
// tables. The relative standard error is 1.04 / sqrt(4096) ≈ 1.6 % over the whole range; below
// a few hundred distinct items the estimate is practically exact (it is linear counting over
// 4096 registers: two items collide with probability 1/4096).
//
// Sparse while few registers are set (a sorted list of (register, rank), 4 bytes each), dense
// (one byte per register) once the list would be larger. Most licenses are seen from a machine
// or two, so most sketches are a few bytes.
//
// The encoding (encode()/decode()): byte 's', then the set registers as (index: 2 bytes BE,
// rank: 1 byte), in increasing index order; or byte 'd', then 4096 ranks. decode() validates it
// and never throws.
//
// Thread-safety: none; a sketch is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace le::core {

// The 64-bit hash every sketch uses (a fixed function: sketches from different processes merge).
std::uint64_t hll_hash(std::string_view item);

class Hll {
 public:
  static constexpr unsigned kPrecision = 12;
  static constexpr std::size_t kRegisters = std::size_t{1} << kPrecision;
  static constexpr unsigned kMaxRank = 64 - kPrecision + 1;
  // The relative standard error of estimate().
  static constexpr double kStandardError = 1.04 / 64.0;

  void add(std::string_view item) { add_hash(hll_hash(item)); }
  void add_hash(std::uint64_t h) { add_register(register_of(h)); }
  // The register a hash sets, packed as (index << 8 | rank); a sketch is the maximum rank per
  // index of the registers added, so a caller may keep a few packed registers and add them later.
  static std::uint32_t register_of(std::uint64_t h);
  void add_register(std::uint32_t packed) { set(packed >> 8, static_cast<std::uint8_t>(packed)); }
  // The union of both sketches' items.
  void merge(const Hll& other);
  std::uint64_t estimate() const;

  bool empty() const { return !dense_ && sparse_.empty(); }
  bool dense() const { return dense_; }
  // Empties the sketch, keeping its memory.
  void clear();

  void encode(std::string& out) const;  // appends
  static std::optional<Hll> decode(std::string_view bytes);
  // The largest encoding: 1 + kRegisters bytes.
  static constexpr std::size_t kMaxEncodedBytes = 1 + kRegisters;

  bool operator==(const Hll& other) const;

 private:
  void set(std::uint32_t index, std::uint8_t rank);
  void densify();

  bool dense_ = false;
  // Sparse: (index << 8 | rank), sorted by index, one per set register.
  std::vector<std::uint32_t> sparse_;
  std::vector<std::uint8_t> registers_;  // dense: kRegisters ranks
};

}  // namespace le::core
