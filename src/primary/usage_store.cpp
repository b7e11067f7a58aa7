#include "primary/usage_store.h"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "core/time_format.h"
#include "core/varint.h"
#include "store/keys.h"

namespace le::primary {
namespace {

enum CfIndex : std::size_t { kDefault = 0, kUsage = 1, kAuthLogs = 2, kBlacklistHits = 3 };
constexpr const char* kCfNames[] = {"usage", "auth_logs", "blacklist_hits"};
constexpr std::string_view kEdgeMarkPrefix{"edge\0", 5};
constexpr std::string_view kAuthSeqPrefix{"authseq\0", 8};
constexpr std::uint8_t kRowFormat = 1;

StoreError to_error(const rocksdb::Status& s, std::string_view what) {
  return StoreError{std::string(what) + ": " + s.ToString()};
}

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }
std::string_view view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// "<account>\0<mode digit>": the prefix of an account's rows of one mode.
std::string account_prefix(std::string_view account, core::Mode mode) {
  std::string p(account);
  p.push_back('\0');
  p.push_back(static_cast<char>('0' + static_cast<int>(mode)));
  return p;
}

void append_be32(std::string& out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(v >> (i * 8)));
}

std::uint32_t read_be32(std::string_view s) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(s[i]);
  return v;
}

std::string usage_key(std::string_view account, core::Mode mode, std::int32_t day,
                      std::string_view license) {
  std::string k = account_prefix(account, mode);
  append_be32(k, static_cast<std::uint32_t>(day));
  k.append(license);
  return k;
}

// ---- value encoding -----------------------------------------------------------------------------

using core::put_bytes;
using core::put_varint;
using Reader = core::VarintReader;
// The rows are this primary's own: a string's length is bounded only by the row.
constexpr std::size_t kAnyLength = std::numeric_limits<std::size_t>::max();

std::string encode_row(const UsageDay& d) {
  std::string out;
  out.push_back(static_cast<char>(kRowFormat));
  out.push_back(static_cast<char>(d.key_sharing ? 1 : 0));
  put_bytes(out, d.product_id);
  for (auto n : d.validations) put_varint(out, n);
  for (auto n : d.auths) put_varint(out, n);
  put_varint(out, static_cast<std::uint64_t>(d.last_validated_ms));
  std::string sketch;
  for (const core::Hll* h : {&d.machines, &d.ips, &d.hwids}) {
    sketch.clear();
    if (!h->empty()) h->encode(sketch);
    put_bytes(out, sketch);
  }
  return out;
}

bool decode_row(std::string_view v, UsageDay& d) {
  Reader r(v);
  std::uint8_t format, flags;
  std::string_view product;
  if (!r.byte(format) || format != kRowFormat || !r.byte(flags) || !r.string(kAnyLength, product)) {
    return false;
  }
  d.key_sharing = (flags & 1) != 0;
  d.product_id.assign(product);
  for (auto& n : d.validations) {
    if (!r.varint(n)) return false;
  }
  for (auto& n : d.auths) {
    if (!r.varint(n)) return false;
  }
  std::uint64_t last;
  if (!r.varint(last)) return false;
  d.last_validated_ms = static_cast<std::int64_t>(last);
  for (core::Hll* h : {&d.machines, &d.ips, &d.hwids}) {
    std::string_view b;
    if (!r.string(kAnyLength, b)) return false;
    if (b.empty()) {
      h->clear();
      continue;
    }
    auto decoded = core::Hll::decode(b);
    if (!decoded) return false;
    *h = std::move(*decoded);
  }
  return r.empty();
}

std::string encode_auth(const core::AuthAttempt& a) {
  std::string out;
  put_varint(out, static_cast<std::uint64_t>(a.at_ms));
  out.push_back(static_cast<char>(a.status));
  for (const std::string* s :
       {&a.license_id, &a.product, &a.version, &a.ip, &a.hwid, &a.user_agent}) {
    put_bytes(out, *s);
  }
  return out;
}

bool decode_auth(std::string_view v, core::AuthAttempt& a) {
  Reader r(v);
  std::uint64_t at;
  std::uint8_t status;
  if (!r.varint(at) || !r.byte(status) || status >= core::kTkiOutcomeCount) return false;
  a.at_ms = static_cast<std::int64_t>(at);
  a.status = static_cast<core::TkiStatus>(status);
  for (std::string* s : {&a.license_id, &a.product, &a.version, &a.ip, &a.hwid, &a.user_agent}) {
    std::string_view b;
    if (!r.string(kAnyLength, b)) return false;
    s->assign(b);
  }
  return r.empty();
}

