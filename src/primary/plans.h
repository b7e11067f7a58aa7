// Products' pricing tiers (spec "plans"): {id, type, max_activations, duration_days,
// offline_grace_hours?, metadata}. A product keeps them as canonical JSON text
// (ProductRecord::plans_json); the management API reads them from a request, checking every
// field, and the portal creates a license from one (POST /api/v1/portal/licenses).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "primary/request_fields.h"

namespace le::primary {

inline constexpr std::size_t kMaxPlans = 20;
inline constexpr std::uint32_t kMaxPlanDurationDays = 36'500;

struct ProductPlan {
  std::string id;  // unique within the product
  core::LicenseType type = core::LicenseType::kSubscription;
  std::uint32_t max_activations = 1;
  std::uint32_t duration_days = 0;                   // 0: licenses from it do not expire
  std::optional<std::uint32_t> offline_grace_hours;  // none: the product's
  std::string metadata_json = "{}";

  bool operator==(const ProductPlan&) const = default;
};

// The "plans" field of a product request: an array of at most kMaxPlans plans with unique ids
// (400 VALIDATION_ERROR naming the field otherwise). Returns the canonical text to store.
std::string read_plans(dom::element v, std::string_view name);
// The plans a product stores (text written by read_plans).
std::vector<ProductPlan> decode_plans(std::string_view json);
std::string encode_plans(const std::vector<ProductPlan>& plans);

// A new license from `plan` at `now`: its type, seats, expiry (now + duration_days) and offline
// grace; the caller sets account, mode, product, email and metadata.
core::LicenseRecord license_from_plan(const ProductPlan& plan, std::int64_t now);

}  // namespace le::primary
