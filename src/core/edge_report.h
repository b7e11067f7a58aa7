// The report an edge sends the primaries every flush interval (DESIGN §4 "Edge → primary
// reports"): failed validations for `validation.failed` (core/failure_report.h), usage counts,
// TKI authentication attempts and blacklist hits (core/usage.h), in one JSON message on the
// JetStream reports stream:
//
//   {"edge":"edge-1","boot":1763856000000,"seq":7,
//    "failures":[{"license":"<hex>","count":2,"reason":"EXPIRED","machineId":"m1"},…],
//    "usage":[{"account":"acc_…","mode":"live","license":"lic_…","product":"prod_…",
//              "day":20415,"validations":{"VALID":3,"EXPIRED":1},"auths":{"SUCCESS":1},
//              "lastValidatedMs":1763856001000,"machines":"<base64 sketch>","ips":"…",
//              "hwids":"…"},…],
//    "auths":[{"atMs":…,"account":"acc_…","mode":"live","license":"lic_…","product":"App",
//              "version":"1.0","ip":"203.0.113.9","hwid":"…","userAgent":"MyApp/1.0",
//              "outcome":"SUCCESS"},…],
//    "blacklist":[{"account":"acc_…","entry":"bl_…","attempts":4,"lastMs":…},…]}
//
// (edge, boot, seq) names the message: `boot` is the edge process's start (unix ms), `seq`
// counts its messages from 1. It is the message's Nats-Msg-Id (report_msg_id), which the
// stream deduplicates within its window, and the primary remembers the last one applied per
// edge, so a message delivered twice — however late — counts once.
//
// Decoding validates every field and never throws: a message over kMaxReportBytes, a field of
// the wrong type, a count over kMaxUsageCount, an unknown reason, mode or outcome, an id over
// its bound or a sketch that does not decode is a DecodeError. Fields it does not know are
// ignored, so a newer edge can add some.
//
// Thread-safety: the functions are pure (the decoder keeps per-thread parser state); an encoder
// is used by one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/change_event.h"
#include "core/failure_report.h"
#include "core/usage.h"

namespace le::core {

inline constexpr std::size_t kMaxReportBytes = 1 << 20;
// Large enough for any one entry (a usage entry with three dense sketches is ~17 KB).
inline constexpr std::size_t kMinReportBytes = 64 * 1024;

struct ReportHeader {
  std::string edge;  // valid_edge_id()
  std::uint64_t boot = 0;
  std::uint64_t seq = 0;

  bool operator==(const ReportHeader&) const = default;
};

struct EdgeReport {
  ReportHeader header;
  std::vector<FailureCount> failures;
  std::vector<UsageCount> usage;
  std::vector<AuthAttempt> auths;
  std::vector<BlacklistHit> blacklist;

  bool empty() const {
    return failures.empty() && usage.empty() && auths.empty() && blacklist.empty();
  }
};

// "<edge>-<boot>-<seq>".
std::string report_msg_id(const ReportHeader& h);

// Builds messages of at most `max_bytes` (clamped to [kMinReportBytes, kMaxReportBytes]).
class ReportEncoder {
 public:
  explicit ReportEncoder(std::size_t max_bytes);

  // Starts a message (what was added before is discarded).
  void begin(ReportHeader header);
  // Adds an entry; false, and nothing added, when it would make the message too large and the
  // message holds something already (then finish it and begin the next).
  bool add(const FailureCount& c);
  bool add(const UsageCount& c);
  bool add(const AuthAttempt& a);
  bool add(const BlacklistHit& h);
  std::size_t entries() const { return entries_; }
  // The message; the encoder is empty afterwards.
  void finish(std::string& out);

 private:
  // Writes an entry at the end of `section` with `write(JsonWriter&)`, and takes it back when
  // the message would be too large.
  template <typename Write>
  bool append(std::string& section, Write&& write);
  std::size_t max_bytes_;
  ReportHeader header_;
  std::string failures_, usage_, auths_, blacklist_, scratch_;
  std::size_t entries_ = 0;
  std::size_t bytes_ = 0;  // of the message as it would be finished now
};

std::variant<EdgeReport, DecodeError> decode_edge_report(std::string_view json);

}  // namespace le::core