// An auth-log key: prefix (account \0 mode digit), seq (8 bytes BE). The prefix's length.
std::optional<std::size_t> auth_prefix_size(std::string_view key) {
  if (key.size() < 10) return std::nullopt;
  return key.size() - 8;
}

// ---- retention
// ------------------------------------------------------------------------------------

class UsageRetention final : public rocksdb::CompactionFilter {
 public:
  explicit UsageRetention(const UsageStore& store) : store_(store) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice&, std::string*,
              bool*) const override {
    const std::string_view k = view(key);
    const auto nul = k.find('\0');
    if (nul == std::string_view::npos || nul + 6 > k.size()) return false;
    const auto day = static_cast<std::int32_t>(read_be32(k.substr(nul + 2, 4)));
    return day < store_.today() - store_.options().retention_days;
  }
  const char* Name() const override { return "le.usage.retention"; }

 private:
  const UsageStore& store_;
};

class AuthLogRetention final : public rocksdb::CompactionFilter {
 public:
  explicit AuthLogRetention(const UsageStore& store) : store_(store) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    const std::string_view k = view(key);
    const auto prefix = auth_prefix_size(k);
    if (!prefix) return false;
    const std::uint64_t seq = store::from_be64(k.substr(*prefix)).value_or(0);
    const std::uint64_t head = store_.auth_log_head(k.substr(0, *prefix));
    if (seq + store_.options().auth_logs_per_account <= head) return true;
    std::uint64_t at_ms;
    Reader r(view(value));
    if (!r.varint(at_ms)) return false;
    const std::int64_t oldest_day = store_.today() - store_.options().retention_days;
    return core::utc_day(static_cast<std::int64_t>(at_ms / 1000)) < oldest_day;
  }
  const char* Name() const override { return "le.auth_logs.retention"; }

 private:
  const UsageStore& store_;
};

rocksdb::ColumnFamilyOptions column_options(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  t.format_version = 5;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  o.write_buffer_size = 16u << 20;
  // A bloom filter over the memtable's keys: most rows a report touches are new (a license's
  // first report of the day), and their reads then skip the skip-list search.
  o.memtable_prefix_bloom_size_ratio = 0.05;
  o.memtable_whole_key_filtering = true;
  const auto supported = rocksdb::GetSupportedCompressions();
  if (std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end()) {
    o.compression = rocksdb::kLZ4Compression;
  }
  return o;
}

}  // namespace

std::uint64_t UsageDay::total_validations() const {
  std::uint64_t n = 0;
  for (auto v : validations) n = core::saturating_sum(n, v);
  return n;
}

Result<std::unique_ptr<UsageStore>> UsageStore::open(const UsageStoreOptions& options,
                                                     const core::Clock& clock) {
  std::unique_ptr<UsageStore> s(new UsageStore(options, clock));
  static_assert(sizeof(kCfNames) / sizeof(kCfNames[0]) == 3);
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  s->usage_filter_ = std::make_unique<UsageRetention>(*s);
  s->auth_log_filter_ = std::make_unique<AuthLogRetention>(*s);

  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  db_opts.info_log_level = rocksdb::WARN_LEVEL;
  db_opts.keep_log_file_num = 2;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, column_options(cache));
  for (const char* name : kCfNames) descriptors.emplace_back(name, column_options(cache));
  descriptors[kUsage].options.compaction_filter = s->usage_filter_.get();
  descriptors[kAuthLogs].options.compaction_filter = s->auth_log_filter_.get();
  rocksdb::DB* db = nullptr;
  auto st = rocksdb::DB::Open(db_opts, options.path, descriptors, &s->cfs_, &db);
  if (!st.ok()) return to_error(st, "open usage store at " + options.path);
  s->db_.reset(db);

  // The newest auth-log seq of every account and mode (one meta row each).
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, s->cfs_[kDefault]));
  for (it->Seek(slice(kAuthSeqPrefix)); it->Valid() && it->key().starts_with(slice(kAuthSeqPrefix));
       it->Next()) {
    auto seq = store::from_be64(view(it->value()));
    if (!seq) return StoreError{"corrupt auth-log head"};
    s->auth_heads_.emplace(std::string(view(it->key()).substr(kAuthSeqPrefix.size())), *seq);
  }
  if (!it->status().ok()) return to_error(it->status(), "read auth-log heads");
  return s;
}

