#include "edge/reporter.h"

#include <algorithm>

#include "common/log.h"
#include "core/time_format.h"

namespace le::edge {
namespace {

std::uint64_t now_unix_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

constexpr std::array<std::string_view, kReportKindCount> kKindNames = {"failures", "usage", "auths",
                                                                       "blacklist"};

}  // namespace

void Reporter::Tallies::swap(Tallies& other) noexcept {
  failures.swap(other.failures);
  usage.swap(other.usage);
  auths.swap(other.auths);
  blacklist.swap(other.blacklist);
}

void Reporter::Tallies::clear() {
  failures.clear();
  usage.clear();
  auths.clear();
  blacklist.clear();
}

bool Reporter::Tallies::empty() const {
  return failures.empty() && usage.empty() && auths.empty() && blacklist.empty();
}

Reporter::Reporter(unsigned threads, ReporterOptions options)
    : options_(std::move(options)), boot_ms_(now_unix_ms()), encoder_(options_.max_message_bytes) {
  if (!core::valid_edge_id(options_.edge_id)) options_.edge_id = "edge";
  for (unsigned i = 0; i < std::max(1u, threads); ++i) {
    slots_.push_back(std::make_unique<Slot>(options_));
  }
}

Reporter::~Reporter() { stop(); }

void Reporter::start() {
  worker_.start([this] { run(); });
}

void Reporter::stop() { worker_.stop(); }

// ---- counting (I/O threads) ---------------------------------------------------------------------

void Reporter::count_failure(unsigned worker, const core::Digest& license,
                             core::FailureReason reason, std::string_view machine_id,
                             std::optional<std::uint64_t> license_hash) {
  const std::uint64_t h = license_hash ? *license_hash : core::FailureTally::key_hash(license);
  Slot& s = *slots_[worker];
  std::lock_guard lock(s.mu);
  if (!s.now.failures.add(h, license, 1, reason, machine_id)) drop(ReportKind::kFailures, s);
  note_fill(s);
}

std::uint64_t Reporter::prefetch_failure(unsigned worker, const core::Digest& license) {
  const std::uint64_t h = core::FailureTally::key_hash(license);
  Slot& s = *slots_[worker];
  std::lock_guard lock(s.mu);
  s.now.failures.prefetch(h);
  return h;
}

void Reporter::note_fill(Slot& s) const {
  const bool filling = s.now.failures.size() * 4 >= options_.max_failures_per_thread * 3 ||
                       s.now.usage.size() * 4 >= options_.max_usage_per_thread * 3 ||
                       s.now.auths.size() * 4 >= options_.max_auths_per_thread * 3;
  if (filling) s.filling.store(true, std::memory_order_relaxed);
}

bool Reporter::filling() const {
  for (const auto& s : slots_) {
    if (s->filling.load(std::memory_order_relaxed)) return true;
  }
  return false;
}

void Reporter::count_validation(unsigned worker, std::string_view account, core::Mode mode,
                                const core::LicenseRecord* license, core::UsageOutcome outcome,
                                std::int64_t now_ms, std::string_view machine_id,
                                std::string_view ip_key,
                                std::optional<std::uint64_t> license_hash) {
  if (!options_.usage) return;
  const std::string_view license_id = license ? std::string_view(license->id) : "";
  const std::uint64_t id_hash =
      license && license_hash ? *license_hash : core::UsageTally::id_hash(account, license_id);
  Slot& s = *slots_[worker];
  std::lock_guard lock(s.mu);
  core::UsageTally& t = s.now.usage;
  core::UsageTally::Entry* e =
      t.entry(id_hash, account, mode, license_id,
              license ? std::string_view(license->product_id) : "", core::utc_day(now_ms / 1000));
  if (e == nullptr) return drop(ReportKind::kUsage, s);
  note_fill(s);
  core::UsageTally::count_validation(*e, outcome, now_ms);
  if (license == nullptr) return;  // distinct counts are a license's
  if (!machine_id.empty()) t.add_distinct(*e, core::UsageTally::Distinct::kMachines, machine_id);
  if (!ip_key.empty()) t.add_distinct(*e, core::UsageTally::Distinct::kIps, ip_key);
}

std::uint64_t Reporter::prefetch_usage(unsigned worker, const core::LicenseRecord& license,
                                       std::int64_t now_ms) {
  const std::uint64_t id_hash = core::UsageTally::id_hash(license.account_id, license.id);
  if (!options_.usage) return id_hash;
  Slot& s = *slots_[worker];
  std::lock_guard lock(s.mu);
  s.now.usage.prefetch(id_hash, license.mode, !license.id.empty(), core::utc_day(now_ms / 1000));
  return id_hash;
}

void Reporter::count_auth(unsigned worker, const AuthInput& a) {
  if (!options_.usage || a.account == nullptr) return;
  Slot& s = *slots_[worker];
  std::lock_guard lock(s.mu);
  core::UsageTally& t = s.now.usage;
  core::UsageTally::Entry* e = t.entry(
      a.account->id, a.mode, a.license ? std::string_view(a.license->id) : "",
      a.license ? std::string_view(a.license->product_id) : "", core::utc_day(a.at_ms / 1000));
  if (e == nullptr) {
    drop(ReportKind::kUsage, s);
  } else {
    t.count_auth(*e, a.status);
    if (a.license != nullptr) {
      if (!a.ip_key.empty()) t.add_distinct(*e, core::UsageTally::Distinct::kIps, a.ip_key);
      if (!a.hwid.empty()) t.add_distinct(*e, core::UsageTally::Distinct::kHwids, a.hwid);
    }
  }
  core::AuthAttempt* r = s.now.auths.next();
  if (r == nullptr) return drop(ReportKind::kAuths, s);
  note_fill(s);
  r->at_ms = a.at_ms;
  r->account_id.assign(a.account->id);
  r->mode = a.mode;
  r->status = a.status;
  if (a.license != nullptr) {
    r->license_id.assign(a.license->id);
  } else {
    r->license_id.clear();
  }
  for (auto [into, from] : {std::pair{&r->product, a.product}, std::pair{&r->version, a.version},
                            std::pair{&r->ip, a.ip}, std::pair{&r->hwid, a.hwid},
                            std::pair{&r->user_agent, a.user_agent}}) {
    into->clear();
    core::append_clean_text(*into, from, core::kMaxAuthTextBytes);
  }
}

void Reporter::count_blacklist_hit(unsigned worker, const core::BlacklistEntry& entry,
                                   std::int64_t now_ms) {
  Slot& s = *slots_[worker];
  std::lock_guard lock(s.mu);
  if (!s.now.blacklist.add(entry.account_id, entry.id, now_ms)) drop(ReportKind::kBlacklist, s);
}

std::uint64_t Reporter::dropped_full(ReportKind kind) const {
  std::uint64_t n = 0;
  for (const auto& s : slots_) n += s->dropped[static_cast<std::size_t>(kind)].get();
  return n;
}

// ---- flushing (the reporter's thread) -----------------------------------------------------------

void Reporter::take(const TakeFn& take) {
  std::lock_guard lock(flush_mu_);
  take_locked(take);
}

void Reporter::take_locked(const TakeFn& take) {
  for (auto& slot : slots_) {
    {
      std::lock_guard slot_lock(slot->mu);
      slot->now.swap(slot->spare);
      slot->filling.store(false, std::memory_order_relaxed);
    }
    // The spare is the taker's alone now: its thread counts into the other tallies.
    if (!slot->spare.empty()) {
      take(slot->spare.failures, slot->spare.usage, slot->spare.auths, slot->spare.blacklist);
    }
    slot->spare.clear();
  }
}

std::size_t Reporter::flush() {
  std::lock_guard lock(flush_mu_);
  std::size_t added = 0;
  std::array<std::uint64_t, kReportKindCount> entries{};
  std::uint64_t failures = 0;
  auto seal = [&] {
    if (encoder_.entries() == 0) return;
    const std::uint64_t seq = next_seq_ - 1;
    std::string body;
    {
      std::lock_guard lock(pending_mu_);
      if (!spare_bodies_.empty()) {
        body = std::move(spare_bodies_.back());
        spare_bodies_.pop_back();
      }
    }
    encoder_.finish(body);
    enqueue(std::move(body), entries, failures, seq);
    entries = {};
    failures = 0;
    ++added;
  };
  auto add = [&](const auto& entry, ReportKind kind) {
    if (encoder_.entries() == 0) encoder_.begin({options_.edge_id, boot_ms_, next_seq_++});
    if (!encoder_.add(entry)) {
      seal();
      encoder_.begin({options_.edge_id, boot_ms_, next_seq_++});
      encoder_.add(entry);  // an empty message takes any one entry
    }
    ++entries[static_cast<std::size_t>(kind)];
  };
  take_locked([&](const core::FailureTally& f, const core::UsageTally& u, const core::AuthLog& a,
                  const core::BlacklistHits& b) {
    for (const auto& c : f.counts()) {
      add(c, ReportKind::kFailures);
      failures += c.count;
    }
    for (std::size_t i = 0; i < u.size(); ++i) {
      u.get(i, usage_);
      add(usage_, ReportKind::kUsage);
    }
    for (const auto& r : a.records()) add(r, ReportKind::kAuths);
    for (const auto& h : b.hits()) add(h, ReportKind::kBlacklist);
  });
  seal();
  stats_.flushes.fetch_add(1);
  return added;
}

void Reporter::enqueue(std::string body, const std::array<std::uint64_t, kReportKindCount>& entries,
                       std::uint64_t failures, std::uint64_t seq) {
  std::lock_guard lock(pending_mu_);
  pending_bytes_ += body.size();
  pending_.push_back({seq, std::make_shared<std::string>(std::move(body)), entries, failures});
  // Full: the oldest messages go, counted.
  while (pending_bytes_ > options_.max_buffer_bytes && pending_.size() > 1) {
    const Pending& old = pending_.front();
    for (std::size_t k = 0; k < kReportKindCount; ++k) {
      stats_.buffer_dropped[k].fetch_add(old.entries[k]);
    }
    pending_bytes_ -= old.body->size();
    pending_.pop_front();
  }
  stats_.pending.store(pending_.size());
  stats_.pending_bytes.store(pending_bytes_);
}

bool Reporter::send(nats::JetStream& js) {
  for (;;) {
    std::uint64_t seq;
    // Held here too: a flush on another thread may drop the message meanwhile (buffer full).
    std::shared_ptr<std::string> body;
    {
      std::lock_guard lock(pending_mu_);
      if (pending_.empty()) return true;
      seq = pending_.front().seq;
      body = pending_.front().body;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    const std::string msg_id = core::report_msg_id({options_.edge_id, boot_ms_, seq});
    po.MsgId = msg_id.c_str();
    po.MaxWait = options_.publish_timeout.count();
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_Publish(&ack, js.context(), nats::kReportSubject, body->data(),
                                    static_cast<int>(body->size()), &po, &jerr);
    if (ack != nullptr) jsPubAck_Destroy(ack);
    if (s != NATS_OK) {
      stats_.publish_errors.fetch_add(1);
      log::warn("reports", "report not sent; it waits for the next flush",
                {{"error", nats::status_text(s)}, {"seq", std::to_string(seq)}});
      return false;
    }
    std::lock_guard lock(pending_mu_);
    // enqueue() may have dropped it meanwhile (buffer full): then the front is a newer one.
    if (!pending_.empty() && pending_.front().seq == seq) {
      stats_.failures_sent.fetch_add(pending_.front().failures);
      pending_bytes_ -= pending_.front().body->size();
      pending_.pop_front();
    }
    // The last holder of a sent body keeps its memory for a later message (a few at most).
    if (body.use_count() == 1 && spare_bodies_.size() < 4) {
      spare_bodies_.push_back(std::move(*body));
    }
    stats_.messages.fetch_add(1);
    stats_.last_acked_seq.store(seq);
    stats_.pending.store(pending_.size());
    stats_.pending_bytes.store(pending_bytes_);
  }
}

void Reporter::run() {
  std::unique_ptr<nats::JetStream> nats;
  worker_.run_sessions(
      "NATS unavailable; reports wait at this edge",
      [&] {
        return nats::connect_session(options_.nats, nats, {&stats_.connected, nullptr});
      },
      [&] {
        // libnats reconnects the connection by itself (stats_.connected follows it): the session
        // lasts until stop().
        std::unique_lock lock(worker_.mutex());
        const auto look = std::min(options_.interval, std::chrono::milliseconds(50));
        auto due = std::chrono::steady_clock::now() + options_.interval;
        while (worker_.wait_for(lock, look)) {
          if (std::chrono::steady_clock::now() < due && !filling()) continue;
          due = std::chrono::steady_clock::now() + options_.interval;
          lock.unlock();
          flush();
          if (nats->connected()) send(*nats);
          lock.lock();
        }
        lock.unlock();
        // Stopping: what was counted until now leaves with a last flush, if it can.
        flush();
        if (nats->connected()) send(*nats);
        nats.reset();
        stats_.connected.store(false);
      });
}

void Reporter::collect(metrics::Families& out) const {
  using prometheus::MetricType;
  auto counter = [&](std::string name, std::string help, double v,
                     MetricType type = MetricType::Counter) {
    auto f = metrics::family(std::move(name), std::move(help), type);
    metrics::sample(f, {}, v);
    out.push_back(std::move(f));
  };
  counter("le_edge_reports_total", "Reports acknowledged by the reports stream.",
          static_cast<double>(stats_.messages.load()));
  counter("le_edge_report_publish_errors_total",
          "Report publishes that failed (the report waits and is sent again).",
          static_cast<double>(stats_.publish_errors.load()));
  counter("le_edge_reports_pending", "Reports waiting for the reports stream.",
          static_cast<double>(stats_.pending.load()), MetricType::Gauge);
  counter("le_edge_reports_pending_bytes", "Bytes of the reports waiting for the stream.",
          static_cast<double>(stats_.pending_bytes.load()), MetricType::Gauge);
  counter("le_edge_reports_connected", "1 while the reporter's NATS connection is up.",
          stats_.connected.load() ? 1 : 0, MetricType::Gauge);
  counter("le_edge_validation_failures_reported_total",
          "Failed validations of existing licenses in reports the stream acknowledged.",
          static_cast<double>(stats_.failures_sent.load()));
  auto dropped = metrics::family(
      "le_edge_report_entries_dropped_total",
      "Report entries lost: a thread's tally was full (full), or the buffer of reports waiting "
      "for NATS was (buffer).",
      MetricType::Counter);
  for (std::size_t k = 0; k < kReportKindCount; ++k) {
    metrics::sample(dropped, {{"kind", std::string(kKindNames[k])}, {"reason", "full"}},
                    static_cast<double>(dropped_full(static_cast<ReportKind>(k))));
    metrics::sample(dropped, {{"kind", std::string(kKindNames[k])}, {"reason", "buffer"}},
                    static_cast<double>(stats_.buffer_dropped[k].load()));
  }
  out.push_back(std::move(dropped));
}

}  // namespace le::edge
