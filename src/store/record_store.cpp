#include "store/record_store.h"

#include <openssl/evp.h>
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <unordered_map>

#include "core/codec.h"
#include "core/digest.h"
#include "store/record_store_detail.h"

namespace le::store {
namespace {

using detail::kAppliedSeqKey;
using detail::kCfNames;
using detail::to_error;

rocksdb::ColumnFamilyOptions column_options(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  t.whole_key_filtering = true;
  // Point lookups dominate: a hash index inside each data block avoids the binary search.
  t.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  t.format_version = 5;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  o.write_buffer_size = 64u << 20;
  // A whole-key bloom filter on the memtable: the version check of an apply (mostly for keys
  // not yet stored, during catch-up) and reads of absent keys skip the skiplist search.
  o.memtable_prefix_bloom_size_ratio = 0.05;
  o.memtable_whole_key_filtering = true;
  const auto supported = rocksdb::GetSupportedCompressions();
  if (std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end()) {
    o.compression = rocksdb::kLZ4Compression;
  }
  return o;
}

// Writes nothing: a read-only open must leave the directory as it found it.
class NullLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

// Whether `path` may be opened (or created) as a database, or why not. A directory that holds
// files but no CURRENT is not one: RocksDB would start a new database there and delete them as
// obsolete. Its info logs and lock file alone do not count (a failed open leaves them).
Result<void> check_directory(const std::string& path, bool read_only, bool rebuild) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir(path);
  const auto status = fs::status(dir, ec);
  if (!fs::exists(status)) {
    if (read_only) return StoreError{"no database at " + path + " (it does not exist)"};
    return {};
  }
  if (!fs::is_directory(status)) return StoreError{path + " is not a directory"};
  if (fs::exists(dir / "CURRENT", ec)) return {};
  if (read_only) return StoreError{"no database at " + path + " (no CURRENT file)"};
  std::vector<fs::path> foreign;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == "LOCK" || name == "LOG" || name.starts_with("LOG.old.")) continue;
    foreign.push_back(entry.path());
  }
  if (ec) return StoreError{"cannot list " + path + ": " + ec.message()};
  if (foreign.empty()) return {};
  if (!rebuild) {
    return StoreError{path + " holds " + std::to_string(foreign.size()) + " files (" +
                      foreign.front().filename().string() +
                      ", ...) but no database (no CURRENT file): refusing to open it as a new "
                      "one, which would delete them. Move them away, or ask for a rebuild"};
  }
  for (const auto& f : foreign) {
    fs::remove_all(f, ec);
    if (ec) return StoreError{"cannot remove " + f.string() + ": " + ec.message()};
  }
  return {};
}

}  // namespace

TouchedKey record_key(const core::ChangeEvent& ev) {
  TouchedKey k;
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, core::AccountRecord>) {
          k = {KeySpace::kAccount, r.id};
        } else if constexpr (std::is_same_v<T, core::ApiKeyRecord>) {
          k = {KeySpace::kApiKey, std::string(digest_key(r.digest))};
        } else if constexpr (std::is_same_v<T, core::ProductRecord>) {
          k = {KeySpace::kProduct, r.id};
        } else if constexpr (std::is_same_v<T, core::LicenseRecord>) {
          k = {KeySpace::kLicense, std::string(digest_key(r.key_digest))};
        } else {
          k.space = KeySpace::kBlacklist;
          blacklist_key(k.key, r.account_id, r.kind, r.value);
        }
      },
      ev.record);
  return k;
}

void throw_exception_from_error(const StoreError& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}

