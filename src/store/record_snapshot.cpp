// RecordStore's snapshots — export as SST files at one point in time, ingest them atomically —
// and the self-check's range digests.
#include <openssl/evp.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>

#include "core/codec.h"
#include "store/record_store.h"
#include "store/record_store_detail.h"

namespace le::store {

using detail::kAppliedSeqKey;
using detail::kCfNames;
using detail::to_error;

Result<ExportedSnapshot> RecordStore::export_snapshot(const std::string& dir, std::size_t stamp_cf,
                                                      std::string_view stamp_key) const {
  auto* stamp_handle = extra_cf(stamp_cf);
  if (stamp_handle == nullptr) return StoreError{"no such extra column family"};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return StoreError{"create " + dir + ": " + ec.message()};
  const auto point = read_point();
  rocksdb::ReadOptions ro = detail::scan_options();
  ro.snapshot = point->snapshot_;
  ExportedSnapshot out;
  std::string stamp;
  auto s = db_->Get(ro, stamp_handle, rocksdb::Slice(stamp_key.data(), stamp_key.size()), &stamp);
  if (s.ok()) {
    out.stamp = std::move(stamp);
  } else if (!s.IsNotFound()) {
    return to_error(s, "read the snapshot's stamp");
  }
  for (int i = 0; i < kKeySpaceCount; ++i) {
    const auto space = static_cast<KeySpace>(i);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(space)));
    it->SeekToFirst();
    if (!it->Valid()) {
      if (!it->status().ok()) return to_error(it->status(), "iterate");
      continue;
    }
    SnapshotFile f;
    f.space = space;
    f.path = dir + "/" + kCfNames[i] + ".sst";
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), db_->GetOptions(cf(space)));
    if (s = writer.Open(f.path); !s.ok()) return to_error(s, "open " + f.path);
    for (; it->Valid(); it->Next()) {
      if (s = writer.Put(it->key(), it->value()); !s.ok()) return to_error(s, "write " + f.path);
      ++f.entries;
    }
    if (!it->status().ok()) return to_error(it->status(), "iterate");
    rocksdb::ExternalSstFileInfo info;
    if (s = writer.Finish(&info); !s.ok()) return to_error(s, "finish " + f.path);
    f.bytes = info.file_size;
    out.files.push_back(std::move(f));
  }
  return out;
}

