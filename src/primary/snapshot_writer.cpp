#include "primary/snapshot_writer.h"

#include <filesystem>
#include <memory>

#include "common/log.h"
#include "replication/snapshot.h"

namespace le::primary {

SnapshotWriter::SnapshotWriter(PrimaryStore& store, SnapshotWriterOptions options)
    : store_(store), options_(std::move(options)) {}

SnapshotWriter::~SnapshotWriter() { stop(); }

void SnapshotWriter::start() {
  worker_.start([this] { run(); });
}

void SnapshotWriter::stop() { worker_.stop(); }

void SnapshotWriter::request() {
  {
    std::lock_guard lock(worker_.mutex());
    requested_ = true;
  }
  worker_.notify();
}

void SnapshotWriter::run() {
  std::unique_ptr<nats::JetStream> js;
  worker_.run_sessions(
      "NATS unavailable; snapshots wait",
      [&] {
        std::string error = nats::connect_session(options_.nats, js);
        if (error.empty()) {
          replication::ObjectStore objects(*js, options_.bucket);
          error = objects.ensure(options_.nats.replicas);
          if (!error.empty()) js.reset();
        }
        return error;
      },
      [&] {
        const bool periodic = options_.interval.count() > 0;
        for (;;) {
          bool asked = false;
          {
            // Until asked, stopped, or (periodic) the interval has passed.
            std::unique_lock lock(worker_.mutex());
            do {
              worker_.wait_for(lock,
                               periodic ? std::chrono::milliseconds(options_.interval)
                                        : std::chrono::milliseconds(3'600'000),
                               [this] { return requested_; });
            } while (!periodic && !requested_ && !worker_.stopping());
            if (worker_.stopping()) break;
            asked = requested_;
            requested_ = false;
          }
          if (!asked && covered_) {
            // Periodic: only when the stream moved on since the last one.
            auto published = store_.published();
            if (published && published->stream_seq == stats_.last_seq.load()) continue;
          }
          if (const auto error = write_one(*js); !error.empty()) {
            stats_.failures.fetch_add(1);
            log::warn("snapshots", "snapshot not written", {{"error", error}});
            if (!js->connected() && natsConnection_IsClosed(js->connection())) break;
          }
        }
        js.reset();
      });
}

std::string SnapshotWriter::write_one(nats::JetStream& js) {
  const auto started = std::chrono::steady_clock::now();
  std::error_code ec;
  std::filesystem::remove_all(options_.dir, ec);
  struct Cleanup {
    const std::string& dir;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{options_.dir};
  std::string error;
  auto created = js.created(error);
  if (!created) return error;
  auto snapshot = store_.export_snapshot(options_.dir);
  if (!snapshot) return "export: " + snapshot.error().message;
  if (snapshot->files.files.empty()) return {};  // nothing to start from yet
  replication::ObjectStore objects(js, options_.bucket);
  replication::SnapshotSummary summary;
  error = replication::publish_snapshot(objects, snapshot->files.files, snapshot->stream_seq,
                                        *created, options_.keep, &summary);
  if (!error.empty()) return error;
  stats_.last_seq.store(summary.seq);
  covered_ = true;
  if (summary.existed) return {};  // nothing changed since it was written
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  stats_.written.fetch_add(1);
  stats_.last_bytes.store(summary.bytes);
  stats_.last_records.store(summary.entries);
  stats_.last_ms.store(ms);
  stats_.last_unix_s.store(std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
  log::info("snapshots", "snapshot written",
            {{"seq", std::to_string(summary.seq)},
             {"records", std::to_string(summary.entries)},
             {"bytes", std::to_string(summary.bytes)},
             {"ms", std::to_string(ms)}});
  return {};
}

}  // namespace le::primary
