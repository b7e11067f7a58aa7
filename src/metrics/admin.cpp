#include "metrics/admin.h"

#include "common/flags.h"
#include "common/log.h"

namespace le::metrics {

void add_admin_routes(net::Router& router, std::function<void(Families&)> collect,
                      std::function<bool()> ready) {
  router.add(net::http::verb::get, "/metrics",
             [collect = std::move(collect)](const net::Request&, net::Response& res) {
               Families families;
               collect(families);
               res.body = serialize(families);
               res.content_type = "text/plain; version=0.0.4; charset=utf-8";
             });
  router.add(net::http::verb::get, "/healthz",
             [](const net::Request&, net::Response& res) { res.body = R"({"status":"ok"})"; });
  router.add(net::http::verb::get, "/readyz",
             [ready = std::move(ready)](const net::Request&, net::Response& res) {
               const bool ok = ready();
               res.status = ok ? 200 : 503;
               res.body = ok ? R"({"status":"ready"})" : R"({"status":"not_ready"})";
             });
  router.set_error_writer([](const net::ErrorContext&, net::ProtocolError e, net::Response& res) {
    res.body = R"({"error":"not found"})";
    if (e != net::ProtocolError::kNotFound) res.body = R"({"error":"bad request"})";
  });
}

void collect_rocksdb(Families& out, std::string_view prefix, const store::RecordStore& db) {
  struct Property {
    const char* rocksdb;
    const char* name;
    const char* help;
  };
  static constexpr Property kProperties[] = {
      {"rocksdb.estimate-live-data-size", "live_data_bytes", "Estimated bytes of live data."},
      {"rocksdb.total-sst-files-size", "sst_files_bytes", "Bytes of all SST files."},
      {"rocksdb.estimate-pending-compaction-bytes", "pending_compaction_bytes",
       "Bytes compaction still has to rewrite; a steady rise means writes outpace compaction."},
      {"rocksdb.num-files-at-level0", "l0_files", "Files at level 0 (writes stall past 20)."},
      {"rocksdb.num-running-compactions", "running_compactions", "Compactions running now."},
      {"rocksdb.cur-size-all-mem-tables", "memtable_bytes", "Bytes in memtables."},
      {"rocksdb.is-write-stopped", "write_stopped", "1 while RocksDB stops writes."},
      {"rocksdb.background-errors", "background_errors", "Background errors since open."},
  };
  for (const auto& p : kProperties) {
    auto f =
        family(std::string(prefix) + "_rocksdb_" + p.name, p.help, prometheus::MetricType::Gauge);
    sample(f, {}, static_cast<double>(db.int_property(p.rocksdb)));
    out.push_back(std::move(f));
  }
}

std::optional<net::ServerConfig> admin_listener(const std::string& listen) {
  net::ServerConfig config;
  config.threads = 1;
  if (!split_host_port(listen, config.address, config.port)) return std::nullopt;
  return config;
}

bool start_listeners(net::Server& server, net::Server& admin, std::string_view component,
                     const std::string& port_file) {
  try {
    server.start();
    admin.start();
  } catch (const std::exception& e) {
    log::error(component, "cannot listen", {{"error", e.what()}});
    return false;
  }
  if (!port_file.empty() && !write_port_file(port_file, server.port(), admin.port())) {
    log::error(component, "cannot write the port file", {{"path", port_file}});
    return false;
  }
  return true;
}

}  // namespace le::metrics
