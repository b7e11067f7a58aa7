#include "edge/primary_client.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <vector>

#include "cache/record_cache.h"
#include "common/log.h"

namespace le::edge {

PrimaryClient::PrimaryClient(store::RecordStore& replica, cache::InvalidationStamps& stamps,
                             PrimaryClientOptions options)
    : replica_(replica), stamps_(stamps), options_(std::move(options)) {}

PrimaryClient::~PrimaryClient() { stop(); }

void PrimaryClient::start() {
  worker_.start([this] { run(); });
}

void PrimaryClient::stop() {
  worker_.stop();
  fail_expired(true);
}

void PrimaryClient::run() {
  worker_.run_sessions(
      "NATS unavailable; activations and bindings answer 503",
      [this] {
        std::string error;
        auto nats = JetStream::connect(options_.nats, error, {&stats_.connected, nullptr});
        if (!nats) return error;
        natsInbox* inbox = nullptr;
        natsSubscription* sub = nullptr;
        natsStatus s = natsInbox_Create(&inbox);
        const std::string prefix = s == NATS_OK ? std::string(inbox) + "." : std::string();
        if (inbox != nullptr) natsInbox_Destroy(inbox);
        if (s == NATS_OK) {
          s = natsConnection_Subscribe(&sub, nats->connection(), (prefix + "*").c_str(), on_reply,
                                       this);
        }
        if (s != NATS_OK) return "reply subscription: " + nats::status_text(s);
        std::lock_guard lock(mu_);
        nats_ = std::move(nats);
        inbox_ = prefix;
        sub_ = sub;
        return std::string();
      },
      [this] {
        // libnats reconnects the connection by itself (stats_.connected follows it): the
        // session lasts until stop(). Until then, fail writes whose time ran out.
        std::unique_lock lock(mu_);
        do {
          lock.unlock();
          fail_expired(false);
          if (std::chrono::steady_clock::now() >= next_flush_) {
            next_flush_ = std::chrono::steady_clock::now() + options_.lease_batch;
            flush_extensions();
          }
          lock.lock();
        } while (worker_.wait_for(lock, std::min<std::chrono::milliseconds>(
                                            std::chrono::milliseconds(50), options_.lease_batch)));
        natsSubscription* sub = sub_;
        auto nats = std::move(nats_);
        lock.unlock();
        if (sub != nullptr) {
          // Let a reply being handled finish: after this no callback of ours runs.
          nats::drain_subscription(sub);
        }
        nats.reset();
        stats_.connected.store(false);
      });
}

void PrimaryClient::send(const core::WriteCommand& cmd, Done done) {
  const std::string body = core::encode_write_command(cmd);
  const std::string subject =
      std::string(nats::kWriteSubjectPrefix) + std::string(core::to_string(cmd.op));
  if (auto unsent = request(subject, body, "", Pending{{}, std::move(done), {}})) {
    stats_.unreachable.fetch_add(1);
    unsent->done(std::nullopt);
    return;
  }
  stats_.sent.fetch_add(1);
}

std::optional<PrimaryClient::Pending> PrimaryClient::request(const std::string& subject,
                                                             const std::string& body,
                                                             std::string_view tag, Pending p) {
  std::lock_guard lock(mu_);
  if (worker_.stopping() || nats_ == nullptr || !nats_->connected()) return p;
  const std::uint64_t id = next_id_++;
  const std::string reply = inbox_ + std::string(tag) + std::to_string(id);
  // Kept before publishing: the reply, taken under this lock, cannot arrive first.
  p.deadline = std::chrono::steady_clock::now() + options_.timeout;
  auto it = pending_.emplace(id, std::move(p)).first;
  if (natsConnection_PublishRequest(nats_->connection(), subject.c_str(), reply.c_str(),
                                    body.data(), static_cast<int>(body.size())) == NATS_OK) {
    return std::nullopt;
  }
  Pending back = std::move(it->second);
  pending_.erase(it);
  return back;
}

void PrimaryClient::extend_lease(core::LeaseExtension e) {
  std::lock_guard lock(ext_mu_);
  if (queued_.size() >= kMaxQueuedExtensions) {
    queued_.erase(queued_.begin());
    stats_.extensions_dropped.fetch_add(1, std::memory_order_relaxed);
  }
  queued_.push_back(std::move(e));
  stats_.extensions_queued.store(queued_.size(), std::memory_order_relaxed);
}

void PrimaryClient::requeue(std::vector<core::LeaseExtension> items) {
  std::lock_guard lock(ext_mu_);
  // The failed batch is older than what was queued since: it goes first.
  items.insert(items.end(), std::make_move_iterator(queued_.begin()),
               std::make_move_iterator(queued_.end()));
  if (items.size() > kMaxQueuedExtensions) {
    const std::size_t over = items.size() - kMaxQueuedExtensions;
    items.erase(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(over));
    stats_.extensions_dropped.fetch_add(over, std::memory_order_relaxed);
  }
  queued_ = std::move(items);
  stats_.extensions_queued.store(queued_.size(), std::memory_order_relaxed);
}

void PrimaryClient::flush_extensions() {
  std::vector<core::LeaseExtension> all;
  {
    std::lock_guard lock(ext_mu_);
    if (queued_.empty()) return;
    all.swap(queued_);
    stats_.extensions_queued.store(0, std::memory_order_relaxed);
  }
  for (std::size_t from = 0; from < all.size(); from += core::kMaxLeaseExtensions) {
    const std::size_t to = std::min(all.size(), from + core::kMaxLeaseExtensions);
    core::LeaseExtensions batch;
    batch.edge = options_.edge_id;
    batch.items.assign(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(from)),
                       std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(to)));
    const std::string body = core::encode_lease_extensions(batch);
    const std::string subject =
        std::string(nats::kWriteSubjectPrefix) + std::string(core::kExtendSubjectToken);
    // "x<id>": an extension batch's reply (a write's is "<id>").
    if (auto unsent = request(subject, body, "x", Pending{{}, {}, std::move(batch.items)})) {
      requeue(std::move(unsent->extended));
    }
  }
}

