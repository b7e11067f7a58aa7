// license-primary: the system of record. Serves the management API, writes every change with its
// outbox event in one atomic RocksDB write, and publishes the outbox to the JetStream change
// stream the edges follow. See README.md for flags.
#include <cstdlib>
#include <iostream>
#include <thread>

#include "common/flags.h"
#include "common/log.h"
#include "core/clock.h"
#include "metrics/admin.h"
#include "net/server.h"
#include "primary/cert_service.h"
#include "primary/delivery_worker.h"
#include "primary/expiry_scheduler.h"
#include "primary/failure_reports.h"
#include "primary/mail.h"
#include "primary/management_api.h"
#include "primary/primary_store.h"
#include "primary/publisher.h"
#include "primary/report_consumer.h"
#include "primary/usage_store.h"
#include "primary/write_service.h"
#include "store/loader.h"

namespace {

constexpr const char* kUsage = R"(usage: license-primary --db DIR [flags]
  --db DIR                 database directory (created if missing)
  --listen HOST:PORT       address of the management API (default 127.0.0.1:8090)
  --threads N              I/O threads (default 2)
  --nats URL               NATS server to publish to (default nats://127.0.0.1:4222)
  --stream NAME            JetStream stream (default LICENSING)
  --outbox-retain-s S      changes the stream acknowledged are kept this long (default 150,
                           more than JetStream's 2-minute fsync interval) and published again
                           if the stream comes back without them
  --stream-replicas N      copies of the streams it creates in a JetStream cluster (default 1;
                           3 in deploy/nats/core.conf's cluster)
  --no-publish             keep changes in the outbox (do not publish them)
  --check-interval-s S     when the outbox is drained, digests of the records over fixed key
                           ranges are published in the stream this often, for edges to check
                           their replicas against (default 60; 0 = never)
  --snapshot-interval-s S  a snapshot of the records for edges to start from is written to
                           the Object Store every S seconds when the stream moved on, and on
                           POST /admin/v1/snapshots (default 300; 0 = only when asked)
  --snapshots-keep N       the newest N snapshots are kept (default 3)
  --snapshot-bucket NAME   their Object Store bucket (default license-replica)
  --no-snapshots           write none
  --no-rate-limit          do not limit requests by plan (spec "Rate Limits")
  --public-ip-limit N      requests/min per client address without a valid API key (default 600)
  --login-email-limit N    dashboard sign-in attempts/min per email (default 10)
  --login-ip-limit N       dashboard sign-in attempts/min per client address (default 60)
  --password-cost N        scrypt cost of new password hashes, log2 N (default 15: 32 MiB,
                           about 0.1 s; 10 to 20)
  --smtp HOST:PORT         send each license created with a customer email its key through
                           this SMTP relay (STARTTLS whenever offered; AUTH PLAIN with
                           LE_SMTP_USER and LE_SMTP_PASSWORD from the environment, over TLS
                           only). Without it no license email is queued.
  --smtp-from ADDRESS      the emails' sender (default licenses@localhost)
  --smtp-helo NAME         the name given in EHLO (default localhost)
  --smtp-ca-file FILE      also trust these CA certificates for the relay
  --smtp-require-tls       never send to a relay that does not offer STARTTLS
  --ui-dir DIR             serve the dashboard's files (/ui/) from DIR, read at each request,
                           instead of the compiled-in ones
  --webhooks-allow-private accept webhook URLs naming loopback, private or link-local addresses,
                           and deliver to them
  --webhook-ca-file FILE   also trust these CA certificates for https webhook receivers
  --webhook-timeout-ms MS  a delivery attempt's deadline, connect to answer (default 10000)
  --webhook-concurrency N  delivery attempts under way at once (default 64)
  --webhook-endpoint-concurrency N
                           of those, at most N to one endpoint (default 4)
  --no-webhook-delivery    queue webhook deliveries but do not send them
  --edge-cert-seconds S    lifetime of the certificates edges get for their receipt keys
                           (default 172800: 48 h; 10 to 604800)
  --root-overlap-hours H   a rotated-out root signing key stays published this long
                           (default 888: the longest grace period, 30 days, plus 7)
  --no-edge-writes         do not answer the writes edges forward (activate, deactivate,
                           TKI first-use bindings) over NATS
  --activation-changes N   activations that take a slot, per license per window; beyond it
                           429 (default 10; 0 = unlimited); deactivations are never limited
  --activation-window-s S  that window in seconds (default 86400)
  --failure-window-ms MS   failed validations edges report are summed per license over this
                           window: one validation.failed event per license per window
                           (default 60000)
  --usage-db DIR           usage, auth-log and blacklist-attempt database, from edges' reports
                           (default <--db>-usage)
  --usage-retention-days D days of daily usage and of auth-log records kept (default 90)
  --auth-log-records N     auth-log records kept per account and mode, the newest (default 10000)
  --key-sharing-threshold N
                           a license seen on more distinct machines or IPs in a day is flagged
                           for key sharing (default 10)
  --report-stream-max-bytes N
                           reports waiting for a primary kept at most (default 1073741824)
  --no-reports             take no reports from edges (no usage, no validation.failed)
  --body-limit BYTES       max request body bytes (default 1048576, for batch creation)
  --drain-ms MS            graceful shutdown deadline (default 5000)
  --port-file FILE         once serving, write "<port> <admin_port>" to FILE (for port 0)
  --admin-listen HOST:PORT admin listener: /metrics, /healthz, /readyz (default 127.0.0.1:9091)
  --dump                   print every record as change-stream JSON lines and exit
  --digest                 print the SHA-256 of every record (as an edge replica would hold
                           them) and exit
Environment: LE_ADMIN_TOKEN enables the operator endpoints under /admin/v1.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace le;
  Flags flags(
      argc, argv,
      {"db",
       "listen",
       "threads",
       "nats",
       "stream",
       "stream-replicas",
       "outbox-retain-s",
       "check-interval-s",
       "snapshot-interval-s",
       "snapshots-keep",
       "snapshot-bucket",
       "body-limit",
       "drain-ms",
       "admin-listen",
       "port-file",
       "activation-changes",
       "activation-window-s",
       "webhook-ca-file",
       "webhook-timeout-ms",
       "webhook-concurrency",
       "webhook-endpoint-concurrency",
       "edge-cert-seconds",
       "root-overlap-hours",
       "failure-window-ms",
       "usage-db",
       "usage-retention-days",
       "auth-log-records",
       "key-sharing-threshold",
       "report-stream-max-bytes",
       "public-ip-limit",
       "login-email-limit",
       "login-ip-limit",
       "password-cost",
       "ui-dir",
       "smtp",
       "smtp-from",
       "smtp-helo",
       "smtp-ca-file"},
      {"help", "no-publish", "no-snapshots", "no-rate-limit", "no-edge-writes", "digest", "dump",
       "webhooks-allow-private", "no-webhook-delivery", "no-reports", "smtp-require-tls"});
  if (flags.flag("help")) {
    std::cout << kUsage;
    return 0;
  }
  net::ServerConfig server_config;
  server_config.threads = static_cast<unsigned>(flags.u64("threads", 2));
  server_config.limits.body_bytes = flags.u64("body-limit", 1 << 20);
  const auto drain = std::chrono::milliseconds(flags.u64("drain-ms", 5000));
  const std::string db_path = flags.str("db");
  if (!flags.ok() || db_path.empty() || server_config.threads == 0 ||
      !split_host_port(flags.str("listen", "127.0.0.1:8090"), server_config.address,
                       server_config.port)) {
    std::cerr << (flags.ok() ? "license-primary: --db and a valid --listen are required"
                             : "license-primary: " + flags.error())
              << "\n"
              << kUsage;
    return 2;
  }

  const bool reading_only = flags.flag("dump") || flags.flag("digest");
  auto store = primary::PrimaryStore::open(db_path, 64u << 20, reading_only);
  if (!store) {
    log::error("primary", "cannot open database", {{"error", store.error().message}});
    return 1;
  }
  if (flags.flag("dump") || flags.flag("digest")) {
    auto printed = store::print_records((*store)->records(), flags.flag("dump"), std::cout);
    if (!printed)
      log::error("primary", "reading the records failed", {{"error", printed.error().message}});
    return printed ? 0 : 1;
  }

  block_termination_signals();
  core::SystemClock clock;
  primary::LedgerOptions ledger_options;
  ledger_options.activation_changes = static_cast<std::uint32_t>(
      flags.u64("activation-changes", ledger_options.activation_changes));
  ledger_options.activation_window_s = static_cast<std::int64_t>(std::max<std::uint64_t>(
      1, flags.u64("activation-window-s",
                   static_cast<std::uint64_t>(ledger_options.activation_window_s))));
  primary::MailerOptions mail_options;
  const std::string smtp = flags.str("smtp", "");
  if (!smtp.empty()) {
    std::string host;
    unsigned short port = 0;
    if (!split_host_port(smtp, host, port)) {
      log::error("primary", "--smtp must be HOST:PORT", {{"smtp", smtp}});
      return 2;
    }
    mail_options.smtp.host = host;
    mail_options.smtp.port = std::to_string(port);
    mail_options.smtp.helo = flags.str("smtp-helo", mail_options.smtp.helo);
    mail_options.smtp.require_tls = flags.flag("smtp-require-tls");
    if (const char* u = std::getenv("LE_SMTP_USER")) mail_options.smtp.user = u;
    if (const char* p = std::getenv("LE_SMTP_PASSWORD")) mail_options.smtp.password = p;
    mail_options.from = flags.str("smtp-from", mail_options.from);
    mail_options.ca_file = flags.str("smtp-ca-file", "");
    ledger_options.license_mails = true;
  }
  primary::Ledger ledger(**store, clock, ledger_options);
  primary::ManagementOptions options;
  if (const char* token = std::getenv("LE_ADMIN_TOKEN")) options.admin_token = token;
  options.allow_private_webhooks = flags.flag("webhooks-allow-private");
  options.ui_dir = flags.str("ui-dir");
  options.rate_limit = !flags.flag("no-rate-limit");
  options.public_per_ip =
      static_cast<std::uint32_t>(flags.u64("public-ip-limit", options.public_per_ip));
  options.login_per_email =
      static_cast<std::uint32_t>(flags.u64("login-email-limit", options.login_per_email));
  options.login_per_ip =
      static_cast<std::uint32_t>(flags.u64("login-ip-limit", options.login_per_ip));
  if (options.admin_token.empty()) {
    log::warn("primary", "LE_ADMIN_TOKEN is not set: operator endpoints are disabled");
  }
  primary::SigningOptions signing_options;
  signing_options.certificate_seconds = static_cast<std::int64_t>(
      std::clamp<std::uint64_t>(flags.u64("edge-cert-seconds", 172800), 10, 604800));
  signing_options.overlap_seconds = 3600 * static_cast<std::int64_t>(std::max<std::uint64_t>(
                                               flags.u64("root-overlap-hours", 888), 1));
  auto signing_keys = primary::SigningKeys::open(**store, clock.now_seconds(), signing_options);
  if (!signing_keys) {
    log::error("primary", "cannot open the root signing keys",
               {{"error", signing_keys.error().message}});
    return 1;
  }
  primary::UsageStoreOptions usage_options;
  usage_options.path = flags.str("usage-db", db_path + "-usage");
  usage_options.retention_days = static_cast<std::int32_t>(
      std::clamp<std::uint64_t>(flags.u64("usage-retention-days", 90), 1, 3660));
  usage_options.auth_logs_per_account = std::max<std::uint64_t>(
      1, flags.u64("auth-log-records", usage_options.auth_logs_per_account));
  usage_options.key_sharing_threshold =
      flags.u64("key-sharing-threshold", usage_options.key_sharing_threshold);
  auto usage = primary::UsageStore::open(usage_options, clock);
  if (!usage) {
    log::error("primary", "cannot open the usage database", {{"error", usage.error().message}});
    return 1;
  }
  primary::SessionOptions session_options;
  session_options.scrypt_log_n = static_cast<unsigned>(
      std::clamp<std::uint64_t>(flags.u64("password-cost", session_options.scrypt_log_n), 10, 20));
  auto sessions = primary::Sessions::open(**store, clock.now_seconds(), session_options);
  if (!sessions) {
    log::error("primary", "cannot open the dashboard sessions",
               {{"error", sessions.error().message}});
    return 1;
  }
  primary::ManagementApi api(ledger, options);
  api.set_signing_keys(signing_keys->get());
  api.set_sessions(sessions->get());
  api.set_usage(usage->get());
  primary::SnapshotWriterOptions snapshot_options;
  snapshot_options.nats.url = flags.str("nats", "nats://127.0.0.1:4222");
  snapshot_options.nats.stream = flags.str("stream", nats::kDefaultStream);
  snapshot_options.nats.replicas = static_cast<int>(flags.u64("stream-replicas", 1));
  snapshot_options.nats.client_name = "license-primary-snapshots";
  snapshot_options.dir = flags.str("db") + "/snapshot.tmp";
  snapshot_options.bucket = flags.str("snapshot-bucket", "license-replica");
  snapshot_options.interval = std::chrono::seconds(flags.u64("snapshot-interval-s", 300));
  snapshot_options.keep = std::max<std::uint64_t>(1, flags.u64("snapshots-keep", 3));
  primary::SnapshotWriter snapshots(**store, snapshot_options);
  if (!flags.flag("no-snapshots") && !flags.flag("no-publish")) api.set_snapshots(&snapshots);
  net::Router router;
  api.register_routes(router);
  net::Server server(server_config, router);

  primary::PublisherOptions publisher_options;
  publisher_options.nats.url = flags.str("nats", "nats://127.0.0.1:4222");
  publisher_options.nats.stream = flags.str("stream", nats::kDefaultStream);
  publisher_options.nats.replicas = static_cast<int>(flags.u64("stream-replicas", 1));
  publisher_options.retain = std::chrono::seconds(flags.u64("outbox-retain-s", 150));
  publisher_options.check_interval = std::chrono::seconds(flags.u64("check-interval-s", 60));
  publisher_options.nats.client_name = "license-primary";
  primary::Publisher publisher(**store, publisher_options);
  api.set_publisher(&publisher.stats());
  nats::NatsOptions writes_nats = publisher_options.nats;
  writes_nats.client_name = "license-primary-writes";
  writes_nats.send_asap = true;
  primary::WriteService writes(ledger, writes_nats);
  nats::NatsOptions cert_nats = publisher_options.nats;
  cert_nats.client_name = "license-primary-certificates";
  cert_nats.send_asap = true;
  primary::CertService certificates(**signing_keys, clock, cert_nats);
  api.set_edge_writes(&writes.stats().connected);
  primary::FailureReportOptions failure_options;
  failure_options.window =
      std::chrono::milliseconds(std::max<std::uint64_t>(1, flags.u64("failure-window-ms", 60000)));
  primary::FailureReports failures(ledger, failure_options);
  failures.start();
  primary::ReportConsumerOptions report_options;
  report_options.nats = publisher_options.nats;
  report_options.nats.client_name = "license-primary-reports";
  report_options.stream_max_bytes = static_cast<std::int64_t>(
      std::max<std::uint64_t>(1 << 20, flags.u64("report-stream-max-bytes", 1ULL << 30)));
  primary::ReportConsumer reports(**usage, &failures, report_options);
  if (!flags.flag("no-reports")) reports.start();
  primary::ExpiryScheduler expiries(ledger);
  expiries.start();
  primary::DeliveryOptions delivery_options;
  delivery_options.allow_private = options.allow_private_webhooks;
  delivery_options.ca_file = flags.str("webhook-ca-file", "");
  delivery_options.timeout = std::chrono::milliseconds(std::max<std::uint64_t>(
      1, flags.u64("webhook-timeout-ms",
                   static_cast<std::uint64_t>(delivery_options.timeout.count()))));
  delivery_options.max_in_flight = flags.u64("webhook-concurrency", delivery_options.max_in_flight);
  delivery_options.per_endpoint =
      flags.u64("webhook-endpoint-concurrency", delivery_options.per_endpoint);
  std::unique_ptr<primary::DeliveryWorker> deliveries;
  try {
    deliveries = std::make_unique<primary::DeliveryWorker>(**store, clock, delivery_options);
  } catch (const std::exception& e) {
    log::error("primary", "cannot load the webhook CA file",
               {{"file", delivery_options.ca_file}, {"error", e.what()}});
    return 2;
  }
  if (!flags.flag("no-webhook-delivery")) deliveries->start();
  std::unique_ptr<primary::Mailer> mailer;
  if (ledger_options.license_mails) {
    try {
      mailer = std::make_unique<primary::Mailer>(**store, clock, mail_options);
    } catch (const std::exception& e) {
      log::error("primary", "cannot load the SMTP CA file",
                 {{"file", mail_options.ca_file}, {"error", e.what()}});
      return 2;
    }
    mailer->start();
  }
  if (!flags.flag("no-publish")) publisher.start();
  if (!flags.flag("no-snapshots") && !flags.flag("no-publish")) snapshots.start();
  if (!flags.flag("no-edge-writes")) writes.start();
  certificates.start();

  const auto started = std::chrono::system_clock::now();
  metrics::HttpMetrics http_metrics(server_config.threads, router.route_paths(), "le_primary");
  server.set_observer(&http_metrics);
  net::Router admin_router;
  metrics::add_admin_routes(
      admin_router,
      [&](metrics::Families& out) {
        using prometheus::MetricType;
        http_metrics.collect(out);
        const auto& s = publisher.stats();
        auto add = [&](std::string name, std::string help, MetricType type, double v) {
          auto f = metrics::family(std::move(name), std::move(help), type);
          metrics::sample(f, {}, v);
          out.push_back(std::move(f));
        };
        const double outbox = static_cast<double>((*store)->outbox_seq());
        const double published = static_cast<double>(s.outbox_seq.load());
        add("le_primary_outbox_seq", "Last change event written to the outbox.", MetricType::Gauge,
            outbox);
        add("le_primary_published_seq", "Last outbox event acknowledged by JetStream.",
            MetricType::Gauge, published);
        add("le_primary_unpublished_events", "Change events waiting in the outbox.",
            MetricType::Gauge, outbox - published);
        add("le_primary_published_total", "Messages acknowledged by JetStream.",
            MetricType::Counter, static_cast<double>(s.published.load()));
        add("le_primary_checks_total",
            "Range digests of the records published for edges to check their replicas.",
            MetricType::Counter, static_cast<double>(s.checks.load()));
        const auto& snap = snapshots.stats();
        add("le_primary_snapshots_total", "Snapshots of the records written for edges.",
            MetricType::Counter, static_cast<double>(snap.written.load()));
        add("le_primary_snapshot_failures_total", "Snapshots that could not be written.",
            MetricType::Counter, static_cast<double>(snap.failures.load()));
        add("le_primary_snapshot_seq", "Stream sequence the newest snapshot covers.",
            MetricType::Gauge, static_cast<double>(snap.last_seq.load()));
        add("le_primary_snapshot_timestamp_seconds", "When the newest snapshot was written.",
            MetricType::Gauge, static_cast<double>(snap.last_unix_s.load()));
        add("le_primary_snapshot_seconds", "Export and upload time of the newest snapshot.",
            MetricType::Gauge, static_cast<double>(snap.last_ms.load()) / 1000.0);
        add("le_primary_snapshot_bytes", "Size of the newest snapshot.", MetricType::Gauge,
            static_cast<double>(snap.last_bytes.load()));
        add("le_primary_stream_rewinds_total",
            "Times the stream was behind what it acknowledged (retained changes sent again).",
            MetricType::Counter, static_cast<double>(s.rewinds.load()));
        add("le_primary_publish_failures_total", "Publish batches that had to be retried.",
            MetricType::Counter, static_cast<double>(s.failures.load()));
        add("le_nats_connected", "1 while connected to NATS.", MetricType::Gauge,
            s.connected.load() ? 1 : 0);
        add("le_primary_edge_writes_total",
            "Writes answered for edges (activate, deactivate, heartbeat, bind, lease extension "
            "batches).",
            MetricType::Counter, static_cast<double>(writes.stats().requests.load()));
        add("le_primary_edge_certificates_issued_total",
            "Certificates issued to edges for their receipt keys.", MetricType::Counter,
            static_cast<double>(certificates.stats().issued.load()));
        add("le_primary_edge_certificates_refused_total",
            "Edge certificate requests refused (malformed).", MetricType::Counter,
            static_cast<double>(certificates.stats().refused.load()));
        add("le_primary_leases_culled_total",
            "Floating seats released because their lease lapsed (license.deactivated).",
            MetricType::Counter, static_cast<double>(expiries.leases_culled()));
        auto extensions = metrics::family(
            "le_primary_lease_extensions_total",
            "Lease extensions edges sent in batches, by outcome (refused: the seat had lapsed or "
            "is gone).",
            MetricType::Counter);
        metrics::sample(extensions, {{"outcome", "extended"}},
                        static_cast<double>(writes.stats().leases_extended.load()));
        metrics::sample(extensions, {{"outcome", "refused"}},
                        static_cast<double>(writes.stats().leases_refused.load()));
        out.push_back(std::move(extensions));
        add("le_primary_edge_writes_undecodable_total", "Edge write requests that did not decode.",
            MetricType::Counter, static_cast<double>(writes.stats().undecodable.load()));
        const auto& d = deliveries->stats();
        auto outcomes = metrics::family("le_primary_webhook_deliveries_total",
                                        "Webhook delivery attempts by outcome (succeeded, "
                                        "retrying: failed and rescheduled, failed: last attempt).",
                                        MetricType::Counter);
        for (auto [outcome, n] :
             {std::pair{"succeeded", &d.succeeded}, std::pair{"retrying", &d.retrying},
              std::pair{"failed", &d.failed}}) {
          metrics::sample(outcomes, {{"outcome", outcome}}, static_cast<double>(n->load()));
        }
        out.push_back(std::move(outcomes));
        const auto backlog = deliveries->backlog();
        add("le_primary_webhook_queue_depth", "Webhook deliveries pending (queued or retrying).",
            MetricType::Gauge, static_cast<double>(backlog.pending));
        add("le_primary_webhook_oldest_pending_seconds",
            "Age of the oldest pending webhook delivery (0 when none).", MetricType::Gauge,
            backlog.pending == 0
                ? 0.0
                : std::max<double>(
                      0, static_cast<double>(clock.now_ms() - backlog.oldest_created_ms) / 1000.0));
        add("le_primary_webhook_in_flight", "Webhook delivery attempts under way.",
            MetricType::Gauge, static_cast<double>(d.in_flight.load()));
        add("le_primary_webhook_store_failures_total",
            "Webhook delivery reads or writes the database refused.", MetricType::Counter,
            static_cast<double>(d.store_failures.load()));
        if (mailer) {
          const auto& m = mailer->stats();
          auto mails = metrics::family("le_primary_license_mails_total",
                                       "License email attempts by outcome (sent, retrying: "
                                       "failed and rescheduled or given up, given_up).",
                                       MetricType::Counter);
          for (auto [outcome, n] :
               {std::pair{"sent", &m.sent}, std::pair{"retrying", &m.failed_attempts},
                std::pair{"given_up", &m.given_up}}) {
            metrics::sample(mails, {{"outcome", outcome}}, static_cast<double>(n->load()));
          }
          out.push_back(std::move(mails));
        }
        failures.collect(out);
        reports.collect(out);
        metrics::collect_rocksdb(out, "le_primary", (*store)->records());
        metrics::collect_process(out, "le_primary", started);
      },
      [&] { return !server.draining(); });
  const auto admin_config = metrics::admin_listener(flags.str("admin-listen", "127.0.0.1:9091"));
  if (!admin_config) {
    std::cerr << "license-primary: --admin-listen must be HOST:PORT\n";
    return 2;
  }
  net::Server admin(*admin_config, admin_router);
  if (!metrics::start_listeners(server, admin, "primary", flags.str("port-file", ""))) return 1;
  api.set_ready(true);
  log::info("primary", "serving",
            {{"address", server_config.address}, {"port", std::to_string(server.port())}});
  const int sig = wait_for_termination();
  log::info("primary", "shutting down", {{"signal", std::to_string(sig)}});
  api.set_ready(false);
  writes.stop();
  certificates.stop();
  reports.stop();
  failures.stop();  // records the open window
  expiries.stop();
  deliveries->stop();
  if (mailer) mailer->stop();
  server.shutdown(drain);
  admin.shutdown(std::chrono::milliseconds(500));
  snapshots.stop();
  publisher.stop();
  log::info("primary", "stopped");
  return 0;
}
