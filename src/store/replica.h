// The edge's local replica: RocksDB with one column family per kind of record, plus the
// applied stream sequence (`applied_seq`) stored in the same WriteBatch as the records it
// covers, so a crash at any point neither loses nor double-applies a change.
//
// Records are keyed by the SHA-256 digest of their secret (API keys, license keys) or by id;
// no plaintext secret is ever stored. Deletions are stored as tombstones carrying the version.
//
// Thread-safety: all const lookups may run concurrently from any thread. apply() may run
// concurrently with lookups; concurrent apply() calls must be serialized by the caller (one
// replication consumer per replica).
#pragma once

#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/change_event.h"
#include "core/model.h"
#include "store/keys.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Cache;
}  // namespace rocksdb

namespace le::store {

// An error from the store boundary: every rocksdb::Status is converted here, owning its text.
struct StoreError {
  std::string message;
};

[[noreturn]] void throw_exception_from_error(const StoreError& e, const boost::source_location&);

template <typename T>
using Result = boost::system::result<T, StoreError>;

struct ReplicaOptions {
  std::string path;
  std::size_t block_cache_bytes = 256u << 20;
  bool create_if_missing = true;
};

struct ApplyResult {
  std::size_t applied = 0;  // events that changed the replica
  std::size_t stale = 0;    // events not newer than the stored version: no change
  std::vector<TouchedKey> touched;  // keys whose stored value changed (for cache invalidation)
};

class Replica {
 public:
  static Result<std::unique_ptr<Replica>> open(const ReplicaOptions& options);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Lookups return nullopt for absent and deleted (tombstoned) records.
  Result<std::optional<core::AccountRecord>> account(std::string_view id) const;
  Result<std::optional<core::ApiKeyRecord>> api_key(const core::Digest& digest) const;
  Result<std::optional<core::ProductRecord>> product(std::string_view id) const;
  Result<std::optional<core::ProductRecord>> product_by_name(std::string_view account_id,
                                                             std::string_view name) const;
  Result<std::optional<core::LicenseRecord>> license(const core::Digest& key_digest) const;
  // The same lookup decoded into a caller-owned record (reusing its buffers); false when absent.
  Result<bool> license_into(const core::Digest& key_digest, core::LicenseRecord& out) const;
  Result<std::optional<core::BlacklistEntry>> blacklist(std::string_view account_id,
                                                        core::BlacklistKind kind,
                                                        std::string_view value) const;

  // Highest stream sequence whose effects are stored (0 for an empty replica).
  Result<std::uint64_t> applied_seq() const;

  // Applies events in order in one atomic write that also sets applied_seq = last_seq (when
  // last_seq > current). An event whose version is not newer than the stored one is skipped.
  Result<ApplyResult> apply(std::span<const core::ChangeEvent> events, std::uint64_t last_seq);

  // SHA-256 over every key and value of every column family, in order: two replicas with the
  // same digest hold exactly the same state.
  Result<core::Digest> content_digest(bool include_applied_seq = false) const;

  // Flushes and fully compacts every column family. After a bulk load (seeding, catch-up from
  // empty) this leaves reads one file per level instead of many overlapping L0 files, and no
  // background compaction competing with serving. Blocks for the duration.
  Result<void> compact();

  // Approximate number of live keys in a key space (RocksDB estimate).
  std::uint64_t estimate_keys(KeySpace space) const;
  // A RocksDB integer property summed over column families (e.g. "rocksdb.block-cache-usage").
  std::uint64_t int_property(std::string_view name) const;

 private:
  Replica() = default;
  rocksdb::ColumnFamilyHandle* cf(KeySpace s) const { return cfs_[static_cast<int>(s) + 1]; }
  Result<std::optional<std::string>> get_raw(KeySpace s, std::string_view key) const;
  template <typename Rec>
  Result<std::optional<Rec>> get_record(KeySpace s, std::string_view key) const;
  template <typename Rec>
  Result<bool> get_into(KeySpace s, std::string_view key, Rec& out) const;

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;  // [0] default (meta), then one per KeySpace
  std::shared_ptr<rocksdb::Cache> block_cache_;
};

}  // namespace le::store
