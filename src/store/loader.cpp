#include "store/loader.h"

#include "core/digest.h"

namespace le::store {

Result<LoadStats> load_jsonl(RecordStore& replica, std::istream& in, const LoadOptions& opts) {
  LoadStats stats;
  auto start = replica.applied_seq();
  if (!start) return start.error();
  std::vector<core::ChangeEvent> batch;
  batch.reserve(opts.batch_size);
  std::uint64_t last_seq = *start;

  auto flush = [&]() -> Result<void> {
    auto r = replica.apply(batch, last_seq);
    if (!r) return r.error();
    stats.applied += r->applied;
    stats.stale += r->stale;
    batch.clear();
    return {};
  };
  auto reject = [&](std::string why) {
    ++stats.undecodable;
    if (stats.errors.size() < opts.max_reported_errors) {
      stats.errors.push_back("line " + std::to_string(stats.lines) + ": " + why);
    }
  };

  std::string line;
  while (std::getline(in, line)) {
    ++stats.lines;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (line.size() > opts.max_line_bytes) {
      reject("line too long");
      continue;
    }
    auto decoded = core::decode_change_event(line);
    if (auto* err = std::get_if<core::DecodeError>(&decoded)) {
      reject(err->message);
      continue;
    }
    auto& ev = std::get<core::ChangeEvent>(decoded);
    // Without an explicit seq, lines are numbered after the replica's current sequence.
    if (ev.seq == 0) ev.seq = last_seq + 1;
    if (ev.seq <= *start) {
      ++stats.already;
      continue;
    }
    if (ev.seq <= last_seq) {
      reject("seq " + std::to_string(ev.seq) + " is not increasing");
      continue;
    }
    last_seq = ev.seq;
    batch.push_back(std::move(ev));
    if (batch.size() >= opts.batch_size) {
      if (auto r = flush(); !r) return r.error();
    }
  }
  if (auto r = flush(); !r) return r.error();
  return stats;
}

Result<std::uint64_t> dump_jsonl(const RecordStore& replica, std::ostream& out) {
  std::uint64_t n = 0;
  std::optional<StoreError> failure;
  for (KeySpace space : {KeySpace::kAccount, KeySpace::kApiKey, KeySpace::kProduct,
                         KeySpace::kLicense, KeySpace::kBlacklist}) {
    auto scanned = replica.scan(space, [&](std::string_view key, std::string_view) {
      auto ev = replica.stored_event(space, key);
      if (!ev) {
        failure = ev.error();
        return false;
      }
      if (*ev) {
        out << core::encode_change_event(**ev) << '\n';
        ++n;
      }
      return true;
    });
    if (!scanned) return scanned.error();
    if (failure) return *failure;
  }
  return n;
}

Result<void> print_records(const RecordStore& replica, bool dump, std::ostream& out) {
  if (dump) {
    auto n = dump_jsonl(replica, out);
    if (!n) return n.error();
    return {};
  }
  auto d = replica.content_digest();
  if (!d) return d.error();
  out << core::to_hex(*d) << '\n';
  return {};
}

}  // namespace le::store
