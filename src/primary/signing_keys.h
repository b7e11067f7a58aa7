// The deployment's root signing keys for offline receipts (core/receipt.h). Roots live only
// here, in the primary's database (Cf::kSigningKeys); an edge never holds one. Each edge makes
// its own Ed25519 key at start and gets a short-lived certificate for it from the primary over
// NATS (CertService); receipts carry that certificate, and clients trust the roots published at
// GET /api/v1/signing-keys.
//
// One set of roots for the deployment, not one per account: every edge signs for every account,
// so per-account roots would mean a certificate per account per edge, renewed continuously; the
// receipt names its account and product, and clients check those, so one account's receipts do
// not pass for another's.
//
// Rotation: rotate() makes a new root the one that issues certificates; the old one stays
// published with `exp` = now + overlap, so receipts chained to it keep verifying until then
// (overlap ≥ the longest grace period + a certificate's lifetime), and are refused after.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/signing.h"
#include "primary/primary_store.h"

namespace le::primary {

struct RootKey {
  std::string kid;
  core::Ed25519Key key;
  std::int64_t created_at = 0;
  std::int64_t retires_at = 0;  // 0: the active root
};

inline constexpr std::int64_t kMaxCertificateSeconds = 7 * 86400;

struct SigningOptions {
  std::int64_t certificate_seconds = 48 * 3600;  // an edge certificate's lifetime (≤ 7 days)
  std::int64_t overlap_seconds = 37 * 86400;     // a rotated-out root stays trusted this long
};

class SigningKeys {
 public:
  // Loads the roots, making the first one when there is none.
  static Result<std::unique_ptr<SigningKeys>> open(PrimaryStore& store, std::int64_t now,
                                                   SigningOptions options = {});

  // A new active root; the previous one retires at now + overlap. Returns the new kid.
  Result<std::string> rotate(std::int64_t now);
  // The published roots (active and not yet retired) as a JWKS document.
  std::string jwks(std::int64_t now) const;
  // A certificate (DER) for an edge's Ed25519 public key, from the active root, valid from a
  // minute ago for certificate_seconds; nullopt when the key is not one.
  std::optional<std::string> certify(std::string_view edge_public_raw, std::string_view edge_id,
                                     std::int64_t now) const;
  const SigningOptions& options() const { return options_; }

 private:
  SigningKeys(PrimaryStore& store, SigningOptions options) : store_(store), options_(options) {}
  Result<void> save(const RootKey& root);
  PrimaryStore& store_;
  SigningOptions options_;
  mutable std::mutex mu_;
  std::vector<RootKey> roots_;  // oldest first; the last is the active one
};

}  // namespace le::primary
