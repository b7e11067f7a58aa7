// The edge's side of offline receipts (core/receipt.h): an Ed25519 key made in memory at start
// (never written anywhere), and a certificate for it from the primary (over NATS request/reply,
// "lice.cert"), renewed when half its remaining lifetime (as received) has passed. Receipts are
// signed only while the certificate is valid with a margin to spare: an edge cut off from the
// primaries keeps issuing them until its certificate nears its end, then validates without receipts
// (the VALID answer simply has no "offline" part), and issues them again once a renewal gets
// through.
//
// Thread-safety: sign() and state() from any thread (the certificate is swapped atomically);
// start()/stop() from one controlling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/receipt.h"
#include "core/signing.h"
#include "nats/jetstream.h"
#include "nats/worker.h"

namespace le::edge {

struct ReceiptSignerOptions {
  nats::NatsOptions nats;
  std::string edge_id;  // the certificate's subject
  std::chrono::milliseconds request_timeout{2000};
  std::chrono::milliseconds retry{2000};  // after a failed request
};

struct ReceiptSignerStats {
  std::atomic<std::uint64_t> signed_receipts{0};
  std::atomic<std::uint64_t> unsigned_no_certificate{0};  // asked for while none was usable
  std::atomic<std::uint64_t> renewals{0};
  std::atomic<std::uint64_t> renewal_failures{0};
};

class ReceiptSigner {
 public:
  // Makes the key; nullptr when OpenSSL cannot.
  static std::unique_ptr<ReceiptSigner> create(const core::Clock& clock,
                                               ReceiptSignerOptions options);
  ~ReceiptSigner();
  ReceiptSigner(const ReceiptSigner&) = delete;
  ReceiptSigner& operator=(const ReceiptSigner&) = delete;

  void start();
  void stop();

  // The token for `claims` (iat, when 0, set from the clock here), or nullopt when no usable
  // certificate is held. `claims.valid_until` must already be set.
  std::optional<std::string> sign(core::ReceiptClaims& claims);

  struct State {
    bool usable = false;
    std::int64_t not_after = 0;  // of the certificate held (0: none)
    std::string issuer;          // its root's kid
  };
  State state() const;
  const ReceiptSignerStats& stats() const { return stats_; }
  // The margin before a certificate's end in which no receipt is signed.
  static std::int64_t margin(std::int64_t lifetime) {
    return std::min<std::int64_t>(60, lifetime / 10);
  }

 private:
  struct Certificate {
    std::string header_b64;  // receipt header with the certificate
    std::int64_t not_before = 0;
    std::int64_t not_after = 0;
    std::int64_t installed_at = 0;  // the clock when received (not_before is backdated)
    std::string issuer;
    // Renewed from here on; no receipt signed from usable_until on.
    std::int64_t renew_at() const { return installed_at + (not_after - installed_at) / 2; }
    std::int64_t usable_until() const { return not_after - margin(not_after - installed_at); }
  };
  ReceiptSigner(const core::Clock& clock, ReceiptSignerOptions options, core::Ed25519Key key);
  void run();
  // Asks the primaries for a certificate; true when one was installed.
  bool renew(natsConnection* nc);
  std::shared_ptr<const Certificate> usable(std::int64_t now) const;

  const core::Clock& clock_;
  ReceiptSignerOptions options_;
  core::Ed25519Key key_;
  std::atomic<std::shared_ptr<const Certificate>> cert_;
  ReceiptSignerStats stats_;
  nats::Worker worker_{"receipts"};
};

}  // namespace le::edge
