// Takes the edges' reports (core/edge_report.h) from the JetStream reports stream and records
// them: usage, auth attempts and blacklist hits into the UsageStore, failed validations into
// the validation.failed windows (FailureReports).
//
// A durable pull consumer (nats::kReportConsumer) shared by the primaries: each report is taken
// by one, applied, then acknowledged. A report is applied with its edge's (boot, seq) in one
// write, so a redelivery — a primary that died between the write and the acknowledgement, an
// acknowledgement lost — is recognised and only acknowledged again (counted as duplicate). A
// report that does not decode is logged, counted and acknowledged (it would never decode). A
// store failure leaves the report and those after it unacknowledged, to be delivered again
// after a backoff, in order.
//
// The primary creates the reports stream at start (work-queue retention: acknowledged reports
// are deleted; kept at most `stream_max_age` and `stream_max_bytes` while no primary takes them).
//
// Thread-safety: start()/stop() from one controlling thread; receive(), stats() and collect()
// from any; reports are applied on the consumer's own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "metrics/metrics.h"
#include "nats/jetstream.h"
#include "nats/worker.h"
#include "primary/failure_reports.h"
#include "primary/usage_store.h"

namespace le::primary {

struct ReportConsumerOptions {
  nats::NatsOptions nats;
  std::chrono::seconds stream_max_age{7 * 24 * 3600};
  std::int64_t stream_max_bytes = std::int64_t{1} << 30;
  std::chrono::seconds duplicates{600};  // the stream's Nats-Msg-Id window
  int batch = 64;
  std::chrono::milliseconds ack_wait{30'000};
};

struct ReportConsumerStats {
  std::atomic<std::uint64_t> applied{0};
  std::atomic<std::uint64_t> duplicate{0};
  std::atomic<std::uint64_t> undecodable{0};
  std::atomic<std::uint64_t> store_errors{0};
  std::atomic<std::uint64_t> usage_entries{0};
  std::atomic<std::uint64_t> auth_records{0};
  std::atomic<bool> connected{false};
};

class ReportConsumer {
 public:
  // `failures` may be null (validation.failed not recorded).
  ReportConsumer(UsageStore& store, FailureReports* failures, ReportConsumerOptions options);
  ~ReportConsumer();
  ReportConsumer(const ReportConsumer&) = delete;
  ReportConsumer& operator=(const ReportConsumer&) = delete;

  void start();
  void stop();

  enum class Received { kApplied, kDuplicate, kUndecodable, kStoreError };
  // One report, as a message's body arrives.
  Received receive(std::string_view message);

  const ReportConsumerStats& stats() const { return stats_; }
  // le_primary_reports_total{result}, le_primary_reports_connected,
  // le_primary_usage_entries_total, le_primary_auth_log_records_total,
  // le_primary_key_sharing_flags_total.
  void collect(metrics::Families& out) const;

 private:
  void run();

  UsageStore& store_;
  FailureReports* failures_;
  ReportConsumerOptions options_;
  ReportConsumerStats stats_;
  nats::Worker worker_{"reports"};
};

}  // namespace le::primary
