// Edges' failed-validation reports as the primary decodes them: what decodes has counts in
// range, a known reason and bounded machine ids, re-encodes (in one report or split by size)
// to reports that decode to the same entries, and sums into a tally without overflow; a
// refusal says why.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/failure_report.h"
#include "fuzz_check.h"

using namespace le::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = decode_failure_report(std::string_view(reinterpret_cast<const char*>(data), size));
  if (auto* e = std::get_if<DecodeError>(&r)) {
    FUZZ_CHECK(!e->message.empty());
    return 0;
  }
  const auto& failures = std::get<FailureReport>(r).failures;
  FailureTally tally(failures.size());
  for (const auto& c : failures) {
    FUZZ_CHECK(c.count >= 1 && c.count <= kMaxFailureCount);
    FUZZ_CHECK(to_string(c.reason).size() > 0);
    FUZZ_CHECK(c.machine_id.size() <= kMaxFailureMachineIdBytes);
    FUZZ_CHECK(tally.add(c));
  }
  FUZZ_CHECK(tally.total() <= kMaxFailureCount);
  FUZZ_CHECK(tally.size() <= failures.size());
  // Re-encoded whole, and split into small reports: the same entries, in order.
  for (const std::size_t max_bytes : {kMaxFailureReportBytes, std::size_t{300}}) {
    std::vector<FailureCount> again;
    std::string text;
    for (std::span<const FailureCount> rest(failures); !rest.empty();) {
      const std::size_t n = encode_failure_report(rest, max_bytes, text);
      FUZZ_CHECK(n >= 1 && n <= rest.size());
      auto d = decode_failure_report(text);
      FUZZ_CHECK(std::holds_alternative<FailureReport>(d));
      for (auto& c : std::get<FailureReport>(d).failures) again.push_back(std::move(c));
      rest = rest.subspan(n);
    }
    FUZZ_CHECK(again == failures);
  }
  return 0;
}
