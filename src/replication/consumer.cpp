#include "replication/consumer.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <future>
#include <string_view>
#include <vector>

#include "cache/record_cache.h"
#include "common/log.h"
#include "core/change_event.h"
#include "replication/snapshot.h"
#include "store/range_check.h"

namespace le::replication {
namespace {

// Stream sequence and pending count from a JetStream message's reply subject, without the
// allocations of natsMsg_GetMetaData:
//   $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
//   $JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>.<token>
bool stream_position(natsMsg* msg, std::uint64_t& seq, std::uint64_t& pending) {
  const char* reply = natsMsg_GetReply(msg);
  if (reply == nullptr) return false;
  std::string_view r(reply);
  std::string_view tokens[12];
  std::size_t n = 0;
  while (n < 12) {
    const auto dot = r.find('.');
    tokens[n++] = r.substr(0, dot);
    if (dot == std::string_view::npos) break;
    r.remove_prefix(dot + 1);
  }
  std::size_t at;
  if (n == 9) {
    at = 5;
  } else if (n >= 11) {
    at = 7;
  } else {
    return false;
  }
  auto number = [](std::string_view t, std::uint64_t& out) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return ec == std::errc() && p == t.data() + t.size();
  };
  return tokens[0] == "$JS" && tokens[1] == "ACK" && number(tokens[at], seq) &&
         number(tokens[at + 3], pending);
}

}  // namespace

Consumer::Consumer(store::RecordStore& replica, cache::InvalidationStamps& stamps,
                   const core::Clock& clock, ConsumerOptions options)
    : replica_(replica), stamps_(stamps), clock_(clock), options_(std::move(options)) {
  if (auto seq = replica_.applied_seq()) stats_.applied_seq.store(*seq);
}

Consumer::~Consumer() { stop(); }

void Consumer::start() {
  worker_.start([this] { run(); });
}

void Consumer::stop() { worker_.stop(); }

void Consumer::run() {
  std::unique_ptr<JetStream> js;
  bool first = true;
  worker_.run_sessions(
      "cannot connect to NATS; serving the replica as it is",
      [&] {
        std::string error;
        js = JetStream::connect(options_.nats, error, {&stats_.connected, &stats_.reconnects});
        return error;
      },
      [&] {
        if (!first && !resubscribing_) stats_.reconnects.fetch_add(1);
        first = false;
        resubscribing_ = false;
        const std::string error = follow(*js);
        stats_.connected.store(false);
        js.reset();
        if (worker_.stopping()) return;
        log::warn("replication", "stream interrupted; resuming from the replica's applied_seq",
                  {{"error", error}, {"applied_seq", std::to_string(stats_.applied_seq.load())}});
      });
}

void Consumer::maybe_flush() {
  const std::uint64_t unflushed = stats_.unflushed.load();
  if (unflushed == 0 || options_.flush_messages == 0) return;
  if (unflushed < options_.flush_messages &&
      std::chrono::steady_clock::now() - unflushed_since_ < options_.flush_interval) {
    return;
  }
  if (auto flushed = replica_.flush(); !flushed) {
    log::warn("replication", "flushing the replica failed", {{"error", flushed.error().message}});
    return;
  }
  stats_.unflushed.store(0);
  stats_.flushes.fetch_add(1);
}

void Consumer::start_compare(const store::RangeCheck& check, std::uint64_t at, bool live) {
  if (check.covers + 1 != at || !live || digests_.valid()) {
    suspect_.clear();  // "two checks in a row" means two compared in a row
    stats_.checks_skipped.fetch_add(1);
    return;
  }
  // The replica as of the check, read on a thread of its own: replication goes on meanwhile.
  digests_check_ = check;
  digests_at_ = at;
  digests_ = std::async(std::launch::async, [this, point = replica_.read_point()] {
    return replica_.range_digests(nullptr, {}, point.get());
  });
}

