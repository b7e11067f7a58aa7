// Domain model of License Edge: accounts, API keys, products, licenses and blacklist entries,
// exactly as the change stream carries them and the replica stores them.
//
// Plain value types; no I/O and no shared state, so they are safe to copy between threads.
// Secrets (API keys, license keys) never appear here in plaintext: records carry their SHA-256
// digest only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace le::core {

// SHA-256 of a secret (API key or license key): the only form in which secrets are stored.
using Digest = std::array<std::uint8_t, 32>;

enum class Mode : std::uint8_t { kLive = 0, kTest = 1 };

enum class Plan : std::uint8_t {
  kBuilder = 0,
  kStarter = 1,
  kProfessional = 2,
  kBusiness = 3,
  kEnterprise = 4,
};

enum class LicenseType : std::uint8_t {
  kPerpetual = 0,
  kSubscription = 1,
  kTrial = 2,
  kFloating = 3,
};

// Stored status. "expired" may be stored by the primary, but expiry is also computed at request
// time from expires_at, so a license past its expiry is refused before any event says so.
enum class LicenseStatus : std::uint8_t {
  kActive = 0,
  kExpired = 1,
  kSuspended = 2,
  kRevoked = 3,
};

enum class BlacklistKind : std::uint8_t { kIp = 0, kHwid = 1, kLicense = 2 };

struct AccountRecord {
  std::string id;
  Plan plan = Plan::kBuilder;
  bool tki_require_hwid = false;  // TKI "RequireHWID"
  bool tki_rate_limit = false;    // TKI per-IP rate limiting enabled
  std::uint64_t version = 0;

  bool operator==(const AccountRecord&) const = default;
};

struct ApiKeyRecord {
  std::string id;
  Digest digest{};
  std::string account_id;
  Mode mode = Mode::kLive;
  bool revoked = false;
  std::uint64_t version = 0;

  bool operator==(const ApiKeyRecord&) const = default;
};

// The grace period (hours) an app may run offline on one receipt, unless its product or license
// sets another; at most kMaxOfflineGraceHours (30 days): a rotated-out root key stays trusted
// that long plus a certificate's lifetime.
inline constexpr std::uint32_t kDefaultOfflineGraceHours = 72;
inline constexpr std::uint32_t kMaxOfflineGraceHours = 720;

// Floating licenses (LicenseType::kFloating): max_activations is the number of concurrent
// seats, and a seat is a lease that the client extends with heartbeats (core/lease.h). A lease
// lasts lease_seconds (the license's, else its product's) after its last extension, plus
// kLeaseDriftSeconds, which every server allows for late heartbeats and clocks apart.
inline constexpr std::uint32_t kDefaultLeaseSeconds = 600;
inline constexpr std::uint32_t kMinLeaseSeconds = 1;
inline constexpr std::uint32_t kMaxLeaseSeconds = 30 * 86'400;
inline constexpr std::int64_t kLeaseDriftSeconds = 30;

struct ProductRecord {
  std::string id;  // prod_…
  std::string account_id;
  std::string name;
  std::vector<std::string> platforms;
  std::vector<std::string> tki_versions;
  std::string metadata_json = "{}";  // a JSON object, kept as text
  // How long an offline receipt for this product's licenses lasts (0: no receipts).
  std::uint32_t offline_grace_hours = kDefaultOfflineGraceHours;
  // How long a floating license's seat is held after its last heartbeat.
  std::uint32_t lease_seconds = kDefaultLeaseSeconds;
  // Pricing tiers (spec "plans"): a JSON array kept as canonical text, checked when written
  // (primary/plans.h); licenses are created from them by plan id.
  std::string plans_json = "[]";
  std::uint64_t version = 0;

  bool operator==(const ProductRecord&) const = default;
};

struct Activation {
  std::string machine_id;
  std::string label;
  std::int64_t activated_at = 0;  // unix seconds
  // Floating licenses: when the seat's lease ends unless extended (unix seconds); 0: no lease
  // (an activation made before the license was floating holds its seat until deactivated).
  std::int64_t lease_expires_at = 0;