Result<std::unique_ptr<RecordStore>> RecordStore::open(const RecordStoreOptions& options) {
  std::unique_ptr<RecordStore> r(new RecordStore());
  r->block_cache_ = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = options.create_if_missing;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  db_opts.info_log_level = rocksdb::WARN_LEVEL;
  db_opts.keep_log_file_num = 2;
  // Every flush commits all column families together, so a replica written without a WAL
  // recovers to one consistent point (records and applied_seq of the same batch).
  db_opts.atomic_flush = true;
  r->wal_ = options.wal;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (const char* name : kCfNames) descriptors.emplace_back(name, column_options(r->block_cache_));
  for (const auto& name : options.extra_column_families) {
    descriptors.emplace_back(name, column_options(r->block_cache_));
  }
  r->extra_count_ = options.extra_column_families.size();
  if (auto ok = check_directory(options.path, options.read_only, options.rebuild); !ok) {
    return ok.error();
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    db_opts.create_if_missing = false;
    db_opts.info_log = std::make_shared<NullLogger>();
    s = rocksdb::DB::OpenForReadOnly(db_opts, options.path, descriptors, &r->cfs_, &db);
  } else {
    s = rocksdb::DB::Open(db_opts, options.path, descriptors, &r->cfs_, &db);
  }
  if (!s.ok()) return to_error(s, "open replica at " + options.path);
  r->db_.reset(db);
  if (options.memory_view) {
    if (auto loaded = r->load_view(options.memory_budget_bytes); !loaded) return loaded.error();
  }
  return r;
}

Result<void> RecordStore::load_view(std::size_t budget_bytes) {
  view_ = std::make_unique<MemoryView>(budget_bytes);
  view_budget_ = budget_bytes;
  for (int i = 0; i < kKeySpaceCount; ++i) {
    const auto space = static_cast<KeySpace>(i);
    reserve_view(space);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(detail::scan_options(), cf(space)));
    std::uint64_t loaded = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (!view_->load(space, std::string_view(it->key().data(), it->key().size()),
                       std::string_view(it->value().data(), it->value().size()))) {
        return StoreError{"the records do not fit the memory budget of " +
                          std::to_string(budget_bytes >> 20) + " MiB (full after " +
                          std::to_string(loaded) + " " + kCfNames[i] + " of about " +
                          std::to_string(estimate_keys(space)) +
                          "); raise the budget or give the process more memory"};
      }
      ++loaded;
    }
    if (!it->status().ok()) return to_error(it->status(), "load the memory view");
  }
  view_->reclaim();  // the tables outgrown while loading
  return {};
}

void RecordStore::reserve_view(KeySpace space) {
  const std::uint64_t estimate = estimate_keys(space);
  view_->reserve(
      space, view_budget_ == 0 ? estimate : std::min<std::uint64_t>(estimate, view_budget_ / 64));
}

RecordStore::~RecordStore() {
  if (db_) {
    if (!wal_) {
      // Without a WAL the memtables are the only copy of recent writes: keep them.
      rocksdb::FlushOptions flush;
      flush.wait = true;
      [[maybe_unused]] auto s = db_->Flush(flush, cfs_);
    }
    for (auto* h : cfs_) {
      [[maybe_unused]] auto s = db_->DestroyColumnFamilyHandle(h);
    }
    [[maybe_unused]] auto s = db_->Close();
  }
}

