// license-primary's HTTP API: the spec's management endpoints for an account's API key holders
// (licenses, products, blacklist, settings, activate/deactivate) and the operator endpoints
// under /admin/v1 (accounts, API keys), authenticated by the admin token.
//
// Every change is one PrimaryStore::Tx, so it is atomic with its outbox event and serialized
// with every other change. Errors use the spec's {error, code, help} format; bad input never
// changes data.
//
// Thread-safety: handlers run on the server's I/O threads concurrently; all shared state is in
// the store.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "core/activation.h"
#include "core/api_error.h"
#include "core/clock.h"
#include "core/write_protocol.h"
#include "net/http.h"
#include "primary/primary_store.h"
#include "primary/publisher.h"

namespace le::primary {

struct ManagementOptions {
  // Operator token for /admin/v1 (from the environment); empty disables those endpoints.
  std::string admin_token;
  // Licenses accepted by one POST /api/v1/licenses/batch.
  std::size_t max_batch = 1000;
  // Activations that take a slot (a new machine), per license per window; beyond it 429
  // RATE_LIMITED, so cycling devices cannot share one license. Deactivations free a slot and
  // are neither limited nor counted. 0 = unlimited.
  std::uint32_t activation_changes = 10;
  std::int64_t activation_window_s = 86'400;
};

class ManagementApi {
 public:
  ManagementApi(PrimaryStore& store, const core::Clock& clock, ManagementOptions options);

  void register_routes(net::Router& router);
  void set_ready(bool ready) { ready_.store(ready, std::memory_order_release); }
  // Publishing progress shown by /readyz.
  void set_publisher(const PublisherStats* stats) { publisher_ = stats; }
  // Whether edges' writes are being taken (shown by /readyz as "edgeWrites").
  void set_edge_writes(const std::atomic<bool>* subscribed) { edge_writes_ = subscribed; }

  // A write an edge forwards (activate, deactivate, TKI binding), as one Tx. The reply carries
  // the license's state after it. Throws nothing: store failures are INTERNAL_ERROR replies.
  core::WriteReply execute(const core::WriteCommand& cmd);

  static void write_protocol_error(const net::ErrorContext& ctx, net::ProtocolError e,
                                   net::Response& res);

 private:
  // Handlers, grouped by resource.
  void create_account(const net::Request& req, net::Response& res);
  void update_account(const net::Request& req, net::Response& res);
  void create_api_key_admin(const net::Request& req, net::Response& res);
  void revoke_api_key_admin(const net::Request& req, net::Response& res);
  void get_account(const net::Request& req, net::Response& res);
  void update_settings(const net::Request& req, net::Response& res);
  void create_api_key(const net::Request& req, net::Response& res);
  void revoke_api_key(const net::Request& req, net::Response& res);
  void create_product(const net::Request& req, net::Response& res);
  void list_products(const net::Request& req, net::Response& res);
  void get_product(const net::Request& req, net::Response& res);
  void update_product(const net::Request& req, net::Response& res);
  void delete_product(const net::Request& req, net::Response& res);
  void create_license(const net::Request& req, net::Response& res);
  void create_license_batch(const net::Request& req, net::Response& res);
  void list_licenses(const net::Request& req, net::Response& res);
  void get_license(const net::Request& req, net::Response& res);
  void update_license(const net::Request& req, net::Response& res);
  void set_license_status(const net::Request& req, net::Response& res, core::LicenseStatus to);
  void delete_license(const net::Request& req, net::Response& res);
  void create_blacklist(const net::Request& req, net::Response& res);
  void list_blacklist(const net::Request& req, net::Response& res);
  void delete_blacklist(const net::Request& req, net::Response& res);
  void activation(const net::Request& req, net::Response& res, bool deactivate);
  void list_events(const net::Request& req, net::Response& res);
  core::WriteReply change_activation(const core::Digest& license, std::string_view machine_id,
                                     std::string_view label, const core::ApiKeyRecord* key,
                                     bool deactivate);
  core::WriteReply bind(const core::WriteCommand& cmd);

  PrimaryStore& store_;
  const core::Clock& clock_;
  ManagementOptions options_;
  std::atomic<bool> ready_{false};
  const PublisherStats* publisher_ = nullptr;
  const std::atomic<bool>* edge_writes_ = nullptr;
};

}  // namespace le::primary
