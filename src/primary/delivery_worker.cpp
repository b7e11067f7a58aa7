#include "primary/delivery_worker.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <limits>
#include <vector>

#include "common/log.h"
#include "primary/webhook_client.h"
#include "primary/webhook_signing.h"
#include "store/keys.h"

namespace le::primary {
namespace {

namespace asio = boost::asio;

constexpr std::size_t idx(Cf cf) { return static_cast<std::size_t>(cf); }
// Due entries of one endpoint looked at per pass; the rest wait for the next one.
constexpr std::size_t kScanPerEndpoint = 256;
constexpr std::int64_t kStoreRetryMs = 1000;

std::string busy_event(const std::string& endpoint, std::uint64_t seq) {
  std::string k = endpoint;
  k.push_back('\0');
  store::append_be64(k, seq);
  return k;
}

std::string busy_license(const std::string& endpoint, std::string_view license_id) {
  std::string k = endpoint;
  k.push_back('\1');
  k.append(license_id);
  return k;
}

}  // namespace

DeliveryWorker::DeliveryWorker(PrimaryStore& store, const core::Clock& clock,
                               DeliveryOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      tls_(make_client_tls(options_.ca_file)) {
  options_.max_in_flight = std::max<std::size_t>(options_.max_in_flight, 1);
  options_.per_endpoint = std::max<std::size_t>(options_.per_endpoint, 1);
}

DeliveryWorker::~DeliveryWorker() { stop(); }

void DeliveryWorker::start() {
  if (io_thread_.joinable()) return;
  stopping_ = false;
  io_thread_ = std::thread([this] {
    auto work = asio::make_work_guard(ioc_);
    ioc_.run();
  });
  watch_thread_ = std::thread([this] { watch(); });
}

void DeliveryWorker::stop() {
  if (!io_thread_.joinable()) return;
  stopping_ = true;
  store_.notify();
  watch_thread_.join();
  ioc_.stop();
  io_thread_.join();
}

// Wakes the dispatcher on every commit (a delivery may have been queued) and every poll tick
// (a retry may have come due).
void DeliveryWorker::watch() {
  std::uint64_t seen = 0;
  while (!stopping_) {
    seen = store_.wait_for_commit(seen, options_.poll);
    if (stopping_) break;
    if (!dispatch_posted_.exchange(true)) {
      asio::post(ioc_, [this] {
        dispatch_posted_ = false;
        std::vector<Attempt> starts;
        {
          std::lock_guard<std::mutex> g(mu_);
          starts = dispatch_locked();
        }
        spawn(std::move(starts));
      });
    }
  }
}

std::vector<DeliveryWorker::Attempt> DeliveryWorker::dispatch_locked() {
  std::vector<Attempt> starts;
  if (stopping_) return starts;
  if (!loaded_) {
    // Every pending delivery's due entry: one pass over the index at start.
    auto r = store_.records().scan_extra(
        idx(Cf::kDeliveryDue), {}, {}, [&](std::string_view key, std::string_view) {
          if (key.size() <= 17) return true;
          auto& q = queues_[std::string(key.substr(0, key.size() - 17))];
          q.reload = false;
          if (auto due = parse_due_key(key, key.size() - 16)) q.due.insert(*due);
          return true;
        });
    if (!r) {
      ++stats_.store_failures;
      log::error("primary", "reading the webhook delivery queue failed",
                 {{"error", r.error().message}});
      return starts;
    }
    loaded_ = true;
  }
  for (auto& note : store_.take_queued()) {
    auto& q = queues_[note.endpoint_key];
    if (note.due) {
      q.due.emplace(note.due->at_ms, note.due->seq);
    } else {
      q.reload = true;
    }
  }
  const std::int64_t now = clock_.now_ms();
  for (auto it = queues_.begin(); it != queues_.end() && in_flight_ < options_.max_in_flight;) {
    const std::string& ep = it->first;
    EndpointQueue& q = it->second;
    if (q.due.empty() && !q.reload) {
      it = q.in_flight == 0 ? queues_.erase(it) : std::next(it);
      continue;
    }
    if (q.in_flight >= options_.per_endpoint || q.not_before > now ||
        (!q.reload && q.due.begin()->first > now)) {
      ++it;
      continue;
    }
    auto raw = store_.records().get_extra(idx(Cf::kWebhooks), ep);
    if (!raw) {
      ++stats_.store_failures;
      q.not_before = now + kStoreRetryMs;
      ++it;
      continue;
    }
    std::optional<WebhookEndpoint> hook = *raw ? decode_webhook(**raw) : std::nullopt;
    if (!hook) {  // deleted, and its deliveries with it
      q.due.clear();
      q.reload = false;
      it = q.in_flight == 0 ? queues_.erase(it) : std::next(it);
      continue;
    }
    if (!hook->enabled) {  // its deliveries wait; enabling it notes the endpoint again
      ++it;
      continue;
    }
    if (q.reload) {
      const std::string prefix = delivery_prefix(ep);
      std::set<std::pair<std::int64_t, std::uint64_t>> due;
      auto r = store_.records().scan_extra(idx(Cf::kDeliveryDue), prefix, {},
                                           [&](std::string_view key, std::string_view) {
                                             if (auto d = parse_due_key(key, prefix.size())) {
                                               due.insert(*d);
                                             }
                                             return true;
                                           });
      if (!r) {
        ++stats_.store_failures;
        q.not_before = now + kStoreRetryMs;
        ++it;
        continue;
      }
      q.due = std::move(due);
      q.reload = false;
    }
    std::size_t visited = 0;
    for (auto e = q.due.begin(); e != q.due.end() && e->first <= now;) {
      if (++visited > kScanPerEndpoint) break;
      const auto [at, seq] = *e;
      if (busy_.contains(busy_event(ep, seq))) {
        ++e;
        continue;
      }
      auto row = store_.records().get_extra(idx(Cf::kDeliveries), delivery_key(ep, seq));
      if (!row) {
        ++stats_.store_failures;
        q.not_before = now + kStoreRetryMs;
        break;
      }
      std::optional<Delivery> d = *row ? decode_delivery(**row) : std::nullopt;
      if (!d || d->status != DeliveryStatus::kPending || d->next_attempt_ms != at) {
        e = q.due.erase(e);  // done, rescheduled or gone since this entry was noted
        continue;
      }
      if (busy_.contains(busy_license(ep, d->license_id))) {
        ++e;
        continue;
      }
      busy_.insert(busy_event(ep, seq));
      busy_.insert(busy_license(ep, d->license_id));
      ++q.in_flight;
      ++in_flight_;
      starts.push_back(Attempt{ep, *hook, std::move(*d)});
      ++e;
      if (q.in_flight >= options_.per_endpoint || in_flight_ >= options_.max_in_flight) break;
    }
    ++it;
  }
  stats_.in_flight = in_flight_;
  return starts;
}

void DeliveryWorker::spawn(std::vector<Attempt> starts) {
  for (auto& a : starts) {
    asio::co_spawn(ioc_, send(std::move(a)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("primary", "a webhook delivery attempt failed unexpectedly",
                   {{"error", ex.what()}});
      }
    });
  }
}

asio::awaitable<void> DeliveryWorker::send(Attempt a) {
  std::string event_key = account_mode_prefix(a.hook.account_id, a.hook.mode);
  store::append_be64(event_key, a.delivery.event_seq);
  auto body = store_.records().get_extra(idx(Cf::kEvents), event_key);
  std::optional<AttemptResult> result;
  if (body && *body) {
    const std::int64_t now = clock_.now_seconds();
    const std::string timestamp = std::to_string(now);
    WebhookPost post;
    post.url = a.hook.url;
    post.body = std::move(**body);
    post.headers = {{"X-TO-Signature", webhook_signature(a.hook.secret, now, post.body)},
                    {"X-TO-Timestamp", timestamp},
                    {"X-TO-Event", std::string(to_string(a.delivery.event))},
                    {"X-TO-Delivery-ID", a.delivery.id}};
    post.timeout = options_.timeout;
    post.allow_private = options_.allow_private;
    result = co_await post_webhook(post, tls_);
  } else {
    ++stats_.store_failures;
    log::error("primary", "a webhook delivery's event cannot be read",
               {{"delivery", a.delivery.id}});
  }
  finish(a, result);
}

void DeliveryWorker::finish(const Attempt& a, const std::optional<AttemptResult>& result) {
  const std::uint64_t seq = a.delivery.event_seq;
  bool recorded = false;
  std::optional<std::int64_t> next_due;  // the delivery's new due entry, when still pending
  if (result) {
    // The outcome and the due entry in one Tx, applied to the stored delivery (a redelivery
    // may have changed it while the attempt was under way).
    auto tx = store_.begin();
    auto row = tx.records().get_extra(idx(Cf::kDeliveries), delivery_key(a.endpoint, seq));
    std::optional<Delivery> d = row && *row ? decode_delivery(**row) : std::nullopt;
    if (d) {
      if (d->status == DeliveryStatus::kPending) {
        tx.index(Cf::kDeliveryDue, due_key(a.endpoint, d->next_attempt_ms, seq), std::nullopt);
      }
      apply_attempt(*d, *result, clock_.now_ms());
      tx.index(Cf::kDeliveries, delivery_key(a.endpoint, seq), encode_delivery(*d));
      if (d->status == DeliveryStatus::kPending) {
        tx.index(Cf::kDeliveryDue, due_key(a.endpoint, d->next_attempt_ms, seq), std::string());
        next_due = d->next_attempt_ms;
      }
      if (auto committed = tx.commit(); !committed) {
        ++stats_.store_failures;
        log::error("primary", "recording a webhook delivery attempt failed",
                   {{"delivery", d->id}, {"error", committed.error().message}});
      } else {
        recorded = true;
        switch (d->status) {
          case DeliveryStatus::kSucceeded:
            ++stats_.succeeded;
            break;
          case DeliveryStatus::kFailed:
            ++stats_.failed;
            log::warn("primary", "a webhook delivery failed its last attempt",
                      {{"delivery", d->id}, {"error", d->last_error}});
            break;
          case DeliveryStatus::kPending:
            ++stats_.retrying;
            break;
        }
      }
    }
  }
  std::vector<Attempt> starts;
  {
    std::lock_guard<std::mutex> g(mu_);
    busy_.erase(busy_event(a.endpoint, seq));
    busy_.erase(busy_license(a.endpoint, a.delivery.license_id));
    --in_flight_;
    ++attempts_;
    auto& q = queues_[a.endpoint];
    --q.in_flight;
    if (recorded) {
      q.due.erase({a.delivery.next_attempt_ms, seq});
      if (next_due) q.due.emplace(*next_due, seq);
    } else {
      q.not_before = clock_.now_ms() + kStoreRetryMs;
    }
    starts = dispatch_locked();
    if (in_flight_ == 0) idle_cv_.notify_all();
  }
  spawn(std::move(starts));
}

std::size_t DeliveryWorker::run_due() {
  std::unique_lock<std::mutex> lock(mu_);
  const std::size_t before = attempts_;
  const std::uint64_t ticket = ++dispatch_requests_;
  asio::post(ioc_, [this, ticket] {
    std::vector<Attempt> starts;
    {
      std::lock_guard<std::mutex> g(mu_);
      starts = dispatch_locked();
      dispatches_done_ = ticket;
      idle_cv_.notify_all();
    }
    spawn(std::move(starts));
  });
  idle_cv_.wait(lock, [&] { return dispatches_done_ >= ticket && in_flight_ == 0; });
  return attempts_ - before;
}

DeliveryWorker::Backlog DeliveryWorker::backlog() const {
  Backlog b;
  std::uint64_t oldest_seq = std::numeric_limits<std::uint64_t>::max();
  std::string oldest_endpoint;
  auto r = store_.records().scan_extra(
      idx(Cf::kDeliveryDue), {}, {}, [&](std::string_view key, std::string_view) {
        if (key.size() <= 17) return true;
        ++b.pending;
        const auto seq = store::from_be64(key.substr(key.size() - 8));
        if (seq && *seq < oldest_seq) {
          oldest_seq = *seq;
          oldest_endpoint = key.substr(0, key.size() - 17);
        }
        return true;
      });
  if (!r || b.pending == 0) return b;
  auto row =
      store_.records().get_extra(idx(Cf::kDeliveries), delivery_key(oldest_endpoint, oldest_seq));
  if (row && *row) {
    if (auto d = decode_delivery(**row)) b.oldest_created_ms = d->created_ms;
  }
  return b;
}

}  // namespace le::primary
