#include "primary/primary_store.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include "core/codec.h"
#include "core/validate.h"

namespace le::primary {
namespace {

constexpr std::string_view kOutboxSeqKey = "outbox_seq";
constexpr std::string_view kEventSeqKey = "event_seq";
// The last outbox row the stream acknowledged, and the stream's sequence for it.
constexpr std::string_view kPublishedKey = "published";

std::size_t idx(Cf cf) { return static_cast<std::size_t>(cf); }

}  // namespace

std::string account_mode_prefix(std::string_view account, core::Mode mode) {
  std::string k(account);
  k.push_back('\0');
  k.push_back(static_cast<char>('0' + static_cast<int>(mode)));
  k.push_back('\0');
  return k;
}

std::vector<std::string> primary_column_families() {
  return {"outbox",
          "primary_meta",
          "license_ids",
          "api_key_ids",
          "account_licenses",
          "activation_changes",
          "webhook_events",
          "webhooks",
          "license_expiries",
          "webhook_deliveries",
          "webhook_deliveries_due",
          "signing_keys",
          "lease_releases",
          "users",
          "sessions",
          "jwt_secrets",
          "branding",
          "license_mails"};
}

Result<std::unique_ptr<PrimaryStore>> PrimaryStore::open(const std::string& path,
                                                         std::size_t block_cache_bytes,
                                                         bool read_only) {
  store::RecordStoreOptions options;
  options.path = path;
  options.read_only = read_only;
  options.block_cache_bytes = block_cache_bytes;
  options.extra_column_families = primary_column_families();
  auto db = store::RecordStore::open(options);
  if (!db) return db.error();
  std::unique_ptr<PrimaryStore> s(new PrimaryStore());
  s->db_ = std::move(*db);
  for (auto [name, into] :
       {std::pair{kOutboxSeqKey, &s->outbox_seq_}, std::pair{kEventSeqKey, &s->event_seq_}}) {
    auto seq = s->db_->get_extra(idx(Cf::kMeta), name);
    if (!seq) return seq.error();
    if (*seq) {
      auto v = store::from_be64(**seq);
      if (!v) return StoreError{"corrupt " + std::string(name)};
      *into = *v;
    }
  }
  return s;
}

std::uint64_t PrimaryStore::Tx::put(core::ChangeEvent ev) {
  const store::TouchedKey key = store::record_key(ev);
  std::string row(1, static_cast<char>(key.space));
  row.append(ev.type);
  row.push_back('\0');
  row.append(key.key);
  const std::uint64_t seq = ++outbox_seq_;
  extra_.push_back({idx(Cf::kOutbox), store::be64(seq), std::move(row)});
  events_.push_back(std::move(ev));
  return seq;
}

void PrimaryStore::Tx::index(Cf cf, std::string key, std::optional<std::string> value) {
  extra_.push_back({idx(cf), std::move(key), std::move(value)});
}

std::uint64_t PrimaryStore::Tx::record_event(
    std::string_view account_id, core::Mode mode,
    const std::function<std::string(std::uint64_t)>& payload) {
  const std::uint64_t seq = ++event_seq_;
  events_recorded_ = true;
  std::string key = account_mode_prefix(account_id, mode);
  key.append(store::be64(seq));
  extra_.push_back({idx(Cf::kEvents), std::move(key), payload(seq)});
  return seq;
}

void PrimaryStore::Tx::queued_for(std::string endpoint_key, std::optional<QueuedDue> due) {
  queued_.push_back(Queued{std::move(endpoint_key), due});
}

void PrimaryStore::Tx::roll_back() {
  outbox_seq_ = store_.outbox_seq_.load();
  event_seq_ = store_.event_seq_.load();
  events_.clear();
  extra_.clear();
  queued_.clear();
  events_recorded_ = false;
}

PrimaryStore::Tx::~Tx() { roll_back(); }

Result<void> PrimaryStore::Tx::commit() {
  if (events_.empty() && extra_.empty()) return {};
  extra_.push_back({idx(Cf::kMeta), std::string(kOutboxSeqKey), store::be64(outbox_seq_)});
  if (events_recorded_) {
    extra_.push_back({idx(Cf::kMeta), std::string(kEventSeqKey), store::be64(event_seq_)});
  }
  // Versions are all checked before the one write; a stale change drops the batch unwritten.
  auto r = store_.db_->apply(events_, 0, extra_, store::RecordStore::Stale::kRefuseAll);
  if (!r || r->stale != 0) {
    roll_back();  // nothing was written
    if (!r) return r.error();
    return StoreError{"a change was not newer than the stored record"};
  }
  store_.outbox_seq_.store(outbox_seq_, std::memory_order_release);
  store_.event_seq_.store(event_seq_, std::memory_order_release);
  events_.clear();
  extra_.clear();
  events_recorded_ = false;
  {
    std::lock_guard<std::mutex> g(store_.commit_mu_);
    ++store_.commits_;
    auto& notes = store_.queued_;
    for (auto& q : queued_) notes.push_back(std::move(q));
    queued_.clear();
    if (notes.size() > kMaxQueuedNotes) {
      std::set<std::string> endpoints;
      for (auto& q : notes) endpoints.insert(std::move(q.endpoint_key));
      notes.clear();
      for (const auto& e : endpoints) notes.push_back(Queued{e, std::nullopt});
    }
  }
  store_.commit_cv_.notify_all();
  return {};
}

std::vector<Queued> PrimaryStore::take_queued() {
  std::lock_guard<std::mutex> g(commit_mu_);
  return std::exchange(queued_, {});
}

template <typename Rec, typename Get>
Result<std::optional<Rec>> PrimaryStore::by_id(Cf index, std::string_view id, Get get) const {
  auto digest = db_->get_extra(idx(index), id);
  if (!digest) return digest.error();
  if (!*digest || (*digest)->size() != 32) return std::optional<Rec>();
  core::Digest d;
  std::copy((*digest)->begin(), (*digest)->end(), d.begin());
  return (db_.get()->*get)(d);
}

Result<std::optional<core::LicenseRecord>> PrimaryStore::license_by_id(std::string_view id) const {
  return by_id<core::LicenseRecord>(Cf::kLicenseIds, id, &store::RecordStore::license);
}

Result<std::optional<core::ApiKeyRecord>> PrimaryStore::api_key_by_id(std::string_view id) const {
  return by_id<core::ApiKeyRecord>(Cf::kApiKeyIds, id, &store::RecordStore::api_key);
}

Result<LicensePage> PrimaryStore::list_licenses(const LicenseFilter& filter, std::uint64_t offset,
                                                std::uint64_t limit) const {
  LicensePage page;
  std::optional<StoreError> failure;
  core::LicenseRecord rec;
  auto scanned = db_->scan_extra(
      idx(Cf::kAccountLicenses), account_mode_prefix(filter.account_id, filter.mode), {},
      [&](std::string_view, std::string_view digest) {
        if (digest.size() != 32) return true;
        core::Digest d;
        std::copy(digest.begin(), digest.end(), d.begin());
        auto found = db_->license_into(d, rec);
        if (!found) {
          failure = found.error();
          return false;
        }
        if (!*found) return true;
        if (filter.status && core::effective_status(rec, filter.now) != *filter.status) return true;
        if (filter.product_id && rec.product_id != *filter.product_id) return true;
        if (page.total >= offset && page.items.size() < limit) page.items.push_back(rec);
        ++page.total;
        return true;
      });
  if (!scanned) return scanned.error();
  if (failure) return *failure;
  return page;
}

Result<PrimaryStore::EventPage> PrimaryStore::events_page(std::string_view account_id,
                                                          core::Mode mode, std::uint64_t after,
                                                          std::uint64_t offset,
                                                          std::uint64_t limit) const {
  EventPage out;
  const std::string prefix = account_mode_prefix(account_id, mode);
  auto scanned = db_->scan_extra(idx(Cf::kEvents), prefix, prefix + store::be64(after + 1),
                                 [&](std::string_view, std::string_view v) {
                                   if (out.total >= offset && out.items.size() < limit) {
                                     out.items.emplace_back(v);
                                   }
                                   ++out.total;
                                   return true;
                                 });
  if (!scanned) return scanned.error();
  return out;
}

Result<std::vector<core::ChangeEvent>> PrimaryStore::list_account(
    store::KeySpace space, std::string_view account_id) const {
  std::vector<core::ChangeEvent> out;
  std::optional<StoreError> failure;
  // Products and blacklist entries are few per account; a scan of the key space is enough.
  auto scanned = db_->scan(space, [&](std::string_view key, std::string_view) {
    auto ev = db_->stored_event(space, key);
    if (!ev) {
      failure = ev.error();
      return false;
    }
    if (!*ev || (*ev)->deleted) return true;
    const bool mine = std::visit(
        [&](const auto& r) {
          if constexpr (requires { r.account_id; }) return r.account_id == account_id;
          return false;
        },
        (*ev)->record);
    if (mine) out.push_back(std::move(**ev));
    return true;
  });
  if (!scanned) return scanned.error();
  if (failure) return *failure;
  return out;
}

Result<std::vector<OutboxEntry>> PrimaryStore::outbox_after(std::uint64_t after,
                                                            std::size_t max) const {
  std::vector<OutboxEntry> out;
  bool corrupt = false;
  auto scanned = db_->scan_extra(
      idx(Cf::kOutbox), {}, store::be64(after + 1), [&](std::string_view k, std::string_view v) {
        auto seq = store::from_be64(k);
        const auto nul = v.find('\0', 1);
        if (!seq || v.empty() || nul == std::string_view::npos ||
            static_cast<unsigned char>(v[0]) >= store::kKeySpaceCount) {
          corrupt = true;
          return false;
        }
        out.push_back({*seq, static_cast<store::KeySpace>(v[0]), std::string(v.substr(nul + 1)),
                       std::string(v.substr(1, nul - 1))});
        return out.size() < max;
      });
  if (!scanned) return scanned.error();
  if (corrupt) return StoreError{"corrupt outbox row"};
  return out;
}

Result<void> PrimaryStore::ack_outbox(std::uint64_t upto, std::uint64_t stream_seq) {
  const store::ExtraWrite w{idx(Cf::kMeta), std::string(kPublishedKey),
                            store::be64(upto) + store::be64(stream_seq)};
  return db_->write_extra({&w, 1});
}

Result<void> PrimaryStore::prune_outbox(std::uint64_t from, std::uint64_t upto) {
  std::vector<store::ExtraWrite> deletes;
  deletes.reserve(upto >= from ? upto - from + 1 : 0);
  for (std::uint64_t s = from; s <= upto; ++s) {
    deletes.push_back({idx(Cf::kOutbox), store::be64(s), std::nullopt});
  }
  return db_->write_extra(deletes);
}

Result<PrimaryStore::Published> PrimaryStore::published() const {
  auto v = db_->get_extra(idx(Cf::kMeta), kPublishedKey);
  if (!v) return v.error();
  if (!*v) return Published{};
  auto through = store::from_be64(std::string_view(**v).substr(0, 8));
  auto seq = (*v)->size() == 16 ? store::from_be64(std::string_view(**v).substr(8)) : std::nullopt;
  if (!through || !seq) return StoreError{"corrupt published cursor"};
  return Published{*through, *seq};
}

Result<PrimaryStore::Snapshot> PrimaryStore::export_snapshot(const std::string& dir) const {
  auto exported = db_->export_snapshot(dir, idx(Cf::kMeta), kPublishedKey);
  if (!exported) return exported.error();
  Snapshot out;
  if (exported->stamp) {
    auto seq = exported->stamp->size() == 16
                   ? store::from_be64(std::string_view(*exported->stamp).substr(8))
                   : std::nullopt;
    if (!seq) return StoreError{"corrupt published cursor"};
    out.stream_seq = *seq;
  }
  out.files = std::move(*exported);
  return out;
}

Result<std::optional<store::RangeDigests>> PrimaryStore::drained_digests(
    std::uint64_t published_through) {
  return db_->range_digests(&write_mu_, [&] { return outbox_seq_.load() == published_through; });
}

std::uint64_t PrimaryStore::wait_for_commit(std::uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(commit_mu_);
  commit_cv_.wait_for(lock, timeout, [&] { return commits_ != seen; });
  return commits_;
}

void PrimaryStore::notify() {
  {
    std::lock_guard<std::mutex> g(commit_mu_);
    ++commits_;
  }
  commit_cv_.notify_all();
}

}  // namespace le::primary
