#include "primary/publisher.h"

#include "common/log.h"

namespace le::primary {
namespace {

struct AckCounts {
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> max_seq{0};  // the highest stream sequence acknowledged
};

// Every publish is confirmed positively: a batch counts as published only when JetStream has
// acknowledged each of its messages.
void on_publish_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  auto* counts = static_cast<AckCounts*>(closure);
  if (pa != nullptr && pae == nullptr) {
    counts->ok.fetch_add(1);
    std::uint64_t seen = counts->max_seq.load();
    while (pa->Sequence > seen && !counts->max_seq.compare_exchange_weak(seen, pa->Sequence)) {
    }
  } else {
    counts->failed.fetch_add(1);
  }
  natsMsg_Destroy(msg);
}

}  // namespace

Publisher::Publisher(PrimaryStore& store, PublisherOptions options)
    : store_(store), options_(std::move(options)) {}

Publisher::~Publisher() { stop(); }

void Publisher::start() {
  worker_.start([this] { run(); });
}

void Publisher::stop() {
  worker_.stop([this] { store_.notify(); });
}

void Publisher::run() {
  // Rows up to the recorded cursor were acknowledged in an earlier run, and so were the rows
  // before the oldest one still kept. Those kept are retained one more period from now.
  auto published = store_.published();
  if (auto oldest = store_.outbox_after(0, 1); oldest && published) {
    retained_from_ = oldest->empty() ? store_.outbox_seq() + 1 : oldest->front().seq;
    cursor_ = std::max(published->through, retained_from_ - 1);
    acked_stream_seq_ = published->stream_seq;
    if (retained_from_ <= cursor_) acked_.emplace_back(cursor_, Clock::now());
    stats_.outbox_seq.store(cursor_);
  }
  std::unique_ptr<nats::JetStream> js;
  worker_.run_sessions(
      "NATS unavailable; changes wait in the outbox",
      [&] {
        std::string error;
        js = nats::JetStream::connect(options_.nats, error, {&stats_.connected, nullptr});
        if (js) error = check_stream(*js);
        if (!error.empty()) js.reset();  // not a session: connected goes back to false
        return error;
      },
      [&] {
        log::info("publisher", "publishing the outbox", {{"stream", options_.nats.stream}});
        for (;;) {
          const std::string error = drain(*js);
          if (worker_.stopping()) break;
          stats_.failures.fetch_add(1);
          log::warn("publisher", "publish failed; retrying", {{"error", error}});
          if (!worker_.backoff()) break;
          if (!js->connected() && natsConnection_IsClosed(js->connection())) break;
          // The server may be another one now (restarted, recreated): check what it holds.
          if (const auto e = check_stream(*js); !e.empty()) {
            log::warn("publisher", "stream check failed", {{"error", e}});
          }
        }
        stats_.connected.store(false);
        js.reset();
      });
}

