#include "core/failure_report.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <random>

#include "core/digest.h"
#include "core/json_read.h"

namespace le::core {
namespace {

namespace dom = simdjson::dom;

constexpr std::array<std::string_view, kFailureReasonCount> kReasons = {
    "EXPIRED",          "SUSPENDED",       "REVOKED",
    "PRODUCT_MISMATCH", "DOMAIN_MISMATCH", "MACHINE_NOT_ACTIVATED"};

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return std::min(kMaxFailureCount, a + std::min(b, kMaxFailureCount));
}

// The fields of one entry in the earlier JSON form of a report, each named once; `required`
// fields must be present.
struct EntryField {
  std::string_view name;
  bool required;
  bool (*read)(dom::element, FailureCount&);
};

constexpr std::array<EntryField, 4> kEntryFields = {{
    {"license", true,
     [](dom::element v, FailureCount& c) { return json::read_digest(v, c.license); }},
    {"count", true,
     [](dom::element v, FailureCount& c) {
       return !v.get_uint64().get(c.count) && c.count >= 1 && c.count <= kMaxFailureCount;
     }},
    {"reason", true,
     [](dom::element v, FailureCount& c) {
       std::string_view s;
       auto r = v.get_string().get(s) ? std::nullopt : failure_reason_from_string(s);
       if (r) c.reason = *r;
       return r.has_value();
     }},
    {"machineId", false,
     [](dom::element v, FailureCount& c) {
       std::string_view s;
       if (v.get_string().get(s) || s.empty() || s.size() > kMaxFailureMachineIdBytes) {
         return false;
       }
       c.machine_id.assign(s);
       return true;
     }},
}};

}  // namespace

std::optional<std::string> read_failure_entry(dom::element v, FailureCount& c) {
  dom::object obj;
  if (v.get_object().get(obj)) return "an entry is not an object";
  std::array<bool, kEntryFields.size()> seen{};
  for (const auto field : obj) {
    const auto f = std::find_if(kEntryFields.begin(), kEntryFields.end(),
                                [&](const EntryField& e) { return e.name == field.key; });
    if (f == kEntryFields.end()) continue;  // a later field: ignored
    const auto i = static_cast<std::size_t>(f - kEntryFields.begin());
    if (seen[i] || !f->read(field.value, c)) return "bad field '" + std::string(f->name) + "'";
    seen[i] = true;
  }
  for (std::size_t i = 0; i < kEntryFields.size(); ++i) {
    if (kEntryFields[i].required && !seen[i]) {
      return "missing field '" + std::string(kEntryFields[i].name) + "'";
    }
  }
  return std::nullopt;
}

std::string_view to_string(FailureReason r) { return kReasons[static_cast<std::size_t>(r)]; }

std::optional<FailureReason> failure_reason_from_string(std::string_view s) {
  for (std::size_t i = 0; i < kReasons.size(); ++i) {
    if (kReasons[i] == s) return static_cast<FailureReason>(i);
  }
  return std::nullopt;
}

std::optional<FailureReason> failure_reason(ValidationCode c) {
  switch (c) {
    case ValidationCode::kExpired:
      return FailureReason::kExpired;
    case ValidationCode::kSuspended:
      return FailureReason::kSuspended;
    case ValidationCode::kRevoked:
      return FailureReason::kRevoked;
    case ValidationCode::kProductMismatch:
      return FailureReason::kProductMismatch;
    case ValidationCode::kMachineNotActivated:
      return FailureReason::kMachineNotActivated;
    case ValidationCode::kValid:
    case ValidationCode::kNotFound:
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<FailureReason> failure_reason(const ApiError& e) {
  if (e.code == ApiError::domain_mismatch().code) return FailureReason::kDomainMismatch;
  return std::nullopt;
}

std::optional<FailureReason> failure_reason(const TkiDecision& d, const LicenseRecord& license) {
  switch (d.status) {
    case TkiStatus::kLicenseBlacklisted:
      if (d.blacklist_hit != nullptr) return std::nullopt;
      return license.status == LicenseStatus::kRevoked ? FailureReason::kRevoked
                                                       : FailureReason::kSuspended;
    case TkiStatus::kExpired:
      return FailureReason::kExpired;
    case TkiStatus::kProductNotFound:
    case TkiStatus::kVersionNotFound:
    case TkiStatus::kProductMismatch:
      return FailureReason::kProductMismatch;
    case TkiStatus::kMaxIps:
    case TkiStatus::kMaxHwids:
      return FailureReason::kMachineNotActivated;
    default:
      return std::nullopt;
  }
}

// ---- FailureTally -------------------------------------------------------------------------------

FailureTally::FailureTally(std::size_t max_licenses)
    // The probe sequence depends on a per-tally random seed, so digests chosen to collide (by
    // whoever can publish reports) do not line up in one table.
    : max_(std::min(max_licenses, SlotIndex::kMaxEntries)),
      seed_((static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()) {}

std::uint64_t FailureTally::key_hash(const Digest& license) {
  // All of the digest: a key chosen so that some bytes of its digest collide still spreads.
  std::uint64_t h = 0;
  for (std::size_t i = 0; i < license.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, license.data() + i, 8);
    h = mix64(h ^ word);
  }
  return h;
}

void FailureTally::prefetch(std::uint64_t key_hash) const {
  index_.prefetch(slot_hash(key_hash));
  if (size_ < entries_.size()) prefetch_for_write(entries_[size_]);
}

bool FailureTally::add(std::uint64_t key_hash, const Digest& license, std::uint64_t count,
                       FailureReason reason, std::string_view machine_id) {
  if (max_ == 0) return false;
  if (auto found = index_.find(slot_hash(key_hash),
                               [&](std::size_t i) { return entries_[i].license == license; })) {
    FailureCount& e = entries_[*found];
    e.count = saturating_add(e.count, count);
    e.reason = reason;
    if (!machine_id.empty() && machine_id.size() <= kMaxFailureMachineIdBytes) {
      e.machine_id.assign(machine_id);
    }
    total_ = saturating_add(total_, count);
    return true;
  }
  if (size_ >= max_) return false;
  if (size_ == entries_.size()) entries_.emplace_back();
  FailureCount& e = entries_[size_];
  e.license = license;
  e.count = std::min(count, kMaxFailureCount);
  e.reason = reason;
  if (machine_id.size() <= kMaxFailureMachineIdBytes) {
    e.machine_id.assign(machine_id);
  } else {
    e.machine_id.clear();
  }
  index_.insert(size_++, [&](std::size_t i) {
    return slot_hash(FailureTally::key_hash(entries_[i].license));
  });
  total_ = saturating_add(total_, count);
  return true;
}

void FailureTally::clear() {
  if (size_ == 0) return;
  index_.clear();
  size_ = 0;
  total_ = 0;
}

void FailureTally::swap(FailureTally& other) noexcept {
  std::swap(max_, other.max_);
  std::swap(seed_, other.seed_);
  entries_.swap(other.entries_);
  std::swap(size_, other.size_);
  std::swap(total_, other.total_);
  index_.swap(other.index_);
}

}  // namespace le::core
