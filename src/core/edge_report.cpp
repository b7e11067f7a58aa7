#include "core/edge_report.h"

#include <simdjson.h>

#include <algorithm>
#include <limits>

#include "core/edge_report_json.h"
#include "core/varint.h"

namespace le::core {
namespace {

constexpr std::string_view kMagic("LER\x01", 4);
constexpr std::uint8_t kEnd = 0;
enum Tag : std::uint8_t { kIds = 1, kFailures = 2, kUsage = 3, kAuths = 4, kBlacklist = 5 };
constexpr std::size_t kFirstEntryTag = kFailures;  // sections_[tag - kFirstEntryTag]
constexpr std::uint32_t kEntryTags =
    (1u << kFailures) | (1u << kUsage) | (1u << kAuths) | (1u << kBlacklist);
constexpr std::uint64_t kMaxDay = 2'932'896;  // 9999-12-31
constexpr std::uint64_t kMaxTimeMs = std::numeric_limits<std::int64_t>::max();

// ---- writing ------------------------------------------------------------------------------------

void put_byte(std::string& out, std::uint8_t b) { out.push_back(static_cast<char>(b)); }

// Starts an entry: a one-byte length for now.
std::size_t begin_entry(std::string& out) {
  out.push_back(0);
  return out.size();
}

// Ends the entry begun at `start`: its length, in as many bytes as it needs.
void end_entry(std::string& out, std::size_t start) {
  const std::size_t length = out.size() - start;
  if (length < 0x80) {
    out[start - 1] = static_cast<char>(length);
    return;
  }
  std::string prefix;  // 2 or 3 bytes: no allocation
  put_varint(prefix, length);
  out.replace(start - 1, 1, prefix);
}

template <std::size_t N, typename Count>
void put_outcomes(std::string& out, const std::array<Count, N>& counts) {
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < N; ++i) mask |= std::uint64_t{counts[i] != 0} << i;
  put_varint(out, mask);
  for (std::size_t i = 0; i < N; ++i) {
    if (counts[i] != 0) put_varint(out, counts[i]);
  }
}

void put_sketch(std::string& out, const Hll& h, std::string& scratch) {
  if (h.empty()) return put_byte(out, 0);
  scratch.clear();
  h.encode(scratch);
  put_bytes(out, scratch);
}

void put_mode(std::string& out, Mode m) { put_byte(out, m == Mode::kTest ? 1 : 0); }

// ---- reading ------------------------------------------------------------------------------------

// Reads an edge's bytes, and text as JSON would carry it: UTF-8.
class Reader : public VarintReader {
 public:
  using VarintReader::VarintReader;
  bool text(std::size_t max, std::string_view& out) {
    return string(max, out) && simdjson::validate_utf8(out.data(), out.size());
  }
  bool text(std::size_t max, std::string& out) {
    std::string_view s;
    if (!text(max, s)) return false;
    out.assign(s);
    return true;
  }
};

bool read_mode(Reader& r, Mode& out) {
  std::uint8_t b;
  if (!r.byte(b) || b > 1) return false;
  out = b == 1 ? Mode::kTest : Mode::kLive;
  return true;
}

bool read_time_ms(Reader& r, std::int64_t& out) {
  std::uint64_t v;
  if (!r.varint_at_most(kMaxTimeMs, v)) return false;
  out = static_cast<std::int64_t>(v);
  return true;
}

bool read_count(Reader& r, std::uint64_t& out) {
  return r.varint_at_most(kMaxUsageCount, out) && out >= 1;
}

// outcomes: a mask, then a count for each bit set; bits past N are outcomes a later edge knows.
template <std::size_t N>
bool read_outcomes(Reader& r, std::array<std::uint64_t, N>& out) {
  std::uint64_t mask;
  if (!r.varint(mask)) return false;
  for (std::size_t i = 0; mask != 0; ++i, mask >>= 1) {
    std::uint64_t n;
    if ((mask & 1) == 0) continue;
    if (!read_count(r, n)) return false;
    if (i < N) out[i] = n;
  }
  return true;
}

bool read_sketch(Reader& r, Hll& out) {
  std::string_view s;
  if (!r.string(Hll::kMaxEncodedBytes, s)) return false;
  if (s.empty()) return true;
  auto h = Hll::decode(s);
  if (h) out = std::move(*h);
  return h.has_value();
}

// An id named by its position (`plus_one`: position + 1, 0 naming no id).
bool read_id_ref(Reader& r, const std::vector<std::string_view>& ids, std::string& out,
                 bool plus_one = false) {
  std::uint64_t i;
  if (!r.varint(i)) return false;
  if (plus_one) {
    if (i == 0) {
      out.clear();
      return true;
    }
    --i;
  }
  if (i >= ids.size()) return false;
  out.assign(ids[static_cast<std::size_t>(i)]);
  return true;
}

bool read_failure(Reader& r, const std::vector<std::string_view>&, FailureCount& c) {
  std::string_view digest;
  std::uint8_t reason;
  if (!r.bytes(c.license.size(), digest) || !r.varint_at_most(kMaxFailureCount, c.count) ||
      c.count == 0 || !r.byte(reason) || reason >= kFailureReasonCount ||
      !r.text(kMaxFailureMachineIdBytes, c.machine_id)) {
    return false;
  }
  std::copy(digest.begin(), digest.end(), reinterpret_cast<char*>(c.license.data()));
  c.reason = static_cast<FailureReason>(reason);
  return true;
}

bool read_usage(Reader& r, const std::vector<std::string_view>& ids, UsageCount& c) {
  std::uint64_t day;
  if (!read_id_ref(r, ids, c.account_id) || !read_mode(r, c.mode) ||
      !r.varint_at_most(kMaxDay, day) || !r.text(kMaxUsageIdBytes, c.license_id) ||
      !read_id_ref(r, ids, c.product_id, true) || !read_outcomes(r, c.validations) ||
      !read_outcomes(r, c.auths) || !read_time_ms(r, c.last_validated_ms)) {
    return false;
  }
  c.day = static_cast<std::int32_t>(day);
  return read_sketch(r, c.machines) && read_sketch(r, c.ips) && read_sketch(r, c.hwids);
}

bool read_auth(Reader& r, const std::vector<std::string_view>& ids, AuthAttempt& a) {
  std::uint8_t status;
  if (!read_time_ms(r, a.at_ms) || !read_id_ref(r, ids, a.account_id) || !read_mode(r, a.mode) ||
      !r.byte(status) || status >= kTkiOutcomeCount) {
    return false;
  }
  a.status = static_cast<TkiStatus>(status);
  if (!r.text(kMaxUsageIdBytes, a.license_id)) return false;
  for (std::string* text : {&a.product, &a.version, &a.ip, &a.hwid, &a.user_agent}) {
    if (!r.text(kMaxAuthTextBytes, *text)) return false;
  }
  return true;
}

bool read_hit(Reader& r, const std::vector<std::string_view>& ids, BlacklistHit& h) {
  return read_id_ref(r, ids, h.account_id) && r.text(kMaxUsageIdBytes, h.entry_id) &&
         !h.entry_id.empty() && read_count(r, h.attempts) && read_time_ms(r, h.last_ms);
}

// A section's entries, each read by `read` from its own bytes (what it leaves is skipped).
template <typename T, typename Read>
bool read_entries(std::string_view section, const std::vector<std::string_view>& ids,
                  std::vector<T>& out, Read&& read) {
  Reader r(section);
  while (!r.empty()) {
    std::string_view bytes;
    if (!r.string(section.size(), bytes)) return false;
    Reader entry(bytes);
    T t;
    if (!read(entry, ids, t)) return false;
    out.push_back(std::move(t));
  }
  return true;
}

bool read_ids(std::string_view section, std::vector<std::string_view>& ids) {
  Reader r(section);
  while (!r.empty()) {
    std::string_view id;
    if (!r.text(kMaxUsageIdBytes, id) || id.empty()) return false;
    ids.push_back(id);
  }
  return true;
}

std::variant<EdgeReport, DecodeError> decode_binary(std::string_view bytes) {
  Reader r(bytes.substr(kMagic.size()));
  EdgeReport report;
  std::string_view edge;
  if (!r.string(kMaxEdgeIdBytes, edge) || !valid_edge_id(edge)) return DecodeError{"bad edge id"};
  report.header.edge.assign(edge);
  if (!r.varint(report.header.boot) || !r.varint(report.header.seq) || report.header.seq == 0) {
    return DecodeError{"bad boot or sequence"};
  }
  std::vector<std::string_view> ids;
  std::uint32_t seen = 0;
  for (;;) {
    std::uint8_t tag;
    if (!r.byte(tag)) return DecodeError{"cut short: no end"};
    if (tag == kEnd) break;
    std::string_view section;
    if (!r.string(bytes.size(), section)) {
      return DecodeError{"cut short: a section overruns the message"};
    }
    if (tag < 32) {
      if (seen & (1u << tag)) return DecodeError{"a section given twice"};
      seen |= 1u << tag;
    }
    bool ok = true;
    const char* what = "";
    switch (tag) {
      case kIds:
        // The entries name ids that came before them.
        if (seen & kEntryTags) return DecodeError{"ids after the entries naming them"};
        ok = read_ids(section, ids);
        what = "bad id";
        break;
      case kFailures:
        ok = read_entries(section, ids, report.failures, read_failure);
        what = "bad failure entry";
        break;
      case kUsage:
        ok = read_entries(section, ids, report.usage, read_usage);
        what = "bad usage entry";
        break;
      case kAuths:
        ok = read_entries(section, ids, report.auths, read_auth);
        what = "bad auth record";
        break;
      case kBlacklist:
        ok = read_entries(section, ids, report.blacklist, read_hit);
        what = "bad blacklist hit";
        break;
      default:
        break;  // a section a later edge sends
    }
    if (!ok) return DecodeError{what};
  }
  if (!r.empty()) return DecodeError{"bytes after the end"};
  return report;
}

}  // namespace