std::string Publisher::drain(nats::JetStream& js) {
  AckCounts acks;
  // The error handler is per context: the closure lives as long as this call.
  jsCtx* ctx = nullptr;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = options_.nats.request_timeout.count();
  jo.PublishAsync.MaxPending = static_cast<int64_t>(options_.batch);
  jo.PublishAsync.AckHandler = on_publish_ack;
  jo.PublishAsync.AckHandlerClosure = &acks;
  natsStatus s = natsConnection_JetStream(&ctx, js.connection(), &jo);
  if (s != NATS_OK) return "jetstream context: " + nats::status_text(s);
  std::string result;
  std::uint64_t commits = store_.wait_for_commit(~std::uint64_t{0}, std::chrono::milliseconds(0));
  std::string subject, msg_id;
  unsigned idle = 0;
  while (!worker_.stopping()) {
    auto rows = store_.outbox_after(cursor_, options_.batch);
    if (!rows) {
      result = "outbox: " + rows.error().message;
      break;
    }
    if (rows->empty()) {
      prune();
      // Idle: every 2 s, whether the stream still holds what it acknowledged (its server may
      // have restarted without it; libnats reconnects underneath this session).
      if (++idle % 4 == 0) {
        result = check_stream(js);
        if (!result.empty()) break;
      }
      if (options_.check_interval.count() > 0 &&
          Clock::now() - last_check_ >= options_.check_interval) {
        result = publish_check(js);
        if (!result.empty()) break;
      }
      commits = store_.wait_for_commit(commits, std::chrono::milliseconds(500));
      continue;
    }
    idle = 0;
    acks.ok.store(0);
    acks.failed.store(0);
    std::uint64_t sent = 0;
    for (const auto& row : *rows) {
      auto ev = store_.records().stored_event(row.space, row.key);
      if (!ev) {
        result = "read: " + ev.error().message;
        break;
      }
      if (!*ev) continue;  // cannot happen: records are never erased, only tombstoned
      (*ev)->type = row.type;
      subject = (*ev)->subject();
      msg_id = subject + "@" + std::to_string((*ev)->version());
      const std::string body = core::encode_change_event(**ev);
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MsgId = msg_id.c_str();
      s = js_PublishAsync(ctx, subject.c_str(), body.data(), static_cast<int>(body.size()), &po);
      if (s != NATS_OK) {
        result = "publish: " + nats::status_text(s);
        break;
      }
      ++sent;
    }
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = options_.nats.request_timeout.count();
    s = js_PublishAsyncComplete(ctx, &wait);
    if (s != NATS_OK) {
      natsMsgList pending;
      if (js_PublishAsyncGetPendingList(&pending, ctx) == NATS_OK) natsMsgList_Destroy(&pending);
      if (result.empty()) result = "awaiting acks: " + nats::status_text(s);
    }
    if (!result.empty()) break;
    if (acks.ok.load() != sent) {
      result = std::to_string(sent - acks.ok.load()) + " of " + std::to_string(sent) +
               " publishes not acknowledged (" + std::to_string(acks.failed.load()) + " rejected)";
      break;
    }
    const std::uint64_t last = rows->back().seq;
    acked_stream_seq_ = std::max(acked_stream_seq_, acks.max_seq.load());
    if (auto acked = store_.ack_outbox(last, acked_stream_seq_); !acked) {
      result = "outbox ack: " + acked.error().message;
      break;
    }
    acked_.emplace_back(last, Clock::now());
    prune();
    cursor_ = last;
    stats_.published.fetch_add(rows->size());
    stats_.outbox_seq.store(last);
  }
  jsCtx_Destroy(ctx);
  return result;
}

std::string Publisher::check_stream(nats::JetStream& js) {
  std::string error = js.ensure_stream();
  if (!error.empty()) return error;
  const auto head = js.last_seq(error);
  if (!head) return error;
  if (*head < acked_stream_seq_) {
    log::error("publisher",
               "the stream is behind what it acknowledged (its servers lost acknowledged "
               "messages); publishing the retained outbox again",
               {{"stream_last_seq", std::to_string(*head)},
                {"acknowledged_seq", std::to_string(acked_stream_seq_)},
                {"from_outbox_seq", std::to_string(retained_from_)}});
    stats_.rewinds.fetch_add(1);
    cursor_ = std::min(cursor_, retained_from_ - 1);
    acked_stream_seq_ = *head;
    stats_.outbox_seq.store(cursor_);
  }
  return {};
}

std::string Publisher::publish_check(nats::JetStream& js) {
  auto digests = store_.drained_digests(cursor_);
  if (!digests) return "range digests: " + digests.error().message;
  if (!*digests) return {};  // a commit came in: after it is published
  last_check_ = Clock::now();
  store::RangeCheck check;
  check.covers = acked_stream_seq_;
  check.digests = std::move(**digests);
  const std::string body = store::encode_range_check(check);
  jsPubAck* ack = nullptr;
  jsErrCode jerr{};
  natsStatus s = js_Publish(&ack, js.context(), store::kCheckSubject, body.data(),
                            static_cast<int>(body.size()), nullptr, &jerr);
  if (s != NATS_OK) return "publish the range digests: " + nats::status_text(s);
  const std::uint64_t seq = ack->Sequence;
  jsPubAck_Destroy(ack);
  if (seq != check.covers + 1) {
    // Something else was published in between (or the stream is not what was acknowledged):
    // edges skip a check that does not follow what it covers.
    log::warn("publisher", "range digests published out of step",
              {{"covers", std::to_string(check.covers)}, {"seq", std::to_string(seq)}});
  }
  acked_stream_seq_ = std::max(acked_stream_seq_, seq);
  stats_.checks.fetch_add(1);
  return {};
}

void Publisher::prune() {
  const auto now = Clock::now();
  while (!acked_.empty() && now - acked_.front().second >= options_.retain) {
    const std::uint64_t upto = std::min(acked_.front().first, cursor_);
    if (upto >= retained_from_) {
      if (auto pruned = store_.prune_outbox(retained_from_, upto); !pruned) {
        log::warn("publisher", "pruning the outbox failed", {{"error", pruned.error().message}});
        return;
      }
      retained_from_ = upto + 1;
    }
    acked_.pop_front();
  }
}

}  // namespace le::primary