UsageStore::UsageStore(UsageStoreOptions options, const core::Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

UsageStore::~UsageStore() {
  if (db_) {
    for (auto* cf : cfs_) db_->DestroyColumnFamilyHandle(cf);
    db_.reset();
  }
}

std::int32_t UsageStore::today() const { return core::utc_day(clock_.now_seconds()); }

std::uint64_t UsageStore::auth_log_head(std::string_view prefix) const {
  std::shared_lock lock(heads_mu_);
  auto it = auth_heads_.find(prefix);
  return it == auth_heads_.end() ? 0 : it->second;
}

Result<ApplyOutcome> UsageStore::apply(const core::EdgeReport& report) {
  std::lock_guard lock(apply_mu_);
  const std::string mark_key = std::string(kEdgeMarkPrefix) + report.header.edge;
  std::string value;
  auto st = db_->Get({}, cfs_[kDefault], slice(mark_key), &value);
  if (st.ok()) {
    const auto boot = store::from_be64(std::string_view(value).substr(0, 8));
    const auto seq = store::from_be64(std::string_view(value).substr(8));
    if (!boot || !seq) return StoreError{"corrupt report mark of " + report.header.edge};
    if (report.header.boot < *boot || (report.header.boot == *boot && report.header.seq <= *seq)) {
      return ApplyOutcome::kDuplicate;
    }
  } else if (!st.IsNotFound()) {
    return to_error(st, "read report mark");
  }

  rocksdb::WriteBatch batch;
  // Usage: merged with what the day holds (and with other entries of this report for it). The
  // rows are read in one sorted MultiGet and written in key order: a memtable insert next to the
  // previous one is the cheap case of its skip list.
  std::vector<std::pair<std::string, const core::UsageCount*>> entries;
  entries.reserve(report.usage.size());
  for (const auto& c : report.usage) {
    entries.emplace_back(usage_key(c.account_id, c.mode, c.day, c.license_id), &c);
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<rocksdb::Slice> keys;
  keys.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i == 0 || entries[i].first != entries[i - 1].first) keys.push_back(slice(entries[i].first));
  }
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet({}, cfs_[kUsage], keys.size(), keys.data(), values.data(), statuses.data(),
                /*sorted_input=*/true);
  std::uint64_t newly_flagged = 0;
  UsageDay d;
  for (std::size_t i = 0, k = 0; i < entries.size(); ++i) {
    const core::UsageCount& c = *entries[i].second;
    if (i == 0 || entries[i].first != entries[i - 1].first) {
      d = UsageDay{};
      if (statuses[k].ok()) {
        if (!decode_row(view(values[k]), d)) return StoreError{"corrupt usage row"};
      } else if (!statuses[k].IsNotFound()) {
        return to_error(statuses[k], "read usage");
      }
      ++k;
    }
    for (std::size_t j = 0; j < d.validations.size(); ++j) {
      d.validations[j] = core::saturating_sum(d.validations[j], c.validations[j]);
    }
    for (std::size_t j = 0; j < d.auths.size(); ++j) {
      d.auths[j] = core::saturating_sum(d.auths[j], c.auths[j]);
    }
    d.last_validated_ms = std::max(d.last_validated_ms, c.last_validated_ms);
    if (d.product_id.empty()) d.product_id = c.product_id;
    d.machines.merge(c.machines);
    d.ips.merge(c.ips);
    d.hwids.merge(c.hwids);
    if (!c.license_id.empty() && !d.key_sharing &&
        (d.machines.estimate() > options_.key_sharing_threshold ||
         d.ips.estimate() > options_.key_sharing_threshold)) {
      d.key_sharing = true;
      ++newly_flagged;
    }
    if (i + 1 == entries.size() || entries[i + 1].first != entries[i].first) {
      batch.Put(cfs_[kUsage], slice(entries[i].first), encode_row(d));
    }
  }

  // Auth attempts: numbered per account and mode.
  std::map<std::string, std::uint64_t, std::less<>> heads;
  for (const auto& a : report.auths) {
    const std::string prefix = account_prefix(a.account_id, a.mode);
    auto [head, fresh] = heads.try_emplace(prefix, 0);
    if (fresh) head->second = auth_log_head(prefix);
    std::string key = prefix;
    store::append_be64(key, ++head->second);
    batch.Put(cfs_[kAuthLogs], slice(key), encode_auth(a));
  }
  for (const auto& [prefix, seq] : heads) {
    batch.Put(cfs_[kDefault], slice(std::string(kAuthSeqPrefix) + prefix), store::be64(seq));
  }

  // Blacklist hits: summed (an entry may come several times, from several threads).
  std::map<std::string, BlacklistAttempts> hits;
  for (const auto& h : report.blacklist) {
    std::string key = h.account_id;
    key.push_back('\0');
    key.append(h.entry_id);
    auto [hit, fresh] = hits.try_emplace(std::move(key));
    BlacklistAttempts& sum = hit->second;
    if (fresh) {
      st = db_->Get({}, cfs_[kBlacklistHits], slice(hit->first), &value);
      if (st.ok() && value.size() == 16) {
        sum.attempts = store::from_be64(std::string_view(value).substr(0, 8)).value_or(0);
        sum.last_ms = static_cast<std::int64_t>(
            store::from_be64(std::string_view(value).substr(8)).value_or(0));
      } else if (!st.ok() && !st.IsNotFound()) {
        return to_error(st, "read blacklist hits");
      }
    }
    sum.attempts = core::saturating_sum(sum.attempts, h.attempts);
    sum.last_ms = std::max(sum.last_ms, h.last_ms);
  }
  for (const auto& [key, sum] : hits) {
    std::string v = store::be64(sum.attempts);
    store::append_be64(v, static_cast<std::uint64_t>(sum.last_ms));
    batch.Put(cfs_[kBlacklistHits], slice(key), v);
  }

  std::string mark = store::be64(report.header.boot);
  store::append_be64(mark, report.header.seq);
  batch.Put(cfs_[kDefault], slice(mark_key), mark);
  rocksdb::WriteOptions wo;
  wo.sync = false;  // the WAL is written; a crash of the machine may redeliver, the mark dedupes
  st = db_->Write(wo, &batch);
  if (!st.ok()) return to_error(st, "write usage");
  {
    std::unique_lock heads_lock(heads_mu_);
    for (const auto& [prefix, seq] : heads) auth_heads_[prefix] = seq;
  }
  key_sharing_flags_.fetch_add(newly_flagged);
  auth_logs_written_.fetch_add(report.auths.size());
  return ApplyOutcome::kApplied;
}