Result<std::uint64_t> RecordStore::ingest_snapshot(std::span<const SnapshotFile> files,
                                                   std::uint64_t seq) {
  if (files.empty()) return StoreError{"a snapshot without files"};
  std::lock_guard lock(apply_mu_);
  std::vector<rocksdb::IngestExternalFileArg> args;
  rocksdb::IngestExternalFileOptions options;
  options.move_files = true;
  options.allow_blocking_flush = true;  // the files' keys override what memtables hold
  for (const auto& f : files) {
    for (const auto& a : args) {
      if (a.column_family == cf(f.space)) return StoreError{"two files for one key space"};
    }
    rocksdb::IngestExternalFileArg a;
    a.column_family = cf(f.space);
    a.external_files = {f.path};
    a.options = options;
    args.push_back(std::move(a));
  }
  // applied_seq rides in the same atomic ingestion, as a file of its own.
  const std::string seq_file =
      std::filesystem::path(files.front().path).parent_path().string() + "/applied_seq.sst";
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), db_->GetOptions(cfs_[0]));
  auto s = writer.Open(seq_file);
  if (s.ok()) {
    s = writer.Put(rocksdb::Slice(kAppliedSeqKey.data(), kAppliedSeqKey.size()), be64(seq));
  }
  if (s.ok()) s = writer.Finish();
  if (!s.ok()) return to_error(s, "write " + seq_file);
  rocksdb::IngestExternalFileArg a;
  a.column_family = cfs_[0];
  a.external_files = {seq_file};
  a.options = options;
  args.push_back(std::move(a));

  // The snapshot replaces the records wholesale: what the replica holds is deleted first (with
  // applied_seq back to 0, so a crash before the ingestion starts over from empty), since
  // a key the primary no longer has — an old product name — would otherwise stay. The state
  // before is kept readable to take the keys that went out of the memory view.
  const auto before = read_point();
  rocksdb::WriteBatch clear;
  bool had_records = false;
  for (int i = 0; i < kKeySpaceCount; ++i) {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf(static_cast<KeySpace>(i))));
    it->SeekToLast();
    if (!it->status().ok()) return to_error(it->status(), "iterate");
    if (!it->Valid()) continue;
    had_records = true;
    std::string end = it->key().ToString();
    end.push_back('\0');  // the key right after the last one
    if (s = clear.DeleteRange(cf(static_cast<KeySpace>(i)), "", end); !s.ok()) {
      return to_error(s, "batch delete range");
    }
  }
  if (had_records) {
    if (s = clear.Put(cfs_[0], rocksdb::Slice(kAppliedSeqKey.data(), kAppliedSeqKey.size()),
                      be64(0));
        !s.ok()) {
      return to_error(s, "batch put applied_seq");
    }
    if (s = db_->Write(detail::write_options(wal_), &clear); !s.ok()) {
      return to_error(s, "clear the replica");
    }
  }
  if (s = db_->IngestExternalFiles(args); !s.ok()) {
    // Put back what the clearing took: the replica stays as it was.
    rocksdb::WriteBatch restore;
    rocksdb::ReadOptions old = detail::scan_options();
    old.snapshot = before->snapshot_;
    for (int i = 0; had_records && i <= kKeySpaceCount; ++i) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(old, cfs_[i]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) restore.Put(cfs_[i], it->key(), it->value());
    }
    if (had_records) (void)db_->Write(detail::write_options(wal_), &restore);
    return to_error(s, "ingest the snapshot");
  }

  std::uint64_t changed = 0;
  if (!view_) return changed;
  // Records first, then the product name index (as apply() does).
  std::vector<KeySpace> spaces;
  for (int i = 0; i < kKeySpaceCount; ++i) spaces.push_back(static_cast<KeySpace>(i));
  std::stable_partition(spaces.begin(), spaces.end(),
                        [](KeySpace k) { return k != KeySpace::kProductName; });
  const rocksdb::ReadOptions ro = detail::scan_options();
  for (const auto space : spaces) {
    reserve_view(space);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(space)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      const std::string_view value(it->value().data(), it->value().size());
      bool same = false;
      view_->read(space, key, [&](std::string_view v) { same = v == value; });
      if (same) continue;
      view_->put(space, key, value);
      ++changed;
    }
    if (!it->status().ok()) return to_error(it->status(), "load the memory view");
  }
  if (had_records) {
    rocksdb::ReadOptions old = ro;
    old.snapshot = before->snapshot_;
    for (const auto space : spaces) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(old, cf(space)));
      std::string value;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        s = db_->Get(rocksdb::ReadOptions(), cf(space), it->key(), &value);
        if (s.IsNotFound()) {
          view_->put(space, std::string_view(it->key().data(), it->key().size()), std::nullopt);
          ++changed;
        }
      }
    }
  }
  view_->reclaim();
  return changed;
}

