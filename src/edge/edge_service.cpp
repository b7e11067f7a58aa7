#include "edge/edge_service.h"

#include "api/openapi.h"
#include "common/log.h"
#include "core/api_version.h"
#include "core/digest.h"
#include "core/failure_report.h"
#include "core/json_writer.h"
#include "core/lease.h"
#include "core/license_json.h"
#include "core/time_format.h"
#include "core/tki.h"
#include "core/validate.h"

namespace le::edge {
namespace {

using net::http::field;

bool is_tki_path(std::string_view path) { return path.starts_with("/api/license/"); }
// Routes whose every answer carries X-RateLimit-* (README "Limits").
bool is_limited_path(std::string_view path) {
  return path == "/api/v1/validate" || path == "/api/v1/activate" || path == "/api/v1/deactivate" ||
         path == "/api/v1/heartbeat";
}

std::string_view tki_protocol_message(net::ProtocolError e) {
  switch (e) {
    case net::ProtocolError::kNotFound:
      return "Not Found";
    case net::ProtocolError::kMethodNotAllowed:
      return "Method Not Allowed";
    case net::ProtocolError::kBodyTooLarge:
      return "Request body is too large";
    case net::ProtocolError::kHeaderTooLarge:
      return "Request headers are too large";
    case net::ProtocolError::kBadRequest:
      return "Bad Request";
    case net::ProtocolError::kRequestTimeout:
      return "Request Timeout";
    case net::ProtocolError::kInternal:
      return "Internal Server Error";
    case net::ProtocolError::kBadApiVersion:
      return "Invalid X-API-Version";
  }
  return "Bad Request";
}

}  // namespace

EdgeService::EdgeService(const store::RecordStore& replica, const cache::InvalidationStamps& stamps,
                         const core::Clock& clock, EdgeOptions options)
    : clock_(clock), options_(options), limiter_(options_.rate_limit.table) {
  for (unsigned i = 0; i < std::max(1u, options_.threads); ++i) {
    threads_.push_back(std::make_unique<PerThread>(replica, stamps, options_.cache));
  }
}

void EdgeService::register_routes(net::Router& router) {
  using net::http::verb;
  router.add(verb::post, "/api/v1/validate",
             [this](const net::Request& q, net::Response& r) { validate(q, r); });
  router.add(verb::post, "/api/license/auth",
             [this](const net::Request& q, net::Response& r) { tki_auth(q, r); });
  router.add(verb::post, "/api/v1/activate", [this](const net::Request& q, net::Response& r) {
    activation(q, r, core::WriteOp::kActivate);
  });
  router.add(verb::post, "/api/v1/deactivate", [this](const net::Request& q, net::Response& r) {
    activation(q, r, core::WriteOp::kDeactivate);
  });
  router.add(verb::post, "/api/v1/heartbeat", [this](const net::Request& q, net::Response& r) {
    activation(q, r, core::WriteOp::kHeartbeat);
  });
  router.add(verb::get, "/healthz",
             [this](const net::Request& q, net::Response& r) { healthz(q, r); });
  router.add(verb::get, "/readyz",
             [this](const net::Request& q, net::Response& r) { readyz(q, r); });
  router.add(verb::get, "/api/v1/openapi.json", [](const net::Request&, net::Response& r) {
    r.body = api::openapi_json(api::Process::kEdge);
  });
  router.set_versioning(
      {core::kApiVersionHeader, core::kCurrentApiVersion, &core::select_api_version});
  router.set_error_writer([this](const net::ErrorContext& ctx, net::ProtocolError e,
                                 net::Response& r) { write_protocol_error(ctx, e, r); });
}

void EdgeService::answer(net::Response& res, const core::ApiError& e) {
  res.status = static_cast<unsigned>(e.http_status);
  core::write_api_error(res.body, e);
}

void EdgeService::answer_unavailable(net::Response& res, const store::StoreError& e) {
  log::error("edge", "replica read failed", {{"error", e.message}});
  answer(res, {503, "SERVICE_UNAVAILABLE", "Temporarily unable to read licenses; retry shortly"});
  res.add_header("Retry-After", "1");
}

void EdgeService::write_protocol_error(const net::ErrorContext& ctx, net::ProtocolError e,
                                       net::Response& res) {
  res.status = net::status_of(e);
  res.content_type = "application/json";
  if (is_tki_path(ctx.path)) {
    res.body.clear();
    core::JsonWriter w(res.body);
    w.begin_object().field("message", tki_protocol_message(e)).field("status_overview", "failed");
    w.end_object();
    return;
  }
  core::write_api_error(res.body, e == net::ProtocolError::kBadApiVersion
                                      ? core::bad_api_version()
                                      : core::ApiError::for_protocol_status(res.status));
  // The rate-limited routes carry their limit on every answer, these included. The request was
  // not read far enough to know an API key, so it counts against the client IP's limit; it is
  // answered with its own error either way.
  // Any other API path (a 404 or 405 under /api/) is answered with the client IP's limit too.
  if (options_.rate_limit.enabled && ctx.worker < threads_.size() &&
      (is_limited_path(ctx.path) || ctx.path.starts_with("/api/"))) {
    const auto forwarded = ctx.fields.find(options_.client_ip_header);
    const auto d = limit_ip(ctx.worker, 'i', client_of(ctx.peer, forwarded),
                            options_.rate_limit.public_per_ip, clock_.now_ms());
    add_rate_headers(res, d);
  }
}

boost::asio::ip::address EdgeService::client_of(const net::Request& req) const {
  return client_of(req.peer, options_.trusted_proxies.empty()
                                 ? std::nullopt
                                 : req.header(options_.client_ip_header));
}

boost::asio::ip::address EdgeService::client_of(const boost::asio::ip::address& peer,
                                                std::optional<std::string_view> forwarded) const {
  if (options_.trusted_proxies.empty()) return peer;
  return client_ip(peer, forwarded, options_.trusted_proxies);
}

namespace {
// Limiter key kinds, as metric labels: API key, client IP (public), license (public), TKI IP.
constexpr std::array<std::pair<char, const char*>, 4> kRateLimitKinds = {
    {{'k', "api_key"}, {'i', "ip"}, {'l', "license"}, {'t', "tki_ip"}}};
std::size_t kind_index(char kind) {
  for (std::size_t i = 0; i < kRateLimitKinds.size(); ++i) {
    if (kRateLimitKinds[i].first == kind) return i;
  }
  return 0;
}
}  // namespace

ratelimit::Decision EdgeService::limit(unsigned worker, char kind,
                                       std::span<const unsigned char> key, std::uint32_t limit,
                                       std::int64_t now_ms) {
  auto d =
      limiter_.check(ratelimit::limiter_key(kind, key.data(), key.size()), share(limit), now_ms);
  if (!d.allowed) threads_[worker]->rate_limited[kind_index(kind)].add();
  return d;
}

ratelimit::Decision EdgeService::limit_ip(unsigned worker, char kind,
                                          const boost::asio::ip::address& ip, std::uint32_t limit,
                                          std::int64_t now_ms) {
  if (ip.is_v4()) return this->limit(worker, kind, ip.to_v4().to_bytes(), limit, now_ms);
  return this->limit(worker, kind, ip.to_v6().to_bytes(), limit, now_ms);
}

std::uint32_t EdgeService::share(std::uint32_t limit) const {
  const std::uint32_t n = std::max(1u, options_.rate_limit.fleet_size);
  return std::max(1u, (limit + n - 1) / n);
}

void EdgeService::collect(metrics::Families& out) const {
  using prometheus::MetricType;
  auto outcomes =
      metrics::family("le_edge_validations_total",
                      "Well-formed validations answered, by outcome code.", MetricType::Counter);
  for (std::size_t c = 0; c < 7; ++c) {
    std::uint64_t n = 0;
    for (const auto& t : threads_) n += t->outcomes[c].get();
    metrics::sample(outcomes,
                    {{"code", std::string(core::to_string(static_cast<core::ValidationCode>(c)))}},
                    static_cast<double>(n));
  }
  out.push_back(std::move(outcomes));
  auto limited = metrics::family("le_edge_rate_limited_total",
                                 "Requests refused with 429, by limit kind.", MetricType::Counter);
  for (std::size_t k = 0; k < kRateLimitKinds.size(); ++k) {
    std::uint64_t n = 0;
    for (const auto& t : threads_) n += t->rate_limited[k].get();
    metrics::sample(limited, {{"kind", kRateLimitKinds[k].second}}, static_cast<double>(n));
  }
  out.push_back(std::move(limited));
  auto writes = metrics::family("le_edge_primary_writes_total",
                                "Writes forwarded to the primary, by operation and outcome.",
                                MetricType::Counter);
  constexpr std::array<const char*, 3> kOutcomes = {"done", "refused", "unavailable"};
  for (std::size_t op = 0; op < core::kWriteOpCount; ++op) {
    for (std::size_t o = 0; o < kOutcomes.size(); ++o) {
      std::uint64_t n = 0;
      for (const auto& t : threads_) n += t->writes[op][o].get();
      metrics::sample(writes,
                      {{"op", std::string(core::to_string(static_cast<core::WriteOp>(op)))},
                       {"outcome", kOutcomes[o]}},
                      static_cast<double>(n));
    }
  }
  out.push_back(std::move(writes));
  auto heartbeats = metrics::family(
      "le_edge_heartbeats_total",
      "Heartbeats of floating seats, by where they were answered (edge: from the replica, the "
      "extension sent in a batch; primary: forwarded).",
      MetricType::Counter);
  for (std::size_t i = 0; i < 2; ++i) {
    std::uint64_t n = 0;
    for (const auto& t : threads_) n += t->heartbeats[i].get();
    metrics::sample(heartbeats, {{"answered", i == 0 ? "edge" : "primary"}},
                    static_cast<double>(n));
  }
  out.push_back(std::move(heartbeats));
  const cache::CacheStats cs = cache_stats();
  auto hits = metrics::family("le_edge_cache_hits_total",
                              "Record lookups served from a thread's cache.", MetricType::Counter);
  metrics::sample(hits, {}, static_cast<double>(cs.hits));
  out.push_back(std::move(hits));
  auto misses = metrics::family("le_edge_cache_misses_total",
                                "Record lookups not served from the cache.", MetricType::Counter);
  metrics::sample(misses, {}, static_cast<double>(cs.misses));
  out.push_back(std::move(misses));
  auto reads = metrics::family("le_edge_store_reads_total",
                               "Reads of the RocksDB replica (cache misses).", MetricType::Counter);
  metrics::sample(reads, {}, static_cast<double>(cs.misses));
  out.push_back(std::move(reads));
  auto errors = metrics::family("le_edge_store_errors_total",
                                "Replica reads that failed (answered 503).", MetricType::Counter);
  metrics::sample(errors, {}, static_cast<double>(cs.store_errors));
  out.push_back(std::move(errors));
}

void EdgeService::answer_rate_limited(net::Response& res, const ratelimit::Decision& d) {
  res.status = 429;
  core::write_rate_limited(res.body, d.retry_after_s);
  res.add_header("Retry-After", std::to_string(d.retry_after_s));
}

void EdgeService::add_rate_headers(net::Response& res,
                                   const std::optional<ratelimit::Decision>& binding) {
  // Every answer of a limited route carries the limit that binds the caller.
  if (!binding) return;
  res.add_header("X-RateLimit-Limit", std::to_string(binding->limit));
  res.add_header("X-RateLimit-Remaining", std::to_string(binding->remaining));
  res.add_header("X-RateLimit-Reset", std::to_string(binding->reset_unix_s));
}

void EdgeService::validate(const net::Request& req, net::Response& res) {
  std::optional<ratelimit::Decision> binding;
  validate_limited(req, res, binding);
  add_rate_headers(res, binding);
}

bool EdgeService::admit(const ratelimit::Decision& d, net::Response& res,
                        std::optional<ratelimit::Decision>& binding) {
  if (!binding || !d.allowed || d.remaining < binding->remaining) binding = d;
  if (!d.allowed) answer_rate_limited(res, d);
  return d.allowed;
}

std::optional<EdgeService::Caller> EdgeService::admit_caller(
    const net::Request& req, net::Response& res, std::int64_t now_ms,
    std::optional<ratelimit::Decision>& binding) {
  PerThread& t = *threads_[req.worker];
  const RateLimitOptions& rl = options_.rate_limit;
  // Requests not under an API key's plan limit are limited per client IP; that includes
  // attempts with a bad key, which throttles key guessing.
  auto admit_ip = [&] {
    return !rl.enabled ||
           admit(limit_ip(req.worker, 'i', client_of(req), rl.public_per_ip, now_ms), res, binding);
  };
  const core::Credential credential =
      core::classify_authorization(req.header(field::authorization));
  if (const auto* err = std::get_if<core::ApiError>(&credential)) {
    if (admit_ip()) answer(res, *err);
    return std::nullopt;
  }
  Caller caller;
  if (const auto* bearer = std::get_if<core::BearerKey>(&credential)) {
    auto found = t.cache.api_key(t.api_key_digests.digest(bearer->key));
    if (!found) {
      answer_unavailable(res, found.error());
      return std::nullopt;
    }
    caller.key = std::move(*found);
    if (caller.key) {
      auto acc = t.cache.account(caller.key->account_id);
      if (!acc) {
        answer_unavailable(res, acc.error());
        return std::nullopt;
      }
      caller.account = std::move(*acc);
    }
    auto checked = core::check_api_key(*bearer, caller.account ? caller.key.get() : nullptr);
    if (const auto* err = std::get_if<core::ApiError>(&checked)) {
      if (admit_ip()) answer(res, *err);
      return std::nullopt;
    }
    if (rl.enabled && !admit(limit(req.worker, 'k', caller.key->digest,
                                   core::requests_per_minute(caller.account->plan), now_ms),
                             res, binding)) {
      return std::nullopt;
    }
  } else if (!admit_ip()) {
    return std::nullopt;
  }
  return caller;
}

void EdgeService::validate_limited(const net::Request& req, net::Response& res,
                                   std::optional<ratelimit::Decision>& binding) {
  PerThread& t = *threads_[req.worker];
  const std::int64_t now_ms = clock_.now_ms();
  const std::int64_t now = now_ms / 1000;
  const RateLimitOptions& rl = options_.rate_limit;
  auto caller = admit_caller(req, res, now_ms, binding);
  if (!caller) return;
  const core::ApiKeyRecord* api_key = caller->key.get();

  auto parsed = core::parse_validate_request(req.body);
  if (const auto* err = std::get_if<core::ApiError>(&parsed)) return answer(res, *err);
  const auto& request = std::get<core::ValidateRequest>(parsed);
  const core::Digest license_digest = core::sha256(request.license_key);
  if (api_key == nullptr && rl.enabled &&
      !admit(limit(req.worker, 'l', license_digest, rl.public_per_license, now_ms), res, binding)) {
    return;
  }

  auto license = t.cache.license(license_digest);
  if (!license) return answer_unavailable(res, license.error());
  const bool usage = reporter_ != nullptr && reporter_->usage();
  std::optional<std::uint64_t> license_hash;
  if (usage && *license && core::visible_to(api_key, license->get())) {
    license_hash = reporter_->prefetch_usage(req.worker, **license, now_ms);
  }
  auto decision = core::decide_validate(request, api_key, license->get(), now);
  // Usage: for the license when the caller may see it, else (a key its account does not hold)
  // for the caller's account alone; a public validation of an unknown key counts nowhere.
  // Counted after the answer is written, which gives prefetch_usage() its time.
  auto count_usage = [&](const core::LicenseRecord* l, core::UsageOutcome o) {
    if (!usage) return;
    const bool seen = core::visible_to(api_key, l);
    if (!seen && api_key == nullptr) return;
    const IpBytes ip(client_of(req));
    reporter_->count_validation(req.worker, seen ? l->account_id : api_key->account_id,
                                seen ? l->mode : api_key->mode, seen ? l : nullptr, o, now_ms,
                                request.machine_id.value_or(std::string_view()), ip.view(),
                                seen && l == license->get() ? license_hash : std::nullopt);
  };
  // A failure is counted after the answer is written too, which gives prefetch_failure() its
  // time.
  if (const auto* err = std::get_if<core::ApiError>(&decision)) {
    const auto reason = core::failure_reason(*err);
    const auto failure_hash = prefetch_failure(req.worker, license_digest, reason);
    answer(res, *err);
    report_failure(req.worker, license_digest, reason, request.machine_id, failure_hash);
    if (reason) count_usage(license->get(), core::UsageOutcome::kDomainMismatch);
    return;
  }
  const auto& outcome = std::get<core::ValidateOutcome>(decision);
  t.outcomes[static_cast<std::size_t>(outcome.code)].add();
  const auto reason = core::failure_reason(outcome.code);
  const auto failure_hash = prefetch_failure(req.worker, license_digest, reason);
  core::write_validate_response(res.body, outcome, request.license_key, now);
  if (request.offline && outcome.valid()) add_receipt(t, request, *outcome.license, now_ms, res);
  report_failure(req.worker, license_digest, reason, request.machine_id, failure_hash);
  count_usage(outcome.license, core::usage_outcome(outcome.code));
}

void EdgeService::add_receipt(PerThread& t, const core::ValidateRequest& request,
                              const core::LicenseRecord& l, std::int64_t now_ms,
                              net::Response& res) {
  if (receipts_ == nullptr) return;
  // The license's grace period, else its product's.
  std::int64_t grace_hours = l.offline_grace_hours;
  if (grace_hours < 0) {
    auto product = t.cache.product(l.product_id);
    if (!product || !*product) return;  // unreadable or gone: no receipt, the answer stands
    grace_hours = (*product)->offline_grace_hours;
  }
  if (grace_hours <= 0) return;
  const std::int64_t now = now_ms / 1000;
  if (options_.receipts_per_second != 0) {
    if (t.receipt_second != now) {
      t.receipt_second = now;
      t.receipts_in_second = 0;
    }
    if (t.receipts_in_second >= options_.receipts_per_second) {
      t.receipts_over_budget.add();
      return;
    }
    ++t.receipts_in_second;
  }
  core::ReceiptClaims c = core::receipt_claims(
      l, request, now,
      static_cast<std::uint32_t>(std::min<std::int64_t>(grace_hours, core::kMaxOfflineGraceHours)));
  if (replication_ != nullptr) {
    c.replica_seq = replication_->applied_seq.load(std::memory_order_relaxed);
    const bool behind = c.replica_seq < replication_->head_seq.load(std::memory_order_relaxed);
    const std::int64_t last = replication_->last_apply_ms.load(std::memory_order_relaxed);
    c.replica_lag_ms = behind && last > 0 ? std::max<std::int64_t>(0, now_ms - last) : 0;
  }
  if (auto token = receipts_->sign(c)) {
    core::append_offline_receipt(res.body, *token, c.iat, c.valid_until);
  }
}

std::uint64_t EdgeService::receipts_over_budget() const {
  std::uint64_t n = 0;
  for (const auto& t : threads_) n += t->receipts_over_budget.get();
  return n;
}

void EdgeService::report_failure(unsigned worker, const core::Digest& license,
                                 std::optional<core::FailureReason> reason,
                                 std::optional<std::string_view> machine_id,
                                 std::optional<std::uint64_t> license_hash) {
  if (reporter_ != nullptr && reason) {
    reporter_->count_failure(worker, license, *reason, machine_id.value_or(std::string_view()),
                             license_hash);
  }
}

std::optional<std::uint64_t> EdgeService::prefetch_failure(
    unsigned worker, const core::Digest& license, std::optional<core::FailureReason> reason) {
  if (reporter_ == nullptr || !reason) return std::nullopt;
  return reporter_->prefetch_failure(worker, license);
}

// ---- writes through the primary ----------------------------------------------------------------

std::chrono::milliseconds EdgeService::write_deadline() const {
  // The client fails a write at its timeout; this is only the server's backstop.
  return primary_->timeout() + std::chrono::milliseconds(1000);
}

void EdgeService::answer_primary_unavailable(net::Response& res) {
  answer(res, {503, "SERVICE_UNAVAILABLE",
               "The license server cannot be reached right now; retry shortly"});
  res.add_header("Retry-After", "1");
}

void EdgeService::answer_binding_unavailable(net::Response& res, unsigned retry_after_s) {
  res.status = static_cast<unsigned>(core::http_status(core::TkiStatus::kBindingRequired));
  core::write_tki_failure(res.body, core::TkiStatus::kBindingRequired);
  res.add_header("Retry-After", std::to_string(retry_after_s));
}

void EdgeService::activation(const net::Request& req, net::Response& res, core::WriteOp op) {
  std::optional<ratelimit::Decision> binding;
  activation_limited(req, res, op, binding);
  add_rate_headers(res, binding);
}

void EdgeService::activation_limited(const net::Request& req, net::Response& res, core::WriteOp op,
                                     std::optional<ratelimit::Decision>& binding) {
  auto caller = admit_caller(req, res, clock_.now_ms(), binding);
  if (!caller) return;
  auto parsed = core::parse_activation_request(req.body);
  if (const auto* err = std::get_if<core::ApiError>(&parsed)) return answer(res, *err);
  const auto& request = std::get<core::ActivationRequest>(parsed);
  PerThread* t = threads_[req.worker].get();
  const core::Digest license_digest = core::sha256(request.license_key);
  if (op == core::WriteOp::kHeartbeat) {
    if (heartbeat_at_edge(*t, caller->key.get(), request, license_digest, res)) return;
    t->heartbeats[1].add();
  }
  auto& counts = t->writes[static_cast<std::size_t>(op)];
  if (primary_ == nullptr) {
    counts[static_cast<std::size_t>(WriteOutcome::kUnavailable)].add();
    return answer_primary_unavailable(res);
  }
  core::WriteCommand cmd;
  cmd.op = op;
  if (caller->key) {
    cmd.api_key = caller->key->digest;
    cmd.mode = caller->key->mode;
  }
  cmd.license = license_digest;
  cmd.machine_id.assign(request.machine_id);
  cmd.label.assign(request.label);
  auto completion = res.defer(write_deadline(), [&counts](net::Response& r) {
    counts[static_cast<std::size_t>(WriteOutcome::kUnavailable)].add();
    answer_primary_unavailable(r);
  });
  const core::Clock* clock = &clock_;
  primary_->send(cmd, [completion, &counts, clock,
                       machine = cmd.machine_id](std::optional<core::WriteReply> reply) {
    completion->complete([reply = std::move(reply), &counts, clock, machine](net::Response& r) {
      auto count = [&](WriteOutcome o) { counts[static_cast<std::size_t>(o)].add(); };
      if (!reply || (reply->error && reply->error->http_status >= 500)) {
        count(WriteOutcome::kUnavailable);
        return answer_primary_unavailable(r);
      }
      if (!reply->error && (!reply->activation || !reply->license)) {
        count(WriteOutcome::kUnavailable);
        return answer_primary_unavailable(r);
      }
      count(reply->error ? WriteOutcome::kRefused : WriteOutcome::kDone);
      const auto a = core::write_activation_answer(r.body, *reply, machine, clock->now_seconds());
      r.status = a.status;
      if (a.retry_after_s != 0) r.add_header("Retry-After", std::to_string(a.retry_after_s));
    });
  });
}

bool EdgeService::heartbeat_at_edge(PerThread& t, const core::ApiKeyRecord* api_key,
                                    const core::ActivationRequest& request,
                                    const core::Digest& license_digest, net::Response& res) {
  const std::int64_t now = clock_.now_seconds();
  auto license = t.cache.license(license_digest);
  if (!license) {
    answer_unavailable(res, license.error());
    return true;
  }
  const core::LicenseRecord* l = license->get();
  if (auto e = core::heartbeat_refusal(request, api_key, l, now)) {
    // A machine the replica does not know yet may have been activated at another edge a moment
    // ago: the primary knows.
    if (core::visible_to(api_key, l) && e->code == "NOT_FOUND") return false;
    answer(res, *e);
    return true;
  }
  if (primary_ == nullptr || !primary_->connected()) return false;
  if (core::extendable_at_edge(*l, request.machine_id, now) == nullptr) return false;
  auto product = t.cache.product(l->product_id);
  if (!product) {
    answer_unavailable(res, product.error());
    return true;
  }
  core::LicenseRecord answered = *l;
  core::extend_lease(answered, request.machine_id, now, now,
                     core::lease_seconds(*l, product->get()));
  primary_->extend_lease({l->key_digest, std::string(request.machine_id), now});
  core::write_activation_response(res.body, core::ActivationResult::kLeaseExtended,
                                  request.machine_id, answered, now);
  t.heartbeats[0].add();
  return true;
}

void EdgeService::healthz(const net::Request&, net::Response& res) {
  res.body.assign(R"({"status":"ok"})");
}

void EdgeService::readyz(const net::Request&, net::Response& res) {
  const bool ok = ready();
  res.status = ok ? 200 : 503;
  res.body.clear();
  core::JsonWriter w(res.body);
  w.begin_object().field("status", ok ? "ready" : "not_ready");
  if (replication_ != nullptr) {
    w.field("appliedSeq", replication_->applied_seq.load());
    w.field("streamSeq", replication_->head_seq.load());
    w.field("caughtUp", replication_->caught_up.load());
    w.field("natsConnected", replication_->connected.load());
  }
  if (receipts_ != nullptr) {
    const auto r = receipts_->state();
    w.key("receipts").begin_object().field("issuing", r.usable);
    w.key("certificateNotAfter");
    if (r.not_after != 0) {
      w.value(core::iso8601(r.not_after));
    } else {
      w.null();
    }
    w.end_object();
  }
  w.end_object();
}

cache::CacheStats EdgeService::cache_stats() const {
  cache::CacheStats s;
  for (const auto& t : threads_) {
    const cache::CacheStats one = t->cache.stats();
    s.hits += one.hits;
    s.misses += one.misses;
    s.store_errors += one.store_errors;
  }
  return s;
}

}  // namespace le::edge
