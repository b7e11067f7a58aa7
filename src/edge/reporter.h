// What an edge reports to the primaries (DESIGN §4 "Edge → primary reports"; the message:
// core/edge_report.h): failed validations of existing licenses for `validation.failed`, usage
// per license and account per day, TKI authentication attempts, blacklist hits.
//
// Counting: each I/O thread counts into tallies of its own (core/usage.h,
// core/failure_report.h) under its own lock, which no other I/O thread takes; the reporter's
// thread takes it once per interval to swap the tallies for empty ones (a few pointers).
// Nothing is allocated once the tallies have held as much before. Each tally is bounded: what
// does not fit is dropped and counted (le_edge_report_entries_dropped_total{reason="full"}), so
// hostile traffic cannot grow the edge's memory.
//
// A tally three-quarters full is flushed early (the reporter looks every 50 ms, and between two
// looks sends what it flushed), so a burst of distinct licenses is dropped only when it fills
// the last quarter of a tally faster than a flush is sent.
//
// Sending: every `interval` the reporter encodes what the threads counted into messages of at
// most max_message_bytes, each numbered (edge id, boot, seq), and publishes them in order to the
// JetStream reports stream (nats::kReportStream), each waiting for the stream's
// acknowledgement and carrying its Nats-Msg-Id, so a publish retried after a lost
// acknowledgement is stored once. Messages not yet acknowledged wait in a buffer of at most
// max_buffer_bytes, in order; while NATS is unreachable the buffer fills, and when it is full the
// oldest messages are dropped and their entries counted (reason="buffer"). So an edge killed
// with SIGKILL loses what it counted since its last flush, plus what waited in the buffer
// (nothing, while NATS is up). stop() flushes and tries to send what waits once more.
//
// Thread-safety: the count functions from I/O thread `worker` only; start()/stop() from one
// controlling thread; flush(), stats() and collect() from any.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/edge_report.h"
#include "metrics/metrics.h"
#include "nats/jetstream.h"
#include "nats/worker.h"

