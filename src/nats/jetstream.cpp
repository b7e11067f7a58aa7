#include "nats/jetstream.h"

#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.h"

namespace le::nats {

std::string status_text(natsStatus s) { return natsStatus_GetText(s); }

// Shared by a JetStream and its connection's callbacks. libnats runs the callbacks on a thread
// of its own, later than the events they report, possibly after the JetStream is gone: each
// connection's callbacks hold a reference of their own (the closure), which the closed
// callback, always the connection's last, releases.
struct JetStream::Events {
  std::mutex mu;
  ConnectionWatch watch;  // under mu; empty once the JetStream has gone
  bool closing = false;   // under mu: we close the connection, so its loss is not news
  std::string client, url;
  std::atomic<std::uint64_t> reconnects{0};

  // Stores whether `nc` is connected now. Every change of the connection's status is followed
  // by a callback that calls this, and each reads the status under `mu`: so the last store is
  // the current status, whichever thread stores first.
  void store_connected(natsConnection* nc) {
    std::lock_guard lock(mu);
    if (watch.connected != nullptr) {
      watch.connected->store(natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED,
                             std::memory_order_release);
    }
  }
  bool ours() {
    std::lock_guard lock(mu);
    return closing;
  }
};

std::unique_ptr<JetStream> JetStream::connect(const NatsOptions& options, std::string& error,
                                              ConnectionWatch watch) {
  std::unique_ptr<JetStream> j(new JetStream());
  j->options_ = options;
  j->events_ = std::make_shared<Events>();
  j->events_->watch = watch;
  j->events_->client = options.client_name;
  j->events_->url = options.url;
  auto* closure = new std::shared_ptr<Events>(j->events_);
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  // One URL, or a comma-separated list of a cluster's servers (any of them will do).
  std::vector<std::string> urls;
  for (std::size_t at = 0; at <= options.url.size();) {
    const std::size_t comma = std::min(options.url.find(',', at), options.url.size());
    if (comma > at) urls.push_back(options.url.substr(at, comma - at));
    at = comma + 1;
  }
  std::vector<const char*> servers;
  for (const auto& u : urls) servers.push_back(u.c_str());
  if (s == NATS_OK) {
    s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  }
  if (s == NATS_OK && !options.client_name.empty())
    s = natsOptions_SetName(opts, options.client_name.c_str());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 200);
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
  // A dead server is noticed within about 3 s (pings every second, 2 outstanding allowed).
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 1000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 2);
  if (s == NATS_OK && options.send_asap) s = natsOptions_SetSendAsap(opts, true);
  // The callbacks are libnats' only word of a loss or a reconnect: after a successful connect it
  // reconnects by itself, and nothing we call fails while it does.
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, on_disconnected, closure);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, on_reconnected, closure);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, on_closed, closure);
  if (s == NATS_OK) s = natsConnection_Connect(&j->nc_, opts);
  natsOptions_Destroy(opts);
  // Without a connection no callback runs (a failed connect runs none): the closure is ours.
  if (j->nc_ == nullptr) delete closure;
  if (s == NATS_OK) j->events_->store_connected(j->nc_);
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
  if (nc_ == nullptr) return;
  {
    std::lock_guard lock(events_->mu);
    if (events_->watch.connected != nullptr) {
      events_->watch.connected->store(false, std::memory_order_release);
    }
    events_->watch = {};
    events_->closing = true;
  }
  natsConnection_Close(nc_);
  natsConnection_Destroy(nc_);
}

void JetStream::on_disconnected(natsConnection* nc, void* closure) {
  Events& ev = **static_cast<std::shared_ptr<Events>*>(closure);
  ev.store_connected(nc);
  if (!ev.ours()) {
    log::warn("nats", "connection lost; reconnecting", {{"client", ev.client}, {"url", ev.url}});
  }
}

void JetStream::on_reconnected(natsConnection* nc, void* closure) {
  Events& ev = **static_cast<std::shared_ptr<Events>*>(closure);
  const std::uint64_t n = ev.reconnects.fetch_add(1, std::memory_order_relaxed) + 1;
  {
    std::lock_guard lock(ev.mu);
    if (ev.watch.reconnects != nullptr) ev.watch.reconnects->fetch_add(1);
  }
  ev.store_connected(nc);
  log::info("nats", "reconnected",
            {{"client", ev.client}, {"url", ev.url}, {"reconnects", std::to_string(n)}});
}

void JetStream::on_closed(natsConnection*, void* closure) {
  auto* events = static_cast<std::shared_ptr<Events>*>(closure);
  Events& ev = **events;
  {
    std::lock_guard lock(ev.mu);
    if (ev.watch.connected != nullptr) ev.watch.connected->store(false, std::memory_order_release);
    if (!ev.closing) {
      log::error("nats", "connection closed by the client library; no more reconnects",
                 {{"client", ev.client}, {"url", ev.url}});
    }
  }
  delete events;  // the connection's last callback
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
  cfg.Replicas = options_.replicas;
  return ensure(js_, cfg);
}

std::string JetStream::ensure_mirror(const std::string& source, const std::string& api_prefix) {
  jsExternalStream external;
  std::memset(&external, 0, sizeof external);
  external.APIPrefix = api_prefix.c_str();
  external.DeliverPrefix = "";  // libnats marshals it unconditionally
  jsStreamSource mirror;
  std::memset(&mirror, 0, sizeof mirror);
  mirror.Name = source.c_str();
  mirror.External = &external;
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = options_.stream.c_str();
  cfg.Storage = js_FileStorage;
  cfg.MaxMsgsPerSubject = 1;
  cfg.Mirror = &mirror;
  cfg.Replicas = options_.replicas;
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
  cfg.Replicas = options_.replicas;
  return ensure(js_, cfg);
}

template <typename F>
auto JetStream::from_info(std::string& error, F&& read)
    -> std::optional<decltype(read(std::declval<const jsStreamInfo&>()))> {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK) {
    error = "stream info: " + status_text(s);
    return std::nullopt;
  }
  auto value = read(*si);
  jsStreamInfo_Destroy(si);
  return value;
}

std::optional<std::uint64_t> JetStream::last_seq(std::string& error) {
  return from_info(error, [](const jsStreamInfo& si) { return si.State.LastSeq; });
}

std::optional<std::int64_t> JetStream::created(std::string& error) {
  return from_info(error, [](const jsStreamInfo& si) { return si.Created; });
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
