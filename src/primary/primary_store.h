// The primary's system of record: the same record key spaces as an edge replica (so a digest of
// every record compares directly with an edge's), plus the primary's own column families: the
// outbox of change events still to publish, and the indexes the management API needs.
//
// Every change is one Tx: it holds the store's writer lock from its first read to its commit,
// so read-modify-write (an activation against the machine limit, a version bump) is serialized,
// and it commits the records, their index entries and one outbox row per change in one atomic
// RocksDB write. A crash before the commit loses the change entirely; after it, the outbox row
// is there for the publisher.
//
// Thread-safety: begin() from any thread; one Tx is used by one thread. Reads outside a Tx
// (records(), list_licenses(), outbox reads) may run concurrently with a Tx.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/change_event.h"
#include "store/record_store.h"

namespace le::primary {

using store::Result;
using store::StoreError;

// Extra column families of the primary's database, by index (primary_column_families()).
enum class Cf : std::size_t {
  kOutbox = 0,             // outbox seq (8 bytes BE) → space byte, type, \0, record key
  kMeta = 1,               // "outbox_seq" → last outbox seq assigned
  kLicenseIds = 2,         // license id → key digest
  kApiKeyIds = 3,          // api key id → key digest
  kAccountLicenses = 4,    // account \0 mode \0 created (8 bytes BE) id → key digest
  kActivationChanges = 5,  // license id → unix seconds (8 bytes BE each) of recent slot changes
  kEvents = 6,             // account \0 mode \0 event seq (8 bytes BE) → webhook event JSON
  kWebhooks = 7,           // account \0 mode \0 endpoint id → endpoint JSON (webhooks.h)
  kExpiries = 8,           // expires_at (8 bytes BE) license id → key digest, until it passes
  kDeliveries = 9,         // webhook deliveries, per endpoint (deliveries.h)
  kDeliveryDue = 10,       // pending deliveries by next attempt, per endpoint (deliveries.h)
  kSigningKeys = 11,       // root kid → created, retires_at, private key (signing_keys.h)
  kLeases = 12,            // lease release time (8 bytes BE) license id \0 machine → key digest
  kUsers = 13,             // dashboard users, by email, id and account (sessions.h)
  kSessions = 14,          // sign-in session id → user, secret digest, expiry (sessions.h)
  kJwtSecrets = 15,        // JWT secret kid → created, retires_at, key (sessions.h)
  kBranding = 16,          // account id → its branding, JSON (mail.h)
  kMails = 17,             // license emails: "m" license id → the mail, "q" license id → due
};

std::vector<std::string> primary_column_families();

// "<account>\0<mode digit>\0": the key prefix of an account's rows of one mode.
std::string account_mode_prefix(std::string_view account, core::Mode mode);

// The change event of `type` for `record` (deleted: its tombstone), as Tx::put() takes it.
template <typename Rec>
core::ChangeEvent change_event(std::string type, Rec record, bool deleted = false) {
  core::ChangeEvent ev;
  ev.type = std::move(type);
  ev.deleted = deleted;
  ev.record = std::move(record);
  return ev;
}

struct OutboxEntry {
  std::uint64_t seq = 0;
  store::KeySpace space = store::KeySpace::kLicense;
  std::string key;   // the record's key in its key space
  std::string type;  // event type, e.g. "license.activated"
};

// A webhook delivery's due entry (deliveries.h): its time and event.
struct QueuedDue {
  std::int64_t at_ms = 0;
  std::uint64_t seq = 0;
};
struct Queued {
  std::string endpoint_key;
  std::optional<QueuedDue> due;  // none: read the endpoint's due entries again
};

struct LicenseFilter {
  std::string account_id;
  core::Mode mode = core::Mode::kLive;
  std::optional<core::LicenseStatus> status;  // as clients see it at `now` (expiry computed)
  std::int64_t now = 0;
  std::optional<std::string> product_id;
};

struct LicensePage {
  std::uint64_t total = 0;
  std::vector<core::LicenseRecord> items;
};

class PrimaryStore {
 public:
  // `read_only`: writes nothing and never creates (--digest, --dump). A non-empty directory that
  // holds no database is refused either way (store::RecordStoreOptions::rebuild).
  static Result<std::unique_ptr<PrimaryStore>> open(const std::string& path,
                                                    std::size_t block_cache_bytes = 64u << 20,
                                                    bool read_only = false);

  const store::RecordStore& records() const { return *db_; }

  class Tx {
   public:
    // Stages the new state of an entity (its version must be the stored version + 1; 1 when
    // new) and an outbox event of `type` for it; returns the event's outbox seq.
    std::uint64_t put(core::ChangeEvent ev);
    void index(Cf cf, std::string key, std::optional<std::string> value);
    // Notes a delivery due entry written in this Tx (or, without `due`, that the endpoint's
    // due entries should be read again); after the commit the delivery worker learns it from
    // take_queued().
    void queued_for(std::string endpoint_key, std::optional<QueuedDue> due = std::nullopt);
    // Records a webhook event (spec "Webhooks") for the account's later delivery, committed
    // with the change; `payload(seq)` builds its JSON given its sequence number.
    std::uint64_t record_event(std::string_view account_id, core::Mode mode,
                               const std::function<std::string(std::uint64_t seq)>& payload);
    // Commits everything staged (records, outbox rows, index entries, webhook events and the
    // sequence counters) in one RocksDB WriteBatch, or nothing: every version is checked before
    // anything is written, and a change that is not newer than the stored record refuses the
    // whole commit, leaving the database and the sequence counters as they were. Then wakes the
    // publisher. The lock is released when the Tx is destroyed; a Tx destroyed with changes
    // staged and not committed leaves nothing behind either (the sequence numbers it took are
    // never published: the store's counters move only when a commit is written).
    Result<void> commit();
    ~Tx();
    Tx(Tx&&) = delete;