namespace le::edge {

struct ReporterOptions {
  nats::NatsOptions nats;
  std::string edge_id = "edge";  // core::valid_edge_id
  std::chrono::milliseconds interval{5'000};
  // Usage, auth attempts and blacklist hits counted (off: failed validations only).
  bool usage = true;
  // Per I/O thread and interval. Small enough that a full tally's table stays in a core's cache
  // (a flood of distinct licenses probes it on every request), large enough for any honest one.
  std::size_t max_failures_per_thread = 32'768;
  std::size_t max_usage_per_thread = 32'768;
  std::size_t max_auths_per_thread = 8'192;
  std::size_t max_blacklist_per_thread = 4'096;
  std::size_t max_message_bytes = 512 * 1024;       // and at most the server's max_payload
  std::size_t max_buffer_bytes = 64 * 1024 * 1024;  // messages waiting for the stream
  std::chrono::milliseconds publish_timeout{5'000};
};

// The kinds of entries a report carries, for the drop counters.
enum class ReportKind : std::uint8_t { kFailures, kUsage, kAuths, kBlacklist };
inline constexpr std::size_t kReportKindCount = 4;

struct ReporterStats {
  std::atomic<std::uint64_t> messages{0};        // acknowledged by the stream
  std::atomic<std::uint64_t> failures_sent{0};   // failed validations those messages counted
  std::atomic<std::uint64_t> publish_errors{0};  // publishes that failed (retried later)
  std::atomic<std::uint64_t> flushes{0};         // intervals taken (whatever NATS did)
  std::atomic<std::uint64_t> pending{0};         // messages waiting
  std::atomic<std::uint64_t> pending_bytes{0};
  std::atomic<std::uint64_t> last_acked_seq{0};
  std::array<std::atomic<std::uint64_t>, kReportKindCount> buffer_dropped{};  // entries
  std::atomic<bool> connected{false};
};

// What a TKI authentication attempt is recorded with.
struct AuthInput {
  std::int64_t at_ms = 0;
  const core::AccountRecord* account = nullptr;  // the API key's; nullptr: not recorded
  core::Mode mode = core::Mode::kLive;
  const core::LicenseRecord* license = nullptr;  // the account's license named, if any
  std::string_view product, version, ip, hwid, user_agent;
  // The IP as distinct IPs are counted (its bytes, as validations count the client's; the text
  // when it is not an address).
  std::string_view ip_key;
  core::TkiStatus status = core::TkiStatus::kSuccess;
};

class Reporter {
 public:
  Reporter(unsigned threads, ReporterOptions options);
  ~Reporter();
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;

  // Connects in the background (retrying with backoff), then flushes every interval.
  void start();
  // Flushes what was counted, tries once more to send what waits, and closes the connection.
  // Call after the I/O threads stopped.
  void stop();

  bool usage() const { return options_.usage; }

  // One failed validation of an existing license (core/failure_report.h). `license_hash`: what
  // prefetch_failure() of that license returned, if it was called.
  void count_failure(unsigned worker, const core::Digest& license, core::FailureReason reason,
                     std::string_view machine_id,
                     std::optional<std::uint64_t> license_hash = std::nullopt);
  // Called once a failure is known, a little before count_failure() of it (after the answer is
  // written, say): starts loading its tally's memory meanwhile. Returns the license's hash.
  std::uint64_t prefetch_failure(unsigned worker, const core::Digest& license);
  // One validation: of `license` when it is the caller's (else nullptr: the account's alone).
  // `license_hash`: what prefetch_usage() of that license returned, if it was called.
  void count_validation(unsigned worker, std::string_view account, core::Mode mode,
                        const core::LicenseRecord* license, core::UsageOutcome outcome,
                        std::int64_t now_ms, std::string_view machine_id, std::string_view ip_key,
                        std::optional<std::uint64_t> license_hash = std::nullopt);
  // Called once the license is known, well before count_validation() of it: starts loading
  // its tally entry's memory meanwhile. Returns the hash of the license's id, for
  // count_validation() to reuse.
  std::uint64_t prefetch_usage(unsigned worker, const core::LicenseRecord& license,
                               std::int64_t now_ms);
  void count_auth(unsigned worker, const AuthInput& a);
  void count_blacklist_hit(unsigned worker, const core::BlacklistEntry& entry, std::int64_t now_ms);

  // Takes what the threads counted into messages waiting to be sent (the interval's work,
  // without the sending). Returns the messages added.
  std::size_t flush();
  // Hands each thread's counts, swapped out, to `take` (for tests; what it is handed is then
  // cleared, not sent).
  using TakeFn = std::function<void(const core::FailureTally&, const core::UsageTally&,
                                    const core::AuthLog&, const core::BlacklistHits&)>;
  void take(const TakeFn& take);
  // Entries dropped because a thread's tally was full, by kind, summed over threads.
  std::uint64_t dropped_full(ReportKind kind) const;
  const ReporterStats& stats() const { return stats_; }
  // le_edge_reports_total, le_edge_reports_pending{,_bytes}, le_edge_report_publish_errors_total,
  // le_edge_report_entries_dropped_total{kind,reason}, le_edge_reports_connected,
  // le_edge_validation_failures_reported_total.
  void collect(metrics::Families& out) const;

 private:
  struct Tallies {
    explicit Tallies(const ReporterOptions& o)
        : failures(o.max_failures_per_thread),
          usage(o.max_usage_per_thread),
          auths(o.max_auths_per_thread),
          blacklist(o.max_blacklist_per_thread) {}
    void swap(Tallies& other) noexcept;
    void clear();
    bool empty() const;
    core::FailureTally failures;
    core::UsageTally usage;
    core::AuthLog auths;
    core::BlacklistHits blacklist;
  };
  struct alignas(64) Slot {
    explicit Slot(const ReporterOptions& o) : now(o), spare(o) {}
    std::mutex mu;  // taken by its I/O thread and, once an interval, by the reporter
    Tallies now;
    Tallies spare;  // empty; swapped in for `now` (under mu), keeps its memory
    std::array<metrics::Cell, kReportKindCount> dropped;  // its I/O thread's (under mu)
    // Whether a tally of `now` is three-quarters full: the reporter then flushes early.
    std::atomic<bool> filling{false};
  };
  struct Pending {
    std::uint64_t seq = 0;
    // Shared with a send() under way, which publishes it without a copy.
    std::shared_ptr<std::string> body;
    std::array<std::uint64_t, kReportKindCount> entries{};
    std::uint64_t failures = 0;  // failed validations counted
  };

  void take_locked(const TakeFn& take);  // with flush_mu_ held
  // After an entry was added to `s.now`: notes whether a tally is nearly full.
  void note_fill(Slot& s) const;
  bool filling() const;
  void run();
  // Publishes waiting messages in order until one fails; false when one did.
  bool send(nats::JetStream& js);
  void enqueue(std::string body, const std::array<std::uint64_t, kReportKindCount>& entries,
               std::uint64_t failures, std::uint64_t seq);
  void drop(ReportKind kind, Slot& s) { s.dropped[static_cast<std::size_t>(kind)].add(); }

  ReporterOptions options_;
  std::uint64_t boot_ms_;
  std::vector<std::unique_ptr<Slot>> slots_;
  ReporterStats stats_;
  // One flush at a time: guards encoder_, next_seq_ and the slots' spares.
  std::mutex flush_mu_;
  core::ReportEncoder encoder_;
  core::UsageCount usage_;  // an entry of a usage tally, being encoded
  std::uint64_t next_seq_ = 1;
  // Messages waiting for the stream, oldest first.
  std::mutex pending_mu_;
  std::deque<Pending> pending_;
  std::size_t pending_bytes_ = 0;
  // Bodies of sent messages, for the next messages to reuse: a flush then writes into memory
  // already mapped instead of faulting in a fresh megabyte per message.
  std::vector<std::string> spare_bodies_;
  nats::Worker worker_{"reports"};
};

}  // namespace le::edge
