#include "core/model.h"

namespace le::core {
namespace {

template <typename E, std::size_t N>
std::optional<E> parse_enum(std::string_view s, const std::string_view (&names)[N]) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

constexpr std::string_view kModeNames[] = {"live", "test"};
constexpr std::string_view kPlanNames[] = {"builder", "starter", "professional", "business",
                                           "enterprise"};
constexpr std::string_view kTypeNames[] = {"perpetual", "subscription", "trial", "floating"};
constexpr std::string_view kStatusNames[] = {"active", "expired", "suspended", "revoked"};
constexpr std::string_view kBlacklistNames[] = {"ip", "hwid", "license"};

}  // namespace

std::string_view to_string(Mode m) { return kModeNames[static_cast<int>(m)]; }
std::string_view to_string(Plan p) { return kPlanNames[static_cast<int>(p)]; }
std::string_view to_string(LicenseType t) { return kTypeNames[static_cast<int>(t)]; }
std::string_view to_string(LicenseStatus s) { return kStatusNames[static_cast<int>(s)]; }
std::string_view to_string(BlacklistKind k) { return kBlacklistNames[static_cast<int>(k)]; }

std::optional<Mode> parse_mode(std::string_view s) { return parse_enum<Mode>(s, kModeNames); }
std::optional<Plan> parse_plan(std::string_view s) { return parse_enum<Plan>(s, kPlanNames); }
std::optional<LicenseType> parse_license_type(std::string_view s) {
  return parse_enum<LicenseType>(s, kTypeNames);
}
std::optional<LicenseStatus> parse_license_status(std::string_view s) {
  return parse_enum<LicenseStatus>(s, kStatusNames);
}
std::optional<BlacklistKind> parse_blacklist_kind(std::string_view s) {
  return parse_enum<BlacklistKind>(s, kBlacklistNames);
}

bool valid_edge_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxEdgeIdBytes) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace le::core