    const store::RecordStore& records() const { return *store_.db_; }

   private:
    friend class PrimaryStore;
    explicit Tx(PrimaryStore& s)
        : store_(s),
          lock_(s.write_mu_),
          outbox_seq_(s.outbox_seq_.load()),
          event_seq_(s.event_seq_.load()) {}
    // Drops what is staged and the sequence numbers it took (back to the committed ones).
    void roll_back();
    PrimaryStore& store_;
    std::unique_lock<std::mutex> lock_;
    // The last sequence numbers taken by this Tx; the store's own counters are the committed
    // ones, and under the writer lock nobody else takes any.
    std::uint64_t outbox_seq_;
    std::uint64_t event_seq_;
    std::vector<core::ChangeEvent> events_;
    std::vector<store::ExtraWrite> extra_;
    std::vector<Queued> queued_;
    bool events_recorded_ = false;
  };
  Tx begin() { return Tx(*this); }

  Result<std::optional<core::LicenseRecord>> license_by_id(std::string_view id) const;
  Result<std::optional<core::ApiKeyRecord>> api_key_by_id(std::string_view id) const;
  // Licenses of one account and mode, oldest first, filtered; `offset`/`limit` select the page,
  // `total` counts every match.
  Result<LicensePage> list_licenses(const LicenseFilter& filter, std::uint64_t offset,
                                    std::uint64_t limit) const;
  // Webhook events of one account and mode with seq > after, oldest first: the `limit` from
  // `offset` on, and how many there are in all (counted by a pass over the account's events).
  struct EventPage {
    std::uint64_t total = 0;
    std::vector<std::string> items;  // event JSON
  };
  Result<EventPage> events_page(std::string_view account_id, core::Mode mode, std::uint64_t after,
                                std::uint64_t offset, std::uint64_t limit) const;
  // Every live record of a key space belonging to `account_id` (products, blacklist entries).
  Result<std::vector<core::ChangeEvent>> list_account(store::KeySpace space,
                                                      std::string_view account_id) const;

  // The oldest outbox rows with seq > after, at most `max` (rows up to the published cursor
  // stay until pruned: see ack_outbox).
  Result<std::vector<OutboxEntry>> outbox_after(std::uint64_t after, std::size_t max) const;
  // Records rows up to `upto` as acknowledged by the stream, whose highest acknowledged
  // sequence is then `stream_seq`; the rows stay (retained) until prune_outbox.
  Result<void> ack_outbox(std::uint64_t upto, std::uint64_t stream_seq);
  // Removes rows with from <= seq <= upto.
  Result<void> prune_outbox(std::uint64_t from, std::uint64_t upto);
  // What ack_outbox recorded last: the outbox cursor and the stream's sequence (0, 0: none).
  struct Published {
    std::uint64_t through = 0;
    std::uint64_t stream_seq = 0;
  };
  Result<Published> published() const;
  // The record key spaces as SST files in `dir` at one point in time, and the stream sequence
  // they cover: every change the stream holds up to it is in them (rows are acknowledged after
  // their changes commit, and the published cursor read at the same point).
  struct Snapshot {
    store::ExportedSnapshot files;
    std::uint64_t stream_seq = 0;
  };
  Result<Snapshot> export_snapshot(const std::string& dir) const;
  // The self-check's range digests of the records (store/range_check.h) when every committed
  // change is published — the last outbox row committed is `published_through` — taken at a
  // point no commit can pass: then the stream's last message per entity is its state here.
  // nullopt when something is left to publish.
  Result<std::optional<store::RangeDigests>> drained_digests(std::uint64_t published_through);
  // Blocks until a commit after `seen_commits`, or the timeout; returns the commit count.
  std::uint64_t wait_for_commit(std::uint64_t seen_commits, std::chrono::milliseconds timeout);
  // The last outbox seq committed.
  std::uint64_t outbox_seq() const { return outbox_seq_.load(std::memory_order_acquire); }
  // Wakes wait_for_commit() callers (shutdown).
  void notify();
  // What committed Txs queued since the last call, in commit order. Bounded: past
  // kMaxQueuedNotes (nobody taking them), they collapse into one re-read note per endpoint.
  static constexpr std::size_t kMaxQueuedNotes = 1 << 16;
  std::vector<Queued> take_queued();

 private:
  PrimaryStore() = default;
  // A record found through an id → digest index.
  template <typename Rec, typename Get>
  Result<std::optional<Rec>> by_id(Cf index, std::string_view id, Get get) const;
  std::unique_ptr<store::RecordStore> db_;
  std::mutex write_mu_;
  std::atomic<std::uint64_t> outbox_seq_{0};  // committed; written under write_mu_
  std::atomic<std::uint64_t> event_seq_{0};   // likewise
  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  std::uint64_t commits_ = 0;   // guarded by commit_mu_
  std::vector<Queued> queued_;  // guarded by commit_mu_
};

}  // namespace le::primary
