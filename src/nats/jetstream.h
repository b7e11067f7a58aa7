// The JetStream change stream as both sides use it (DESIGN §4): connection with unbounded
// reconnects, the stream's definition (subjects lic.>, one message kept per subject), and the
// stream's head.
//
// A connection reports its own health: libnats' disconnected, reconnected and closed callbacks
// log each loss (warning) and each reconnect (info), and keep the owner's ConnectionWatch up to
// date, so what /readyz and /metrics say follows the real connection during an outage, not
// only the owner's sessions (which go on across libnats' reconnects).
//
// Thread-safety: a JetStream object is used by one thread; libnats' own threads handle I/O and
// reconnects underneath, and run the callbacks. The destructor clears the watch's `connected`
// and detaches the watch: no callback touches it after that, so the watched atomics may go
// right after the JetStream.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace le::nats {

inline constexpr const char* kDefaultStream = "LICENSING";
inline constexpr const char* kStreamSubjects = "lic.>";
// Edge → primary writes (core/write_protocol.h): request subject "licw.<op>", answered by one
// member of the primaries' queue group. Outside the stream's subjects.
inline constexpr const char* kWriteSubjectPrefix = "licw.";
inline constexpr const char* kWriteQueueGroup = "license-primary";
// Edge → primary reports (core/edge_report.h): a stream of their own, apart from the change
// stream, taken by the primaries' durable consumer and deleted once acknowledged.
inline constexpr const char* kReportStream = "LICENSE_REPORTS";
inline constexpr const char* kReportSubject = "licr.report";
inline constexpr const char* kReportConsumer = "license-primary-reports";

struct NatsOptions {
  std::string url = "nats://127.0.0.1:4222";
  std::string stream = kDefaultStream;
  std::string client_name;  // shown by the server's monitoring
  std::chrono::milliseconds request_timeout{5000};
  // Send each publish at once instead of letting libnats' flusher batch it: for request/reply
  // round trips, where the batching delay would be most of the latency.
  bool send_asap = false;
  // Copies of the streams this side creates (JetStream clustering: 1, 3 or 5).
  int replicas = 1;
};

std::string status_text(natsStatus s);

// Where a connection's owner wants its health kept, typically atomics in the owner's stats that
// /readyz and /metrics read. Either may be null. `connected` is true while the connection is up
// (set at connect, cleared on each loss and at close, set again on each reconnect);
// `reconnects` is increased by one on each of libnats' reconnects.
struct ConnectionWatch {
  std::atomic<bool>* connected = nullptr;
  std::atomic<std::uint64_t>* reconnects = nullptr;
};

class JetStream {
 public:
  // Connects once (no retry here: callers loop with backoff). After a successful connect,
  // libnats reconnects by itself, forever, and `watch` follows the connection's state until
  // this object is destroyed. nullptr and `error` set on failure.
  static std::unique_ptr<JetStream> connect(const NatsOptions& options, std::string& error,
                                            ConnectionWatch watch = {});
  ~JetStream();
  JetStream(const JetStream&) = delete;
  JetStream& operator=(const JetStream&) = delete;

  natsConnection* connection() const { return nc_; }
  jsCtx* context() const { return js_; }
  bool connected() const { return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }

  // Creates the stream if missing (MaxMsgsPerSubject = 1, file storage). Empty on success.
  std::string ensure_stream();
  // Creates the reports stream if missing (work queue, file storage, messages kept up to
  // `max_age` and `max_bytes`, publishes deduplicated by Nats-Msg-Id over `duplicates`). Empty
  // on success.
  std::string ensure_report_stream(std::chrono::seconds max_age, std::int64_t max_bytes,
                                   std::chrono::seconds duplicates);
  // Creates, unless it exists, options().stream as a mirror of `source` in another JetStream
  // domain, reached through `api_prefix` (e.g. "$JS.core.API" across a leaf node): a region's
  // local copy of the change stream. Empty on success.
  std::string ensure_mirror(const std::string& source, const std::string& api_prefix);
  // The stream's last sequence (0 when empty); nullopt and `error` set when unavailable.
  std::optional<std::uint64_t> last_seq(std::string& error);
  // When the stream was created (ns since the epoch): tells one incarnation of a stream, and
  // its numbering, from another. nullopt and `error` set when unavailable.
  std::optional<std::int64_t> created(std::string& error);

  const NatsOptions& options() const { return options_; }

 private:
  JetStream() = default;
  // What the connection callbacks share with this object (jetstream.cpp).
  struct Events;
  static void on_disconnected(natsConnection* nc, void* closure);
  static void on_reconnected(natsConnection* nc, void* closure);
  static void on_closed(natsConnection* nc, void* closure);

  // `read(info)` of the stream's info; nullopt and `error` set when unavailable.
  template <typename F>
  auto from_info(std::string& error, F&& read)
      -> std::optional<decltype(read(std::declval<const jsStreamInfo&>()))>;

  NatsOptions options_;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  std::shared_ptr<Events> events_;
};

// Sleeps with exponential backoff (capped) unless `stop` is set; returns false when stopping.
class Backoff {
 public:
  explicit Backoff(std::chrono::milliseconds initial = std::chrono::milliseconds(100),
                   std::chrono::milliseconds max = std::chrono::milliseconds(2000))
      : initial_(initial), max_(max), next_(initial) {}
  bool wait(const std::atomic<bool>& stop);
  void reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_, max_, next_;
};

}  // namespace le::nats