Result<std::optional<std::string>> RecordStore::get_raw(KeySpace space,
                                                        std::string_view key) const {
  if (view_) {
    std::optional<std::string> out;
    view_->read(space, key, [&](std::string_view v) { out.emplace(v); });
    return out;
  }
  rocksdb::PinnableSlice value;
  auto s =
      db_->Get(rocksdb::ReadOptions(), cf(space), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return to_error(s, "read");
  return std::optional<std::string>(value.ToString());
}

template <typename Rec>
Result<bool> RecordStore::get_into(KeySpace space, std::string_view key, Rec& out) const {
  if (view_) {
    core::StoredHeader h;
    bool decoded = false;
    if (!view_->read(space, key,
                     [&](std::string_view v) { decoded = core::decode_record(v, out, h); })) {
      return false;
    }
    if (!decoded) {
      return StoreError{"corrupt record in column family " +
                        std::string(kCfNames[static_cast<int>(space)])};
    }
    return !h.deleted;
  }
  rocksdb::PinnableSlice value;
  auto s =
      db_->Get(rocksdb::ReadOptions(), cf(space), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return to_error(s, "read");
  core::StoredHeader h;
  if (!core::decode_record(std::string_view(value.data(), value.size()), out, h)) {
    return StoreError{"corrupt record in column family " +
                      std::string(kCfNames[static_cast<int>(space)])};
  }
  return !h.deleted;
}

template <typename Rec>
Result<std::optional<Rec>> RecordStore::get_record(KeySpace space, std::string_view key) const {
  Rec rec;
  auto found = get_into(space, key, rec);
  if (!found) return found.error();
  if (!*found) return std::optional<Rec>();
  return std::optional<Rec>(std::move(rec));
}

Result<std::optional<core::AccountRecord>> RecordStore::account(std::string_view id) const {
  return get_record<core::AccountRecord>(KeySpace::kAccount, id);
}

Result<std::optional<core::ApiKeyRecord>> RecordStore::api_key(const core::Digest& d) const {
  return get_record<core::ApiKeyRecord>(KeySpace::kApiKey, digest_key(d));
}

Result<std::optional<core::ProductRecord>> RecordStore::product(std::string_view id) const {
  return get_record<core::ProductRecord>(KeySpace::kProduct, id);
}

Result<std::optional<core::ProductRecord>> RecordStore::product_by_name(
    std::string_view account_id, std::string_view name) const {
  std::string key;
  product_name_key(key, account_id, name);
  auto id = get_raw(KeySpace::kProductName, key);
  if (!id) return id.error();
  if (!*id) return std::optional<core::ProductRecord>();
  return product(**id);
}

Result<std::optional<core::LicenseRecord>> RecordStore::license(const core::Digest& d) const {
  return get_record<core::LicenseRecord>(KeySpace::kLicense, digest_key(d));
}

Result<bool> RecordStore::license_into(const core::Digest& d, core::LicenseRecord& out) const {
  return get_into(KeySpace::kLicense, digest_key(d), out);
}

Result<std::optional<core::BlacklistEntry>> RecordStore::blacklist(std::string_view account_id,
                                                                   core::BlacklistKind kind,
                                                                   std::string_view value) const {
  std::string key;
  blacklist_key(key, account_id, kind, value);
  return get_record<core::BlacklistEntry>(KeySpace::kBlacklist, key);
}

Result<std::uint64_t> RecordStore::applied_seq() const {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), cfs_[0],
                    rocksdb::Slice(kAppliedSeqKey.data(), kAppliedSeqKey.size()), &value);
  if (s.IsNotFound()) return std::uint64_t{0};
  if (!s.ok()) return to_error(s, "read applied_seq");
  auto seq = from_be64(value);
  if (!seq) return StoreError{"corrupt applied_seq"};
  return *seq;
}

