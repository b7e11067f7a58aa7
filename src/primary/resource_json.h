// The management API's answers: each resource as the spec shows it, the {"<name>": …} and
// paginated envelopes, and the webhook event recorded with an activation. (The license object
// is core's, core/license_json.h, as the edge shows it too.) Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "core/json_writer.h"
#include "core/model.h"
#include "net/http.h"
#include "primary/request_fields.h"

namespace le::primary {

void write_product(core::JsonWriter& w, const core::ProductRecord& p);
void write_account(core::JsonWriter& w, const core::AccountRecord& a);
// `key`: the plaintext, shown once when the key is issued.
void write_api_key(core::JsonWriter& w, const core::ApiKeyRecord& k, std::string_view key = {});
// With the refused attempts edges counted against it (TKI "connection attempts are counted").
void write_blacklist(core::JsonWriter& w, const core::BlacklistEntry& b, std::uint64_t attempts = 0,
                     std::int64_t last_attempt_ms = 0);

// The webhook event (spec "Webhooks") of a license: {"id","event","timestamp","data":{licenseId,
// machineId (activations; omitted when empty), productId}}.
std::string webhook_event(std::uint64_t seq, std::string_view type, std::int64_t now,
                          const core::LicenseRecord& l, std::string_view machine_id);
// The same with more fields in "data", after those, written by `more` (validation.failed:
// count and reason).
std::string webhook_event(std::uint64_t seq, std::string_view type, std::int64_t now,
                          const core::LicenseRecord& l, std::string_view machine_id,
                          const std::function<void(core::JsonWriter&)>& more);

// {"<name>": …} with `inner` writing the value.
template <typename F>
void reply(net::Response& res, unsigned status, std::string_view name, F&& inner) {
  res.status = status;
  res.body.clear();
  core::JsonWriter w(res.body);
  w.begin_object().key(name);
  std::forward<F>(inner)(w);
  w.end_object();
}

// {"data":[…],"pagination":{page, limit, total, totalPages, hasMore}}.
template <typename Items, typename F>
void reply_page(net::Response& res, const PageRequest& p, std::uint64_t total, const Items& items,
                F&& write_item) {
  res.status = 200;
  res.body.clear();
  core::JsonWriter w(res.body);
  w.begin_object().key("data").begin_array();
  for (const auto& item : items) write_item(w, item);
  w.end_array();
  w.key("pagination").begin_object();
  w.field("page", p.page).field("limit", p.limit).field("total", total);
  w.field("totalPages", (total + p.limit - 1) / p.limit);
  w.field("hasMore", p.offset + items.size() < total);
  w.end_object().end_object();
}

}  // namespace le::primary
