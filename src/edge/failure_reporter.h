// Failed validations of existing licenses, reported to the primary for `validation.failed`
// (DESIGN §4 "Edge → primary reports"; what counts and the report's form: core/failure_report.h).
//
// An I/O thread counts a failure in its own tally (one per thread, coalescing per license);
// a thread of the reporter's own, every `interval`, swaps each tally for an empty one and
// publishes it as a few NATS messages (core NATS, subject nats::kFailureReportSubject, taken by
// one primary of the queue group, which sums what several threads and edges report). So a
// flood of failures becomes one entry per license per thread and interval, and validation
// never waits on NATS.
//
// The hot path: count() takes its thread's lock, which no other I/O thread takes; the reporter
// takes it once per interval to swap the tally (a few pointers). Nothing is allocated once a
// tally has held as many licenses before. A tally holds at most max_licenses_per_thread
// licenses: failures of further ones are dropped and counted, so hostile traffic cannot grow
// the edge's memory. While NATS is unreachable the counts wait in the tallies, bounded the
// same way, and leave with the first report after it is back. Reports are sent at most once: a
// primary that is down when one arrives misses it. stop() sends what was counted until then.
//
// Its own NATS connection: a large report is written to the socket without holding up the
// activations the edge forwards on the other.
//
// Thread-safety: count(worker, …) from I/O thread `worker` only; start()/stop() from one
// controlling thread; drain(), dropped(), collect() and stats() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/failure_report.h"
#include "metrics/metrics.h"
#include "nats/jetstream.h"
#include "nats/worker.h"

namespace le::edge {

struct FailureReporterOptions {
  nats::NatsOptions nats;
  std::chrono::milliseconds interval{10'000};
  // Small enough that a full tally's table stays in a core's cache (a flood of distinct
  // failing licenses probes it on every request), large enough for any honest burst.
  std::size_t max_licenses_per_thread = 32'768;
  std::size_t max_report_bytes = 512 * 1024;  // and at most the server's max_payload
};

struct FailureReporterStats {
  std::atomic<std::uint64_t> reports{0};   // messages published
  std::atomic<std::uint64_t> reported{0};  // failures those messages counted
  std::atomic<std::uint64_t> unsent{0};    // failures whose publish failed (lost)
  std::atomic<bool> connected{false};
};

class FailureReporter {
 public:
  FailureReporter(unsigned threads, FailureReporterOptions options);
  ~FailureReporter();
  FailureReporter(const FailureReporter&) = delete;
  FailureReporter& operator=(const FailureReporter&) = delete;

  // Connects in the background (retrying with backoff), then reports every interval.
  void start();
  // Reports what was counted, then closes the connection. Call after the I/O threads stopped.
  void stop();

  // One failed validation of `license` answered on I/O thread `worker`.
  void count(unsigned worker, const core::Digest& license, core::FailureReason reason,
             std::string_view machine_id) {
    Slot& s = *slots_[worker];
    std::lock_guard lock(s.mu);
    if (!s.tally.add(license, 1, reason, machine_id)) s.dropped.add();
  }

  // Moves what the threads counted into `into` (merged per license); failures it has no room
  // for are counted as dropped.
  void drain(core::FailureTally& into);
  // Swaps each thread's tally for an empty one and hands it to `take`, then clears it.
  void take_tallies(const std::function<void(const core::FailureTally&)>& take);
  // Failures dropped because a tally was full, summed over threads.
  std::uint64_t dropped() const;
  const FailureReporterStats& stats() const { return stats_; }
  // le_edge_failure_reports_total, le_edge_validation_failures_{reported,dropped}_total.
  void collect(metrics::Families& out) const;

 private:
  struct alignas(64) Slot {
    explicit Slot(std::size_t max) : tally(max), spare(max) {}
    std::mutex mu;  // taken by its I/O thread and, once an interval, by the reporter
    core::FailureTally tally;
    core::FailureTally spare;  // empty; swapped in for `tally` (under mu), keeps its memory
    metrics::Cell dropped;     // written by its I/O thread only (under mu)
  };
  void run();
  // Publishes what the threads counted on `nc`.
  void report(natsConnection* nc);

  FailureReporterOptions options_;
  std::vector<std::unique_ptr<Slot>> slots_;
  FailureReporterStats stats_;
  // One take at a time: a Slot's spare is the taker's. Guards buf_ (one message).
  std::mutex take_mu_;
  std::string buf_;
  std::atomic<std::uint64_t> merge_dropped_{0};  // drain()'s
  nats::Worker worker_{"failure-reports"};
};

}  // namespace le::edge