Result<ApplyResult> RecordStore::apply(std::span<const core::ChangeEvent> events,
                                       std::uint64_t last_seq, std::span<const ExtraWrite> extra,
                                       Stale stale) {
  std::lock_guard lock(apply_mu_);
  rocksdb::WriteBatch batch;
  ApplyResult result;
  // State as this batch leaves it, so two events for one entity in a batch are ordered right.
  std::unordered_map<std::string, std::optional<std::string>> pending;
  auto pending_key = [](KeySpace s, std::string_view k) {
    std::string pk(1, static_cast<char>(s));
    pk.append(k);
    return pk;
  };
  auto current = [&](KeySpace s, std::string_view k) -> Result<std::optional<std::string>> {
    if (auto it = pending.find(pending_key(s, k)); it != pending.end()) return it->second;
    return get_raw(s, k);
  };
  auto put = [&](KeySpace s, const std::string& k, std::string v) -> Result<void> {
    auto st = batch.Put(cf(s), k, v);
    if (!st.ok()) return to_error(st, "batch put");
    pending[pending_key(s, k)] = std::move(v);
    result.touched.push_back({s, k});
    return {};
  };
  auto erase = [&](KeySpace s, const std::string& k) -> Result<void> {
    auto st = batch.Delete(cf(s), k);
    if (!st.ok()) return to_error(st, "batch delete");
    pending[pending_key(s, k)] = std::nullopt;
    result.touched.push_back({s, k});
    return {};
  };

  for (const auto& ev : events) {
    const TouchedKey key = record_key(ev);
    auto existing = current(key.space, key.key);
    if (!existing) return existing.error();
    std::optional<core::StoredHeader> old_header;
    if (*existing) old_header = core::peek_header(**existing);
    if (old_header && old_header->version >= ev.version()) {
      ++result.stale;
      if (stale == Stale::kRefuseAll) {
        result.applied = 0;
        result.touched.clear();
        return result;  // the batch is dropped unwritten
      }
      continue;
    }
    // Maintain the product name index: drop the old name if it pointed here, add the new one.
    if (const auto* p = std::get_if<core::ProductRecord>(&ev.record)) {
      core::ProductRecord old;
      core::StoredHeader h;
      if (*existing && core::decode_record(**existing, old, h) && !h.deleted &&
          (ev.deleted || old.name != p->name || old.account_id != p->account_id)) {
        std::string old_key;
        product_name_key(old_key, old.account_id, old.name);
        auto indexed = current(KeySpace::kProductName, old_key);
        if (!indexed) return indexed.error();
        if (*indexed && **indexed == p->id) {
          if (auto r = erase(KeySpace::kProductName, old_key); !r) return r.error();
        }
      }
      if (!ev.deleted) {
        std::string name_key;
        product_name_key(name_key, p->account_id, p->name);
        if (auto r = put(KeySpace::kProductName, name_key, p->id); !r) return r.error();
      }
    }
    std::string encoded =
        std::visit([&](const auto& r) { return core::encode_record(r, ev.deleted); }, ev.record);
    if (auto r = put(key.space, key.key, std::move(encoded)); !r) return r.error();
    ++result.applied;
  }

  auto seq = applied_seq();
  if (!seq) return seq.error();
  if (last_seq > *seq) {
    auto st = batch.Put(cfs_[0], rocksdb::Slice(kAppliedSeqKey.data(), kAppliedSeqKey.size()),
                        be64(last_seq));
    if (!st.ok()) return to_error(st, "batch put applied_seq");
  }
  for (const auto& w : extra) {
    auto* h = extra_cf(w.cf);
    if (h == nullptr) return StoreError{"no such extra column family"};
    auto st = w.value ? batch.Put(h, w.key, *w.value) : batch.Delete(h, w.key);
    if (!st.ok()) return to_error(st, "batch extra write");
  }
  if (batch.Count() == 0) return result;
  auto s = db_->Write(detail::write_options(wal_), &batch);
  if (!s.ok()) return to_error(s, "write batch");
  if (view_) {
    // Records first, then the product name index, so a reader never finds a name whose
    // product is not there yet.
    for (const bool index : {false, true}) {
      for (const auto& [pk, value] : pending) {
        const auto space = static_cast<KeySpace>(pk[0]);
        if ((space == KeySpace::kProductName) != index) continue;
        view_->put(space, std::string_view(pk).substr(1),
                   value ? std::optional<std::string_view>(*value) : std::nullopt);
      }
    }
    view_->reclaim();
  }
  return result;
}

Result<std::optional<core::ChangeEvent>> RecordStore::stored_event(KeySpace space,
                                                                   std::string_view key) const {
  auto raw = get_raw(space, key);
  if (!raw) return raw.error();
  if (!*raw) return std::optional<core::ChangeEvent>();
  core::ChangeEvent ev;
  core::StoredHeader h;
  bool ok = false;
  auto decode = [&](auto rec) {
    ok = core::decode_record(**raw, rec, h);
    ev.record = std::move(rec);
  };
  switch (space) {
    case KeySpace::kAccount:
      decode(core::AccountRecord{});
      break;
    case KeySpace::kApiKey:
      decode(core::ApiKeyRecord{});
      break;
    case KeySpace::kProduct:
      decode(core::ProductRecord{});
      break;
    case KeySpace::kLicense:
      decode(core::LicenseRecord{});
      break;
    case KeySpace::kBlacklist:
      decode(core::BlacklistEntry{});
      break;
    case KeySpace::kProductName:
      return StoreError{"the product name index holds no records"};
  }
  if (!ok)
    return StoreError{"corrupt record in column family " +
                      std::string(kCfNames[static_cast<int>(space)])};
  ev.deleted = h.deleted;
  return std::optional<core::ChangeEvent>(std::move(ev));
}

