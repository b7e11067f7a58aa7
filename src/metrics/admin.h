// The admin listener's routes, shared by license-edge and license-primary: GET /metrics (text
// exposition format, gathered at scrape time), /healthz and /readyz.
#pragma once

#include <functional>

#include "metrics/metrics.h"
#include "net/http.h"
#include "store/replica.h"

namespace le::metrics {

void add_admin_routes(net::Router& router, std::function<void(Families&)> collect,
                      std::function<bool()> ready);

// RocksDB figures worth alerting on, summed over column families, as <prefix>_rocksdb_*.
void collect_rocksdb(Families& out, std::string_view prefix, const store::Replica& db);

}  // namespace le::metrics
