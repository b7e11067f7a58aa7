// Failed validations that edges report (core/failure_report.h), summed per license over a window
// and recorded as one `validation.failed` webhook event per license per window.
//
// A window opens with the first failure received after the previous window closed, and closes
// `window` later; then every license counted in it gets one event (Ledger::
// record_validation_failures) with the window's count, the last reason and the last machine id
// received. So a burst of failures within a window is one event, and a license that keeps
// failing gets one event per window. A window holds at most max_licenses licenses: failures of
// further licenses are dropped and counted, so memory is bounded whatever edges send.
//
// The failures arrive in edges' reports (primary/report_consumer.h), each counted once. The open
// window lives in memory: a primary that crashes loses it (its failures still count in usage).
// stop() records the open window at once.
//
// Thread-safety: start()/stop() from one controlling thread; add(), tick(), stats() and
// collect() from any. Windows are recorded on the service's own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>

#include "core/failure_report.h"
#include "metrics/metrics.h"
#include "nats/worker.h"
#include "primary/ledger.h"

namespace le::primary {

// The window's arithmetic, apart from NATS and the store; time is passed in (unix ms).
class FailureWindow {
 public:
  FailureWindow(std::chrono::milliseconds length, std::size_t max_licenses)
      : length_ms_(std::max<std::int64_t>(1, length.count())), tally_(max_licenses) {}

  // Counts failures received at `now_ms`; the first of a window opens it. Returns the failures
  // it had no room for.
  std::uint64_t add(std::span<const core::FailureCount> counts, std::int64_t now_ms);
  // When the open window closes; nullopt while none is open.
  std::optional<std::int64_t> closes_at() const;
  // Once the open window has closed by `now_ms`, moves its counts into `out` (which must be
  // empty) and returns true; the next failure opens the next window.
  bool take_closed(std::int64_t now_ms, core::FailureTally& out);
  // The same whether or not the window has closed (shutdown).
  bool take_open(core::FailureTally& out);

 private:
  std::int64_t length_ms_;
  std::optional<std::int64_t> opened_ms_;
  core::FailureTally tally_;
};

struct FailureReportOptions {
  std::chrono::milliseconds window{60'000};
  std::size_t max_licenses = 250'000;  // per window
};

struct FailureReportStats {
  std::atomic<std::uint64_t> received{0};  // failures the reports counted
  std::atomic<std::uint64_t> dropped{0};   // failures not recorded (window full, store error)
  std::atomic<std::uint64_t> events{0};    // validation.failed events recorded
};

class FailureReports {
 public:
  FailureReports(Ledger& ledger, FailureReportOptions options);
  ~FailureReports();
  FailureReports(const FailureReports&) = delete;
  FailureReports& operator=(const FailureReports&) = delete;

  // Records each window as it closes, on a thread of its own.
  void start();
  // Records the open window and stops.
  void stop();

  // The failures of one report.
  void add(std::span<const core::FailureCount> failures);
  // Records the window's events if it has closed by the ledger's clock; the service's thread
  // calls it several times a window. Returns the events recorded.
  std::size_t tick() { return record(false); }

  const FailureReportStats& stats() const { return stats_; }
  // le_primary_validation_failures_{received,dropped}_total,
  // le_primary_validation_failed_events_total.
  void collect(metrics::Families& out) const;

 private:
  void run();
  // Records the closed window, or (`all`) the open one.
  std::size_t record(bool all);

  Ledger& ledger_;
  FailureReportOptions options_;
  std::chrono::milliseconds tick_;
  FailureReportStats stats_;
  std::mutex mu_;
  FailureWindow window_;  // guarded by mu_
  // One recording at a time; guards closing_, the window being recorded (empty otherwise,
  // keeping its memory).
  std::mutex record_mu_;
  core::FailureTally closing_;
  nats::Worker worker_{"failure-reports"};
};

}  // namespace le::primary
