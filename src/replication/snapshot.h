// Replica snapshots in the JetStream Object Store: the primary's record key spaces as SST files
// (store::RecordStore::export_snapshot) at a stream sequence, kept as one object per snapshot,
// the newest few at a time; an empty or far-behind edge ingests the newest and follows the
// stream from the sequence after it (replication/consumer.h).
//
// An object is an archive: "LESNAP1\n", one line of manifest JSON
//   {"seq":N,"created":C,"files":[{"space":4,"name":"licenses","bytes":B,"entries":E},…]}
// where C is the change stream's creation time (ns): a snapshot of a stream since recreated
// numbers its sequences differently and is not followed from.
// then each file's bytes in manifest order. Objects are named
// "replica-<stream created, 20 digits>-<seq, 20 digits>": an edge looks only at snapshots of
// the stream it follows, and the newest of them sorts last. The object's SHA-256 (checked by
// ObjectStore::get) covers the whole.
//
// Thread-safety: functions use the ObjectStore they are given from the calling thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "replication/object_store.h"
#include "store/record_store.h"

namespace le::replication {

inline constexpr const char* kSnapshotBucket = "license-replica";

std::string snapshot_name(std::int64_t stream_created, std::uint64_t seq);
struct SnapshotId {
  std::int64_t stream_created = 0;
  std::uint64_t seq = 0;
};
std::optional<SnapshotId> snapshot_id(std::string_view name);

struct SnapshotSummary {
  std::uint64_t seq = 0;
  std::uint64_t bytes = 0;    // the object's size
  std::uint64_t entries = 0;  // records, all key spaces
  bool existed = false;       // a snapshot of this stream at this seq was there already
};

// Stores `files` (covering stream sequence `seq` of the stream created at `stream_created`) as
// a snapshot object — unless one of that stream and seq exists: never rewritten under a reader
// — then deletes snapshots of other incarnations of the stream and all but the newest `keep`
// of this one. Empty on success.
std::string publish_snapshot(ObjectStore& store, std::span<const store::SnapshotFile> files,
                             std::uint64_t seq, std::int64_t stream_created, std::size_t keep,
                             SnapshotSummary* summary = nullptr);

struct FetchedSnapshot {
  std::uint64_t seq = 0;
  std::int64_t stream_created = 0;
  std::uint64_t bytes = 0;
  std::vector<store::SnapshotFile> files;  // written into the directory given
};

// Downloads the newest snapshot of the stream created at `stream_created` whose seq is above
// `after` into `dir` (emptied first); one that cannot be read whole is skipped for the next
// older. nullopt with `error` empty when there is none (or no bucket); nullopt with `error`
// set when none could be read whole.
std::optional<FetchedSnapshot> fetch_newest_snapshot(ObjectStore& store,
                                                     std::int64_t stream_created,
                                                     std::uint64_t after, const std::string& dir,
                                                     std::string& error);

}  // namespace le::replication
