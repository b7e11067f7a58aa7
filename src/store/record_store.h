// The record store: RocksDB with one column family per kind of record (accounts, API keys,
// products, licenses, blacklist entries), the same key spaces at the edge, where it is the local
// replica of the change stream, and at the primary, where it holds the truth under the primary's
// own column families (primary/primary_store.h). Plus the applied stream sequence (`applied_seq`)
// stored in the same WriteBatch as the records it covers, so a crash at any point neither loses nor
// double-applies a change.
//
// Records are keyed by the SHA-256 digest of their secret (API keys, license keys) or by id;
// no plaintext secret is ever stored. Deletions are stored as tombstones carrying the version.
//
// Thread-safety: all const lookups may run concurrently from any thread. apply() may run
// concurrently with lookups and with other apply() calls (the replication consumer and the
// edge's write replies), which it serializes so each version check sees the last write.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/change_event.h"
#include "core/model.h"
#include "store/keys.h"
#include "store/memory_view.h"
#include "store/range_check.h"

namespace rocksdb {
class DB;
class Snapshot;
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

struct RecordStoreOptions {
  std::string path;
  std::size_t block_cache_bytes = 256u << 20;
  bool create_if_missing = true;
  // Write-ahead log. An edge following the change stream can run without it: its replica is
  // re-derivable from the stream, and with atomic flushes a crash leaves the state of the last
  // flush — records and applied_seq together — from which it resumes. Writes are then memtable
  // inserts only (1M-license catch-up here: 13.9 s with, 11.5 s without). The primary keeps it on.
  bool wal = true;
  // Serve lookups from a MemoryView of every record (memory_view.h) instead of RocksDB reads:
  // loaded at open, changed by apply(). `memory_budget_bytes` (0 = no limit) bounds it: a store
  // that does not fit is refused at open with an error saying so, rather than run out of memory.
  bool memory_view = false;
  std::size_t memory_budget_bytes = 0;
  // Column families of the user's own (e.g. the primary's outbox and indexes), after the record
  // key spaces; addressed by their index in this list. Not part of content_digest().
  std::vector<std::string> extra_column_families;
  // Opens an existing database without writing anything to its directory (--digest, --dump;
  // a read-only mount): a missing one is an error, never created.
  bool read_only = false;
  // A directory that is not empty yet holds no database (no CURRENT: a partial copy, stray
  // files) is refused, since opening it as a new database would delete its files. With
  // `rebuild` its contents are deleted instead and an empty database is made (an edge's
  // replica, re-derivable from the stream, on the operator's word).
  bool rebuild = false;
};

// A write to an extra column family, committed atomically with an apply() batch.
struct ExtraWrite {
  std::size_t cf = 0;  // index into RecordStoreOptions::extra_column_families
  std::string key;
  std::optional<std::string> value;  // nullopt deletes the key
};

struct ApplyResult {
  std::size_t applied = 0;          // events that changed the replica
  std::size_t stale = 0;            // events not newer than the stored version: no change
  std::vector<TouchedKey> touched;  // keys whose stored value changed (for cache invalidation)
};

// One key space's records as an SST file (RecordStore::export_snapshot / ingest_snapshot).
struct SnapshotFile {
  KeySpace space = KeySpace::kAccount;
  std::string path;
  std::uint64_t bytes = 0;
  std::uint64_t entries = 0;
};

struct ExportedSnapshot {
  std::vector<SnapshotFile> files;   // key spaces that hold anything, in KeySpace order
  std::optional<std::string> stamp;  // the extra column family's value at the same point
};

// The key space and key under which the record an event carries is stored.
TouchedKey record_key(const core::ChangeEvent& ev);

class RecordStore {
 public:
  static Result<std::unique_ptr<RecordStore>> open(const RecordStoreOptions& options);
  ~RecordStore();
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;

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

  // What apply() does with an event whose version is not newer than the stored one.
  enum class Stale {
    kSkip,       // skip it, apply the rest (a replica following the stream: redelivery is normal)
    kRefuseAll,  // write nothing at all (a primary's transaction: all or nothing)
  };
  // Applies events in order in one atomic write that also sets applied_seq = last_seq (when
  // last_seq > current). `extra` writes are committed in the same WriteBatch. With
  // Stale::kRefuseAll and a stale event, nothing is written and the result counts it in `stale`.
  Result<ApplyResult> apply(std::span<const core::ChangeEvent> events, std::uint64_t last_seq,
                            std::span<const ExtraWrite> extra = {}, Stale stale = Stale::kSkip);

  // The stored state of a record key including a tombstone, as an event (type left empty).
  Result<std::optional<core::ChangeEvent>> stored_event(KeySpace space, std::string_view key) const;

  // Extra column families (see RecordStoreOptions::extra_column_families).
  Result<std::optional<std::string>> get_extra(std::size_t cf, std::string_view key) const;
  Result<void> write_extra(std::span<const ExtraWrite> writes);
  using Visitor = std::function<bool(std::string_view key, std::string_view value)>;
  // Visits keys with `prefix`, from the first >= `start` (empty: from the prefix), in order,
  // until `visit` returns false.
  Result<void> scan_extra(std::size_t cf, std::string_view prefix, std::string_view start,
                          const Visitor& visit) const;
  // Visits every stored value of a record key space (tombstones included), in key order.
  Result<void> scan(KeySpace space, const Visitor& visit) const;