std::string report_msg_id(const ReportHeader& h) {
  return h.edge + "-" + std::to_string(h.boot) + "-" + std::to_string(h.seq);
}

// ---- ReportEncoder ------------------------------------------------------------------------------

ReportEncoder::ReportEncoder(std::size_t max_bytes)
    : max_bytes_(std::clamp(max_bytes, kMinReportBytes, kMaxReportBytes)) {}

void ReportEncoder::begin(ReportHeader header) {
  header_ = std::move(header);
  ids_.clear();
  id_positions_.clear();
  id_order_.clear();
  for (auto& s : sections_) s.clear();
  entries_ = 0;
  // Magic, edge id, boot and seq, each section's tag and length (at most 3 bytes: 1 MiB < 2^21),
  // the end.
  bytes_ = kMagic.size() + 1 + header_.edge.size() + 20 + (1 + sections_.size()) * 4 + 1;
}

std::uint32_t ReportEncoder::id_position(std::string_view id) {
  if (auto it = id_positions_.find(id); it != id_positions_.end()) return it->second;
  const auto position = static_cast<std::uint32_t>(id_order_.size());
  auto [it, added] = id_positions_.emplace(std::string(id), position);
  id_order_.push_back(&it->first);
  put_bytes(ids_, id);
  return position;
}

