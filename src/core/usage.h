// Usage as the edges count it (spec "Usage Tracking"; TKI "stored in the database for
// analytics"): per license and account per UTC day, validations by outcome and TKI
// authentications by outcome, the last validation, and the distinct machines, IPs and HWIDs
// seen (core/hll.h); TKI authentication attempts as records; blacklist hits per entry.
//
// What is attributed to whom:
//  - a validation of an existing license counts for the license and its account; a validation
//    under an API key of a key its account does not hold counts for the account alone
//    (license_id empty), as NOT_FOUND; a public validation of an unknown key counts nowhere;
//  - a TKI authentication under a valid API key counts for the key's account, and for the
//    license when the key names one of the account's; one without a valid API key has no
//    account to show it to and is counted only in the edge's metrics.
//
// The tallies are what one edge I/O thread collects between two flushes: bounded (an entry or
// record beyond the bound is refused, and the caller counts it as dropped), cleared and reused
// without freeing their memory, so a steady flow of requests does not allocate.
//
// Thread-safety: none; each tally belongs to one thread at a time.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/hll.h"
#include "core/model.h"
#include "core/slot_index.h"
#include "core/tki.h"
#include "core/validate.h"

namespace le::core {

// A validation's outcome: the spec's codes, DOMAIN_MISMATCH (a 403) included.
enum class UsageOutcome : std::uint8_t {
  kValid,
  kNotFound,
  kExpired,
  kSuspended,
  kRevoked,
  kProductMismatch,
  kMachineNotActivated,
  kDomainMismatch,
};
inline constexpr std::size_t kUsageOutcomeCount = 8;
std::string_view to_string(UsageOutcome o);
std::optional<UsageOutcome> usage_outcome_from_string(std::string_view s);
UsageOutcome usage_outcome(ValidationCode c);

// A TKI authentication's outcome, one per TkiStatus ("SUCCESS", "EXPIRED", "MAX_IPS", …); a
// binding the primary could not be reached for is "BINDING_UNAVAILABLE".
inline constexpr std::size_t kTkiOutcomeCount = 16;
std::string_view tki_outcome_name(TkiStatus s);
std::optional<TkiStatus> tki_outcome_from_string(std::string_view s);

// Bounds of the strings a usage entry or an auth record carries. Ids longer than this name
// nothing; free text (product, version, User-Agent, HWID) is cut to it.
inline constexpr std::size_t kMaxUsageIdBytes = 128;
inline constexpr std::size_t kMaxAuthTextBytes = 256;
// Counts saturate at 2^53 - 1 (exact as a JSON number in every client).
inline constexpr std::uint64_t kMaxUsageCount = (std::uint64_t{1} << 53) - 1;
inline std::uint64_t saturating_sum(std::uint64_t a, std::uint64_t b) {
  return a + b < a || a + b > kMaxUsageCount ? kMaxUsageCount : a + b;
}

// `text` made fit to store and show: at most `max` bytes, cut at a character boundary; when it
// is not valid UTF-8, every byte outside printable ASCII becomes '?'.
void append_clean_text(std::string& out, std::string_view text, std::size_t max);

// One license (or, license_id empty, an account's validations of keys it does not hold) on one
// UTC day (days since 1970-01-01).
struct UsageCount {
  std::string account_id;
  Mode mode = Mode::kLive;
  std::string license_id;
  std::string product_id;  // the license's; empty without a license
  std::int32_t day = 0;
  std::array<std::uint64_t, kUsageOutcomeCount> validations{};
  std::array<std::uint64_t, kTkiOutcomeCount> auths{};
  std::int64_t last_validated_ms = 0;  // 0: no validation counted
  Hll machines, ips, hwids;

  // Adds `other`'s counts (same key) into this: sums, the later last validation, the unions.
  void merge(const UsageCount& other);
  bool operator==(const UsageCount&) const = default;
};

// What one edge I/O thread counts between two flushes, one entry per (account, mode, license,
// day). Counting is on the validation's path and nearly every validation may be a license not
// seen since the last flush, so an entry is laid out to touch little memory: 128 bytes in the
// order first counted (written in sequence), its ids appended to one arena, an interval's
// counts in 32 bits (saturating), TKI outcomes in a side table only for entries that have any,
// and its sketches' first registers inline — a license seen on a machine or two never gets a
// sketch of its own. get() gives the entry as a UsageCount, for the report.
class UsageTally {
 public:
  // Distinct values an entry counts (UsageCount::machines, ips, hwids).
  enum class Distinct : std::uint8_t { kMachines, kIps, kHwids };

  // A few sketch registers inline, or the position of a sketch in the tally's pool.
  struct SmallSketch {
    static constexpr std::uint32_t kNone = ~std::uint32_t{0};
    std::array<std::uint32_t, 2> registers{};  // Hll::register_of(), [0, size) set
    std::uint32_t pooled = kNone;
    std::uint8_t size = 0;
  };
  struct alignas(64) Entry {
    static constexpr std::uint32_t kNoAuths = ~std::uint32_t{0};
    std::uint64_t hash = 0;
    std::uint32_t ids = 0;  // arena offset of account, license, product, one after the other
    std::uint8_t account_bytes = 0, license_bytes = 0, product_bytes = 0;
    Mode mode = Mode::kLive;
    std::int32_t day = 0;
    std::uint32_t auths = kNoAuths;  // position in the auth-outcome table
    std::int64_t last_validated_ms = 0;
    std::array<std::uint32_t, kUsageOutcomeCount> validations{};
    std::array<SmallSketch, 3> distinct{};
  };
  static_assert(sizeof(Entry) == 128);