std::vector<std::pair<store::KeySpace, std::size_t>> Consumer::finish_compare(bool wait) {
  if (!digests_.valid()) return {};
  if (!wait && digests_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return {};
  auto mine = digests_.get();
  const store::RangeCheck& check = digests_check_;
  const std::uint64_t at = digests_at_;
  if (!mine || !*mine) {
    log::warn("replication", "cannot compute the range digests",
              {{"error", mine ? "" : mine.error().message}});
    return {};
  }
  stats_.checks.fetch_add(1);
  auto differ = store::differing_ranges(check.digests, **mine);
  // A range must differ at two checks in a row: a change this edge applied from the primary's
  // answer to its own write can be ahead of the stream at one of them.
  std::vector<std::pair<store::KeySpace, std::size_t>> confirmed;
  for (const auto& d : differ) {
    if (std::find(suspect_.begin(), suspect_.end(), d) != suspect_.end()) confirmed.push_back(d);
  }
  suspect_ = differ;
  if (differ.empty()) return {};
  if (confirmed.empty()) {
    log::info("replication",
              "key ranges differ from the primary's; comparing again at the next "
              "digests",
              {{"ranges", std::to_string(differ.size())}, {"seq", std::to_string(at)}});
    return {};
  }
  std::string ranges;
  for (const auto& [space, range] : confirmed) {
    if (!ranges.empty()) ranges += ",";
    ranges += std::to_string(static_cast<int>(space)) + "/" + std::to_string(range);
  }
  stats_.divergences.fetch_add(1);
  stats_.divergent_ranges.fetch_add(confirmed.size());
  log::error("replication",
             "the replica differs from the primary's records; repairing it from the newest "
             "snapshot",
             {{"ranges", ranges},
              {"records_here", std::to_string((*mine)->records)},
              {"records_at_primary", std::to_string(check.digests.records)},
              {"seq", std::to_string(at)}});
  suspect_.clear();
  return confirmed;
}

std::optional<FetchedSnapshot> Consumer::fetch_snapshot(JetStream& js, std::uint64_t after,
                                                        std::string& error) {
  auto created = js.created(error);
  if (!created) return std::nullopt;
  ObjectStore objects(js, options_.snapshot_bucket);
  return fetch_newest_snapshot(objects, *created, after, options_.snapshot_dir, error);
}

void Consumer::discard_snapshot_files() {
  std::error_code ignored;
  std::filesystem::remove_all(options_.snapshot_dir, ignored);
}

void Consumer::repair(JetStream& js,
                      const std::vector<std::pair<store::KeySpace, std::size_t>>& ranges) {
  std::string error;
  std::uint64_t written = 0;
  std::uint64_t seq = 0;
  if (auto fetched = fetch_snapshot(js, 0, error)) {
    seq = fetched->seq;
    std::vector<store::TouchedKey> touched;
    auto repaired = replica_.repair_from_snapshot(fetched->files, ranges, touched);
    if (repaired) {
      written = *repaired;
      for (const auto& t : touched) stamps_.bump(t.space, t.key);
    } else {
      error = repaired.error().message;
    }
  } else if (error.empty()) {
    error = "no snapshot";
  }
  discard_snapshot_files();
  if (written == 0) {
    // Nothing to take from the newest snapshot (none, or it predates the difference): the
    // ranges stay as they are, and the next checks find them again. A snapshot written now
    // (POST /admin/v1/snapshots at the primary) gives the repair what it needs.
    stats_.repair_failures.fetch_add(1);
    log::error("replication", "cannot repair the replica from the newest snapshot",
               {{"error", error.empty() ? "it holds nothing that differs here" : error},
                {"snapshot_seq", std::to_string(seq)}});
    return;
  }
  stats_.repairs.fetch_add(1);
  log::info("replication", "repaired the replica from a snapshot",
            {{"snapshot_seq", std::to_string(seq)}, {"records_written", std::to_string(written)}});
}

std::optional<std::uint64_t> Consumer::bootstrap(JetStream& js, std::uint64_t applied,
                                                 std::uint64_t head) {
  const auto started = std::chrono::steady_clock::now();
  std::string error;
  std::optional<std::uint64_t> at;
  std::uint64_t changed = 0;
  std::uint64_t bytes = 0;
  if (auto fetched = fetch_snapshot(js, applied, error)) {
    if (fetched->seq > head) {
      error = "the newest snapshot (seq " + std::to_string(fetched->seq) +
              ") is ahead of the stream (" + std::to_string(head) + ")";
    } else if (auto ingested = replica_.ingest_snapshot(fetched->files, fetched->seq)) {
      at = fetched->seq;
      changed = *ingested;
      bytes = fetched->bytes;
    } else {
      error = "ingest: " + ingested.error().message;
    }
  }
  discard_snapshot_files();
  if (!error.empty()) {
    stats_.bootstrap_failures.fetch_add(1);
    log::warn("replication", "no snapshot to start from; following the stream alone",
              {{"error", error}, {"applied_seq", std::to_string(applied)}});
  }
  if (!at) return std::nullopt;
  stamps_.bump_all();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  stats_.bootstraps.fetch_add(1);
  stats_.bootstrap_seq.store(*at);
  stats_.bootstrap_ms.store(ms);
  log::info("replication", "ingested a snapshot; following the stream after it",
            {{"seq", std::to_string(*at)},
             {"bytes", std::to_string(bytes)},
             {"records_changed", std::to_string(changed)},
             {"ms", std::to_string(ms)}});
  return at;
}

std::string Consumer::follow(JetStream& js) {
  std::string error;
  if (!options_.mirror_api.empty()) {
    error = js.ensure_mirror(options_.mirror_source, options_.mirror_api);
    if (!error.empty()) return error;
  }
  auto head = js.last_seq(error);
  if (!head) return error;
  auto applied = replica_.applied_seq();
  if (!applied) return applied.error().message;
  std::uint64_t seq = *applied;
  stats_.applied_seq.store(seq);
  if (*head > stats_.head_seq.load()) stats_.head_seq.store(*head);
  if (!head_known_) {
    startup_head_ = *head;
    head_known_ = true;
    log::info("replication", "following the change stream",
              {{"stream", js.options().stream},
               {"from_seq", std::to_string(seq + 1)},
               {"stream_last_seq", std::to_string(*head)}});
  }
  if (*head < seq) {
    // The stream is behind the replica: recreated, or its servers lost messages they had
    // acknowledged (the primary publishes its retained outbox again then). Replay it from the
    // start: records carry their versions, so what the replica holds newer stays, and nothing
    // the stream has is skipped. The replica serves meanwhile.
    log::warn("replication", "the stream is behind the replica; replaying it from the start",
              {{"stream_last_seq", std::to_string(*head)}, {"applied_seq", std::to_string(seq)}});
    stats_.stream_rewinds.fetch_add(1);
    seq = 0;
  } else if (!options_.snapshot_dir.empty() && *head > seq &&
             (seq == 0 || *head - seq > options_.bootstrap_behind)) {
    if (auto at = bootstrap(js, seq, *head)) {
      seq = *at;
      stats_.applied_seq.store(seq, std::memory_order_release);
    }
  }
  if (seq >= startup_head_ || *head < startup_head_) {
    stats_.caught_up.store(true, std::memory_order_release);
  }

  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = js.options().stream.c_str();
  so.Ordered = true;  // ephemeral, in order, flow-controlled; the library repairs gaps
  if (seq > 0) {
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = seq + 1;
  } else {
    so.Config.DeliverPolicy = js_DeliverAll;
  }
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_SubscribeSync(&sub, js.context(), nats::kStreamSubjects, nullptr, &so, &jerr);
  if (s != NATS_OK) return "subscribe: " + nats::status_text(s) + " " + nats_GetLastError(nullptr);
  natsSubscription_SetPendingLimits(sub, 1 << 20, 1 << 30);

  std::vector<core::ChangeEvent> events;
  events.reserve(options_.batch);
  // Range digests met in the stream: their sequence, and whether the replica can be compared
  // with them there — every sequence since the subscription started was delivered, or they
  // are the stream's last message (so every entity's last message is before them).
  std::optional<store::RangeCheck> check;
  std::uint64_t check_seq = 0;
  bool check_live = false;
  bool gapless = true;
  suspect_.clear();
  std::string result;
  unsigned idle = 0;
  const std::uint64_t reconnects_at_start = stats_.reconnects.load();
  while (!worker_.stopping()) {
    natsMsg* msg = nullptr;
    s = natsSubscription_NextMsg(&msg, sub, 200);
    if (s == NATS_TIMEOUT) {
      // Idle after libnats reconnected: the server may have lost the ordered consumer (an
      // ephemeral one does not outlive a restart), which the library notices only after
      // missing heartbeats for many seconds. Subscribe again at once instead.
      if (stats_.reconnects.load() != reconnects_at_start) {
        resubscribing_ = true;
        result = "reconnected to NATS: subscribing again";
        break;
      }
      maybe_flush();
      if (const auto ranges = finish_compare(false); !ranges.empty()) repair(js, ranges);
      // Idle: every 2 s, whether the stream went behind the replica (an ordered consumer would
      // wait silently for sequences the stream has not reached again).
      if (++idle % 10 == 0) {
        std::string head_error;
        if (auto now_head = js.last_seq(head_error); now_head && *now_head < seq) {
          result = "the stream is behind the replica (" + std::to_string(*now_head) + " < " +
                   std::to_string(seq) + ")";
          break;
        }
      }
      continue;
    }
    idle = 0;
    if (s != NATS_OK) {
      result = "next message: " + nats::status_text(s);
      break;
    }
    events.clear();
    check.reset();
    std::uint64_t last = seq;
    std::uint64_t pending = 0;
    // Take what is already buffered, up to the batch size, for one WriteBatch.
    for (;;) {
      std::uint64_t stream_seq = 0;
      if (stream_position(msg, stream_seq, pending)) {
        if (stream_seq > last) {
          if (stream_seq != last + 1) gapless = false;
          last = stream_seq;
          const std::string_view body(natsMsg_GetData(msg),
                                      static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
          if (std::string_view(natsMsg_GetSubject(msg)) == store::kCheckSubject) {
            check = store::decode_range_check(body);
            if (check) {
              check_seq = stream_seq;
              check_live = pending == 0 || gapless;
            } else {
              stats_.undecodable.fetch_add(1);
              log::warn("replication", "undecodable range digests skipped",
                        {{"seq", std::to_string(stream_seq)}});
            }
            natsMsg_Destroy(msg);
            msg = nullptr;
            break;  // what follows them waits until the replica's read point is taken
          }
          auto decoded = core::decode_change_event(body);
          if (auto* ev = std::get_if<core::ChangeEvent>(&decoded)) {
            ev->seq = stream_seq;
            events.push_back(std::move(*ev));
          } else {
            stats_.undecodable.fetch_add(1);
            log::warn("replication", "undecodable message skipped",
                      {{"seq", std::to_string(stream_seq)},
                       {"subject", natsMsg_GetSubject(msg)},
                       {"error", std::get<core::DecodeError>(decoded).message}});
          }
        }
      }
      natsMsg_Destroy(msg);
      msg = nullptr;
      if (events.size() >= options_.batch) break;
      int queued = 0;
      if (natsSubscription_GetPending(sub, &queued, nullptr) != NATS_OK || queued == 0) break;
      if (natsSubscription_NextMsg(&msg, sub, 0) != NATS_OK) break;
    }
    if (last == seq) continue;
    auto applied = cache::apply_and_invalidate(replica_, stamps_, events, last);
    if (!applied) {
      // Nothing was written; the next connection resumes from the stored applied_seq.
      result = "apply: " + applied.error().message;
      break;
    }
    if (stats_.unflushed.load() == 0) unflushed_since_ = std::chrono::steady_clock::now();
    stats_.unflushed.fetch_add(last - seq);
    seq = last;
    stats_.applied_seq.store(seq, std::memory_order_release);
    stats_.events_applied.fetch_add(applied->applied);
    stats_.events_stale.fetch_add(applied->stale);
    stats_.batches.fetch_add(1);
    stats_.last_apply_ms.store(clock_.now_ms());
    if (seq + pending > stats_.head_seq.load()) stats_.head_seq.store(seq + pending);
    if (!stats_.caught_up.load() && seq >= startup_head_) {
      stats_.caught_up.store(true, std::memory_order_release);
      log::info("replication", "caught up with the stream", {{"applied_seq", std::to_string(seq)}});
    }
    maybe_flush();
    if (check) start_compare(*check, check_seq, check_live);
    if (const auto ranges = finish_compare(false); !ranges.empty()) repair(js, ranges);
  }
  natsSubscription_Destroy(sub);
  finish_compare(true);  // its answer is for this session; none is left running after it
  return result;
}

}  // namespace le::replication