std::optional<PrimaryClient::Pending> PrimaryClient::take(std::uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(id);
  if (it == pending_.end()) return std::nullopt;
  Pending p = std::move(it->second);
  pending_.erase(it);
  return p;
}

void PrimaryClient::fail_expired(bool all) {
  std::vector<Pending> expired;
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (all || it->second.deadline <= now) {
        expired.push_back(std::move(it->second));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& p : expired) {
    if (!p.done) {
      requeue(std::move(p.extended));
      continue;
    }
    stats_.unreachable.fetch_add(1);
    p.done(std::nullopt);
  }
}

void PrimaryClient::on_reply(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  static_cast<PrimaryClient*>(closure)->handle_reply(msg);
  natsMsg_Destroy(msg);
}

void PrimaryClient::handle_reply(natsMsg* msg) {
  const std::string_view subject = natsMsg_GetSubject(msg);
  std::string_view token = subject.substr(subject.rfind('.') + 1);
  const bool extension = !token.empty() && token.front() == 'x';
  if (extension) token.remove_prefix(1);
  std::uint64_t id = 0;
  std::from_chars(token.data(), token.data() + token.size(), id);
  if (extension) {
    auto p = take(id);
    if (!p) return;  // timed out: queued again already
    const std::string_view data(natsMsg_GetData(msg),
                                static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    auto decoded = core::decode_extend_reply(data);
    if (natsMsg_IsNoResponders(msg) || std::holds_alternative<core::DecodeError>(decoded)) {
      if (!natsMsg_IsNoResponders(msg)) stats_.bad_replies.fetch_add(1);
      requeue(std::move(p->extended));
      return;
    }
    const auto& r = std::get<core::ExtendReply>(decoded);
    stats_.extensions_sent.fetch_add(p->extended.size());
    stats_.extensions_refused.fetch_add(r.refused);
    return;
  }
  if (natsMsg_IsNoResponders(msg)) {
    // The server's own answer: no primary is subscribed. Fail now rather than at the timeout.
    if (auto p = take(id)) {
      stats_.unreachable.fetch_add(1);
      p->done(std::nullopt);
    }
    return;
  }
  auto decoded = core::decode_write_reply(
      std::string_view(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))));
  auto* reply = std::get_if<core::WriteReply>(&decoded);
  if (reply == nullptr) {
    stats_.bad_replies.fetch_add(1);
    log::warn("writes", "undecodable reply from the primary",
              {{"error", std::get<core::DecodeError>(decoded).message}});
  } else if (reply->license) {
    // Applied even when the request has timed out meanwhile: it is the primary's newer state.
    auto applied =
        cache::apply_and_invalidate(replica_, stamps_, std::span(&*reply->license, 1), 0);
    if (!applied) {
      log::error("writes", "could not apply the primary's reply; the stream will bring it",
                 {{"error", applied.error().message}});
    }
  }
  auto p = take(id);
  if (!p || !p->done) return;  // answered as unreachable already (timeout)
  if (reply == nullptr) {
    stats_.unreachable.fetch_add(1);
    p->done(std::nullopt);
    return;
  }
  stats_.replied.fetch_add(1);
  p->done(std::move(*reply));
}

}  // namespace le::edge
