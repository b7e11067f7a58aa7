#include "edge/failure_reporter.h"

#include <algorithm>

#include "common/log.h"

namespace le::edge {

FailureReporter::FailureReporter(unsigned threads, FailureReporterOptions options)
    : options_(std::move(options)) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) {
    slots_.push_back(std::make_unique<Slot>(options_.max_licenses_per_thread));
  }
}

FailureReporter::~FailureReporter() { stop(); }

void FailureReporter::start() {
  worker_.start([this] { run(); });
}

void FailureReporter::stop() { worker_.stop(); }

void FailureReporter::take_tallies(const std::function<void(const core::FailureTally&)>& take) {
  std::lock_guard lock(take_mu_);
  for (auto& slot : slots_) {
    {
      std::lock_guard slot_lock(slot->mu);
      slot->tally.swap(slot->spare);
    }
    // The spare is the taker's alone now: its thread counts into the other tally.
    if (!slot->spare.empty()) take(slot->spare);
    slot->spare.clear();
  }
}

void FailureReporter::drain(core::FailureTally& into) {
  take_tallies([&](const core::FailureTally& t) {
    for (const auto& c : t.counts()) {
      if (!into.add(c)) merge_dropped_.fetch_add(c.count, std::memory_order_relaxed);
    }
  });
}

std::uint64_t FailureReporter::dropped() const {
  std::uint64_t n = merge_dropped_.load(std::memory_order_relaxed);
  for (const auto& slot : slots_) n += slot->dropped.get();
  return n;
}

void FailureReporter::report(natsConnection* nc) {
  const std::int64_t max_payload = natsConnection_GetMaxPayload(nc);
  const std::size_t max_bytes =
      max_payload > 0 ? std::min(options_.max_report_bytes, static_cast<std::size_t>(max_payload))
                      : options_.max_report_bytes;
  std::string error;
  // Each thread's tally as it is: the primary sums a license's counts from several threads.
  take_tallies([&](const core::FailureTally& tally) {
    std::span<const core::FailureCount> rest = tally.counts();
    while (!rest.empty()) {
      const std::size_t n = core::encode_failure_report(rest, max_bytes, buf_);
      std::uint64_t failures = 0;
      for (const auto& c : rest.first(n)) failures += c.count;
      const natsStatus s = natsConnection_Publish(nc, nats::kFailureReportSubject, buf_.data(),
                                                  static_cast<int>(buf_.size()));
      if (s == NATS_OK) {
        stats_.reports.fetch_add(1, std::memory_order_relaxed);
        stats_.reported.fetch_add(failures, std::memory_order_relaxed);
      } else {
        stats_.unsent.fetch_add(failures, std::memory_order_relaxed);
        error = nats::status_text(s);
      }
      rest = rest.subspan(n);
    }
  });
  if (!error.empty()) log::warn("failure-reports", "report not sent", {{"error", error}});
}

void FailureReporter::run() {
  std::unique_ptr<nats::JetStream> nats;
  worker_.run_sessions(
      "NATS unavailable; failed validations wait at this edge",
      [&] { return nats::connect_session(options_.nats, nats); },
      [&] {
        // libnats reconnects the connection by itself: the session lasts until stop().
        std::unique_lock lock(worker_.mutex());
        stats_.connected.store(nats->connected());
        while (worker_.wait_for(lock, options_.interval)) {
          lock.unlock();
          const bool connected = nats->connected();
          stats_.connected.store(connected);
          // Disconnected, the counts wait in the tallies for the connection to come back.
          if (connected) report(nats->connection());
          lock.lock();
        }
        lock.unlock();
        // Stopping: what was counted until now leaves with a last report.
        report(nats->connection());
        natsConnection_FlushTimeout(nats->connection(), 2000);
        nats.reset();
        stats_.connected.store(false);
      });
}

void FailureReporter::collect(metrics::Families& out) const {
  using prometheus::MetricType;
  auto reports =
      metrics::family("le_edge_failure_reports_total",
                      "Failed-validation reports sent to the primary.", MetricType::Counter);
  metrics::sample(reports, {}, static_cast<double>(stats_.reports.load()));
  out.push_back(std::move(reports));
  auto reported =
      metrics::family("le_edge_validation_failures_reported_total",
                      "Failed validations of existing licenses sent to the primary in reports.",
                      MetricType::Counter);
  metrics::sample(reported, {}, static_cast<double>(stats_.reported.load()));
  out.push_back(std::move(reported));
  auto dropped = metrics::family(
      "le_edge_validation_failures_dropped_total",
      "Failed validations not reported: a thread's tally was full, or the report's publish "
      "failed.",
      MetricType::Counter);
  metrics::sample(dropped, {{"reason", "full"}}, static_cast<double>(this->dropped()));
  metrics::sample(dropped, {{"reason", "unsent"}}, static_cast<double>(stats_.unsent.load()));
  out.push_back(std::move(dropped));
}

}  // namespace le::edge