Result<std::uint64_t> RecordStore::repair_from_snapshot(
    std::span<const SnapshotFile> files, std::span<const std::pair<KeySpace, std::size_t>> ranges,
    std::vector<TouchedKey>& touched) {
  std::lock_guard lock(apply_mu_);
  rocksdb::WriteBatch batch;
  struct Put {
    KeySpace space;
    std::string key, value;
  };
  std::vector<Put> puts;
  for (const auto& f : files) {
    bool wanted = false;
    for (const auto& [space, range] : ranges) wanted = wanted || space == f.space;
    if (!wanted) continue;
    rocksdb::SstFileReader reader(db_->GetOptions(cf(f.space)));
    auto s = reader.Open(f.path);
    if (!s.ok()) return to_error(s, "open " + f.path);
    std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      const std::size_t range = check_range(key);
      bool in = false;
      for (const auto& r : ranges) in = in || (r.first == f.space && r.second == range);
      if (!in) continue;
      const std::string_view value(it->value().data(), it->value().size());
      auto local = get_raw(f.space, key);
      if (!local) return local.error();
      if (*local && **local == value) continue;
      if (*local) {
        // Newer here than in the snapshot: a change after it, kept. The product name index
        // carries no version: only a missing entry is put back.
        if (f.space == KeySpace::kProductName) continue;
        const auto here = core::peek_header(**local);
        const auto there = core::peek_header(value);
        if (here && there && here->version > there->version) continue;
      }
      if (s = batch.Put(cf(f.space), it->key(), it->value()); !s.ok()) {
        return to_error(s, "batch put");
      }
      puts.push_back({f.space, std::string(key), std::string(value)});
    }
    if (!it->status().ok()) return to_error(it->status(), "read " + f.path);
  }
  if (puts.empty()) return std::uint64_t{0};
  if (auto s = db_->Write(detail::write_options(wal_), &batch); !s.ok()) {
    return to_error(s, "write the repair");
  }
  for (const auto& p : puts) {
    if (view_) view_->put(p.space, p.key, p.value);
    touched.push_back({p.space, p.key});
  }
  if (view_) view_->reclaim();
  return static_cast<std::uint64_t>(puts.size());
}

RecordStore::ReadPoint::~ReadPoint() { db_->ReleaseSnapshot(snapshot_); }

std::shared_ptr<const RecordStore::ReadPoint> RecordStore::read_point() const {
  return std::shared_ptr<const ReadPoint>(new ReadPoint(db_.get(), db_->GetSnapshot()));
}

Result<std::optional<RangeDigests>> RecordStore::range_digests(std::mutex* hold,
                                                               const std::function<bool()>& proceed,
                                                               const ReadPoint* at) const {
  std::shared_ptr<const ReadPoint> own;
  if (at == nullptr) {
    if (hold != nullptr) {
      std::lock_guard lock(*hold);
      if (proceed && !proceed()) return std::optional<RangeDigests>();
      own = read_point();
    } else {
      own = read_point();
    }
    at = own.get();
  }
  std::vector<EVP_MD_CTX*> ctx(kKeySpaceCount * kCheckRanges, nullptr);
  struct Free {
    std::vector<EVP_MD_CTX*>& c;
    ~Free() {
      for (auto* x : c) EVP_MD_CTX_free(x);
    }
  } free_all{ctx};
  for (auto*& c : ctx) {
    c = EVP_MD_CTX_new();
    if (c == nullptr || EVP_DigestInit_ex(c, EVP_sha256(), nullptr) != 1) {
      return StoreError{"digest init failed"};
    }
  }
  auto feed = [](EVP_MD_CTX* c, const rocksdb::Slice& s) {
    const std::string len = be64(s.size());
    EVP_DigestUpdate(c, len.data(), len.size());
    EVP_DigestUpdate(c, s.data(), s.size());
  };
  RangeDigests out;
  rocksdb::ReadOptions ro = detail::scan_options();
  ro.snapshot = at->snapshot_;
  for (int i = 0; i < kKeySpaceCount; ++i) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(static_cast<KeySpace>(i))));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      EVP_MD_CTX* c = ctx[i * kCheckRanges + check_range(key)];
      feed(c, it->key());
      feed(c, it->value());
      ++out.records;
    }
    if (!it->status().ok()) return to_error(it->status(), "iterate");
  }
  out.digests.resize(ctx.size());
  for (std::size_t i = 0; i < ctx.size(); ++i) {
    unsigned char d[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx[i], d, &n);
    std::memcpy(out.digests[i].data(), d, out.digests[i].size());
  }
  return std::optional<RangeDigests>(std::move(out));
}

}  // namespace le::store
