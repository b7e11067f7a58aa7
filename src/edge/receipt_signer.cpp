#include "edge/receipt_signer.h"

#include "common/log.h"

namespace le::edge {

std::unique_ptr<ReceiptSigner> ReceiptSigner::create(const core::Clock& clock,
                                                     ReceiptSignerOptions options) {
  auto key = core::Ed25519Key::generate();
  if (!key) return nullptr;
  return std::unique_ptr<ReceiptSigner>(
      new ReceiptSigner(clock, std::move(options), std::move(*key)));
}

ReceiptSigner::ReceiptSigner(const core::Clock& clock, ReceiptSignerOptions options,
                             core::Ed25519Key key)
    : clock_(clock), options_(std::move(options)), key_(std::move(key)) {}

ReceiptSigner::~ReceiptSigner() { stop(); }

void ReceiptSigner::start() {
  worker_.start([this] { run(); });
}

void ReceiptSigner::stop() { worker_.stop(); }

std::shared_ptr<const ReceiptSigner::Certificate> ReceiptSigner::usable(std::int64_t now) const {
  auto c = cert_.load(std::memory_order_acquire);
  if (!c || now < c->not_before || now >= c->usable_until()) {
    return nullptr;
  }
  return c;
}

std::optional<std::string> ReceiptSigner::sign(core::ReceiptClaims& claims) {
  const std::int64_t now = clock_.now_seconds();
  auto c = usable(now);
  if (!c) {
    stats_.unsigned_no_certificate.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (claims.iat == 0) claims.iat = now;
  std::string token = core::sign_receipt(key_, c->header_b64, claims);
  if (token.empty()) return std::nullopt;
  stats_.signed_receipts.fetch_add(1, std::memory_order_relaxed);
  return token;
}

ReceiptSigner::State ReceiptSigner::state() const {
  State s;
  auto c = cert_.load(std::memory_order_acquire);
  s.usable = usable(clock_.now_seconds()) != nullptr;
  if (c) {
    s.not_after = c->not_after;
    s.issuer = c->issuer;
  }
  return s;
}

bool ReceiptSigner::renew(natsConnection* nc) {
  const std::string request = core::encode_cert_request({options_.edge_id, key_.public_raw()});
  natsMsg* reply = nullptr;
  const natsStatus s = natsConnection_Request(
      &reply, nc, core::kCertSubject, request.data(), static_cast<int>(request.size()),
      static_cast<std::int64_t>(options_.request_timeout.count()));
  if (s != NATS_OK) {
    log::warn("receipts", "certificate request failed", {{"error", nats::status_text(s)}});
    return false;
  }
  const std::string der(natsMsg_GetData(reply),
                        static_cast<std::size_t>(natsMsg_GetDataLength(reply)));
  natsMsg_Destroy(reply);
  auto info = core::read_certificate(der, nullptr);
  if (!info || info->subject_public != key_.public_raw() || info->not_after <= info->not_before) {
    log::warn("receipts", "the primary's certificate was refused or unusable");
    return false;
  }
  auto cert = std::make_shared<Certificate>();
  cert->header_b64 = core::receipt_header(der);
  cert->not_before = info->not_before;
  cert->not_after = info->not_after;
  cert->installed_at = clock_.now_seconds();
  cert->issuer = info->issuer_cn;
  cert_.store(std::move(cert), std::memory_order_release);
  log::info("receipts", "certificate installed",
            {{"issuer", info->issuer_cn}, {"not_after", std::to_string(info->not_after)}});
  return true;
}

void ReceiptSigner::run() {
  std::unique_ptr<nats::JetStream> nats;
  worker_.run_sessions(
      "NATS unavailable; receipts are signed while the certificate held lasts",
      [&] { return nats::connect_session(options_.nats, nats); },
      [&] {
        std::unique_lock lock(worker_.mutex());
        for (;;) {
          // Renew once half the certificate's lifetime has passed (or when there is none).
          auto c = cert_.load(std::memory_order_acquire);
          const std::int64_t now = clock_.now_seconds();
          std::chrono::milliseconds wait = options_.retry;
          const bool due = !c || now >= c->renew_at();
          if (due) {
            lock.unlock();
            const bool ok = renew(nats->connection());
            lock.lock();
            (ok ? stats_.renewals : stats_.renewal_failures).fetch_add(1);
            if (ok) continue;  // the new certificate is not due
          } else {
            const std::int64_t until_due = c->not_before + (c->not_after - c->not_before) / 2 - now;
            wait = std::min<std::chrono::milliseconds>(std::chrono::seconds(until_due),
                                                       std::chrono::seconds(60));
          }
          if (!worker_.wait_for(lock, wait)) break;
        }
      });
}

}  // namespace le::edge
