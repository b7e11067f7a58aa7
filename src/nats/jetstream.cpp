#include "nats/jetstream.h"

#include <thread>

namespace le::nats {

std::string status_text(natsStatus s) { return natsStatus_GetText(s); }

std::unique_ptr<JetStream> JetStream::connect(const NatsOptions& options, std::string& error) {
  std::unique_ptr<JetStream> j(new JetStream());
  j->options_ = options;
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, options.url.c_str());
  if (s == NATS_OK && !options.client_name.empty())
    s = natsOptions_SetName(opts, options.client_name.c_str());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 200);
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
  // A dead server is noticed within about 3 s (pings every second, 2 outstanding allowed).
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 1000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 2);
  if (s == NATS_OK && options.send_asap) s = natsOptions_SetSendAsap(opts, true);
  if (s == NATS_OK) s = natsConnection_Connect(&j->nc_, opts);
  natsOptions_Destroy(opts);
  if (s == NATS_OK) {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = options.request_timeout.count();
    jo.PublishAsync.MaxPending = 8192;
    s = natsConnection_JetStream(&j->js_, j->nc_, &jo);
  }
  if (s != NATS_OK) {
    error = "connect to " + options.url + ": " + status_text(s) + " " + nats_GetLastError(nullptr);
    return nullptr;
  }
  return j;
}

JetStream::~JetStream() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (nc_ != nullptr) {
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
  }
}

namespace {

// Creates the stream `cfg` names unless it exists. Empty on success.
std::string ensure(jsCtx* js, jsStreamConfig& cfg) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js, cfg.Name, nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return {};
  }
  if (s != NATS_NOT_FOUND) return "stream info: " + status_text(s);
  s = js_AddStream(&si, js, &cfg, nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return {};
  }
  return "create stream " + std::string(cfg.Name) + ": " + status_text(s) + " (" +
         std::to_string(static_cast<int>(jerr)) + ") " + nats_GetLastError(nullptr);
}

std::int64_t nanos(std::chrono::seconds d) {
  return static_cast<std::int64_t>(d.count()) * 1'000'000'000;
}

}  // namespace

std::string JetStream::ensure_stream() {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subjects[] = {kStreamSubjects};
  cfg.Name = options_.stream.c_str();
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.MaxMsgsPerSubject = 1;  // a compacted log: the latest state of every entity
  cfg.Duplicates = nanos(std::chrono::seconds(120));  // Nats-Msg-Id window
  return ensure(js_, cfg);
}

std::string JetStream::ensure_report_stream(std::chrono::seconds max_age, std::int64_t max_bytes,
                                            std::chrono::seconds duplicates) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subjects[] = {kReportSubject};
  cfg.Name = kReportStream;
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Retention = js_WorkQueuePolicy;  // a report goes once the primaries acknowledged it
  cfg.MaxAge = nanos(max_age);
  cfg.MaxBytes = max_bytes;
  cfg.Discard = js_DiscardOld;
  cfg.Duplicates = nanos(duplicates);
  return ensure(js_, cfg);
}

std::optional<std::uint64_t> JetStream::last_seq(std::string& error) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK) {
    error = "stream info: " + status_text(s);
    return std::nullopt;
  }
  const std::uint64_t seq = si->State.LastSeq;
  jsStreamInfo_Destroy(si);
  return seq;
}

bool Backoff::wait(const std::atomic<bool>& stop) {
  const auto until = std::chrono::steady_clock::now() + next_;
  while (std::chrono::steady_clock::now() < until) {
    if (stop.load(std::memory_order_acquire)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  next_ = std::min(max_, next_ * 2);
  return !stop.load(std::memory_order_acquire);
}

}  // namespace le::nats
