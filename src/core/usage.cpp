#include "core/usage.h"

#include <simdjson.h>

#include <algorithm>
#include <random>

namespace le::core {
namespace {

constexpr std::array<std::string_view, kUsageOutcomeCount> kOutcomes = {"VALID",
                                                                        "NOT_FOUND",
                                                                        "EXPIRED",
                                                                        "SUSPENDED",
                                                                        "REVOKED",
                                                                        "PRODUCT_MISMATCH",
                                                                        "MACHINE_NOT_ACTIVATED",
                                                                        "DOMAIN_MISMATCH"};

// By TkiStatus, in its order.
constexpr std::array<std::string_view, kTkiOutcomeCount> kTkiOutcomes = {
    "SUCCESS",           "MISSING_AUTHORIZATION",
    "INVALID_API_KEY",   "IP_BLACKLISTED",
    "HWID_BLACKLISTED",  "LICENSE_BLACKLISTED",
    "MISSING_FIELDS",    "VERSION_NOT_FOUND",
    "PRODUCT_MISMATCH",  "EXPIRED",
    "MAX_IPS",           "MAX_HWIDS",
    "LICENSE_NOT_FOUND", "PRODUCT_NOT_FOUND",
    "RATE_LIMITED",      "BINDING_UNAVAILABLE"};
static_assert(static_cast<std::size_t>(TkiStatus::kBindingRequired) + 1 == kTkiOutcomeCount);

}  // namespace

std::string_view to_string(UsageOutcome o) { return kOutcomes[static_cast<std::size_t>(o)]; }

std::optional<UsageOutcome> usage_outcome_from_string(std::string_view s) {
  for (std::size_t i = 0; i < kOutcomes.size(); ++i) {
    if (kOutcomes[i] == s) return static_cast<UsageOutcome>(i);
  }
  return std::nullopt;
}

UsageOutcome usage_outcome(ValidationCode c) {
  switch (c) {
    case ValidationCode::kValid:
      return UsageOutcome::kValid;
    case ValidationCode::kNotFound:
      return UsageOutcome::kNotFound;
    case ValidationCode::kExpired:
      return UsageOutcome::kExpired;
    case ValidationCode::kSuspended:
      return UsageOutcome::kSuspended;
    case ValidationCode::kRevoked:
      return UsageOutcome::kRevoked;
    case ValidationCode::kProductMismatch:
      return UsageOutcome::kProductMismatch;
    case ValidationCode::kMachineNotActivated:
      return UsageOutcome::kMachineNotActivated;
  }
  return UsageOutcome::kNotFound;
}

std::string_view tki_outcome_name(TkiStatus s) { return kTkiOutcomes[static_cast<std::size_t>(s)]; }

std::optional<TkiStatus> tki_outcome_from_string(std::string_view s) {
  for (std::size_t i = 0; i < kTkiOutcomes.size(); ++i) {
    if (kTkiOutcomes[i] == s) return static_cast<TkiStatus>(i);
  }
  return std::nullopt;
}

void append_clean_text(std::string& out, std::string_view text, std::size_t max) {
  if (!simdjson::validate_utf8(text.data(), text.size())) {
    for (char c : text.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    return;
  }
  if (text.size() > max) {
    std::size_t cut = max;
    // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
    text = text.substr(0, cut);
  }
  out.append(text);
}

// ---- UsageCount ---------------------------------------------------------------------------------

void UsageCount::merge(const UsageCount& o) {
  for (std::size_t i = 0; i < validations.size(); ++i) {
    validations[i] = saturating_sum(validations[i], o.validations[i]);
  }
  for (std::size_t i = 0; i < auths.size(); ++i) auths[i] = saturating_sum(auths[i], o.auths[i]);
  last_validated_ms = std::max(last_validated_ms, o.last_validated_ms);
  if (product_id.empty()) product_id = o.product_id;
  machines.merge(o.machines);
  ips.merge(o.ips);
  hwids.merge(o.hwids);
}

// ---- UsageTally ---------------------------------------------------------------------------------

UsageTally::UsageTally(std::size_t max_entries)
    : max_(std::min(max_entries, SlotIndex::kMaxEntries)),
      seed_((static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()) {}

std::uint64_t UsageTally::hash(std::uint64_t id_hash, Mode mode, bool has_license,
                               std::int32_t day) const {
  // A license id names its account; the account's own entry has no license.
  return mix64(seed_ ^ id_hash ^
               (static_cast<std::uint64_t>(static_cast<std::uint32_t>(day)) << 8) ^
               static_cast<std::uint64_t>(mode) ^ (has_license ? 0 : 0x80));
}

UsageTally::Entry* UsageTally::entry(std::uint64_t id_hash, std::string_view account, Mode mode,
                                     std::string_view license, std::string_view product,
                                     std::int32_t day) {
  if (account.size() > kMaxUsageIdBytes || license.size() > kMaxUsageIdBytes ||
      product.size() > kMaxUsageIdBytes) {
    return nullptr;
  }
  if (max_ == 0) return nullptr;
  const std::uint64_t h = hash(id_hash, mode, !license.empty(), day);
  if (auto found = index_.find(h, [&](std::size_t i) {
        const Entry& e = entries_[i];
        return e.hash == h && e.day == day && e.mode == mode && e.license_bytes == license.size() &&
               e.account_bytes == account.size() &&
               id(e, e.account_bytes, e.license_bytes) == license &&
               id(e, 0, e.account_bytes) == account;
      })) {
    return &entries_[*found];
  }
  if (size_ >= max_) return nullptr;
  // Offsets into the arena are 32 bits: a tally full of the longest ids stops short of 4 GiB.
  if (arena_.size() + account.size() + license.size() + product.size() > UINT32_MAX) {
    return nullptr;
  }
  if (size_ == entries_.size()) entries_.emplace_back();
  Entry& e = entries_[size_];
  e = Entry{};
  e.hash = h;
  e.ids = static_cast<std::uint32_t>(arena_.size());
  e.account_bytes = static_cast<std::uint8_t>(account.size());
  e.license_bytes = static_cast<std::uint8_t>(license.size());
  e.product_bytes = static_cast<std::uint8_t>(product.size());
  arena_.append(account).append(license).append(product);
  e.mode = mode;
  e.day = day;
  index_.insert(size_++, [&](std::size_t i) { return entries_[i].hash; });
  return &e;
}

void UsageTally::count_auth(Entry& e, TkiStatus s) {
  if (e.auths == Entry::kNoAuths) {
    if (auths_size_ == auths_.size()) auths_.emplace_back();
    auths_[auths_size_].fill(0);
    e.auths = static_cast<std::uint32_t>(auths_size_++);
  }
  auto& n = auths_[e.auths][static_cast<std::size_t>(s)];
  n += n != ~std::uint32_t{0};
}

void UsageTally::add_distinct(Entry& e, Distinct d, std::string_view item) {
  SmallSketch& s = e.distinct[static_cast<std::size_t>(d)];
  const std::uint32_t reg = Hll::register_of(hll_hash(item));
  if (s.pooled != SmallSketch::kNone) return pool_[s.pooled].add_register(reg);
  for (std::uint8_t i = 0; i < s.size; ++i) {
    if (s.registers[i] >> 8 == reg >> 8) {
      s.registers[i] = std::max(s.registers[i], reg);
      return;
    }
  }
  if (s.size < s.registers.size()) {
    s.registers[s.size++] = reg;
    return;
  }
  if (pool_size_ == pool_.size()) pool_.emplace_back();
  Hll& sketch = pool_[pool_size_];
  sketch.clear();
  for (std::uint32_t r : s.registers) sketch.add_register(r);
  sketch.add_register(reg);
  s.pooled = static_cast<std::uint32_t>(pool_size_++);
}

void UsageTally::get(std::size_t i, UsageCount& out) const {
  const Entry& e = entries_[i];
  out.account_id.assign(id(e, 0, e.account_bytes));
  out.license_id.assign(id(e, e.account_bytes, e.license_bytes));
  out.product_id.assign(id(e, e.account_bytes + e.license_bytes, e.product_bytes));
  out.mode = e.mode;
  out.day = e.day;
  std::copy(e.validations.begin(), e.validations.end(), out.validations.begin());
  if (e.auths == Entry::kNoAuths) {
    out.auths.fill(0);
  } else {
    std::copy(auths_[e.auths].begin(), auths_[e.auths].end(), out.auths.begin());
  }
  out.last_validated_ms = e.last_validated_ms;
  for (auto [sketch, from] :
       {std::pair{&out.machines, &e.distinct[0]}, std::pair{&out.ips, &e.distinct[1]},
        std::pair{&out.hwids, &e.distinct[2]}}) {
    if (from->pooled != SmallSketch::kNone) {
      *sketch = pool_[from->pooled];
      continue;
    }
    sketch->clear();
    for (std::uint8_t r = 0; r < from->size; ++r) sketch->add_register(from->registers[r]);
  }
}

void UsageTally::clear() {
  if (size_ == 0) return;
  index_.clear();
  size_ = 0;
  arena_.clear();
  auths_size_ = 0;
  pool_size_ = 0;
}

void UsageTally::swap(UsageTally& other) noexcept {
  std::swap(max_, other.max_);
  std::swap(seed_, other.seed_);
  entries_.swap(other.entries_);
  std::swap(size_, other.size_);
  arena_.swap(other.arena_);
  auths_.swap(other.auths_);
  std::swap(auths_size_, other.auths_size_);
  pool_.swap(other.pool_);
  std::swap(pool_size_, other.pool_size_);
  index_.swap(other.index_);
}

// ---- AuthLog ------------------------------------------------------------------------------------

AuthAttempt* AuthLog::next() {
  if (size_ >= max_) return nullptr;
  if (size_ == records_.size()) records_.emplace_back();
  return &records_[size_++];
}

void AuthLog::swap(AuthLog& other) noexcept {
  std::swap(max_, other.max_);
  records_.swap(other.records_);
  std::swap(size_, other.size_);
}

// ---- BlacklistHits ------------------------------------------------------------------------------

bool BlacklistHits::add(std::string_view account, std::string_view entry, std::int64_t at_ms) {
  if (auto it = index_.find(entry); it != index_.end()) {
    BlacklistHit& h = hits_[it->second];
    h.attempts = saturating_sum(h.attempts, 1);
    h.last_ms = std::max(h.last_ms, at_ms);
    return true;
  }
  if (hits_.size() >= max_ || entry.size() > kMaxUsageIdBytes ||
      account.size() > kMaxUsageIdBytes) {
    return false;
  }
  index_.emplace(std::string(entry), hits_.size());
  hits_.push_back({std::string(account), std::string(entry), 1, at_ms});
  return true;
}

void BlacklistHits::clear() {
  hits_.clear();
  index_.clear();
}

void BlacklistHits::swap(BlacklistHits& other) noexcept {
  std::swap(max_, other.max_);
  hits_.swap(other.hits_);
  index_.swap(other.index_);
}

}  // namespace le::core
