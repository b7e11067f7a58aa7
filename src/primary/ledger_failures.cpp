// The Ledger's transactions for failed validations (see ledger.h): the validation.failed events
// of one window of what edges reported.
#include <algorithm>

#include "primary/ledger.h"
#include "primary/refusal.h"
#include "primary/resource_json.h"

namespace le::primary {

std::size_t Ledger::record_validation_failures(std::span<const core::FailureCount> counts) {
  const std::int64_t now = clock_.now_seconds();
  const std::string_view type = to_string(WebhookEvent::kValidationFailed);
  std::size_t recorded = 0;
  while (!counts.empty()) {
    const auto batch = counts.first(std::min(counts.size(), kValidationFailuresPerTx));
    auto tx = store_.begin();
    for (const auto& c : batch) {
      // Deleted since it failed, or never there (a report from an edge with a stale replica).
      const auto l = must(tx.records().license(c.license));
      if (!l) continue;
      record_webhook(tx, WebhookEvent::kValidationFailed, *l, [&](std::uint64_t seq) {
        return webhook_event(seq, type, now, *l, c.machine_id, [&](core::JsonWriter& w) {
          w.field("count", c.count).field("reason", core::to_string(c.reason));
        });
      });
      ++recorded;
    }
    must(tx.commit());
    counts = counts.subspan(batch.size());
  }
  return recorded;
}

}  // namespace le::primary
