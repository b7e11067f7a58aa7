// license-primary's HTTP API: the spec's management endpoints for an account's API key holders
// (licenses, products, blacklist, settings, activate/deactivate, events) and the operator
// endpoints under /admin/v1 (accounts, API keys), authenticated by the admin token, plus
// /healthz and /readyz.
//
// Every change is a Ledger transaction (ledger.h); the handlers, one file per resource
// (handlers.h), read requests and write answers. Errors use the spec's {error, code, help}
// format, every route alike; bad input never changes data.
//
// Thread-safety: handlers run on the server's I/O threads concurrently; all shared state is in
// the store.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

#include "net/http.h"
#include "primary/ledger.h"
#include "primary/publisher.h"
#include "primary/sessions.h"
#include "primary/signing_keys.h"
#include "primary/snapshot_writer.h"
#include "primary/usage_store.h"
#include "ratelimit/sliding_window.h"

namespace le::primary {

struct ManagementOptions {
  // Operator token for /admin/v1 (from the environment); empty disables those endpoints.
  std::string admin_token;
  // Licenses accepted by one POST /api/v1/licenses/batch.
  std::size_t max_batch = 1000;
  // Webhook URLs may name loopback, private and link-local addresses (tests, a local demo).
  bool allow_private_webhooks = false;
  // Plan limits (spec "Rate Limits"): every request under an API key counts against its
  // account's plan per sliding minute; one without a valid key against its client address
  // (`public_per_ip`). Operator routes (/admin/v1) and health are not limited.
  bool rate_limit = true;
  std::uint32_t public_per_ip = 600;
  // Dashboard sign-in attempts per sliding minute, per email and per client address.
  std::uint32_t login_per_email = 10;
  std::uint32_t login_per_ip = 60;
  // The dashboard's files are read from here at each request, not the compiled-in ones
  // (developing the pages without a rebuild).
  std::string ui_dir;
};

class ManagementApi {
 public:
  ManagementApi(Ledger& ledger, ManagementOptions options);

  void register_routes(net::Router& router);
  void set_ready(bool ready) { ready_.store(ready, std::memory_order_release); }
  // Publishing progress shown by /readyz.
  void set_publisher(const PublisherStats* stats) { publisher_ = stats; }
  // Whether edges' writes are being taken (shown by /readyz as "edgeWrites").
  void set_edge_writes(const std::atomic<bool>* subscribed) { edge_writes_ = subscribed; }
  // The root signing keys behind GET /api/v1/signing-keys and their rotation; before
  // register_routes().
  void set_signing_keys(SigningKeys* keys) { signing_keys_ = keys; }
  // Where usage, auth logs and blacklist attempts are read; without it those routes answer 503.
  void set_usage(UsageStore* usage) { usage_ = usage; }
  // What POST /admin/v1/snapshots asks for a snapshot; without it that route answers 503.
  void set_snapshots(SnapshotWriter* snapshots) { snapshots_ = snapshots; }
  // Dashboard users and sessions (sign-in, JWTs); without it those routes answer 503 and JWTs
  // are refused.
  void set_sessions(Sessions* sessions) { sessions_ = sessions; }

  // The plan limit of the request's caller (Router::set_admission): X-RateLimit-* on the answer,
  // false with the 429 written when it is over.
  bool admit(const net::Request& req, net::Response& res);

  static void write_protocol_error(const net::ErrorContext& ctx, net::ProtocolError e,
                                   net::Response& res);

 private:
  void readyz(net::Response& res) const;

  Ledger& ledger_;
  ManagementOptions options_;
  ratelimit::SlidingWindowLimiter limiter_;
  ratelimit::SlidingWindowLimiter login_limiter_;
  std::atomic<bool> ready_{false};
  const PublisherStats* publisher_ = nullptr;
  const std::atomic<bool>* edge_writes_ = nullptr;
  SigningKeys* signing_keys_ = nullptr;
  UsageStore* usage_ = nullptr;
  SnapshotWriter* snapshots_ = nullptr;
  Sessions* sessions_ = nullptr;
};

}  // namespace le::primary
