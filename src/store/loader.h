// Seeds a replica from a JSON-lines file of change-stream messages (one message per line, each
// with its "seq"), through the same apply path the replication consumer uses. Lines whose seq is
// not above the replica's applied_seq are skipped, so a reload resumes where it stopped.
// A line that does not decode is counted, reported and skipped; it never stops the load.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "store/record_store.h"

namespace le::store {

struct LoadStats {
  std::uint64_t lines = 0;
  std::uint64_t applied = 0;
  std::uint64_t stale = 0;    // decoded but not newer than the replica's version
  std::uint64_t already = 0;  // seq <= applied_seq before the load
  std::uint64_t undecodable = 0;
  std::vector<std::string> errors;  // the first few decode errors, "line N: why"
};

struct LoadOptions {
  std::size_t batch_size = 10000;
  std::size_t max_reported_errors = 20;
  std::size_t max_line_bytes = 1 << 20;
};

Result<LoadStats> load_jsonl(RecordStore& replica, std::istream& in, const LoadOptions& opts = {});

// Writes every stored record (tombstones included) as one change-stream message per line, in
// key-space and key order, without "seq": for comparing two stores record by record.
Result<std::uint64_t> dump_jsonl(const RecordStore& replica, std::ostream& out);

// The --dump and --digest of both binaries: every record as dump_jsonl() writes it (dump), or
// else one line with the hex SHA-256 over every record (RecordStore::content_digest()).
Result<void> print_records(const RecordStore& replica, bool dump, std::ostream& out);

}  // namespace le::store
