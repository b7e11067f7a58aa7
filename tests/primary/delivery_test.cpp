// Webhook delivery, in process with an injected clock: the Ledger queues deliveries with their
// events, the DeliveryWorker sends them to real HTTP receivers on loopback. The retry schedule
// is exact (30 s, 5 min, 30 min, 4 h, then failed); a receiver down then up gets the delivery
// with the same id; a hanging receiver times out without holding up another endpoint; a
// receiver answering a huge body costs nothing; a license's events arrive in order; every
// request is signed as the spec's verifiers check it; https verifies the chain and host name;
// and a host that resolves to a private address is refused unless allowed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "core/digest.h"
#include "primary/delivery_worker.h"
#include "primary/ledger.h"
#include "primary/refusal.h"
#include "primary/webhook_signing.h"
#include "support/edge_process.h"
#include "support/fixtures.h"
#include "support/webhook_receiver.h"

namespace le::primary {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kMinute = 60'000;

class Deliveries : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = PrimaryStore::open(dir_.path("db")).value();
    LedgerOptions unlimited;
    unlimited.activation_changes = 0;
    ledger_ = std::make_unique<Ledger>(*store_, clock_, unlimited);
    ledger_->create_account(test::account());
    caller_ = ledger_->issue_api_key("acc_1", core::Mode::kLive).record;
    product_ = ledger_->create_product(test::product()).id;
  }
  void TearDown() override {
    if (worker_) worker_->stop();
  }

  DeliveryWorker& worker(DeliveryOptions options = {}) {
    options.allow_private = options.allow_private || !keep_private_check_;
    worker_ = std::make_unique<DeliveryWorker>(*store_, clock_, std::move(options));
    worker_->start();
    return *worker_;
  }
  WebhookEndpoint endpoint(const std::string& url) {
    WebhookEndpoint w;
    w.url = url;
    return ledger_->create_webhook(caller_, w);
  }
  // A new license (one license.created event); returns its key.
  std::string license() {
    std::vector<core::LicenseRecord> ls(1);
    ls[0].product_id = product_;
    ls[0].max_activations = 100;
    return ledger_->create_licenses(caller_, ls).at(0);
  }
  Delivery only_delivery(const WebhookEndpoint& w) {
    auto page = ledger_->deliveries(caller_, w.id, 0, 100);
    EXPECT_EQ(page.total, 1u);
    return page.items.at(0);
  }
  static void expect_signed(const test::ReceivedWebhook& r, const WebhookEndpoint& w) {
    EXPECT_EQ(r.signature, hmac_sha256_hex(w.secret, r.timestamp + "." + r.body));
    EXPECT_EQ(r.content_type, "application/json");
  }

  test::TempDir dir_;
  core::ManualClock clock_{test::kNow * 1000};
  std::unique_ptr<PrimaryStore> store_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<DeliveryWorker> worker_;
  core::ApiKeyRecord caller_;
  std::string product_;
  bool keep_private_check_ = false;
};

TEST_F(Deliveries, RetriesAtExactly30s5m30m4hThenFails) {
  test::WebhookReceiver receiver;
  receiver.answer(500);
  const auto w = endpoint(receiver.url());
  auto& dw = worker();
  license();
  const std::int64_t t0 = clock_.now_ms();
  EXPECT_EQ(dw.run_due(), 1u);
  Delivery d = only_delivery(w);
  EXPECT_EQ(d.status, DeliveryStatus::kPending);
  EXPECT_EQ(d.attempts, 1u);
  EXPECT_EQ(d.last_status_code, 500);
  std::int64_t at = t0;
  // The spec's schedule, written out: 30 s, 5 min, 30 min, 4 h.
  const std::int64_t schedule[] = {30 * 1000, 5 * kMinute, 30 * kMinute, 240 * kMinute};
  for (std::size_t i = 0; i < 4; ++i) {
    at += schedule[i];
    EXPECT_EQ(d.next_attempt_ms, at) << "retry " << i + 1;
    clock_.set_ms(at - 1);
    EXPECT_EQ(dw.run_due(), 0u) << "a millisecond early, retry " << i + 1;
    clock_.set_ms(at);
    EXPECT_EQ(dw.run_due(), 1u) << "retry " << i + 1;
    d = only_delivery(w);
    EXPECT_EQ(d.attempts, i + 2);
  }
  EXPECT_EQ(d.status, DeliveryStatus::kFailed);
  EXPECT_EQ(d.done_ms, at);
  clock_.advance_ms(24 * 60 * kMinute);
  EXPECT_EQ(dw.run_due(), 0u);
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 5u);
  for (const auto& r : got) {
    EXPECT_EQ(r.delivery_id, d.id);
    EXPECT_EQ(r.event, "license.created");
    expect_signed(r, w);
  }
  EXPECT_EQ(dw.backlog().pending, 0u);
  EXPECT_EQ(dw.stats().failed.load(), 1u);
  EXPECT_EQ(dw.stats().retrying.load(), 4u);
}

