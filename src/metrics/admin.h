// The admin listener's routes, shared by license-edge and license-primary: GET /metrics (text
// exposition format, gathered at scrape time), /healthz and /readyz.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "metrics/metrics.h"
#include "net/http.h"
#include "net/server.h"
#include "store/record_store.h"

namespace le::metrics {

void add_admin_routes(net::Router& router, std::function<void(Families&)> collect,
                      std::function<bool()> ready);

// The admin listener's configuration from --admin-listen's HOST:PORT (one thread); nullopt when
// it is not HOST:PORT.
std::optional<net::ServerConfig> admin_listener(const std::string& listen);

// Starts the service's listener and its admin listener, then, when `port_file` is not empty,
// writes both bound ports to it. Logs under `component` and returns false when either fails.
bool start_listeners(net::Server& server, net::Server& admin, std::string_view component,
                     const std::string& port_file);

// RocksDB figures worth alerting on, summed over column families, as <prefix>_rocksdb_*.
void collect_rocksdb(Families& out, std::string_view prefix, const store::RecordStore& db);

}  // namespace le::metrics
