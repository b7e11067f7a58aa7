#include "core/lease.h"

#include <algorithm>
#include <utility>

#include "core/validate.h"

namespace le::core {

std::uint32_t lease_seconds(const LicenseRecord& l, const ProductRecord* product) {
  if (l.lease_seconds != 0) return l.lease_seconds;
  if (product != nullptr && product->lease_seconds != 0) return product->lease_seconds;
  return kDefaultLeaseSeconds;
}

bool holds_seat(const LicenseRecord& l, const Activation& a, std::int64_t now) {
  return !is_floating(l) || a.lease_expires_at == 0 || now <= lease_release_at(a);
}

std::uint32_t seats_held(const LicenseRecord& l, std::int64_t now) {
  return static_cast<std::uint32_t>(
      std::count_if(l.activations.begin(), l.activations.end(),
                    [&](const Activation& a) { return holds_seat(l, a, now); }));
}

std::optional<std::int64_t> seconds_until_seat_frees(const LicenseRecord& l, std::int64_t now) {
  std::optional<std::int64_t> soonest;
  if (!is_floating(l)) return soonest;
  for (const auto& a : l.activations) {
    if (a.lease_expires_at == 0 || !holds_seat(l, a, now)) continue;
    const std::int64_t wait = std::max<std::int64_t>(1, lease_release_at(a) - now + 1);
    if (!soonest || wait < *soonest) soonest = wait;
  }
  return soonest;
}

const Activation* find_activation(const LicenseRecord& l, std::string_view machine_id) {
  for (const auto& a : l.activations) {
    if (a.machine_id == machine_id) return &a;
  }
  return nullptr;
}

Activation* find_activation(LicenseRecord& l, std::string_view machine_id) {
  return const_cast<Activation*>(find_activation(std::as_const(l), machine_id));
}

namespace {

bool lease_extendable(const LicenseRecord& l, const Activation* a, std::int64_t now) {
  return is_floating(l) && effective_status(l, now) == LicenseStatus::kActive && a != nullptr &&
         a->lease_expires_at != 0;
}

}  // namespace

const Activation* extendable_at_edge(const LicenseRecord& l, std::string_view machine_id,
                                     std::int64_t now) {
  const Activation* a = find_activation(l, machine_id);
  return lease_extendable(l, a, now) && now <= a->lease_expires_at ? a : nullptr;
}

bool extend_lease(LicenseRecord& l, std::string_view machine_id, std::int64_t at, std::int64_t now,
                  std::uint32_t lease_s) {
  Activation* a = find_activation(l, machine_id);
  if (!lease_extendable(l, a, now) || !holds_seat(l, *a, now)) return false;
  a->lease_expires_at = std::max(a->lease_expires_at, std::min(at, now) + std::int64_t{lease_s});
  return true;
}

}  // namespace le::core