  // At most 2^24 - 2 entries, whatever `max_entries` says.
  explicit UsageTally(std::size_t max_entries);

  // The hash of an entry's id — its license's, or its account's for the account's own entry —
  // which prefetch() and entry() take, so a caller that does both hashes the id once.
  static std::uint64_t id_hash(std::string_view account, std::string_view license) {
    return hll_hash(license.empty() ? account : license);
  }
  // The entry of (account, mode, license, day), added (with `product`) when new; nullptr when
  // it is new and the tally holds max_entries() already, or an id is over kMaxUsageIdBytes.
  // `id_hash` is id_hash(account, license).
  Entry* entry(std::uint64_t id_hash, std::string_view account, Mode mode, std::string_view license,
               std::string_view product, std::int32_t day);
  Entry* entry(std::string_view account, Mode mode, std::string_view license,
               std::string_view product, std::int32_t day) {
    return entry(id_hash(account, license), account, mode, license, product, day);
  }
  // Starts loading what entry() of that key reads first (SlotIndex::prefetch) and, were the key
  // new, the entry it would write.
  void prefetch(std::uint64_t id_hash, Mode mode, bool has_license, std::int32_t day) const {
    index_.prefetch(hash(id_hash, mode, has_license, day));
    if (size_ < entries_.size()) prefetch_for_write(entries_[size_]);
  }

  static void count_validation(Entry& e, UsageOutcome o, std::int64_t at_ms) {
    auto& n = e.validations[static_cast<std::size_t>(o)];
    n += n != ~std::uint32_t{0};
    e.last_validated_ms = std::max(e.last_validated_ms, at_ms);
  }
  void count_auth(Entry& e, TkiStatus s);
  void add_distinct(Entry& e, Distinct d, std::string_view item);

  // Entry `i` (in the order first counted) as a count, into `out` (whose memory it reuses).
  void get(std::size_t i, UsageCount& out) const;
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::size_t max_entries() const { return max_; }
  void clear();
  void swap(UsageTally& other) noexcept;

 private:
  std::uint64_t hash(std::uint64_t id_hash, Mode mode, bool has_license, std::int32_t day) const;
  std::string_view id(const Entry& e, std::size_t offset, std::size_t bytes) const {
    return {arena_.data() + e.ids + offset, bytes};
  }

  std::size_t max_;
  std::uint64_t seed_;
  std::vector<Entry> entries_;  // [0, size_) in use; the rest keep their memory
  std::size_t size_ = 0;
  std::string arena_;  // the entries' ids
  std::vector<std::array<std::uint32_t, kTkiOutcomeCount>> auths_;
  std::size_t auths_size_ = 0;
  std::vector<Hll> pool_;  // sketches of entries past their inline registers
  std::size_t pool_size_ = 0;
  SlotIndex index_;
};

// One TKI authentication attempt (TKI "All authentication attempts are … stored").
struct AuthAttempt {
  std::int64_t at_ms = 0;
  std::string account_id;
  Mode mode = Mode::kLive;
  std::string license_id;  // empty: the key named no license of the account
  std::string product;     // as requested
  std::string version;
  std::string ip;
  std::string hwid;
  std::string user_agent;
  TkiStatus status = TkiStatus::kSuccess;

  bool operator==(const AuthAttempt&) const = default;
};

// A bounded list of attempts whose records keep their strings' memory across clear().
class AuthLog {
 public:
  explicit AuthLog(std::size_t max_records) : max_(max_records) {}
  // The next record to fill (its fields hold an earlier record's values), nullptr when full.
  AuthAttempt* next();
  std::span<const AuthAttempt> records() const { return {records_.data(), size_}; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }
  void swap(AuthLog& other) noexcept;

 private:
  std::size_t max_;
  std::vector<AuthAttempt> records_;
  std::size_t size_ = 0;
};

// Refused attempts that matched a blacklist entry (TKI "connection attempts are counted").
struct BlacklistHit {
  std::string account_id;
  std::string entry_id;  // bl_…
  std::uint64_t attempts = 0;
  std::int64_t last_ms = 0;

  bool operator==(const BlacklistHit&) const = default;
};

class BlacklistHits {
 public:
  explicit BlacklistHits(std::size_t max_entries) : max_(max_entries) {}
  // False when the entry is new and the tally is full.
  bool add(std::string_view account, std::string_view entry, std::int64_t at_ms);
  const std::vector<BlacklistHit>& hits() const { return hits_; }
  bool empty() const { return hits_.empty(); }
  void clear();
  void swap(BlacklistHits& other) noexcept;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::size_t max_;
  std::vector<BlacklistHit> hits_;
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> index_;  // entry id →
};

}  // namespace le::core
