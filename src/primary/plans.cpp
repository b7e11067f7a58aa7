#include "primary/plans.h"

#include "core/json_read.h"
#include "core/json_writer.h"

namespace le::primary {
namespace {

constexpr std::size_t kMaxPlanActivations = 100'000;

ProductPlan read_plan(dom::element item, std::string_view name) {
  dom::object obj;
  if (item.get_object().get(obj)) bad_field(name, "must be an array of objects");
  ProductPlan p;
  bool has_id = false, has_type = false;
  for (auto field : obj) {
    const std::string_view k = field.key;
    const std::string where = std::string(name) + "." + std::string(k);
    if (k == "id") {
      p.id = read_id(field.value, where);
      has_id = true;
    } else if (k == "type") {
      p.type = read_enum(field.value, where, core::parse_license_type,
                         "perpetual, subscription, trial, floating");
      has_type = true;
    } else if (k == "max_activations") {
      p.max_activations = read_u32(field.value, where, kMaxPlanActivations);
    } else if (k == "duration_days") {
      p.duration_days = read_u32(field.value, where, kMaxPlanDurationDays);
    } else if (k == "offline_grace_hours") {
      if (!field.value.is_null()) {
        p.offline_grace_hours = read_u32(field.value, where, core::kMaxOfflineGraceHours);
      }
    } else if (k == "metadata") {
      p.metadata_json = read_metadata(field.value, where);
    } else {
      unknown_field(where);
    }
  }
  if (!has_id || !has_type) {
    refuse(core::ApiError::missing_fields("Each of '" + std::string(name) +
                                          "' needs an id and a type"));
  }
  return p;
}

}  // namespace

std::string read_plans(dom::element v, std::string_view name) {
  dom::array arr;
  if (v.get_array().get(arr)) bad_field(name, "must be an array of objects");
  std::vector<ProductPlan> plans;
  for (dom::element item : arr) {
    if (plans.size() == kMaxPlans) {
      bad_field(name, "has more than " + std::to_string(kMaxPlans) + " plans");
    }
    auto p = read_plan(item, name);
    for (const auto& other : plans) {
      if (other.id == p.id) bad_field(name, "has two plans with the id '" + p.id + "'");
    }
    plans.push_back(std::move(p));
  }
  return encode_plans(plans);
}

std::string encode_plans(const std::vector<ProductPlan>& plans) {
  std::string out;
  core::JsonWriter w(out);
  w.begin_array();
  for (const auto& p : plans) {
    w.begin_object().field("id", p.id).field("type", core::to_string(p.type));
    w.field("max_activations", p.max_activations).field("duration_days", p.duration_days);
    w.key("offline_grace_hours");
    if (p.offline_grace_hours) {
      w.value(*p.offline_grace_hours);
    } else {
      w.null();
    }
    w.key("metadata").raw(p.metadata_json);
    w.end_object();
  }
  w.end_array();
  return out;
}

std::vector<ProductPlan> decode_plans(std::string_view json) {
  std::vector<ProductPlan> out;
  thread_local core::json::Parser parser;
  dom::element doc;
  dom::array arr;
  if (parser.parse(json, doc) || doc.get_array().get(arr)) return out;
  for (dom::element item : arr) {
    ProductPlan p;
    std::string_view type;
    std::uint32_t grace = 0;
    if (!core::json::read_string(item["id"], p.id) ||
        !core::json::read_string(item["type"], type) ||
        !core::json::read_u32(item["max_activations"], p.max_activations) ||
        !core::json::read_u32(item["duration_days"], p.duration_days)) {
      continue;  // not written by read_plans: skipped
    }
    if (auto t = core::parse_license_type(type)) p.type = *t;
    if (core::json::read_u32(item["offline_grace_hours"], grace)) p.offline_grace_hours = grace;
    dom::element meta;
    if (!item["metadata"].get(meta) && meta.is_object()) p.metadata_json = simdjson::minify(meta);
    out.push_back(std::move(p));
  }
  return out;
}

core::LicenseRecord license_from_plan(const ProductPlan& plan, std::int64_t now) {
  core::LicenseRecord l;
  l.type = plan.type;
  l.max_activations = plan.max_activations;
  l.created_at = now;
  l.expires_at = plan.duration_days == 0 ? 0 : now + std::int64_t{plan.duration_days} * 86'400;
  if (plan.offline_grace_hours) l.offline_grace_hours = *plan.offline_grace_hours;
  return l;
}

}  // namespace le::primary
