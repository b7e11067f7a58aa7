#include "primary/signing_keys.h"

#include <algorithm>

#include "common/log.h"
#include "core/json_writer.h"
#include "primary/ids.h"
#include "store/keys.h"

namespace le::primary {
namespace {

constexpr std::size_t kCf = static_cast<std::size_t>(Cf::kSigningKeys);
constexpr std::int64_t kBackdate = 60;  // a certificate is valid from a minute ago (clock skew)

// created (8 bytes BE), retires_at (8 bytes BE), raw private key (32 bytes).
std::string encode_root(const RootKey& r) {
  std::string v = store::be64(static_cast<std::uint64_t>(r.created_at));
  store::append_be64(v, static_cast<std::uint64_t>(r.retires_at));
  v.append(r.key.private_raw());
  return v;
}

std::optional<RootKey> decode_root(std::string_view kid, std::string_view v) {
  if (v.size() != 48) return std::nullopt;
  auto key = core::Ed25519Key::from_private(v.substr(16));
  if (!key) return std::nullopt;
  return RootKey{std::string(kid), std::move(*key),
                 static_cast<std::int64_t>(*store::from_be64(v.substr(0, 8))),
                 static_cast<std::int64_t>(*store::from_be64(v.substr(8, 8)))};
}

}  // namespace

Result<std::unique_ptr<SigningKeys>> SigningKeys::open(PrimaryStore& store, std::int64_t now,
                                                       SigningOptions options) {
  std::unique_ptr<SigningKeys> keys(new SigningKeys(store, options));
  bool corrupt = false;
  auto scanned =
      store.records().scan_extra(kCf, {}, {}, [&](std::string_view k, std::string_view v) {
        auto root = decode_root(k, v);
        if (!root) corrupt = true;
        if (root) keys->roots_.push_back(std::move(*root));
        return !corrupt;
      });
  if (!scanned) return scanned.error();
  if (corrupt) return StoreError{"an undecodable root signing key"};
  std::sort(keys->roots_.begin(), keys->roots_.end(),
            [](const RootKey& a, const RootKey& b) { return a.created_at < b.created_at; });
  if (keys->roots_.empty() || keys->roots_.back().retires_at != 0) {
    auto kid = keys->rotate(now);
    if (!kid) return kid.error();
  }
  return keys;
}

Result<void> SigningKeys::save(const RootKey& root) {
  auto tx = store_.begin();
  tx.index(Cf::kSigningKeys, root.kid, encode_root(root));
  return tx.commit();
}

Result<std::string> SigningKeys::rotate(std::int64_t now) {
  auto key = core::Ed25519Key::generate();
  if (!key) return StoreError{"cannot generate an Ed25519 key"};
  std::lock_guard<std::mutex> g(mu_);
  RootKey fresh{random_id("root_"), std::move(*key), now, 0};
  if (!roots_.empty() && roots_.back().retires_at == 0) {
    RootKey retiring = roots_.back();
    retiring.retires_at = now + options_.overlap_seconds;
    if (auto saved = save(retiring); !saved) return saved.error();
    roots_.back() = std::move(retiring);
  }
  if (auto saved = save(fresh); !saved) return saved.error();
  log::info("primary", "new root signing key", {{"kid", fresh.kid}});
  std::string kid = fresh.kid;
  roots_.push_back(std::move(fresh));
  return Result<std::string>(boost::system::in_place_value, std::move(kid));
}

std::string SigningKeys::jwks(std::int64_t now) const {
  std::lock_guard<std::mutex> g(mu_);
  std::string out;
  core::JsonWriter w(out);
  w.begin_object().key("keys").begin_array();
  for (auto it = roots_.rbegin(); it != roots_.rend(); ++it) {
    if (it->retires_at != 0 && it->retires_at <= now) continue;
    w.begin_object()
        .field("kty", "OKP")
        .field("crv", "Ed25519")
        .field("kid", it->kid)
        .field("x", core::base64url(it->key.public_raw()))
        .field("use", "sig")
        .field("alg", "EdDSA")
        .field("nbf", it->created_at);
    if (it->retires_at != 0) w.field("exp", it->retires_at);
    w.end_object();
  }
  w.end_array().end_object();
  return out;
}

std::optional<std::string> SigningKeys::certify(std::string_view edge_public_raw,
                                                std::string_view edge_id, std::int64_t now) const {
  std::lock_guard<std::mutex> g(mu_);
  if (roots_.empty() || edge_public_raw.size() != 32) return std::nullopt;
  const RootKey& root = roots_.back();
  // The whole span, backdating included, stays within a week (clients refuse longer ones).
  const std::int64_t lifetime =
      std::min(options_.certificate_seconds, kMaxCertificateSeconds - kBackdate);
  std::string der = core::issue_certificate(root.key, root.kid, edge_public_raw, edge_id,
                                            now - kBackdate, now + lifetime);
  if (der.empty()) return std::nullopt;
  return der;
}

}  // namespace le::primary