TEST_F(Deliveries, AReceiverDownThenUpGetsTheDeliveryWithTheSameId) {
  test::PortReservation down;  // bound, not listening: connections are refused
  const auto w = endpoint("http://127.0.0.1:" + std::to_string(down.port()) + "/hook");
  auto& dw = worker();
  license();
  EXPECT_EQ(dw.run_due(), 1u);
  const Delivery first = only_delivery(w);
  EXPECT_EQ(first.status, DeliveryStatus::kPending);
  EXPECT_EQ(first.last_status_code, 0);
  EXPECT_NE(first.last_error.find("connecting"), std::string::npos) << first.last_error;
  test::WebhookReceiver receiver(down.port());  // up, on the same port
  clock_.advance_ms(kRetryDelaysMs[0]);
  EXPECT_EQ(dw.run_due(), 1u);
  const Delivery d = only_delivery(w);
  EXPECT_EQ(d.status, DeliveryStatus::kSucceeded);
  EXPECT_EQ(d.attempts, 2u);
  EXPECT_EQ(d.last_status_code, 200);
  ASSERT_EQ(receiver.count(), 1u);
  EXPECT_EQ(receiver.received()[0].delivery_id, first.id);
  expect_signed(receiver.received()[0], w);
}

// A socket listening on a free loopback port; what answers (if anything) is up to the test.
class RawListener {
 public:
  RawListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 64) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(a.sin_port);
  }
  ~RawListener() { ::close(fd_); }
  int fd() const { return fd_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
};
// Never accepts: connects complete (the kernel's backlog), nothing is ever answered.
using HangingReceiver = RawListener;

TEST_F(Deliveries, AHangingReceiverTimesOutWhileAnotherEndpointsDeliveriesGoOn) {
  HangingReceiver hanging;
  test::WebhookReceiver fine;
  const auto slow = endpoint(hanging.url());
  const auto fast = endpoint(fine.url());
  DeliveryOptions options;
  options.timeout = 3s;
  auto& dw = worker(options);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) license();
  // All six reach the fine receiver while the hanging one holds its attempts open.
  ASSERT_TRUE(fine.wait_for(6));
  EXPECT_LT(std::chrono::steady_clock::now() - started, options.timeout);
  for (const auto& d : ledger_->deliveries(caller_, slow.id, 0, 100).items) {
    EXPECT_EQ(d.attempts, 0u) << "still under way";
  }
  dw.run_due();  // waits for the hanging attempts to time out (and the rest of its queue)
  const auto page = ledger_->deliveries(caller_, slow.id, 0, 100);
  ASSERT_EQ(page.total, 6u);
  for (const auto& d : page.items) {
    EXPECT_EQ(d.attempts, 1u);
    EXPECT_EQ(d.status, DeliveryStatus::kPending);
    EXPECT_NE(d.last_error.find("timed out"), std::string::npos) << d.last_error;
    EXPECT_EQ(d.next_attempt_ms, d.last_attempt_ms + kRetryDelaysMs[0]);
  }
  for (const auto& d : ledger_->deliveries(caller_, fast.id, 0, 100).items) {
    EXPECT_EQ(d.status, DeliveryStatus::kSucceeded);
  }
}

