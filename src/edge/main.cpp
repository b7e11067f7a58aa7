// license-edge: answers license validations (Traffic Orchestrator and TKI protocols) from a local
// RocksDB replica. See README.md for flags and limits.
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cache/invalidation.h"
#include "common/flags.h"
#include "common/log.h"
#include "core/clock.h"
#include "edge/edge_service.h"
#include "metrics/admin.h"
#include "net/server.h"
#include "replication/consumer.h"
#include "store/loader.h"
#include "store/record_store.h"

namespace {

// Three quarters of physical memory, in MiB.
std::uint64_t default_memory_budget_mb() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 0;
  return static_cast<std::uint64_t>(pages) / 4 * 3 * static_cast<std::uint64_t>(page) >> 20;
}

constexpr const char* kUsage = R"(usage: license-edge --db DIR [flags]
  --db DIR                 replica directory (created if missing)
  --listen HOST:PORT       address to serve on (default 127.0.0.1:8080)
  --threads N              I/O threads, one io_context + SO_REUSEPORT acceptor each (default: cores)
  --seed FILE              apply a JSON-lines change file to the replica before serving
  --seed-only              apply --seed and exit
  --cache-licenses N       decoded licenses cached per thread (default 65536)
  --block-cache-mb N       RocksDB block cache (default 32; 256 with --no-memory-view)
  --memory-budget-mb N     memory the in-memory view of the replica may take; a replica that
                           does not fit is refused at start (default: 3/4 of physical memory)
  --no-memory-view         serve lookups from RocksDB reads instead of the in-memory view
  --header-limit BYTES     max request header bytes (default 8192)
  --body-limit BYTES       max request body bytes (default 16384)
  --idle-timeout-ms MS     keep-alive idle limit (default 30000)
  --request-timeout-ms MS  body read + handling + write limit (default 10000)
  --drain-ms MS            graceful shutdown deadline (default 5000)
  --no-rate-limit          disable rate limiting (and the X-RateLimit-* headers)
  --public-ip-limit N      validations/min per client IP without an API key (default 600)
  --public-license-limit N validations/min per license key without an API key (default 120)
  --tki-ip-limit N         TKI auths/min per client IP, for accounts that enable it (default 60)
  --rate-limit-slots-log2 N  limiter table size, 2^N keys (default 20 = 16 MiB)
  --fleet-size N           edges that share each client's traffic evenly: each enforces limit/N (default 1)
  --trusted-proxies LIST   comma-separated addresses/CIDRs whose client IP header is believed
  --client-ip-header NAME  header carrying the client IP from a trusted proxy (default X-Forwarded-For)
  --nats URL               follow the primary's change stream on this NATS server; /readyz is
                           200 once the replica has caught up with it
  --stream NAME            JetStream stream (default LICENSING)
  --mirror-api PREFIX      --stream is this region's mirror of the core's stream, created at
                           first connect through the core domain's API prefix, e.g.
                           '$JS.core.API' (deploy/nats/leaf-region.conf)
  --mirror-source NAME     the core stream it mirrors (default LICENSING)
  --snapshot-bucket NAME   an empty replica, or one more than --bootstrap-behind events behind
                           the stream, first ingests the primary's newest snapshot from this
                           Object Store bucket, then follows the stream after it; without one,
                           the stream alone (default license-replica)
  --bootstrap-behind N     (default 500000)
  --no-snapshot-bootstrap  follow the stream alone
  --flush-messages N       the replica (written without a WAL when following --nats) is
                           flushed to disk after N stream messages (default 100000) ...
  --flush-ms MS            ... or MS after the first one not yet flushed (default 10000): what
                           a crash loses, and a restart applies again
  --write-timeout-ms MS    activations, deactivations and TKI first-use bindings go to the
                           primary over --nats; without its answer by then: 503 (default 2000)
  --lease-batch-ms MS      heartbeats of live floating seats are answered here and their lease
                           extensions sent to the primary together this often (default 1000)
  --report-ms MS           usage, TKI auth attempts, blacklist hits and failed validations of
                           existing licenses are counted per I/O thread and sent to the
                           primary's reports stream over --nats this often (default 5000)
  --report-licenses N      licenses (per day) each I/O thread counts usage and failures of
                           between reports; further ones are dropped and counted (default 32768)
  --report-buffer-bytes N  reports waiting for NATS kept at most; beyond it the oldest are
                           dropped and counted (default 67108864)
  --no-usage               count and report failed validations only
  --no-reports             count and report nothing
  --edge-id ID             this edge's name in its reports and receipt certificate
                           (default edge-<host>-<port>)
  --receipt-rate N         offline receipts signed per second per I/O thread at most; beyond
                           it VALID answers go without one (default 2000; 0 = no limit)
  --no-receipts            issue no offline receipts (no key, no certificate)
  --dump                   print every record as change-stream JSON lines and exit
  --digest                 print the SHA-256 of every record in the replica and exit
                           (--dump and --digest open it read-only: a missing replica is an
                           error, and nothing is written)
  --rebuild-replica        a --db directory with files but no database (a partial copy,
                           stray files) is refused, since opening it would delete them; with
                           this flag its files are deleted and the replica starts empty
  --port-file FILE         once serving, write "<port> <admin_port>" to FILE (for port 0)
  --admin-listen HOST:PORT admin listener: /metrics, /healthz, /readyz (default 127.0.0.1:9090)
  --no-metrics             do not count requests (the admin listener still serves the rest)
  --access-log-sample N    log one request in N per I/O thread as a JSON line (default 0: none)
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace le;
  Flags flags(
      argc, argv,
      {"db",
       "listen",
       "threads",
       "seed",
       "cache-licenses",
       "block-cache-mb",
       "memory-budget-mb",
       "header-limit",
       "body-limit",
       "idle-timeout-ms",
       "request-timeout-ms",
       "drain-ms",
       "public-ip-limit",
       "public-license-limit",
       "tki-ip-limit",
       "rate-limit-slots-log2",
       "fleet-size",
       "trusted-proxies",
       "client-ip-header",
       "nats",
       "stream",
       "mirror-api",
       "mirror-source",
       "snapshot-bucket",
       "bootstrap-behind",
       "flush-messages",
       "flush-ms",
       "admin-listen",
       "port-file",
       "write-timeout-ms",
       "lease-batch-ms",
       "report-ms",
       "report-licenses",
       "report-buffer-bytes",
       "edge-id",
       "receipt-rate",
       "access-log-sample"},
      {"seed-only", "help", "no-rate-limit", "no-memory-view", "digest", "dump", "rebuild-replica",
       "no-snapshot-bootstrap", "no-metrics", "no-usage", "no-reports", "no-receipts"});
  if (flags.flag("help")) {
    std::cout << kUsage;
    return 0;
  }
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  net::ServerConfig server_config;
  server_config.threads = static_cast<unsigned>(flags.u64("threads", cores));
  server_config.limits.header_bytes = flags.u64("header-limit", 8192);
  server_config.limits.body_bytes = flags.u64("body-limit", 16384);
  server_config.limits.idle_timeout =
      std::chrono::milliseconds(flags.u64("idle-timeout-ms", 30000));
  server_config.limits.request_timeout =
      std::chrono::milliseconds(flags.u64("request-timeout-ms", 10000));
  const auto drain = std::chrono::milliseconds(flags.u64("drain-ms", 5000));
  store::RecordStoreOptions replica_options;
  replica_options.path = flags.str("db");
  // Every lookup is served from the in-memory view (RecordStoreOptions::memory_view); RocksDB
  // is read only by its own writes then, and a small block cache does.
  replica_options.memory_view = !flags.flag("no-memory-view") && !flags.flag("seed-only") &&
                                !flags.flag("dump") && !flags.flag("digest");
  replica_options.memory_budget_bytes = flags.u64("memory-budget-mb", default_memory_budget_mb())
                                        << 20;
  replica_options.block_cache_bytes =
      flags.u64("block-cache-mb", replica_options.memory_view ? 32 : 256) << 20;
  // Following a stream, the replica is re-derivable from it: no write-ahead log (see
  // RecordStoreOptions::wal).
  replica_options.wal = !flags.has("nats");
  replica_options.read_only = flags.flag("dump") || flags.flag("digest");
  replica_options.rebuild = flags.flag("rebuild-replica");
  edge::EdgeOptions edge_options;
  edge_options.threads = server_config.threads;
  edge_options.cache.licenses = flags.u64("cache-licenses", 1 << 16);
  auto& rl = edge_options.rate_limit;
  rl.enabled = !flags.flag("no-rate-limit");
  rl.public_per_ip = static_cast<std::uint32_t>(flags.u64("public-ip-limit", rl.public_per_ip));
  rl.public_per_license =
      static_cast<std::uint32_t>(flags.u64("public-license-limit", rl.public_per_license));
  rl.tki_per_ip = static_cast<std::uint32_t>(flags.u64("tki-ip-limit", rl.tki_per_ip));
  rl.table.capacity_log2 = flags.u64("rate-limit-slots-log2", rl.table.capacity_log2);
  rl.fleet_size = static_cast<std::uint32_t>(flags.u64("fleet-size", 1));
  edge_options.client_ip_header = flags.str("client-ip-header", edge_options.client_ip_header);
  edge_options.receipts_per_second =
      static_cast<std::uint32_t>(flags.u64("receipt-rate", edge_options.receipts_per_second));
  if (!edge_options.trusted_proxies.parse(flags.str("trusted-proxies"))) {
    std::cerr << "license-edge: " << edge_options.trusted_proxies.error() << "\n";
    return 2;
  }
  if (rl.table.capacity_log2 < 4 || rl.table.capacity_log2 > 30) {
    std::cerr << "license-edge: --rate-limit-slots-log2 must be 4..30\n";
    return 2;
  }
  if (!flags.ok() || replica_options.path.empty() ||
      !le::split_host_port(flags.str("listen", "127.0.0.1:8080"), server_config.address,
                           server_config.port)) {
    std::cerr << (flags.ok() ? "license-edge: --db and a valid --listen are required"
                             : "license-edge: " + flags.error())
              << "\n"
              << kUsage;
    return 2;
  }

  auto replica = store::RecordStore::open(replica_options);
  // A replica whose files fail their checksums is corrupt, not unavailable: following a stream,
  // it is re-derivable, so it is moved aside (kept for a look, never deleted here) and built
  // again from the primary's snapshot and the stream.
  std::uint64_t corrupt_replicas = 0;
  if (!replica && replica.error().message.find("Corruption") != std::string::npos &&
      flags.has("nats") && !replica_options.read_only) {
    const std::string aside = replica_options.path + ".corrupt";
    log::error("edge", "the replica is corrupt; moving it aside and building it again",
               {{"error", replica.error().message}, {"moved_to", aside}});
    std::error_code ec;
    std::filesystem::remove_all(aside, ec);
    std::filesystem::rename(replica_options.path, aside, ec);
    if (ec) {
      log::error("edge", "cannot move the corrupt replica aside", {{"error", ec.message()}});
      return 1;
    }
    ++corrupt_replicas;
    replica = store::RecordStore::open(replica_options);
  }
  if (!replica) {
    log::error("edge", "cannot open replica", {{"error", replica.error().message}});
    return 1;
  }
  if (flags.flag("dump") || flags.flag("digest")) {
    auto printed = store::print_records(**replica, flags.flag("dump"), std::cout);
    if (!printed)
      log::error("edge", "reading the records failed", {{"error", printed.error().message}});
    return printed ? 0 : 1;
  }
  if (flags.has("seed")) {
    std::ifstream in(flags.str("seed"));
    if (!in) {
      log::error("edge", "cannot read seed file", {{"path", flags.str("seed")}});
      return 1;
    }
    auto stats = store::load_jsonl(**replica, in);
    if (!stats) {
      log::error("edge", "seeding failed", {{"error", stats.error().message}});
      return 1;
    }
    for (const auto& e : stats->errors) log::warn("edge", "seed line skipped", {{"error", e}});
    log::info("edge", "seeded replica",
              {{"lines", std::to_string(stats->lines)},
               {"applied", std::to_string(stats->applied)},
               {"undecodable", std::to_string(stats->undecodable)}});
    if (stats->applied > 0) {
      if (auto r = (*replica)->compact(); !r) {
        log::error("edge", "compaction after seeding failed", {{"error", r.error().message}});
        return 1;
      }
    }
    if (flags.flag("seed-only")) return stats->undecodable == 0 ? 0 : 3;
  }

  // Signals are taken synchronously by this thread; the I/O threads inherit the blocked mask.
  block_termination_signals();

  core::SystemClock clock;
  cache::InvalidationStamps stamps;
  edge::EdgeService service(**replica, stamps, clock, edge_options);
  std::unique_ptr<replication::Consumer> consumer;
  std::unique_ptr<edge::PrimaryClient> primary;
  std::unique_ptr<edge::Reporter> reporter;
  std::unique_ptr<edge::ReceiptSigner> receipts;
  if (flags.has("nats")) {
    char host[64] = {};
    ::gethostname(host, sizeof host - 1);
    // Unique in the fleet (the primary tells edges' reports apart by it) and, with a fixed port,
    // the same across restarts.
    std::string edge_id = flags.str(
        "edge-id", "edge-" + std::string(host) + "-" +
                       std::to_string(server_config.port != 0 ? server_config.port : ::getpid()));
    for (auto& c : edge_id) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') c = '-';
    }
    edge_id = edge_id.substr(0, core::kMaxEdgeIdBytes);
    replication::ConsumerOptions consumer_options;
    consumer_options.nats.url = flags.str("nats");
    consumer_options.nats.stream = flags.str("stream", nats::kDefaultStream);
    consumer_options.mirror_api = flags.str("mirror-api");
    consumer_options.mirror_source = flags.str("mirror-source", nats::kDefaultStream);
    consumer_options.nats.client_name = "license-edge";
    // A regional mirror's edge follows its local stream alone: the snapshots are in the core's
    // domain, and number sequences as the core's stream does.
    if (!flags.flag("no-snapshot-bootstrap") && consumer_options.mirror_api.empty()) {
      consumer_options.snapshot_dir = flags.str("db") + "/snapshot.tmp";
    }
    consumer_options.snapshot_bucket = flags.str("snapshot-bucket", "license-replica");
    consumer_options.bootstrap_behind = flags.u64("bootstrap-behind", 500'000);
    consumer_options.flush_messages = flags.u64("flush-messages", 100'000);
    consumer_options.flush_interval = std::chrono::milliseconds(flags.u64("flush-ms", 10'000));
    consumer = std::make_unique<replication::Consumer>(**replica, stamps, clock, consumer_options);
    service.set_replication(&consumer->stats());
    consumer->start();
    edge::PrimaryClientOptions primary_options;
    primary_options.nats = consumer_options.nats;
    primary_options.nats.client_name = "license-edge-writes";
    primary_options.nats.send_asap = true;
    primary_options.timeout =
        std::chrono::milliseconds(std::max<std::uint64_t>(1, flags.u64("write-timeout-ms", 2000)));
    primary_options.lease_batch =
        std::chrono::milliseconds(std::max<std::uint64_t>(10, flags.u64("lease-batch-ms", 1000)));
    primary_options.edge_id = edge_id;
    primary = std::make_unique<edge::PrimaryClient>(**replica, stamps, primary_options);
    service.set_primary(primary.get());
    primary->start();
    if (!flags.flag("no-reports")) {
      edge::ReporterOptions report_options;
      report_options.nats = consumer_options.nats;
      report_options.nats.client_name = "license-edge-reports";
      report_options.edge_id = edge_id;
      report_options.interval =
          std::chrono::milliseconds(std::max<std::uint64_t>(1, flags.u64("report-ms", 5000)));
      report_options.usage = !flags.flag("no-usage");
      report_options.max_failures_per_thread = report_options.max_usage_per_thread =
          flags.u64("report-licenses", report_options.max_usage_per_thread);
      report_options.max_buffer_bytes =
          flags.u64("report-buffer-bytes", report_options.max_buffer_bytes);
      reporter = std::make_unique<edge::Reporter>(server_config.threads, report_options);
      service.set_reporter(reporter.get());
      reporter->start();
    }
    if (!flags.flag("no-receipts")) {
      edge::ReceiptSignerOptions receipt_options;
      receipt_options.nats = consumer_options.nats;
      receipt_options.nats.client_name = "license-edge-receipts";
      receipt_options.nats.send_asap = true;
      receipt_options.edge_id = edge_id;
      receipts = edge::ReceiptSigner::create(clock, receipt_options);
      if (!receipts) {
        log::error("edge", "cannot make a receipt signing key: no offline receipts");
      } else {
        service.set_receipts(receipts.get());
        receipts->start();
      }
    }
  }
  net::Router router;
  service.register_routes(router);
  net::Server server(server_config, router);
  const auto started = std::chrono::system_clock::now();
  std::unique_ptr<metrics::HttpMetrics> http_metrics;
  if (!flags.flag("no-metrics")) {
    http_metrics = std::make_unique<metrics::HttpMetrics>(server_config.threads,
                                                          router.route_paths(), "le_edge");
    http_metrics->set_access_log_sampling(
        static_cast<std::uint32_t>(flags.u64("access-log-sample", 0)));
    server.set_observer(http_metrics.get());
  }
  net::Router admin_router;
  metrics::add_admin_routes(
      admin_router,
      [&](metrics::Families& out) {
        using prometheus::MetricType;
        if (http_metrics) http_metrics->collect(out);
        service.collect(out);
        auto gauge = [&](std::string name, std::string help, double v) {
          auto f = metrics::family(std::move(name), std::move(help), MetricType::Gauge);
          metrics::sample(f, {}, v);
          out.push_back(std::move(f));
        };
        auto counter = [&](std::string name, std::string help, double v) {
          auto f = metrics::family(std::move(name), std::move(help), MetricType::Counter);
          metrics::sample(f, {}, v);
          out.push_back(std::move(f));
        };
        gauge("le_edge_open_connections", "Client connections open now.",
              static_cast<double>(server.open_connections()));
        gauge("le_edge_ready", "1 when /readyz answers 200.", service.ready() ? 1 : 0);
        if (consumer) {
          const auto& s = consumer->stats();
          const double applied = static_cast<double>(s.applied_seq.load());
          const double head =
              static_cast<double>(std::max(s.head_seq.load(), s.applied_seq.load()));
          gauge("le_replication_applied_seq", "Last stream sequence applied to the replica.",
                applied);
          gauge("le_replication_stream_seq", "Highest stream sequence known to exist.", head);
          gauge("le_replication_lag_events",
                "Stream events known to exist and not yet applied (a lower bound while NATS is "
                "lost: the head is the last one seen).",
                head - applied);
          const std::int64_t last = s.last_apply_ms.load();
          gauge("le_replication_seconds_since_apply",
                "Seconds since a batch was last applied (since start when none was).",
                static_cast<double>(clock.now_ms() -
                                    (last ? last
                                          : std::chrono::duration_cast<std::chrono::milliseconds>(
                                                started.time_since_epoch())
                                                .count())) /
                    1000.0);
          counter("le_replication_events_applied_total", "Stream events that changed the replica.",
                  static_cast<double>(s.events_applied.load()));
          counter("le_replication_events_stale_total", "Stream events not newer than the replica.",
                  static_cast<double>(s.events_stale.load()));
          counter("le_replication_batches_total", "Write batches applied.",
                  static_cast<double>(s.batches.load()));
          counter("le_replication_undecodable_total",
                  "Stream messages that did not decode (skipped).",
                  static_cast<double>(s.undecodable.load()));
          counter("le_replication_reconnects_total",
                  "Reconnections to NATS after a lost connection.",
                  static_cast<double>(s.reconnects.load()));
          counter("le_replication_stream_rewinds_total",
                  "Times the stream was found behind the replica and replayed from its start.",
                  static_cast<double>(s.stream_rewinds.load()));
          counter("le_replication_bootstraps_total",
                  "Snapshots of the primary's records ingested before following the stream.",
                  static_cast<double>(s.bootstraps.load()));
          counter("le_replication_bootstrap_failures_total",
                  "Snapshots that could not be fetched or ingested (the stream alone followed).",
                  static_cast<double>(s.bootstrap_failures.load()));
          counter("le_edge_replica_corruptions_total",
                  "Replicas found corrupt (failed checksums) at start, moved aside and built "
                  "again.",
                  static_cast<double>(corrupt_replicas));
          gauge("le_replication_unflushed_messages",
                "Stream messages applied to memtables only since the last flush (a crash "
                "loses them; the restart applies them again).",
                static_cast<double>(s.unflushed.load()));
          counter("le_replication_flushes_total", "Flushes of the replica by the consumer.",
                  static_cast<double>(s.flushes.load()));
          counter("le_replication_checks_total",
                  "Range digests of the primary's records compared with the replica.",
                  static_cast<double>(s.checks.load()));
          counter("le_replication_checks_skipped_total",
                  "Range digests met where the replica could not be compared (catching up).",
                  static_cast<double>(s.checks_skipped.load()));
          counter("le_replication_divergences_total",
                  "Times the replica was found to differ from the primary's records (at two "
                  "checks in a row).",
                  static_cast<double>(s.divergences.load()));
          counter("le_replication_divergent_ranges_total",
                  "Key ranges found differing from the primary's.",
                  static_cast<double>(s.divergent_ranges.load()));
          counter("le_replication_repairs_total",
                  "Divergences repaired from the primary's newest snapshot.",
                  static_cast<double>(s.repairs.load()));
          counter("le_replication_repair_failures_total",
                  "Divergences that found no snapshot to repair from.",
                  static_cast<double>(s.repair_failures.load()));
          gauge("le_replication_bootstrap_seconds",
                "Download and ingestion time of the last snapshot ingested.",
                static_cast<double>(s.bootstrap_ms.load()) / 1000.0);
          gauge("le_nats_connected", "1 while connected to NATS.", s.connected.load() ? 1 : 0);
          gauge("le_replication_caught_up",
                "1 once the replica reached the stream head seen at start.",
                s.caught_up.load() ? 1 : 0);
        }
        if (primary) {
          const auto& p = primary->stats();
          auto ext = metrics::family(
              "le_edge_lease_extensions_total",
              "Lease extensions of heartbeats answered here, by outcome (sent: in a batch the "
              "primary answered; refused: by the primary, the seat had lapsed or is gone; "
              "dropped: the queue was full while the primary was away).",
              MetricType::Counter);
          for (auto [outcome, n] :
               {std::pair{"sent", &p.extensions_sent}, std::pair{"refused", &p.extensions_refused},
                std::pair{"dropped", &p.extensions_dropped}}) {
            metrics::sample(ext, {{"outcome", outcome}}, static_cast<double>(n->load()));
          }
          out.push_back(std::move(ext));
          gauge("le_edge_lease_extensions_queued", "Lease extensions waiting for the next batch.",
                static_cast<double>(p.extensions_queued.load()));
        }
        if (reporter) reporter->collect(out);
        if (receipts) {
          const auto& r = receipts->stats();
          const auto state = receipts->state();
          counter("le_edge_receipts_signed_total", "Offline receipts signed.",
                  static_cast<double>(r.signed_receipts.load()));
          counter("le_edge_receipts_without_certificate_total",
                  "VALID answers that asked for a receipt while no certificate was usable.",
                  static_cast<double>(r.unsigned_no_certificate.load()));
          counter("le_edge_receipts_over_budget_total",
                  "VALID answers that asked for a receipt beyond --receipt-rate.",
                  static_cast<double>(service.receipts_over_budget()));
          gauge("le_edge_receipts_issuing", "1 while a usable receipt certificate is held.",
                state.usable ? 1 : 0);
          gauge("le_edge_receipt_certificate_expiry_seconds",
                "Seconds until the receipt certificate held ends (0: none).",
                state.not_after == 0 ? 0.0
                                     : static_cast<double>(std::max<std::int64_t>(
                                           0, state.not_after - clock.now_seconds())));
          counter("le_edge_receipt_renewal_failures_total",
                  "Certificate requests to the primary that failed.",
                  static_cast<double>(r.renewal_failures.load()));
        }
        if (primary) {
          const auto& p = primary->stats();
          counter("le_edge_primary_requests_total", "Write requests sent to the primary.",
                  static_cast<double>(p.sent.load()));
          counter("le_edge_primary_unreachable_total",
                  "Writes not sent (NATS down) or not answered within the timeout.",
                  static_cast<double>(p.unreachable.load()));
          counter("le_edge_primary_bad_replies_total",
                  "Replies from the primary that did not decode.",
                  static_cast<double>(p.bad_replies.load()));
        }
        metrics::collect_rocksdb(out, "le_edge", **replica);
        metrics::collect_process(out, "le_edge", started);
      },
      [&] { return service.ready(); });
  const auto admin_config = metrics::admin_listener(flags.str("admin-listen", "127.0.0.1:9090"));
  if (!admin_config) {
    std::cerr << "license-edge: --admin-listen must be HOST:PORT\n";
    return 2;
  }
  net::Server admin(*admin_config, admin_router);
  if (!metrics::start_listeners(server, admin, "edge", flags.str("port-file", ""))) return 1;
  service.set_ready(true);
  const auto seq = (*replica)->applied_seq();
  log::info("edge", "serving",
            {{"address", server_config.address},
             {"port", std::to_string(server.port())},
             {"threads", std::to_string(server_config.threads)},
             {"admin_port", std::to_string(admin.port())},
             {"applied_seq", seq ? std::to_string(*seq) : "unknown"}});

  const int sig = wait_for_termination();
  log::info("edge", "shutting down", {{"signal", std::to_string(sig)}});
  service.set_ready(false);
  server.shutdown(drain);
  admin.shutdown(std::chrono::milliseconds(500));
  // After the I/O threads stopped: nothing sends any more, pending writes are failed.
  if (primary) primary->stop();
  if (reporter) reporter->stop();  // with a last report of what was counted
  if (receipts) receipts->stop();
  if (consumer) consumer->stop();
  log::info("edge", "stopped");
  return 0;
}
