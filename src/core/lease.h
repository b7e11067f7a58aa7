// Floating licenses' seats (spec "floating": a shared pool of concurrent seats): the rules the
// primary applies when it hands out, extends and culls leases, and the edge applies when it
// answers validations and heartbeats from its replica (DESIGN §4, "Floating seats").
//
// A seat is an Activation with a lease: it is held while now ≤ lease_expires_at +
// kLeaseDriftSeconds. A lease that ran out is "lapsed": it holds no seat, the edge answers as if
// the machine were not activated, and the primary records license.deactivated (reason
// "lease_expired") for it; the activation stays in the record for kLapsedKeepSeconds, so a
// heartbeat of that machine can take a seat again, and is then removed.
//
// Pure functions of (license, product, now); thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/model.h"

namespace le::core {

// How long a lapsed activation stays in its record (a heartbeat within it re-acquires).
inline constexpr std::int64_t kLapsedKeepSeconds = 86'400;

inline bool is_floating(const LicenseRecord& l) { return l.type == LicenseType::kFloating; }

// The lease length of `l`: its own, else its product's (nullptr: unknown, the default).
std::uint32_t lease_seconds(const LicenseRecord& l, const ProductRecord* product);

// Whether `a` holds a seat of `l` at `now` (always, for a license that is not floating, and for
// an activation without a lease).
bool holds_seat(const LicenseRecord& l, const Activation& a, std::int64_t now);

// The seats `l` has taken at `now` (for a license that is not floating: its activations).
std::uint32_t seats_held(const LicenseRecord& l, std::int64_t now);

// Seconds from `now` until the soonest lease of `l` ends (at least 1); nullopt when no held seat
// has a lease that can end.
std::optional<std::int64_t> seconds_until_seat_frees(const LicenseRecord& l, std::int64_t now);

// When the seat of `a` is released if no heartbeat comes: lease_expires_at + drift.
inline std::int64_t lease_release_at(const Activation& a) {
  return a.lease_expires_at + kLeaseDriftSeconds;
}

// The activation of `machine_id` in `l`, or nullptr.
const Activation* find_activation(const LicenseRecord& l, std::string_view machine_id);
Activation* find_activation(LicenseRecord& l, std::string_view machine_id);

// The lease of `machine_id` an edge may extend by itself at `now`, answering the heartbeat from
// its replica and sending the extension to the primary in a batch: `l` is floating and active
// and the lease has not reached its end. Within the drift (or lapsed) the primary decides: an
// extension the edge sends reaches the primary well within the drift, while the seat is still
// held there, so the edge's answer is never one the primary refuses for a lapse. nullptr: ask
// the primary.
const Activation* extendable_at_edge(const LicenseRecord& l, std::string_view machine_id,
                                     std::int64_t now);

// Applies an extension an edge answered at `at`: the lease of `machine_id` becomes at least
// min(at, now) + lease_s. Refused (false, nothing changed) unless `l` is floating and active and
// the machine holds its seat at `now`: a lapsed seat may have gone to another machine.
bool extend_lease(LicenseRecord& l, std::string_view machine_id, std::int64_t at, std::int64_t now,
                  std::uint32_t lease_s);

}  // namespace le::core