TEST_F(Deliveries, AHugeAnswerBodyIsNeverReadAndAnUnclosedConnectionDoesNotHoldTheAttempt) {
  // Answers 200 with a 1 GB Content-Length, sends a little of it, and keeps the connection open.
  RawListener listener;
  std::atomic<bool> done{false};
  std::thread server([&] {
    const int c = ::accept(listener.fd(), nullptr, nullptr);
    if (c < 0) return;
    char buf[4096];
    (void)!::read(c, buf, sizeof buf);
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n";
    (void)!::write(c, head.data(), head.size());
    const std::string chunk(64 * 1024, 'x');
    (void)!::write(c, chunk.data(), chunk.size());
    while (!done) std::this_thread::sleep_for(10ms);
    ::close(c);
  });
  const auto w = endpoint(listener.url());
  DeliveryOptions options;
  options.timeout = 5s;
  auto& dw = worker(options);
  license();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(dw.run_due(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
  const Delivery d = only_delivery(w);
  EXPECT_EQ(d.status, DeliveryStatus::kSucceeded) << d.last_error;
  EXPECT_EQ(d.last_status_code, 200);
  done = true;
  server.join();
}

TEST_F(Deliveries, ALicensesEventsArriveOneAtATimeInTheOrderTheyHappened) {
  // A receiver answering each request after 20 ms, any number at once: deliveries of one
  // license that overlapped would show here.
  test::WebhookReceiver receiver(0, 20ms);
  endpoint(receiver.url());
  const std::string key = license();
  const auto digest = core::sha256(key);
  for (int i = 0; i < 10; ++i) {
    const std::string machine = "m" + std::to_string(i);
    ASSERT_FALSE(
        ledger_->change_activation(digest, machine, {}, nullptr, core::WriteOp::kActivate).error);
    ASSERT_FALSE(
        ledger_->change_activation(digest, machine, {}, nullptr, core::WriteOp::kDeactivate).error);
  }
  DeliveryOptions options;
  options.per_endpoint = 4;
  worker(options).run_due();  // all 21 due at once
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 21u);
  EXPECT_EQ(receiver.max_concurrent(), 1);
  std::uint64_t last = 0;
  for (const auto& r : got) {
    const auto id_at = r.body.find("\"id\":\"evt_") + 10;
    const std::uint64_t seq = std::stoull(r.body.substr(id_at));
    EXPECT_GT(seq, last) << r.body;
    last = seq;
  }
  EXPECT_EQ(got.front().event, "license.created");
  EXPECT_EQ(got.back().event, "license.deactivated");
}

TEST_F(Deliveries, DifferentLicensesGoToAnEndpointConcurrentlyUpToItsLimit) {
  test::WebhookReceiver receiver(0, 200ms);
  endpoint(receiver.url());
  for (int i = 0; i < 12; ++i) license();
  DeliveryOptions options;
  options.per_endpoint = 3;
  worker(options).run_due();
  EXPECT_EQ(receiver.count(), 12u);
  EXPECT_EQ(receiver.max_concurrent(), 3);
}

TEST_F(Deliveries, RedeliverSendsItAgainWithTheSameIdAndAFreshSchedule) {
  test::WebhookReceiver receiver;
  const auto w = endpoint(receiver.url());
  auto& dw = worker();
  license();
  EXPECT_EQ(dw.run_due(), 1u);
  const Delivery first = only_delivery(w);
  ASSERT_EQ(first.status, DeliveryStatus::kSucceeded);
  const Delivery again = ledger_->redeliver(caller_, w.id, first.id);
  EXPECT_EQ(again.status, DeliveryStatus::kPending);
  EXPECT_EQ(again.attempts, 0u);
  EXPECT_EQ(dw.run_due(), 1u);
  EXPECT_EQ(only_delivery(w).status, DeliveryStatus::kSucceeded);
  ASSERT_EQ(receiver.count(), 2u);
  EXPECT_EQ(receiver.received()[1].delivery_id, first.id);
  EXPECT_EQ(receiver.received()[1].body, receiver.received()[0].body);
  EXPECT_THROW(ledger_->redeliver(caller_, w.id, "whd_00000000000000ffabcdefgh"), Refusal);
  EXPECT_THROW(ledger_->redeliver(caller_, w.id, "nonsense"), Refusal);
}

TEST_F(Deliveries, QueuedWhileStoppedAreSentAtStartAndADisabledEndpointWaits) {
  test::WebhookReceiver receiver;
  const auto w = endpoint(receiver.url());
  license();
  license();
  ledger_->update_webhook(caller_, w.id, [](WebhookEndpoint& e) { e.enabled = false; });
  license();  // not queued for a disabled endpoint
  auto& dw = worker();
  EXPECT_EQ(dw.run_due(), 0u);
  EXPECT_EQ(dw.backlog().pending, 2u);
  ledger_->update_webhook(caller_, w.id, [](WebhookEndpoint& e) { e.enabled = true; });
  EXPECT_EQ(dw.run_due(), 2u);
  EXPECT_EQ(receiver.count(), 2u);
  EXPECT_EQ(dw.backlog().pending, 0u);
}

TEST_F(Deliveries, ARotatedSecretSignsTheNextAttempt) {
  test::WebhookReceiver receiver;
  receiver.answer(503);
  const auto w = endpoint(receiver.url());
  auto& dw = worker();
  license();
  EXPECT_EQ(dw.run_due(), 1u);
  const auto rotated = ledger_->rotate_webhook_secret(caller_, w.id);
  receiver.answer(200);
  clock_.advance_ms(kRetryDelaysMs[0]);
  EXPECT_EQ(dw.run_due(), 1u);
  ASSERT_EQ(receiver.count(), 2u);
  expect_signed(receiver.received()[0], w);
  expect_signed(receiver.received()[1], rotated);
  EXPECT_EQ(only_delivery(w).status, DeliveryStatus::kSucceeded);
}

TEST_F(Deliveries, AHostResolvingToAPrivateAddressIsRefusedUnlessAllowed) {
  test::WebhookReceiver receiver;
  keep_private_check_ = true;
  // Registered through the Ledger (the API refuses it up front); "localhost" resolves to
  // loopback only when the delivery is sent.
  const auto w = endpoint("http://localhost:" + std::to_string(receiver.port()) + "/hook");
  auto& dw = worker();
  license();
  EXPECT_EQ(dw.run_due(), 1u);
  const Delivery d = only_delivery(w);
  EXPECT_EQ(d.status, DeliveryStatus::kPending);
  EXPECT_NE(d.last_error.find("private address"), std::string::npos) << d.last_error;
  EXPECT_EQ(receiver.count(), 0u);
}

TEST_F(Deliveries, DeletingAnEndpointDropsItsQueue) {
  test::PortReservation down;
  const auto w = endpoint("http://127.0.0.1:" + std::to_string(down.port()) + "/hook");
  auto& dw = worker();
  license();
  EXPECT_EQ(dw.run_due(), 1u);
  EXPECT_EQ(dw.backlog().pending, 1u);
  ledger_->delete_webhook(caller_, w.id);
  EXPECT_EQ(dw.backlog().pending, 0u);
  clock_.advance_ms(kRetryDelaysMs[0]);
  EXPECT_EQ(dw.run_due(), 0u);
}

// ---- https

class HttpsReceiver {
 public:
  // A TLS server (python3's http.server behind ssl) with a certificate for `san`, answering
  // 200 to POSTs and writing their X-TO-Delivery-ID lines to a file.
  HttpsReceiver(const test::TempDir& dir, const std::string& san) : dir_(dir) {
    const std::string cert = dir.path("cert.pem"), key = dir.path("key.pem");
    const std::string gen =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test "
        "-addext subjectAltName=" +
        san + " -keyout " + key + " -out " + cert + " >/dev/null 2>&1";
    if (std::system(gen.c_str()) != 0) throw std::runtime_error("openssl req failed");
    const std::string script = dir.path("tls_receiver.py");
    std::ofstream(script) << R"(import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0))
        self.rfile.read(n)
        with open(sys.argv[3], 'a') as f:
            f.write(self.headers.get('X-TO-Delivery-ID', '') + '\n')
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', int(sys.argv[4])), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = c.wrap_socket(s.socket, server_side=True)
s.serve_forever()
)";
    port_ = std::make_unique<test::PortReservation>();
    log_ = dir.path("received.txt");
    server_ = std::make_unique<test::ServerProcess>(
        std::vector<std::string>{"python3", script, cert, key, log_, std::to_string(port_->port())},
        port_->port(), std::vector<std::string>{}, dir.path("tls_receiver.log"));
    cert_ = cert;
  }
  unsigned short port() const { return port_->port(); }
  const std::string& cert() const { return cert_; }
  std::size_t received() const {
    std::ifstream f(log_);
    std::size_t n = 0;
    for (std::string line; std::getline(f, line);) ++n;
    return n;
  }

 private:
  const test::TempDir& dir_;
  std::unique_ptr<test::PortReservation> port_;
  std::unique_ptr<test::ServerProcess> server_;
  std::string log_, cert_;
};

