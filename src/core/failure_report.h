// Failed validations of existing licenses, as edges report them to the primary for the
// `validation.failed` webhook event (spec "Webhooks"; DESIGN §4 "Edge → primary reports").
//
// Which failures count: a license that exists for the caller and is refused — expired,
// suspended, revoked, another product, another domain, a machine (TKI: an IP or HWID) it does
// not hold. A key that does not exist, a malformed request, an authentication failure or a
// rate limit is not a validation of a license and is not reported.
//
// FailureTally coalesces them per license: a count, the last failure's reason and the last
// machine id seen. Its size is bounded; a license beyond the bound is refused (the caller
// counts it as dropped), so hostile traffic cannot grow it without limit.
//
// They leave the edge as the "failures" of its reports (core/edge_report.h), one per license:
// the key's digest, the count, the last reason and the last machine id. A count of 0 or over
// kMaxFailureCount or an unknown reason does not read. In the earlier JSON form an entry is
//   {"license":"<hex SHA-256 of the key>","count":N,"reason":"SUSPENDED","machineId":"…"}
// with "machineId" omitted when no failure had one; a field given twice does not read.
//
// Thread-safety: the functions are pure; a FailureTally is used by one thread at a time.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/activation.h"
#include "core/api_error.h"
#include "core/change_event.h"
#include "core/model.h"
#include "core/slot_index.h"
#include "core/tki.h"
#include "core/validate.h"

namespace le::core {

// The spec's codes (Traffic Orchestrator) of a failed validation; TKI's refusals map onto them.
enum class FailureReason : std::uint8_t {
  kExpired,
  kSuspended,
  kRevoked,
  kProductMismatch,
  kDomainMismatch,
  kMachineNotActivated,
};
inline constexpr std::size_t kFailureReasonCount = 6;

// "EXPIRED", "SUSPENDED", "REVOKED", "PRODUCT_MISMATCH", "DOMAIN_MISMATCH",
// "MACHINE_NOT_ACTIVATED".
std::string_view to_string(FailureReason r);
std::optional<FailureReason> failure_reason_from_string(std::string_view s);

// The reason a validation outcome is reported with; nullopt for VALID and NOT_FOUND.
std::optional<FailureReason> failure_reason(ValidationCode c);
// decide_validate()'s one error about an existing license: DOMAIN_MISMATCH.
std::optional<FailureReason> failure_reason(const ApiError& e);
// A TKI refusal of a license that exists for the caller: a disabled license (suspended or
// revoked, by `license`'s status), expiry, a product, product version or product mismatch
// (PRODUCT_MISMATCH), an IP or HWID beyond the license's limit (MACHINE_NOT_ACTIVATED).
// nullopt for success, for refusals before the license is found, and for a license blacklist
// entry (its hits are counted as blacklist attempts).
std::optional<FailureReason> failure_reason(const TkiDecision& d, const LicenseRecord& license);

// Bounds of an entry's fields.
// The largest count a report carries and a tally holds (2^53 - 1: exact as a JSON number in
// every client); sums saturate at it.
inline constexpr std::uint64_t kMaxFailureCount = (std::uint64_t{1} << 53) - 1;
// A longer machine id (or HWID) names no machine a license can hold (kMaxMachineIdBytes).
inline constexpr std::size_t kMaxFailureMachineIdBytes = kMaxMachineIdBytes;

struct FailureCount {
  Digest license{};  // SHA-256 of the license key
  std::uint64_t count = 0;
  FailureReason reason = FailureReason::kExpired;  // of the last failure
  std::string machine_id;                          // the last one seen; empty: none

  bool operator==(const FailureCount&) const = default;
};

class FailureTally {
 public:
  // At most 2^24 - 2 licenses, whatever `max_licenses` says.
  explicit FailureTally(std::size_t max_licenses);

  // Counts `count` failures of `license`, the last of them for `reason` on `machine_id` (empty:
  // none given; the last machine id seen stays). False, and nothing counted, when the license is
  // not in the tally and the tally holds max_licenses() already. Machine ids longer than
  // kMaxFailureMachineIdBytes are not kept.
  bool add(const Digest& license, std::uint64_t count, FailureReason reason,
           std::string_view machine_id) {
    return add(key_hash(license), license, count, reason, machine_id);
  }
  bool add(const FailureCount& c) { return add(c.license, c.count, c.reason, c.machine_id); }
  // The same, with `key_hash` = key_hash(license).
  bool add(std::uint64_t key_hash, const Digest& license, std::uint64_t count, FailureReason reason,
           std::string_view machine_id);
  // A license's hash before the tally's seed is mixed in, which prefetch() and add() take: a
  // caller that does both computes it once (and a tally swapped meanwhile still places it right).
  static std::uint64_t key_hash(const Digest& license);
  // Starts loading what add() of that license reads and writes first: its index slot and, were
  // it new, its entry.
  void prefetch(std::uint64_t key_hash) const;

  // The licenses counted, in the order they were first counted.
  std::span<const FailureCount> counts() const { return {entries_.data(), size_}; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::size_t max_licenses() const { return max_; }
  // Failures counted in all (saturating).
  std::uint64_t total() const { return total_; }

  // Empties the tally and keeps its memory, so counting the next licenses does not allocate.
  void clear();
  void swap(FailureTally& other) noexcept;

 private:
  std::uint64_t slot_hash(std::uint64_t key_hash) const { return mix64(seed_ ^ key_hash); }

  std::size_t max_;
  std::uint64_t seed_;
  // entries_[0, size_) are counted; those after keep their strings' capacity for reuse.
  std::vector<FailureCount> entries_;
  std::size_t size_ = 0;
  std::uint64_t total_ = 0;
  SlotIndex index_;
};

// Reads one entry of the "failures" of a report in the earlier JSON form
// (core/edge_report_json.h) into `c`; why not, when it does not read.
std::optional<std::string> read_failure_entry(simdjson::dom::element v, FailureCount& c);

}  // namespace le::core
