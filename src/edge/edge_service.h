// license-edge's request handlers: thin wiring of net → core decisions → response, over the
// per-thread record caches. Every decision is made by a pure function in core/. TKI
// authentication and its first-use bindings are in tki_auth.cpp.
//
// Thread-safety: handlers run on the server's I/O threads; each uses the PerThread state of the
// worker index it is called with. set_ready()/ready() from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/digest_memo.h"
#include "cache/record_cache.h"
#include "core/api_error.h"
#include "core/clock.h"
#include "core/write_protocol.h"
#include "edge/client_ip.h"
#include "edge/primary_client.h"
#include "edge/receipt_signer.h"
#include "edge/reporter.h"
#include "metrics/metrics.h"
#include "net/http.h"
#include "ratelimit/sliding_window.h"
#include "replication/consumer.h"

namespace le::edge {

// Limits per 1-minute sliding window, enforced by this edge process (README "Rate limits").
struct RateLimitOptions {
  bool enabled = true;
  std::uint32_t public_per_ip = 600;       // validations without an API key, per client IP
  std::uint32_t public_per_license = 120;  // validations without an API key, per license key
  std::uint32_t tki_per_ip = 60;           // TKI auths per client IP, where the account enables it
  // Edges sharing one client's traffic evenly (a balancer without affinity): each enforces
  // ceil(limit / fleet_size), so the fleet as a whole admits about the limit.
  std::uint32_t fleet_size = 1;
  ratelimit::SlidingWindowLimiter::Options table;
};

struct EdgeOptions {
  unsigned threads = 1;
  RateLimitOptions rate_limit;
  TrustedProxies trusted_proxies;  // peers whose client_ip_header is believed
  std::string client_ip_header = "X-Forwarded-For";
  cache::CacheCapacity cache;
  // Seconds a client is told to wait (Retry-After) when a first-use binding is needed.
  unsigned binding_retry_after_s = 5;
  // Offline receipts signed per second per I/O thread at most; beyond it a VALID answer goes
  // without one, so a flood of "offline":true costs bounded signing and plain validations keep
  // their share. 0 = no limit.
  std::uint32_t receipts_per_second = 2000;
};

class EdgeService {
 public:
  EdgeService(const store::RecordStore& replica, const cache::InvalidationStamps& stamps,
              const core::Clock& clock, EdgeOptions options);

  void register_routes(net::Router& router);

  void set_ready(bool ready) { ready_.store(ready, std::memory_order_release); }
  // With replication, ready also requires the replica to have caught up with the stream.
  void set_replication(const replication::ConsumerStats* stats) { replication_ = stats; }
  // Where activations, deactivations and TKI first-use bindings go; without it they answer 503.
  void set_primary(edge::PrimaryClient* client) { primary_ = client; }
  // Where failed validations of existing licenses, usage, TKI attempts and blacklist hits are
  // counted for the primary; without it they are not.
  void set_reporter(Reporter* reporter) { reporter_ = reporter; }
  // Signs offline receipts for VALID answers that ask for one; without it none are given.
  void set_receipts(ReceiptSigner* signer) { receipts_ = signer; }
  std::uint64_t receipts_over_budget() const;
  bool ready() const {
    return ready_.load(std::memory_order_acquire) &&
           (replication_ == nullptr || replication_->caught_up.load(std::memory_order_acquire));
  }

  cache::CacheStats cache_stats() const;
  // Validation outcomes, rate-limit refusals and cache figures, summed over threads.
  void collect(metrics::Families& out) const;

  void validate(const net::Request& req, net::Response& res);
  void tki_auth(const net::Request& req, net::Response& res);
  // POST /api/v1/activate, /api/v1/deactivate: forwarded to the primary (see PrimaryClient).
  // POST /api/v1/heartbeat (floating seats): answered here while the machine's lease is live in
  // the replica and NATS is up, the extension sent to the primary in the next batch; otherwise
  // forwarded like an activation (a lapsed lease takes a seat again there).
  void activation(const net::Request& req, net::Response& res, core::WriteOp op);
  void healthz(const net::Request& req, net::Response& res);
  void readyz(const net::Request& req, net::Response& res);

  // The error body for a failure the server detects (404, 405, 413, …) in the protocol the
  // path speaks: TKI's {message, status_overview} under /api/license/, else {error, code, help}
  // (with X-RateLimit-* on the rate-limited routes, counted against the client IP).
  void write_protocol_error(const net::ErrorContext& ctx, net::ProtocolError e, net::Response& res);

 private:
  struct PerThread {
    PerThread(const store::RecordStore& replica, const cache::InvalidationStamps& stamps,
              cache::CacheCapacity capacity)
        : cache(replica, stamps, capacity) {}
    cache::RecordCache cache;
    cache::DigestMemo api_key_digests;  // of the API keys this thread has seen
    // Written by this thread only (see metrics::Cell).
    std::array<metrics::Cell, 7> outcomes;      // by core::ValidationCode
    std::array<metrics::Cell, 4> rate_limited;  // by kRateLimitKinds
    // Writes forwarded to the primary, by core::WriteOp and WriteOutcome; counted on the thread
    // that answers them (the request's).
    std::array<std::array<metrics::Cell, 3>, core::kWriteOpCount> writes;
    // Heartbeats answered here from the replica [0] and forwarded to the primary [1].
    std::array<metrics::Cell, 2> heartbeats;
    // Offline receipts signed in the current second, and those refused over the budget.
    std::int64_t receipt_second = 0;
    std::uint32_t receipts_in_second = 0;
    metrics::Cell receipts_over_budget;
  };