TEST_F(Deliveries, HttpsVerifiesTheChainAndTheHostName) {
  HttpsReceiver tls(dir_, "DNS:localhost");
  const std::string port = std::to_string(tls.port());
  const auto by_name = endpoint("https://localhost:" + port + "/hook");
  DeliveryOptions trusted;
  trusted.ca_file = tls.cert();
  auto& dw = worker(trusted);
  license();
  EXPECT_EQ(dw.run_due(), 1u);
  EXPECT_EQ(only_delivery(by_name).status, DeliveryStatus::kSucceeded)
      << only_delivery(by_name).last_error;
  EXPECT_EQ(tls.received(), 1u);
  dw.stop();

  // The certificate names localhost, not 127.0.0.1: refused.
  ledger_->delete_webhook(caller_, by_name.id);
  const auto by_ip = endpoint("https://127.0.0.1:" + port + "/hook");
  auto& dw2 = worker(trusted);
  license();
  EXPECT_EQ(dw2.run_due(), 1u);
  const Delivery wrong_name = only_delivery(by_ip);
  EXPECT_EQ(wrong_name.status, DeliveryStatus::kPending);
  EXPECT_NE(wrong_name.last_error.find("TLS handshake"), std::string::npos)
      << wrong_name.last_error;
  dw2.stop();

  // Without the CA file the chain is not trusted: refused.
  ledger_->delete_webhook(caller_, by_ip.id);
  const auto untrusted = endpoint("https://localhost:" + port + "/hook");
  auto& dw3 = worker();
  license();
  EXPECT_EQ(dw3.run_due(), 1u);
  EXPECT_NE(only_delivery(untrusted).last_error.find("TLS handshake"), std::string::npos);
  EXPECT_EQ(tls.received(), 1u);
}

}  // namespace
}  // namespace le::primary
