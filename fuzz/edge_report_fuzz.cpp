// Edges' reports as the primary decodes them, in the binary form and the earlier JSON one: what
// decodes has counts in range, known reasons and outcomes, bounded UTF-8 ids and text, sketches
// that re-encode to themselves; it re-encodes (whole, or split by size) to reports that decode
// to the same entries; a refusal says why.
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/edge_report.h"
#include "fuzz_check.h"

using namespace le::core;

namespace {

bool utf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

template <typename T>
void append(std::vector<T>& to, std::vector<T>& from) {
  for (auto& e : from) to.push_back(std::move(e));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = decode_edge_report(std::string_view(reinterpret_cast<const char*>(data), size));
  if (auto* e = std::get_if<DecodeError>(&r)) {
    FUZZ_CHECK(!e->message.empty());
    return 0;
  }
  const auto& report = std::get<EdgeReport>(r);
  FUZZ_CHECK(valid_edge_id(report.header.edge) && report.header.seq >= 1);
  for (const auto& c : report.failures) {
    FUZZ_CHECK(c.count >= 1 && c.count <= kMaxFailureCount);
    FUZZ_CHECK(c.machine_id.size() <= kMaxFailureMachineIdBytes && utf8(c.machine_id));
  }
  for (const auto& u : report.usage) {
    FUZZ_CHECK(!u.account_id.empty() && u.account_id.size() <= kMaxUsageIdBytes);
    FUZZ_CHECK(u.license_id.size() <= kMaxUsageIdBytes && u.product_id.size() <= kMaxUsageIdBytes);
    FUZZ_CHECK(utf8(u.account_id) && utf8(u.license_id) && utf8(u.product_id));
    for (auto n : u.validations) FUZZ_CHECK(n <= kMaxUsageCount);
    for (auto n : u.auths) FUZZ_CHECK(n <= kMaxUsageCount);
    for (const Hll* h : {&u.machines, &u.ips, &u.hwids}) {
      std::string bytes;
      h->encode(bytes);
      auto back = Hll::decode(bytes);
      FUZZ_CHECK(back && *back == *h);
      (void)h->estimate();
    }
    UsageCount sum = u;
    sum.merge(u);  // sums saturate, unions are idempotent
    FUZZ_CHECK(sum.machines == u.machines);
  }
  for (const auto& a : report.auths) {
    FUZZ_CHECK(a.user_agent.size() <= kMaxAuthTextBytes && a.ip.size() <= kMaxAuthTextBytes);
    for (const std::string* s :
         {&a.account_id, &a.license_id, &a.product, &a.version, &a.ip, &a.hwid, &a.user_agent}) {
      FUZZ_CHECK(utf8(*s));
    }
  }
  for (const auto& h : report.blacklist) {
    FUZZ_CHECK(h.attempts >= 1 && !h.entry_id.empty() && utf8(h.entry_id) && utf8(h.account_id));
  }
  // Re-encoded whole, and split into small messages: the same entries, in order.
  for (const std::size_t max_bytes : {kMaxReportBytes, kMinReportBytes}) {
    ReportEncoder enc(max_bytes);
    EdgeReport again;
    std::uint64_t seq = 1;
    enc.begin({report.header.edge, report.header.boot, seq});
    std::string text;
    auto seal = [&] {
      enc.finish(text);
      auto d = decode_edge_report(text);
      FUZZ_CHECK(std::holds_alternative<EdgeReport>(d));
      auto& part = std::get<EdgeReport>(d);
      FUZZ_CHECK(part.header.seq == seq);
      append(again.failures, part.failures);
      append(again.usage, part.usage);
      append(again.auths, part.auths);
      append(again.blacklist, part.blacklist);
      enc.begin({report.header.edge, report.header.boot, ++seq});
    };
    auto add = [&](const auto& e) {
      if (!enc.add(e)) {
        seal();
        FUZZ_CHECK(enc.add(e));
      }
    };
    for (const auto& e : report.failures) add(e);
    for (const auto& e : report.usage) add(e);
    for (const auto& e : report.auths) add(e);
    for (const auto& e : report.blacklist) add(e);
    seal();
    FUZZ_CHECK(again.failures == report.failures && again.usage == report.usage &&
               again.auths == report.auths && again.blacklist == report.blacklist);
  }
  return 0;
}