Result<std::vector<UsageDay>> UsageStore::license_days(std::string_view account, core::Mode mode,
                                                       std::string_view license, std::int32_t from,
                                                       std::int32_t to) const {
  std::vector<UsageDay> out;
  from = std::max(from, today() - options_.retention_days);
  if (license.empty() || from > to) return out;
  std::vector<std::string> keys;
  for (std::int32_t day = from; day <= to; ++day) {
    keys.push_back(usage_key(account, mode, day, license));
  }
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(keys.size(), cfs_[kUsage]);
  std::vector<std::string> values;
  const auto statuses = db_->MultiGet({}, cfs, slices, &values);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return to_error(statuses[i], "read usage");
    UsageDay d;
    if (!decode_row(values[i], d)) return StoreError{"corrupt usage row"};
    d.day = from + static_cast<std::int32_t>(i);
    d.license_id.assign(license);
    out.push_back(std::move(d));
  }
  return out;
}

Result<AccountUsage> UsageStore::account_usage(std::string_view account, core::Mode mode,
                                               std::int32_t from, std::int32_t to,
                                               std::optional<std::string_view> product,
                                               std::size_t top) const {
  AccountUsage out;
  from = std::max(from, today() - options_.retention_days);
  if (from > to) return out;
  const std::string prefix = account_prefix(account, mode);
  std::string start = prefix, end = prefix;
  append_be32(start, static_cast<std::uint32_t>(from));
  append_be32(end, static_cast<std::uint32_t>(to) + 1);
  std::unordered_map<std::string, AccountUsage::TopLicense> licenses;
  rocksdb::ReadOptions ro;
  const rocksdb::Slice upper = slice(end);
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kUsage]));
  for (it->Seek(slice(start)); it->Valid(); it->Next()) {
    const std::string_view k = view(it->key());
    const auto day = static_cast<std::int32_t>(read_be32(k.substr(prefix.size(), 4)));
    const std::string_view license = k.substr(prefix.size() + 4);
    UsageDay d;
    if (!decode_row(view(it->value()), d)) return StoreError{"corrupt usage row"};
    if (product && d.product_id != *product) continue;
    if (out.days.empty() || out.days.back().day != day) {
      out.days.emplace_back();
      out.days.back().day = day;
    }
    UsageDay& sum = out.days.back();
    for (std::size_t i = 0; i < d.validations.size(); ++i) {
      sum.validations[i] = core::saturating_sum(sum.validations[i], d.validations[i]);
    }
    for (std::size_t i = 0; i < d.auths.size(); ++i) {
      sum.auths[i] = core::saturating_sum(sum.auths[i], d.auths[i]);
    }
    sum.last_validated_ms = std::max(sum.last_validated_ms, d.last_validated_ms);
    if (license.empty()) continue;
    auto& l = licenses[std::string(license)];
    if (l.license_id.empty()) {
      l.license_id.assign(license);
      l.product_id = d.product_id;
    }
    l.validations = core::saturating_sum(l.validations, d.total_validations());
  }
  if (!it->status().ok()) return to_error(it->status(), "read usage");
  out.top.reserve(licenses.size());
  for (auto& [id, l] : licenses) {
    if (l.validations > 0) out.top.push_back(std::move(l));
  }
  auto more = [](const AccountUsage::TopLicense& a, const AccountUsage::TopLicense& b) {
    return a.validations != b.validations ? a.validations > b.validations
                                          : a.license_id < b.license_id;
  };
  const std::size_t n = std::min(top, out.top.size());
  std::partial_sort(out.top.begin(), out.top.begin() + static_cast<std::ptrdiff_t>(n),
                    out.top.end(), more);
  out.top.resize(n);
  return out;
}