  // SHA-256 over every key and value of every column family, in order: two replicas with the
  // same digest hold exactly the same state.
  Result<core::Digest> content_digest(bool include_applied_seq = false) const;

  // Writes every record key space (tombstones included) as of one point in time to SST files
  // in `dir`, and reads `stamp_key` of extra column family `stamp_cf` at that same point (the
  // primary: which stream sequence the records cover). Runs beside writes and lookups.
  Result<ExportedSnapshot> export_snapshot(const std::string& dir, std::size_t stamp_cf,
                                           std::string_view stamp_key) const;
  // Replaces every record with the files written by export_snapshot (moved into the database:
  // same filesystem) and applied_seq with `seq`: what the replica held is deleted (a key space
  // without a file ends empty), the files and applied_seq are ingested in one atomic step — a
  // crash leaves the records of before, or none with applied_seq 0, or all of the snapshot —
  // then the memory view takes every change; returns how many keys changed. The caller follows
  // the stream from seq + 1. Serialized with apply().
  Result<std::uint64_t> ingest_snapshot(std::span<const SnapshotFile> files, std::uint64_t seq);
  // Puts back, from such files, the records of the given (key space, check range) pairs that
  // differ here, unless the one here is newer (a change after the snapshot); applied_seq is
  // left alone, and nothing is deleted. Returns how many keys it wrote, adding them to
  // `touched`. Serialized with apply().
  Result<std::uint64_t> repair_from_snapshot(
      std::span<const SnapshotFile> files, std::span<const std::pair<KeySpace, std::size_t>> ranges,
      std::vector<TouchedKey>& touched);

  // The self-check's digests over fixed key ranges (store/range_check.h), as of one point in
  // time. With `hold`, that point is taken while holding it and only when `proceed()` (called
  // under it) says so — nullopt otherwise; the digests are computed after it is released.
  // With `at`, the digests are of that point instead (taken earlier by read_point()).
  class ReadPoint;
  Result<std::optional<RangeDigests>> range_digests(std::mutex* hold = nullptr,
                                                    const std::function<bool()>& proceed = {},
                                                    const ReadPoint* at = nullptr) const;
  // The store as it is now, kept readable as such (a RocksDB snapshot) for work done later on
  // another thread; the store must outlive it.
  class ReadPoint {
   public:
    ~ReadPoint();
    ReadPoint(const ReadPoint&) = delete;
    ReadPoint& operator=(const ReadPoint&) = delete;

   private:
    friend class RecordStore;
    ReadPoint(rocksdb::DB* db, const rocksdb::Snapshot* snapshot) : db_(db), snapshot_(snapshot) {}
    rocksdb::DB* db_;
    const rocksdb::Snapshot* snapshot_;
  };
  std::shared_ptr<const ReadPoint> read_point() const;

  // Writes what the memtables hold to SST files, every column family at once (atomic flush):
  // without a WAL, what a crash loses is then only what was applied after it. Blocks for it.
  Result<void> flush();

  // Flushes and fully compacts every column family. After a bulk load (seeding, catch-up from
  // empty) this leaves reads one file per level instead of many overlapping L0 files, and no
  // background compaction competing with serving. Blocks for the duration.
  Result<void> compact();

  // The in-memory view, when the store was opened with one.
  const MemoryView* memory_view() const { return view_.get(); }

  // Approximate number of live keys in a key space (RocksDB estimate).
  std::uint64_t estimate_keys(KeySpace space) const;
  // A RocksDB integer property summed over column families (e.g. "rocksdb.block-cache-usage").
  std::uint64_t int_property(std::string_view name) const;

 private:
  RecordStore() = default;
  rocksdb::ColumnFamilyHandle* cf(KeySpace s) const { return cfs_[static_cast<int>(s) + 1]; }
  Result<std::optional<std::string>> get_raw(KeySpace s, std::string_view key) const;
  Result<void> scan_cf(rocksdb::ColumnFamilyHandle* h, std::string_view prefix,
                       std::string_view start, const Visitor& visit) const;
  rocksdb::ColumnFamilyHandle* extra_cf(std::size_t i) const {
    return i < extra_count_ ? cfs_[1 + kKeySpaceCount + i] : nullptr;
  }
  template <typename Rec>
  Result<std::optional<Rec>> get_record(KeySpace s, std::string_view key) const;
  template <typename Rec>
  Result<bool> get_into(KeySpace s, std::string_view key, Rec& out) const;

  std::unique_ptr<rocksdb::DB> db_;
  // [0] default (meta), then one per KeySpace, then the extra column families.
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  std::size_t extra_count_ = 0;
  bool wal_ = true;
  std::shared_ptr<rocksdb::Cache> block_cache_;
  std::unique_ptr<MemoryView> view_;
  std::size_t view_budget_ = 0;
  Result<void> load_view(std::size_t budget_bytes);
  // Sizes the view's table of a key space from RocksDB's estimate, but never beyond what the
  // budget could hold (about 64 bytes a record at the least), so an overestimate is not
  // refused as a full view.
  void reserve_view(KeySpace space);
  std::mutex apply_mu_;
};

}  // namespace le::store
