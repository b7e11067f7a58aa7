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
#include "net/http.h"
#include "primary/primary_store.h"
#include "primary/publisher.h"

namespace le::primary {

struct ManagementOptions {
  // Operator token for /admin/v1 (from the environment); empty disables those endpoints.
  std::string admin_token;
  // Licenses accepted by one POST /api/v1/licenses/batch.
  std::size_t max_batch = 1000;
};

// An activation as applied by the primary: the outcome, or the error answer, and the license's
// state after it (for the reply and for the caller to apply locally).
struct ActivationReply {
  std::variant<core::ActivationResult, core::ApiError> outcome;
  std::optional<core::LicenseRecord> license;
};

class ManagementApi {
 public:
  ManagementApi(PrimaryStore& store, const core::Clock& clock, ManagementOptions options);

  void register_routes(net::Router& router);
  void set_ready(bool ready) { ready_.store(ready, std::memory_order_release); }
  // Publishing progress shown by /readyz.
  void set_publisher(const PublisherStats* stats) { publisher_ = stats; }

  // Activate / deactivate as one Tx; `api_key` is the caller's bearer key, if any.
  ActivationReply activate(const core::ActivationRequest& req, std::optional<std::string_view> api_key,
                           bool deactivate);

  static void write_protocol_error(std::string_view path, net::ProtocolError e, net::Response& res);

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

  PrimaryStore& store_;
  const core::Clock& clock_;
  ManagementOptions options_;
  std::atomic<bool> ready_{false};
  const PublisherStats* publisher_ = nullptr;
};

}  // namespace le::primary
