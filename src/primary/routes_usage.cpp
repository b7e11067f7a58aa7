// Usage tracking and analytics (spec "Usage Tracking"; TKI "stored in the database for
// analytics"), from what the edges report (primary/usage_store.h), for the API key's account
// and mode:
//   GET /api/v1/licenses/{id}/usage?from=&to=        a license's daily series
//   GET /api/v1/analytics?from=&to=&product_id=&top=  account totals by day and outcome, and
//                                                     the most-validated licenses
//   GET /api/v1/auth-logs?license_id=&ip=&outcome=    TKI attempts, newest first, paginated
// Dates are UTC days, "YYYY-MM-DD"; `to` defaults to today, `from` to 29 days before `to`; a
// range is at most 366 days. Days before the retention period read as empty.
#include "core/time_format.h"
#include "primary/handlers.h"

namespace le::primary {
namespace {

using core::ApiError;
using core::JsonWriter;

constexpr std::int32_t kMaxRangeDays = 366;

// Query parameter `name`, percent-decoded (an IPv6 address arrives as 2001%3Adb8%3A%3A1);
// nullopt when absent. A malformed escape is a 400.
std::optional<std::string> query_text(const net::Request& req, std::string_view name) {
  auto raw = req.query(name);
  if (!raw) return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < raw->size(); ++i) {
    const char c = (*raw)[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else if (i + 2 < raw->size() && hex((*raw)[i + 1]) >= 0 && hex((*raw)[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex((*raw)[i + 1]) * 16 + hex((*raw)[i + 2])));
      i += 2;
    } else {
      bad_field(name, "has a malformed percent escape");
    }
  }
  return out;
}

struct DayRange {
  std::int32_t from = 0;
  std::int32_t to = 0;
};

DayRange day_range(const net::Request& req, std::int32_t today) {
  auto date = [&](std::string_view name) -> std::optional<std::int32_t> {
    auto v = req.query(name);
    if (!v) return std::nullopt;
    auto day = core::parse_date(*v);
    if (!day) bad_field(name, "must be a date, YYYY-MM-DD");
    return day;
  };
  DayRange r;
  r.to = date("to").value_or(today);
  r.from = date("from").value_or(std::max(0, r.to - 29));
  if (r.from > r.to) refuse({400, "VALIDATION_ERROR", "Field 'from' must not be after 'to'"});
  if (r.to - r.from + 1 > kMaxRangeDays) {
    refuse({400, "VALIDATION_ERROR", "A range covers at most 366 days"});
  }
  return r;
}

template <std::size_t N, typename Name>
void write_counts(JsonWriter& w, std::string_view key, const std::array<std::uint64_t, N>& c,
                  Name&& name) {
  std::uint64_t total = 0;
  for (auto n : c) total = core::saturating_sum(total, n);
  w.key(key).begin_object().field("total", total);
  for (std::size_t i = 0; i < N; ++i) {
    if (c[i] != 0) w.field(name(i), c[i]);
  }
  w.end_object();
}

void write_day_counts(JsonWriter& w, const UsageDay& d) {
  w.field("date", core::date_of_day(d.day));
  write_counts(w, "validations", d.validations,
               [](std::size_t i) { return to_string(static_cast<core::UsageOutcome>(i)); });
  write_counts(w, "auths", d.auths,
               [](std::size_t i) { return tki_outcome_name(static_cast<core::TkiStatus>(i)); });
  w.key("lastValidatedAt");
  if (d.last_validated_ms > 0) {
    w.value(core::iso8601(d.last_validated_ms / 1000));
  } else {
    w.null();
  }
}

UsageStore& usage_of(const RouteContext& ctx) {
  if (ctx.usage == nullptr) {
    refuse({503, "SERVICE_UNAVAILABLE", "Usage tracking is not enabled on this server"});
  }
  return *ctx.usage;
}

}  // namespace

void add_usage_routes(net::Router& router, const RouteContext& ctx) {
  using V = net::http::verb;
  router.add(
      V::get, "/api/v1/licenses/{}/usage",
      guarded([ctx](const net::Request& req, net::Response& res) {
        const auto key = authenticate(ctx, req);
        UsageStore& usage = usage_of(ctx);
        const DayRange range = day_range(req, usage.today());
        const auto license = ctx.ledger.own_license(key, req.params[0]);
        const auto days =
            must(usage.license_days(key.account_id, key.mode, license.id, range.from, range.to));
        const std::uint64_t threshold = usage.options().key_sharing_threshold;
        UsageDay sum;
        bool flagged = false;
        for (const auto& d : days) {
          for (std::size_t i = 0; i < d.validations.size(); ++i) {
            sum.validations[i] = core::saturating_sum(sum.validations[i], d.validations[i]);
          }
          for (std::size_t i = 0; i < d.auths.size(); ++i) {
            sum.auths[i] = core::saturating_sum(sum.auths[i], d.auths[i]);
          }
          sum.last_validated_ms = std::max(sum.last_validated_ms, d.last_validated_ms);
          sum.machines.merge(d.machines);
          sum.ips.merge(d.ips);
          sum.hwids.merge(d.hwids);
          flagged = flagged || d.key_sharing;
        }
        reply(res, 200, "data", [&](JsonWriter& w) {
          w.begin_object().field("licenseId", license.id).field("productId", license.product_id);
          w.field("from", core::date_of_day(range.from)).field("to", core::date_of_day(range.to));
          // Over the whole range: sums, and distinct counts of the union of the days.
          w.key("totals").begin_object();
          sum.day = range.from;
          write_counts(w, "validations", sum.validations,
                       [](std::size_t i) { return to_string(static_cast<core::UsageOutcome>(i)); });
          write_counts(w, "auths", sum.auths, [](std::size_t i) {
            return tki_outcome_name(static_cast<core::TkiStatus>(i));
          });
          w.key("distinct").begin_object();
          w.field("machines", sum.machines.estimate()).field("ips", sum.ips.estimate());
          w.field("hwids", sum.hwids.estimate()).end_object();
          w.key("lastValidatedAt");
          if (sum.last_validated_ms > 0) {
            w.value(core::iso8601(sum.last_validated_ms / 1000));
          } else {
            w.null();
          }
          w.end_object();
          w.key("keySharing").begin_object().field("flagged", flagged);
          w.field("threshold", threshold).key("days").begin_array();
          for (const auto& d : days) {
            if (d.key_sharing) w.value(core::date_of_day(d.day));
          }
          w.end_array().end_object();
          w.key("days").begin_array();
          for (const auto& d : days) {
            w.begin_object();
            write_day_counts(w, d);
            w.key("distinct").begin_object();
            w.field("machines", d.machines.estimate()).field("ips", d.ips.estimate());
            w.field("hwids", d.hwids.estimate()).end_object();
            w.field("keySharing", d.key_sharing);
            w.end_object();
          }
          w.end_array();
          // The distinct counts' relative standard error (core/hll.h).
          w.key("distinctError").raw("0.016");
          w.end_object();
        });
      }));

  router.add(
      V::get, "/api/v1/analytics", guarded([ctx](const net::Request& req, net::Response& res) {
        const auto key = authenticate(ctx, req);
        UsageStore& usage = usage_of(ctx);
        const DayRange range = day_range(req, usage.today());
        std::optional<std::string> product;
        if (auto p = req.query("product_id")) {
          if (p->empty() || p->size() > kMaxIdBytes) {
            bad_field("product_id", "must be a product id");
          }
          const auto found = must(ctx.ledger.store().records().product(*p));
          if (!found || !core::visible_to(key, *found)) {
            refuse(ApiError::not_found("Product not found"));
          }
          product = std::string(*p);
        }
        const std::size_t top = query_number(req, "top", 1, kMaxListItems, 10);
        const auto a =
            must(usage.account_usage(key.account_id, key.mode, range.from, range.to, product, top));
        reply(res, 200, "data", [&](JsonWriter& w) {
          w.begin_object();
          w.field("from", core::date_of_day(range.from));
          w.field("to", core::date_of_day(range.to));
          w.key("productId");
          if (product) {
            w.value(*product);
          } else {
            w.null();
          }
          UsageDay sum;
          for (const auto& d : a.days) {
            for (std::size_t i = 0; i < d.validations.size(); ++i) {
              sum.validations[i] = core::saturating_sum(sum.validations[i], d.validations[i]);
            }
            for (std::size_t i = 0; i < d.auths.size(); ++i) {
              sum.auths[i] = core::saturating_sum(sum.auths[i], d.auths[i]);
            }
          }
          w.key("totals").begin_object();
          write_counts(w, "validations", sum.validations,
                       [](std::size_t i) { return to_string(static_cast<core::UsageOutcome>(i)); });
          write_counts(w, "auths", sum.auths, [](std::size_t i) {
            return tki_outcome_name(static_cast<core::TkiStatus>(i));
          });
          w.end_object();
          w.key("days").begin_array();
          for (const auto& d : a.days) {
            w.begin_object();
            write_day_counts(w, d);
            w.end_object();
          }
          w.end_array();
          w.key("topLicenses").begin_array();
          for (const auto& l : a.top) {
            w.begin_object().field("licenseId", l.license_id);
            w.field("productId", l.product_id).field("validations", l.validations);
            w.end_object();
          }
          w.end_array().end_object();
        });
      }));

  router.add(V::get, "/api/v1/auth-logs",
             guarded([ctx](const net::Request& req, net::Response& res) {
               const auto key = authenticate(ctx, req);
               UsageStore& usage = usage_of(ctx);
               AuthLogFilter filter;
               if (auto l = query_text(req, "license_id")) {
                 if (l->empty() || l->size() > kMaxIdBytes) {
                   bad_field("license_id", "must be a license id");
                 }
                 filter.license_id = std::string(*l);
               }
               if (auto ip = query_text(req, "ip")) {
                 if (ip->empty() || ip->size() > core::kMaxAuthTextBytes) {
                   bad_field("ip", "must be an IP address");
                 }
                 filter.ip = std::string(*ip);
               }
               if (auto o = query_text(req, "outcome")) {
                 if (*o != "success" && *o != "failed") {
                   bad_field("outcome", "must be one of: success, failed");
                 }
                 filter.success = *o == "success";
               }
               const auto page = page_request(req);
               const auto logs =
                   must(usage.auth_logs(key.account_id, key.mode, filter, page.offset, page.limit));
               reply_page(res, page, logs.total, logs.records,
                          [](JsonWriter& w, const core::AuthAttempt& a) {
                            w.begin_object();
                            w.field("timestamp", core::iso8601(a.at_ms / 1000));
                            w.key("licenseId");
                            if (a.license_id.empty()) {
                              w.null();
                            } else {
                              w.value(a.license_id);
                            }
                            w.field("product", a.product).field("version", a.version);
                            w.field("ip", a.ip);
                            w.key("hwid");
                            if (a.hwid.empty()) {
                              w.null();
                            } else {
                              w.value(a.hwid);
                            }
                            w.key("userAgent");
                            if (a.user_agent.empty()) {
                              w.null();
                            } else {
                              w.value(a.user_agent);
                            }
                            const bool ok = a.status == core::TkiStatus::kSuccess;
                            w.field("outcome", ok ? "success" : "failed");
                            w.field("code", core::tki_outcome_name(a.status));
                            w.field("message", core::message(a.status));
                            w.end_object();
                          });
             }));
}

}  // namespace le::primary