void ReportEncoder::rollback_ids(std::size_t count, std::size_t bytes) {
  ids_.resize(bytes);
  while (id_order_.size() > count) {
    id_positions_.erase(*id_order_.back());
    id_order_.pop_back();
  }
}

template <typename Write>
bool ReportEncoder::append(std::size_t kind, Write&& write) {
  std::string& section = sections_[kind - kFirstEntryTag];
  const std::size_t mark = section.size(), ids_mark = ids_.size(), ids = id_order_.size();
  const std::size_t start = begin_entry(section);
  write(section);
  end_entry(section, start);
  const std::size_t added = section.size() - mark + ids_.size() - ids_mark;
  if (entries_ > 0 && bytes_ + added > max_bytes_) {
    section.resize(mark);
    rollback_ids(ids, ids_mark);
    return false;
  }
  bytes_ += added;
  ++entries_;
  return true;
}

bool ReportEncoder::add(const FailureCount& c) {
  return append(kFailures, [&](std::string& out) {
    out.append(reinterpret_cast<const char*>(c.license.data()), c.license.size());
    put_varint(out, c.count);
    put_byte(out, static_cast<std::uint8_t>(c.reason));
    put_bytes(out, c.machine_id);
  });
}

bool ReportEncoder::add(const UsageCount& c) {
  return append(kUsage, [&](std::string& out) {
    put_varint(out, id_position(c.account_id));
    put_mode(out, c.mode);
    put_varint(out, static_cast<std::uint32_t>(c.day));
    put_bytes(out, c.license_id);
    put_varint(out, c.product_id.empty() ? 0 : id_position(c.product_id) + 1);
    put_outcomes(out, c.validations);
    put_outcomes(out, c.auths);
    put_varint(out, static_cast<std::uint64_t>(c.last_validated_ms));
    put_sketch(out, c.machines, scratch_);
    put_sketch(out, c.ips, scratch_);
    put_sketch(out, c.hwids, scratch_);
  });
}

bool ReportEncoder::add(const AuthAttempt& a) {
  return append(kAuths, [&](std::string& out) {
    put_varint(out, static_cast<std::uint64_t>(a.at_ms));
    put_varint(out, id_position(a.account_id));
    put_mode(out, a.mode);
    put_byte(out, static_cast<std::uint8_t>(a.status));
    for (std::string_view s :
         {std::string_view(a.license_id), std::string_view(a.product), std::string_view(a.version),
          std::string_view(a.ip), std::string_view(a.hwid), std::string_view(a.user_agent)}) {
      put_bytes(out, s);
    }
  });
}

bool ReportEncoder::add(const BlacklistHit& h) {
  return append(kBlacklist, [&](std::string& out) {
    put_varint(out, id_position(h.account_id));
    put_bytes(out, h.entry_id);
    put_varint(out, h.attempts);
    put_varint(out, static_cast<std::uint64_t>(h.last_ms));
  });
}

void ReportEncoder::finish(std::string& out) {
  out.clear();
  out.reserve(bytes_);
  out.append(kMagic);
  put_bytes(out, header_.edge);
  put_varint(out, header_.boot);
  put_varint(out, header_.seq);
  auto section = [&](std::uint8_t tag, const std::string& bytes) {
    if (bytes.empty()) return;
    put_byte(out, tag);
    put_varint(out, bytes.size());
    out.append(bytes);
  };
  section(kIds, ids_);
  for (std::size_t i = 0; i < sections_.size(); ++i) {
    section(static_cast<std::uint8_t>(kFirstEntryTag + i), sections_[i]);
  }
  put_byte(out, kEnd);
  begin(ReportHeader{});
}

// ---- decoding -----------------------------------------------------------------------------------

std::variant<EdgeReport, DecodeError> decode_edge_report(std::string_view bytes) {
  if (bytes.size() > kMaxReportBytes) return DecodeError{"report too large"};
  if (bytes.substr(0, kMagic.size()) == kMagic) return decode_binary(bytes);
  return decode_edge_report_json(bytes);
}

}  // namespace le::core
