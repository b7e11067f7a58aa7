#include "primary/write_service.h"

#include <string>

#include "common/log.h"
#include "core/write_protocol.h"

namespace le::primary {

WriteService::WriteService(ManagementApi& api, replication::NatsOptions nats)
    : api_(api), nats_(std::move(nats)) {}

WriteService::~WriteService() { stop(); }

void WriteService::start() {
  stopping_.store(false);
  thread_ = std::thread([this] { run(); });
}

void WriteService::stop() {
  {
    // Set under the lock so run() cannot miss the wake-up between its check and its wait.
    std::lock_guard lock(mu_);
    stopping_.store(true);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WriteService::run() {
  replication::Backoff backoff;
  std::unique_ptr<replication::JetStream> nats;
  natsSubscription* sub = nullptr;
  while (!stopping_.load()) {
    std::string error;
    nats = replication::JetStream::connect(nats_, error);
    if (nats) {
      const std::string subject = std::string(replication::kWriteSubjectPrefix) + "*";
      natsStatus s = natsConnection_QueueSubscribe(&sub, nats->connection(), subject.c_str(),
                                                         replication::kWriteQueueGroup, on_request, this);
      // Once the server has the subscription, edges' requests reach this primary.
      if (s == NATS_OK) s = natsConnection_Flush(nats->connection());
      if (s == NATS_OK) {
        stats_.connected.store(true);
        break;
      }
      error = "subscribe: " + replication::status_text(s);
      nats.reset();
    }
    log::warn("writes", "NATS unavailable; edges' writes cannot reach this primary", {{"error", error}});
    if (!backoff.wait(stopping_)) return;
  }
  if (!nats) return;
  log::info("writes", "answering edge writes", {{"subject", std::string(replication::kWriteSubjectPrefix) + "*"}});
  {
    std::unique_lock lock(mu_);
    while (!stopping_.load()) {
      stats_.connected.store(nats->connected());
      cv_.wait_for(lock, std::chrono::milliseconds(500));
    }
  }
  // Stop taking requests, and let the ones being handled finish, before the API goes away.
  natsSubscription_Drain(sub);
  natsSubscription_WaitForDrainCompletion(sub, 2000);
  natsSubscription_Destroy(sub);
  stats_.connected.store(false);
}

void WriteService::on_request(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
  static_cast<WriteService*>(closure)->handle(nc, msg);
  natsMsg_Destroy(msg);
}

void WriteService::handle(natsConnection* nc, natsMsg* msg) {
  const char* reply_to = natsMsg_GetReply(msg);
  if (reply_to == nullptr || *reply_to == '\0') return;  // nobody to answer: nothing is done
  const std::string_view subject = natsMsg_GetSubject(msg);
  const std::string_view body(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
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
              {{"subject", std::string(subject)}, {"error", std::get<core::DecodeError>(decoded).message}});
    reply.error = core::ApiError::validation("Malformed write request");
  } else {
    reply = api_.execute(*cmd);
  }
  const std::string out = core::encode_write_reply(reply);
  if (natsStatus s = natsConnection_Publish(nc, reply_to, out.data(), static_cast<int>(out.size())); s != NATS_OK) {
    // The edge times out and answers 503; a retry is safe (activations are idempotent).
    log::warn("writes", "reply not sent", {{"error", replication::status_text(s)}});
  }
  stats_.requests.fetch_add(1);
}

}  // namespace le::primary
