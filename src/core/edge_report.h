// The report an edge sends the primaries every flush interval (DESIGN §4 "Edge → primary
// reports"): failed validations for `validation.failed` (core/failure_report.h), usage counts,
// TKI authentication attempts and blacklist hits (core/usage.h), in one message on the
// JetStream reports stream.
//
// The message is binary: an edge that sees a new license on nearly every validation sends
// nearly one usage entry per validation, and writing those as JSON cost the edge more than
// counting them. Integers are unsigned LEB128 varints; a string is a varint length and its bytes.
//
//   message  = "LER" 0x01, header, section*, 0x00 (the end; nothing follows it)
//   header   = edge: string, boot: varint, seq: varint
//   section  = tag: byte, length: varint, entry* (length bytes in all)
//   entry    = length: varint, fields (bytes after the fields it knows a reader skips: a later
//              edge may add fields at an entry's end)
//   tags     = 1 ids: each entry is one id (an account's or a product's) that entries of the
//                  later sections name by position, so a message carries each once
//              2 failures: license digest (32 bytes), count, reason (byte), machine id
//              3 usage: account (id position), mode (byte: 0 live, 1 test), day, license,
//                  product (id position + 1; 0: none), validations, auths, last validated ms,
//                  machines, ips, hwids (each a sketch's encoding, core/hll.h; empty: none)
//              4 auths: at ms, account (id position), mode, outcome (byte, TkiStatus), license,
//                  product, version, ip, hwid, user agent
//              5 blacklist: account (id position), entry id, attempts, last ms
//   outcomes = a varint whose bit i says outcome i (UsageOutcome or TkiStatus order) has a count,
//              then those counts in that order; outcomes this reader does not know are skipped
//   A section of a tag this reader does not know is skipped; each tag comes at most once.
//
// (edge, boot, seq) names the message: `boot` is the edge process's start (unix ms), `seq`
// counts its messages from 1. It is the message's Nats-Msg-Id (report_msg_id), which the
// stream deduplicates within its window, and the primary remembers the last one applied per
// edge, so a message delivered twice — however late — counts once.
//
// Decoding validates every field and never throws: a message over kMaxReportBytes, cut short or
// with bytes after its end, a count of 0 or over kMaxUsageCount, an unknown reason or mode, an
// id over its bound or not UTF-8, a position outside the ids, or a sketch that does not decode is
// a DecodeError. A message that starts with JSON is read as the earlier JSON form
// (core/edge_report_json.h).
//
// Thread-safety: the functions are pure (the JSON decoder keeps per-thread parser state); an
// encoder is used by one thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/change_event.h"
#include "core/failure_report.h"
#include "core/usage.h"

namespace le::core {

inline constexpr std::size_t kMaxReportBytes = 1 << 20;
// Large enough for any one entry (a usage entry with three dense sketches is ~12 KB).
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
  // Writes an entry at the end of section `kind` with `write(std::string&)` (which may add ids
  // through id_position()), and takes it and the ids it added back when the message would be
  // too large.
  template <typename Write>
  bool append(std::size_t kind, Write&& write);
  // The position of `id` among the message's ids, added when new.
  std::uint32_t id_position(std::string_view id);
  // Takes back the ids added after the first `count`, which took ids_ past `bytes`.
  void rollback_ids(std::size_t count, std::size_t bytes);

  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::size_t max_bytes_;
  ReportHeader header_;
  std::string ids_;  // the ids section's entries
  std::unordered_map<std::string, std::uint32_t, IdHash, std::equal_to<>> id_positions_;
  std::vector<const std::string*> id_order_;  // keys of id_positions_, by position
  std::array<std::string, 4> sections_;       // failures, usage, auths, blacklist
  std::string scratch_;
  std::size_t entries_ = 0;
  std::size_t bytes_ = 0;  // of the message as it would be finished now (at most)
};

std::variant<EdgeReport, DecodeError> decode_edge_report(std::string_view json);

}  // namespace le::core