  bool operator==(const Activation&) const = default;
};

struct LicenseRecord {
  std::string id;  // lic_…
  Digest key_digest{};
  std::string account_id;
  std::string product_id;
  Mode mode = Mode::kLive;
  LicenseType type = LicenseType::kPerpetual;
  LicenseStatus status = LicenseStatus::kActive;
  std::int64_t expires_at = 0;  // unix seconds; 0 = never expires
  std::uint32_t max_activations = 1;
  std::vector<Activation> activations;
  std::vector<std::string> allowed_domains;  // empty = any domain
  std::string metadata_json = "{}";
  // TKI: limits on distinct IPs / HWIDs (0 = unlimited) and those bound so far.
  std::uint32_t max_ips = 0;
  std::uint32_t max_hwids = 0;
  std::vector<std::string> ips;
  std::vector<std::string> hwids;
  bool staff = false;
  std::string discord_id;
  std::string discord_username;
  std::string discord_tag;
  std::int64_t created_at = 0;
  std::string email;  // the customer's, as given at creation
  // Overrides the product's offline grace period; -1: the product's.
  std::int64_t offline_grace_hours = -1;
  // Overrides the product's lease_seconds (floating licenses); 0: the product's.
  std::uint32_t lease_seconds = 0;
  // The product's plan the license was created from (POST /api/v1/portal/licenses); empty:
  // none. A subscription renews by that plan's period.
  std::string plan_id;
  std::uint64_t version = 0;

  bool operator==(const LicenseRecord&) const = default;
};

struct BlacklistEntry {
  std::string id;  // bl_…
  std::string account_id;
  BlacklistKind kind = BlacklistKind::kIp;
  // IP or HWID as given; for kLicense the lowercase hex SHA-256 of the license key.
  std::string value;
  std::uint64_t version = 0;

  bool operator==(const BlacklistEntry&) const = default;
};

// Requests per 1-minute sliding window per API key, by plan (spec "Rate Limits").
constexpr std::uint32_t requests_per_minute(Plan p) {
  switch (p) {
    case Plan::kBuilder:
      return 10;
    case Plan::kStarter:
      return 100;
    case Plan::kProfessional:
      return 1'000;
    case Plan::kBusiness:
      return 10'000;
    case Plan::kEnterprise:
      return 50'000;
  }
  return 10;
}

std::string_view to_string(Mode m);
std::string_view to_string(Plan p);
std::string_view to_string(LicenseType t);
std::string_view to_string(LicenseStatus s);
std::string_view to_string(BlacklistKind k);

std::optional<Mode> parse_mode(std::string_view s);

// An edge's name (in certificates and reports): 1…kMaxEdgeIdBytes of [A-Za-z0-9._-].
inline constexpr std::size_t kMaxEdgeIdBytes = 64;
bool valid_edge_id(std::string_view id);

// Tenant visibility, the one rule every read and write applies: an API key sees only its own
// account's records, and of licenses only those of its own mode. Without a key (public
// validation, where the license key itself is the credential) every license is visible.
inline bool visible_to(const ApiKeyRecord& key, const LicenseRecord& license) {
  return license.account_id == key.account_id && license.mode == key.mode;
}
inline bool visible_to(const ApiKeyRecord* key, const LicenseRecord* license) {
  return license != nullptr && (key == nullptr || visible_to(*key, *license));
}
inline bool visible_to(const ApiKeyRecord& key, const ProductRecord& product) {
  return product.account_id == key.account_id;
}
std::optional<Plan> parse_plan(std::string_view s);
std::optional<LicenseType> parse_license_type(std::string_view s);
std::optional<LicenseStatus> parse_license_status(std::string_view s);
std::optional<BlacklistKind> parse_blacklist_kind(std::string_view s);

}  // namespace le::core
