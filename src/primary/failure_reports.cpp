#include "primary/failure_reports.h"

#include <algorithm>
#include <string>

#include "common/log.h"
#include "primary/refusal.h"

namespace le::primary {

// ---- FailureWindow ------------------------------------------------------------------------------

std::uint64_t FailureWindow::add(std::span<const core::FailureCount> counts, std::int64_t now_ms) {
  std::uint64_t dropped = 0;
  for (const auto& c : counts) {
    if (tally_.add(c)) {
      if (!opened_ms_) opened_ms_ = now_ms;
    } else {
      dropped += c.count;
    }
  }
  return dropped;
}

std::optional<std::int64_t> FailureWindow::closes_at() const {
  if (!opened_ms_) return std::nullopt;
  return *opened_ms_ + length_ms_;
}

bool FailureWindow::take_closed(std::int64_t now_ms, core::FailureTally& out) {
  const auto closes = closes_at();
  if (!closes || now_ms < *closes) return false;
  return take_open(out);
}

bool FailureWindow::take_open(core::FailureTally& out) {
  if (!opened_ms_) return false;
  out.clear();
  tally_.swap(out);
  opened_ms_.reset();
  return true;
}

// ---- FailureReports -----------------------------------------------------------------------------

FailureReports::FailureReports(Ledger& ledger, FailureReportOptions options)
    : ledger_(ledger),
      options_(std::move(options)),
      // Several looks a window, but not more often than needed to be on time within ~10%.
      tick_(std::clamp(options_.window / 10, std::chrono::milliseconds(10),
                       std::chrono::milliseconds(500))),
      window_(options_.window, options_.max_licenses),
      closing_(options_.max_licenses) {}

FailureReports::~FailureReports() { stop(); }

void FailureReports::start() {
  worker_.start([this] { run(); });
}

void FailureReports::stop() { worker_.stop(); }

void FailureReports::add(std::span<const core::FailureCount> failures) {
  if (failures.empty()) return;
  std::uint64_t received = 0;
  for (const auto& c : failures) received = std::min(core::kMaxFailureCount, received + c.count);
  const std::int64_t now_ms = ledger_.clock().now_ms();
  std::uint64_t dropped = 0;
  {
    std::lock_guard lock(mu_);
    dropped = window_.add(failures, now_ms);
  }
  stats_.received.fetch_add(received);
  if (dropped != 0) stats_.dropped.fetch_add(dropped);
}

std::size_t FailureReports::record(bool all) {
  std::lock_guard recording(record_mu_);
  {
    std::lock_guard lock(mu_);
    const bool taken =
        all ? window_.take_open(closing_) : window_.take_closed(ledger_.clock().now_ms(), closing_);
    if (!taken) return 0;
  }
  std::size_t events = 0;
  try {
    events = ledger_.record_validation_failures(closing_.counts());
  } catch (const Refusal& r) {
    // The store failed: the window's counts are lost rather than piled onto the next one.
    stats_.dropped.fetch_add(closing_.total());
    log::error("failure-reports", "recording validation.failed events failed",
               {{"error", r.what()}, {"licenses", std::to_string(closing_.size())}});
  }
  stats_.events.fetch_add(events);
  closing_.clear();
  return events;
}

void FailureReports::run() {
  std::unique_lock lock(worker_.mutex());
  do {
    lock.unlock();
    tick();
    lock.lock();
  } while (worker_.wait_for(lock, tick_));
  lock.unlock();
  record(true);
}

void FailureReports::collect(metrics::Families& out) const {
  using prometheus::MetricType;
  auto counter = [&](std::string name, std::string help, const std::atomic<std::uint64_t>& v) {
    auto f = metrics::family(std::move(name), std::move(help), MetricType::Counter);
    metrics::sample(f, {}, static_cast<double>(v.load()));
    out.push_back(std::move(f));
  };
  counter("le_primary_validation_failures_received_total",
          "Failed validations of existing licenses counted by the reports taken.", stats_.received);
  counter("le_primary_validation_failures_dropped_total",
          "Failed validations not recorded: the window was full, or the store failed.",
          stats_.dropped);
  counter("le_primary_validation_failed_events_total", "validation.failed events recorded.",
          stats_.events);
}

}  // namespace le::primary
