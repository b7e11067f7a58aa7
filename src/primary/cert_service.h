// Answers edges' certificate requests over NATS request/reply ("lice.cert", the primaries'
// queue group): an edge's Ed25519 public key in, a certificate for it from the active root out
// (signing_keys.h). Whoever may publish on the deployment's NATS may ask, as for edge writes:
// NATS access is the trust boundary between edges and primaries.
//
// Thread-safety: start()/stop() from one controlling thread; stats from any thread. Requests are
// handled on libnats' delivery thread for the subscription.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/clock.h"
#include "nats/jetstream.h"
#include "nats/worker.h"
#include "primary/signing_keys.h"

namespace le::primary {

struct CertServiceStats {
  std::atomic<std::uint64_t> issued{0};
  std::atomic<std::uint64_t> refused{0};
};

class CertService {
 public:
  CertService(const SigningKeys& keys, const core::Clock& clock, nats::NatsOptions nats);
  ~CertService();
  CertService(const CertService&) = delete;
  CertService& operator=(const CertService&) = delete;

  void start();
  void stop();
  const CertServiceStats& stats() const { return stats_; }

 private:
  void run();
  static void on_request(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* closure);

  const SigningKeys& keys_;
  const core::Clock& clock_;
  nats::NatsOptions nats_;
  CertServiceStats stats_;
  nats::Worker worker_{"certificates"};
};

}  // namespace le::primary
