#include "primary/report_consumer.h"

#include <string>

#include "common/log.h"

namespace le::primary {

ReportConsumer::ReportConsumer(UsageStore& store, FailureReports* failures,
                               ReportConsumerOptions options)
    : store_(store), failures_(failures), options_(std::move(options)) {}

ReportConsumer::~ReportConsumer() { stop(); }

void ReportConsumer::start() {
  worker_.start([this] { run(); });
}

void ReportConsumer::stop() { worker_.stop(); }

ReportConsumer::Received ReportConsumer::receive(std::string_view message) {
  auto decoded = core::decode_edge_report(message);
  if (auto* e = std::get_if<core::DecodeError>(&decoded)) {
    stats_.undecodable.fetch_add(1);
    log::warn("reports", "undecodable report dropped", {{"error", e->message}});
    return Received::kUndecodable;
  }
  const auto& report = std::get<core::EdgeReport>(decoded);
  auto applied = store_.apply(report);
  if (!applied) {
    stats_.store_errors.fetch_add(1);
    log::error("reports", "recording a report failed; it will be delivered again",
               {{"error", applied.error().message}, {"edge", report.header.edge}});
    return Received::kStoreError;
  }
  if (*applied == ApplyOutcome::kDuplicate) {
    stats_.duplicate.fetch_add(1);
    return Received::kDuplicate;
  }
  if (failures_ != nullptr) failures_->add(report.failures);
  stats_.applied.fetch_add(1);
  stats_.usage_entries.fetch_add(report.usage.size());
  stats_.auth_records.fetch_add(report.auths.size());
  return Received::kApplied;
}

void ReportConsumer::run() {
  std::unique_ptr<nats::JetStream> nats;
  natsSubscription* sub = nullptr;
  worker_.run_sessions(
      "NATS unavailable; edges' reports wait in the stream",
      [&]() -> std::string {
        if (auto error = nats::connect_session(options_.nats, nats); !error.empty()) return error;
        if (auto error = nats->ensure_report_stream(options_.stream_max_age,
                                                    options_.stream_max_bytes, options_.duplicates);
            !error.empty()) {
          nats.reset();
          return error;
        }
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = nats::kReportStream;
        so.Config.Durable = nats::kReportConsumer;
        so.Config.AckPolicy = js_AckExplicit;
        so.Config.AckWait = static_cast<int64_t>(options_.ack_wait.count()) * 1'000'000;
        // At most a batch unacknowledged: a report delivered again comes before later ones.
        so.Config.MaxAckPending = options_.batch;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        const natsStatus s = js_PullSubscribe(&sub, nats->context(), nats::kReportSubject,
                                              nats::kReportConsumer, nullptr, &so, &jerr);
        if (s != NATS_OK) {
          nats.reset();
          return "subscribe to reports: " + nats::status_text(s) + " " + nats_GetLastError(nullptr);
        }
        return {};
      },
      [&] {
        log::info("reports", "taking edges' reports", {{"stream", nats::kReportStream}});
        while (!worker_.stopping()) {
          stats_.connected.store(nats->connected());
          natsMsgList list{};
          jsErrCode jerr = static_cast<jsErrCode>(0);
          const natsStatus s = natsSubscription_Fetch(&list, sub, options_.batch, 500, &jerr);
          if (s == NATS_TIMEOUT) continue;
          if (s != NATS_OK) {
            // Disconnected (libnats reconnects): try again shortly.
            if (!worker_.backoff()) break;
            continue;
          }
          bool failed = false;
          for (int i = 0; i < list.Count; ++i) {
            natsMsg* msg = list.Msgs[i];
            if (failed) {
              natsMsg_Nak(msg, nullptr);  // after a failure: in order, later
              continue;
            }
            const Received r = receive(std::string_view(
                natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))));
            if (r == Received::kStoreError) {
              failed = true;
              natsMsg_Nak(msg, nullptr);
            } else {
              natsMsg_Ack(msg, nullptr);
            }
          }
          natsMsgList_Destroy(&list);
          if (failed && !worker_.backoff()) break;
        }
        natsSubscription_Unsubscribe(sub);  // the durable consumer stays
        natsSubscription_Destroy(sub);
        sub = nullptr;
        nats.reset();
        stats_.connected.store(false);
      });
}

void ReportConsumer::collect(metrics::Families& out) const {
  using prometheus::MetricType;
  auto reports = metrics::family("le_primary_reports_total",
                                 "Edges' reports taken from the reports stream, by result.",
                                 MetricType::Counter);
  for (auto [result, v] :
       {std::pair{"applied", &stats_.applied}, std::pair{"duplicate", &stats_.duplicate},
        std::pair{"undecodable", &stats_.undecodable},
        std::pair{"store_error", &stats_.store_errors}}) {
    metrics::sample(reports, {{"result", result}}, static_cast<double>(v->load()));
  }
  out.push_back(std::move(reports));
  auto one = [&](std::string name, std::string help, double v, MetricType type) {
    auto f = metrics::family(std::move(name), std::move(help), type);
    metrics::sample(f, {}, v);
    out.push_back(std::move(f));
  };
  one("le_primary_reports_connected", "1 while the primary takes edges' reports.",
      stats_.connected.load() ? 1 : 0, MetricType::Gauge);
  one("le_primary_usage_entries_total", "Usage entries (license-days) in the reports applied.",
      static_cast<double>(stats_.usage_entries.load()), MetricType::Counter);
  one("le_primary_auth_log_records_total", "TKI authentication attempts recorded.",
      static_cast<double>(stats_.auth_records.load()), MetricType::Counter);
  one("le_primary_key_sharing_flags_total",
      "License-days newly flagged for key sharing (more distinct machines or IPs in a day than "
      "the threshold).",
      static_cast<double>(store_.key_sharing_flags()), MetricType::Counter);
}

}  // namespace le::primary
