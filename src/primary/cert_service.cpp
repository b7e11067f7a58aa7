#include "primary/cert_service.h"

#include <string>

#include "common/log.h"
#include "core/receipt.h"

namespace le::primary {

CertService::CertService(const SigningKeys& keys, const core::Clock& clock, nats::NatsOptions nats)
    : keys_(keys), clock_(clock), nats_(std::move(nats)) {}

CertService::~CertService() { stop(); }

void CertService::start() {
  worker_.start([this] { run(); });
}

void CertService::stop() { worker_.stop(); }

void CertService::run() {
  std::unique_ptr<nats::JetStream> nats;
  natsSubscription* sub = nullptr;
  worker_.run_sessions(
      "NATS unavailable; edges cannot renew their receipt certificates",
      [&] {
        return nats::connect_queue_session(nats_, nats, sub, core::kCertSubject,
                                           nats::kWriteQueueGroup, on_request, this);
      },
      [&] {
        log::info("certificates", "answering edges' certificate requests",
                  {{"subject", core::kCertSubject}});
        {
          std::unique_lock lock(worker_.mutex());
          while (worker_.wait_for(lock, std::chrono::milliseconds(500))) {
          }
        }
        nats::drain_subscription(sub);
      });
}

void CertService::on_request(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
  auto* self = static_cast<CertService*>(closure);
  const char* reply_to = natsMsg_GetReply(msg);
  if (reply_to != nullptr && *reply_to != '\0') {
    const std::string_view body(natsMsg_GetData(msg),
                                static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    std::string der;
    if (auto req = core::decode_cert_request(body)) {
      if (auto cert =
              self->keys_.certify(req->public_raw, req->edge_id, self->clock_.now_seconds())) {
        der = std::move(*cert);
        self->stats_.issued.fetch_add(1);
        log::info("certificates", "certificate issued", {{"edge", req->edge_id}});
      }
    }
    if (der.empty()) {
      self->stats_.refused.fetch_add(1);
      log::warn("certificates", "certificate request refused");
    }
    natsConnection_Publish(nc, reply_to, der.data(), static_cast<int>(der.size()));
  }
  natsMsg_Destroy(msg);
}

}  // namespace le::primary