Result<AuthLogPage> UsageStore::auth_logs(std::string_view account, core::Mode mode,
                                          const AuthLogFilter& filter, std::size_t offset,
                                          std::size_t limit) const {
  AuthLogPage page;
  const std::string prefix = account_prefix(account, mode);
  const std::uint64_t head = auth_log_head(prefix);
  // The newest auth_logs_per_account records, within the retention period.
  const std::uint64_t oldest =
      head > options_.auth_logs_per_account ? head - options_.auth_logs_per_account + 1 : 1;
  const std::int32_t oldest_day = today() - options_.retention_days;
  std::string start = prefix, end = prefix;
  store::append_be64(start, oldest);
  store::append_be64(end, head + 1);
  rocksdb::ReadOptions ro;
  const rocksdb::Slice lower = slice(start);
  ro.iterate_lower_bound = &lower;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kAuthLogs]));
  core::AuthAttempt a;
  for (it->SeekForPrev(slice(end)); it->Valid(); it->Prev()) {
    const std::string_view k = view(it->key());
    if (!k.starts_with(prefix) || k.size() != prefix.size() + 8) continue;
    if (!decode_auth(view(it->value()), a)) return StoreError{"corrupt auth-log record"};
    if (core::utc_day(a.at_ms / 1000) < oldest_day) continue;
    if (filter.license_id && a.license_id != *filter.license_id) continue;
    if (filter.ip && a.ip != *filter.ip) continue;
    if (filter.success && (a.status == core::TkiStatus::kSuccess) != *filter.success) continue;
    if (page.total >= offset && page.records.size() < limit) {
      a.account_id.assign(account);
      a.mode = mode;
      page.records.push_back(a);
    }
    ++page.total;
  }
  if (!it->status().ok()) return to_error(it->status(), "read auth logs");
  return page;
}

Result<BlacklistAttempts> UsageStore::blacklist_attempts(std::string_view account,
                                                         std::string_view entry) const {
  std::string key(account);
  key.push_back('\0');
  key.append(entry);
  std::string value;
  auto st = db_->Get({}, cfs_[kBlacklistHits], slice(key), &value);
  if (st.IsNotFound()) return BlacklistAttempts{};
  if (!st.ok()) return to_error(st, "read blacklist hits");
  if (value.size() != 16) return StoreError{"corrupt blacklist hits"};
  return BlacklistAttempts{
      store::from_be64(std::string_view(value).substr(0, 8)).value_or(0),
      static_cast<std::int64_t>(store::from_be64(std::string_view(value).substr(8)).value_or(0))};
}

Result<void> UsageStore::compact() {
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* cf : cfs_) {
    auto st = db_->CompactRange(o, cf, nullptr, nullptr);
    if (!st.ok()) return to_error(st, "compact usage store");
  }
  return {};
}

Result<std::size_t> UsageStore::stored_rows(std::string_view cf) const {
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  if (cf == "usage") handle = cfs_[kUsage];
  if (cf == "auth_logs") handle = cfs_[kAuthLogs];
  if (handle == nullptr) return StoreError{"no column family " + std::string(cf)};
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, handle));
  std::size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  if (!it->status().ok()) return to_error(it->status(), "count rows");
  return n;
}

}  // namespace le::primary