Result<std::optional<std::string>> RecordStore::get_extra(std::size_t cf,
                                                          std::string_view key) const {
  auto* h = extra_cf(cf);
  if (h == nullptr) return StoreError{"no such extra column family"};
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), h, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return to_error(s, "read");
  return std::optional<std::string>(std::move(value));
}

Result<void> RecordStore::write_extra(std::span<const ExtraWrite> writes) {
  auto r = apply({}, 0, writes);
  if (!r) return r.error();
  return {};
}

Result<void> RecordStore::scan_cf(rocksdb::ColumnFamilyHandle* h, std::string_view prefix,
                                  std::string_view start, const Visitor& visit) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), h));
  const std::string_view from = start.empty() ? prefix : start;
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid(); it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    if (!k.starts_with(prefix)) break;
    if (!visit(k, std::string_view(it->value().data(), it->value().size()))) break;
  }
  if (!it->status().ok()) return to_error(it->status(), "iterate");
  return {};
}

Result<void> RecordStore::scan_extra(std::size_t cf, std::string_view prefix,
                                     std::string_view start, const Visitor& visit) const {
  auto* h = extra_cf(cf);
  if (h == nullptr) return StoreError{"no such extra column family"};
  return scan_cf(h, prefix, start, visit);
}

Result<void> RecordStore::scan(KeySpace space, const Visitor& visit) const {
  return scan_cf(cf(space), {}, {}, visit);
}

Result<core::Digest> RecordStore::content_digest(bool include_applied_seq) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return StoreError{"digest init failed"};
  }
  auto feed = [&](const rocksdb::Slice& s) {
    const std::string len = be64(s.size());
    EVP_DigestUpdate(ctx, len.data(), len.size());
    EVP_DigestUpdate(ctx, s.data(), s.size());
  };
  for (std::size_t i = 0; i < 1 + kKeySpaceCount; ++i) {
    if (i == 0 && !include_applied_seq) continue;
    feed(rocksdb::Slice(cfs_[i]->GetName()));
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      feed(it->key());
      feed(it->value());
    }
    if (!it->status().ok()) {
      EVP_MD_CTX_free(ctx);
      return to_error(it->status(), "iterate");
    }
  }
  core::Digest d{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, d.data(), &n);
  EVP_MD_CTX_free(ctx);
  return d;
}

Result<void> RecordStore::flush() {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  if (auto s = db_->Flush(flush, cfs_); !s.ok()) return to_error(s, "flush");
  return {};
}

Result<void> RecordStore::compact() {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  if (auto s = db_->Flush(flush, cfs_); !s.ok()) return to_error(s, "flush");
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (auto* h : cfs_) {
    if (auto s = db_->CompactRange(options, h, nullptr, nullptr); !s.ok()) {
      return to_error(s, "compact");
    }
  }
  return {};
}

std::uint64_t RecordStore::estimate_keys(KeySpace space) const {
  std::uint64_t v = 0;
  db_->GetIntProperty(cf(space), "rocksdb.estimate-num-keys", &v);
  return v;
}

std::uint64_t RecordStore::int_property(std::string_view name) const {
  std::uint64_t total = 0;
  for (auto* h : cfs_) {
    std::uint64_t v = 0;
    if (db_->GetIntProperty(h, rocksdb::Slice(name.data(), name.size()), &v)) total += v;
  }
  return total;
}

}  // namespace le::store
