// The primary's durable aggregate of what edges report (core/edge_report.h): usage per license
// and account per UTC day, TKI authentication attempts, blacklist hits — in a RocksDB database
// of its own beside the system of record, so a flood of analytics never competes with
// licensing writes for the ledger's lock or compactions.
//
// Column families:
//   usage           account \0 mode-digit day (4 bytes BE) license → the day's counts, sketches
//   auth_logs       account \0 mode-digit seq (8 bytes BE) → one attempt
//   blacklist_hits  account \0 entry id → attempts (8 bytes BE), last attempt ms (8 bytes BE)
//   default         "edge\0" edge id → boot, seq of the last report applied;
//                   "authseq\0" account \0 mode-digit → the account's last auth-log seq
//
// apply() adds one report in one atomic write together with its edge's (boot, seq), and skips a
// report at or before the edge's last (a redelivery, however late): each report counts once.
// A report's `boot` earlier than the edge's last one is an edge that was restarted since — its
// late reports are skipped. (So two edges must not share an id.)
//
// Retention is RocksDB's: compaction filters drop usage days older than retention_days, and
// auth-log records older than that or beyond the newest auth_logs_per_account of their account
// and mode. Reads apply the same bounds, so what they return does not depend on when
// compaction ran. Nothing scans to delete.
//
// Key sharing: a license seen on more distinct machines or IPs in a day than
// key_sharing_threshold is flagged in that day's row; each newly flagged license-day is counted.
//
// Thread-safety: apply() and reads from any thread (one apply at a time, by its own lock).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/edge_report.h"
#include "store/record_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class CompactionFilter;
}  // namespace rocksdb

namespace le::primary {

using store::Result;
using store::StoreError;

struct UsageStoreOptions {
  std::string path;
  std::int32_t retention_days = 90;
  std::uint64_t auth_logs_per_account = 10'000;
  std::uint64_t key_sharing_threshold = 10;
  std::size_t block_cache_bytes = 32 << 20;
};

// One license's (or an account's license-less) counts on one day.
struct UsageDay {
  std::int32_t day = 0;
  std::string license_id;
  std::string product_id;
  std::array<std::uint64_t, core::kUsageOutcomeCount> validations{};
  std::array<std::uint64_t, core::kTkiOutcomeCount> auths{};
  std::int64_t last_validated_ms = 0;
  core::Hll machines, ips, hwids;
  bool key_sharing = false;

  std::uint64_t total_validations() const;
};

struct AccountUsage {
  std::vector<UsageDay> days;  // summed over licenses (license_id empty), one per day with any
  struct TopLicense {
    std::string license_id;
    std::string product_id;
    std::uint64_t validations = 0;
  };
  std::vector<TopLicense> top;  // most validations first
};

struct AuthLogFilter {
  std::optional<std::string> license_id;
  std::optional<std::string> ip;
  std::optional<bool> success;
};
struct AuthLogPage {
  std::vector<core::AuthAttempt> records;  // newest first
  std::uint64_t total = 0;                 // matching the filter
};

struct BlacklistAttempts {
  std::uint64_t attempts = 0;
  std::int64_t last_ms = 0;  // 0: none
};

enum class ApplyOutcome { kApplied, kDuplicate };

class UsageStore {
 public:
  static Result<std::unique_ptr<UsageStore>> open(const UsageStoreOptions& options,
                                                  const core::Clock& clock);
  ~UsageStore();
  UsageStore(const UsageStore&) = delete;
  UsageStore& operator=(const UsageStore&) = delete;

  Result<ApplyOutcome> apply(const core::EdgeReport& report);

  // Days [from, to] of one license that had counts, oldest first.
  Result<std::vector<UsageDay>> license_days(std::string_view account, core::Mode mode,
                                             std::string_view license, std::int32_t from,
                                             std::int32_t to) const;
  // Days [from, to] of an account, summed (optionally over one product's licenses only), and
  // its `top` most-validated licenses over the range.
  Result<AccountUsage> account_usage(std::string_view account, core::Mode mode, std::int32_t from,
                                     std::int32_t to, std::optional<std::string_view> product,
                                     std::size_t top) const;
  Result<AuthLogPage> auth_logs(std::string_view account, core::Mode mode,
                                const AuthLogFilter& filter, std::size_t offset,
                                std::size_t limit) const;
  Result<BlacklistAttempts> blacklist_attempts(std::string_view account,
                                               std::string_view entry) const;

  // Compacts every column family (retention applies). Blocks.
  Result<void> compact();
  // Rows of a column family ("usage", "auth_logs"), whatever their age: what compaction left.
  Result<std::size_t> stored_rows(std::string_view cf) const;

  const UsageStoreOptions& options() const { return options_; }
  std::int32_t today() const;
  std::uint64_t key_sharing_flags() const { return key_sharing_flags_.load(); }
  std::uint64_t auth_logs_written() const { return auth_logs_written_.load(); }

  // The newest auth-log seq of (account, mode), for the retention filter.
  std::uint64_t auth_log_head(std::string_view account_mode_prefix) const;

 private:
  UsageStore(UsageStoreOptions options, const core::Clock& clock);

  UsageStoreOptions options_;
  const core::Clock& clock_;
  // The retention filters of the usage and auth_logs column families; they outlive db_.
  std::unique_ptr<rocksdb::CompactionFilter> usage_filter_, auth_log_filter_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;  // default, usage, auth_logs, blacklist_hits
  std::mutex apply_mu_;
  mutable std::shared_mutex heads_mu_;
  std::map<std::string, std::uint64_t, std::less<>> auth_heads_;  // prefix → newest seq
  std::atomic<std::uint64_t> key_sharing_flags_{0};
  std::atomic<std::uint64_t> auth_logs_written_{0};
};

}  // namespace le::primary
