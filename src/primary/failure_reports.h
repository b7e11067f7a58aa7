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
// Reports arrive over core NATS (subject nats::kFailureReportSubject, one member of the
// primaries' queue group takes each): at most once, so a report sent while no primary is
// subscribed is lost. A report that does not decode is logged, counted and dropped. stop()
// stops taking reports and records the open window at once: nothing received is lost.
//
// Thread-safety: start()/stop() from one controlling thread; receive(), tick(), stats() and
// collect() from any. Reports are taken on libnats' delivery thread, windows recorded on the
// service's own.
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
#include "nats/jetstream.h"
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
  nats::NatsOptions nats;
  std::chrono::milliseconds window{60'000};
  std::size_t max_licenses = 250'000;  // per window
};

struct FailureReportStats {
  std::atomic<std::uint64_t> reports{0};      // decoded
  std::atomic<std::uint64_t> undecodable{0};  // dropped
  std::atomic<std::uint64_t> received{0};     // failures the decoded reports counted
  std::atomic<std::uint64_t> dropped{0};      // failures not recorded (window full, store error)
  std::atomic<std::uint64_t> events{0};       // validation.failed events recorded
  std::atomic<bool> connected{false};
};

class FailureReports {
 public:
  FailureReports(Ledger& ledger, FailureReportOptions options);
  ~FailureReports();
  FailureReports(const FailureReports&) = delete;
  FailureReports& operator=(const FailureReports&) = delete;

  // Subscribes in the background (retrying with backoff) and records each window as it closes.
  void start();
  // Stops taking reports, lets the one being taken finish, and records the open window.
  void stop();

  // One report, as a message's body arrives.
  void receive(std::string_view message);
  // Records the window's events if it has closed by the ledger's clock; the service's thread
  // calls it several times a window. Returns the events recorded.
  std::size_t tick() { return record(false); }

  const FailureReportStats& stats() const { return stats_; }
  // le_primary_failure_reports_total, …_undecodable_total, …_connected, le_primary_validation_
  // failures_{received,dropped}_total, le_primary_validation_failed_events_total.
  void collect(metrics::Families& out) const;

 private:
  void run();
  static void on_message(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* closure);
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
