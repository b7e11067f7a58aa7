#include "primary/write_service.h"

#include <string>

#include "common/log.h"
#include "core/write_protocol.h"
#include "primary/refusal.h"

namespace le::primary {

WriteService::WriteService(Ledger& ledger, nats::NatsOptions nats)
    : ledger_(ledger), nats_(std::move(nats)) {}

WriteService::~WriteService() { stop(); }

void WriteService::start() {
  worker_.start([this] { run(); });
}

void WriteService::stop() { worker_.stop(); }

void WriteService::run() {
  std::unique_ptr<nats::JetStream> nats;
  natsSubscription* sub = nullptr;
  const std::string subject = std::string(nats::kWriteSubjectPrefix) + "*";
  worker_.run_sessions(
      "NATS unavailable; edges' writes cannot reach this primary",
      [&] {
        // Once the server has the subscription, edges' requests reach this primary.
        return nats::connect_queue_session(nats_, nats, sub, subject.c_str(),
                                           nats::kWriteQueueGroup, on_request, this);
      },
      [&] {
        // libnats reconnects the connection by itself: the session lasts until stop().
        log::info("writes", "answering edge writes", {{"subject", subject}});
        {
          std::unique_lock lock(worker_.mutex());
          do {
            stats_.connected.store(nats->connected());
          } while (worker_.wait_for(lock, std::chrono::milliseconds(500)));
        }
        // Stop taking requests, and let the ones being handled finish, before the API goes away.
        nats::drain_subscription(sub);
        stats_.connected.store(false);
      });
}

void WriteService::on_request(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
  static_cast<WriteService*>(closure)->handle(nc, msg);
  natsMsg_Destroy(msg);
}

void WriteService::handle(natsConnection* nc, natsMsg* msg) {
  const char* reply_to = natsMsg_GetReply(msg);
  if (reply_to == nullptr || *reply_to == '\0') return;  // nobody to answer: nothing is done
  const std::string_view subject = natsMsg_GetSubject(msg);
  const std::string_view body(natsMsg_GetData(msg),
                              static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  if (subject.substr(subject.rfind('.') + 1) == core::kExtendSubjectToken) {
    const std::string out = extend(body);
    if (natsStatus s =
            natsConnection_Publish(nc, reply_to, out.data(), static_cast<int>(out.size()));
        s != NATS_OK) {
      // The edge sends the batch again; extending twice changes nothing.
      log::warn("writes", "extension reply not sent", {{"error", nats::status_text(s)}});
    }
    stats_.requests.fetch_add(1);
    return;
  }
  auto decoded = core::decode_write_command(body);
  core::WriteReply reply;
  auto* cmd = std::get_if<core::WriteCommand>(&decoded);
  if (cmd != nullptr && subject.substr(subject.rfind('.') + 1) != core::to_string(cmd->op)) {
    decoded = core::DecodeError{"the subject names another operation"};
    cmd = nullptr;
  }
  if (cmd == nullptr) {
    stats_.undecodable.fetch_add(1);
    log::warn("writes", "undecodable write request refused",
              {{"subject", std::string(subject)},
               {"error", std::get<core::DecodeError>(decoded).message}});
    reply.error = core::ApiError::validation("Malformed write request");
  } else {
    reply = ledger_.execute(*cmd);
  }
  const std::string out = core::encode_write_reply(reply);
  if (natsStatus s = natsConnection_Publish(nc, reply_to, out.data(), static_cast<int>(out.size()));
      s != NATS_OK) {
    // The edge times out and answers 503; a retry is safe (activations are idempotent).
    log::warn("writes", "reply not sent", {{"error", nats::status_text(s)}});
  }
  stats_.requests.fetch_add(1);
}

std::string WriteService::extend(std::string_view body) {
  auto decoded = core::decode_lease_extensions(body);
  if (auto* e = std::get_if<core::DecodeError>(&decoded)) {
    stats_.undecodable.fetch_add(1);
    log::warn("writes", "undecodable lease extensions refused", {{"error", e->message}});
    return core::encode_extend_reply({});
  }
  const auto& batch = std::get<core::LeaseExtensions>(decoded);
  core::ExtendReply reply;
  try {
    reply = ledger_.extend_leases(batch.items);
  } catch (const Refusal& r) {
    // A store failure: nothing counted as extended; the leases' holders heartbeat again.
    log::warn("writes", "lease extensions failed", {{"error", r.what()}});
    reply.refused = static_cast<std::uint32_t>(batch.items.size());
  }
  stats_.leases_extended.fetch_add(reply.extended);
  stats_.leases_refused.fetch_add(reply.refused);
  return core::encode_extend_reply(reply);
}

}  // namespace le::primary