  enum class WriteOutcome : std::uint8_t { kDone, kRefused, kUnavailable };
  // The caller of a Traffic Orchestrator request, once authenticated and admitted.
  struct Caller {
    cache::Ptr<core::ApiKeyRecord> key;  // null: no API key (public validation / activation)
    cache::Ptr<core::AccountRecord> account;
  };
  // Authenticates the caller and counts the request against its limit (the API key's plan, else
  // the client IP). nullopt when the answer (auth error, 429, 503) is already written.
  std::optional<Caller> admit_caller(const net::Request& req, net::Response& res,
                                     std::int64_t now_ms,
                                     std::optional<ratelimit::Decision>& binding);
  // Records `d` as the binding limit if tighter; writes the 429 when refused.
  static bool admit(const ratelimit::Decision& d, net::Response& res,
                    std::optional<ratelimit::Decision>& binding);
  static void add_rate_headers(net::Response& res,
                               const std::optional<ratelimit::Decision>& binding);
  void activation_limited(const net::Request& req, net::Response& res, core::WriteOp op,
                          std::optional<ratelimit::Decision>& binding);
  // Answers a heartbeat from the replica when it can (true: `res` is written).
  bool heartbeat_at_edge(PerThread& t, const core::ApiKeyRecord* api_key,
                         const core::ActivationRequest& request, const core::Digest& license_digest,
                         net::Response& res);
  // Sends a first-use binding to the primary and answers the TKI auth from its reply.
  // A TKI attempt's fields, owned, for an answer that comes later (a binding at the primary).
  struct PendingAuth {
    cache::Ptr<core::AccountRecord> account;
    core::Mode mode = core::Mode::kLive;
    cache::Ptr<core::LicenseRecord> license;  // the account's, or null
    std::string product, version, ip, hwid, user_agent;
  };
  void bind_at_primary(const net::Request& req, net::Response& res, core::WriteCommand cmd,
                       PendingAuth auth);
  // Counts a failed validation of an existing license (`reason` set) on thread `worker`.
  // Adds an offline receipt to the VALID answer in `res`, when a certificate is held and the
  // thread's budget allows.
  void add_receipt(PerThread& t, const core::ValidateRequest& request, const core::LicenseRecord& l,
                   std::int64_t now_ms, net::Response& res);
  // `license_hash`: from Reporter::prefetch_failure(), if it was called.
  void report_failure(unsigned worker, const core::Digest& license,
                      std::optional<core::FailureReason> reason,
                      std::optional<std::string_view> machine_id,
                      std::optional<std::uint64_t> license_hash = std::nullopt);
  // Reporter::prefetch_failure() when there is a failure to report.
  std::optional<std::uint64_t> prefetch_failure(unsigned worker, const core::Digest& license,
                                                std::optional<core::FailureReason> reason);
  std::chrono::milliseconds write_deadline() const;
  static void answer_primary_unavailable(net::Response& res);
  static void answer_binding_unavailable(net::Response& res, unsigned retry_after_s);
  boost::asio::ip::address client_of(const net::Request& req) const;
  // The client behind `peer`: the address `forwarded` names when `peer` is a trusted proxy.
  boost::asio::ip::address client_of(const boost::asio::ip::address& peer,
                                     std::optional<std::string_view> forwarded) const;
  // One request against `limit` (split by fleet_size) for the key (kind, bytes).
  ratelimit::Decision limit(unsigned worker, char kind, std::span<const unsigned char> key,
                            std::uint32_t limit, std::int64_t now_ms);
  ratelimit::Decision limit_ip(unsigned worker, char kind, const boost::asio::ip::address& ip,
                               std::uint32_t limit, std::int64_t now_ms);
  void validate_limited(const net::Request& req, net::Response& res,
                        std::optional<ratelimit::Decision>& binding);
  static void answer_rate_limited(net::Response& res, const ratelimit::Decision& d);
  std::uint32_t share(std::uint32_t limit) const;
  static void answer(net::Response& res, const core::ApiError& e);
  static void answer_unavailable(net::Response& res, const store::StoreError& e);

  const core::Clock& clock_;
  EdgeOptions options_;
  std::vector<std::unique_ptr<PerThread>> threads_;
  ratelimit::SlidingWindowLimiter limiter_;
  std::atomic<bool> ready_{false};
  const replication::ConsumerStats* replication_ = nullptr;
  edge::PrimaryClient* primary_ = nullptr;
  Reporter* reporter_ = nullptr;
  ReceiptSigner* receipts_ = nullptr;
};

}  // namespace le::edge
