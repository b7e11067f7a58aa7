// What the record store's translation units share (record_store.cpp, record_snapshot.cpp).
#pragma once

#include <rocksdb/options.h>
#include <rocksdb/status.h>

#include <string>
#include <string_view>

#include "store/record_store.h"

namespace le::store::detail {

inline constexpr std::string_view kAppliedSeqKey = "applied_seq";
// Column family names of the record key spaces, in KeySpace order.
inline constexpr const char* kCfNames[] = {"accounts",      "api_keys", "products",
                                           "product_names", "licenses", "blacklist"};

// Reading a whole key space once (the memory view's load, snapshots, digests): no block cache
// filling, large readahead.
inline rocksdb::ReadOptions scan_options() {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // read once; the block cache stays for writes and lookups
  ro.readahead_size = 2u << 20;
  return ro;
}

// A write with the store's WAL setting.
inline rocksdb::WriteOptions write_options(bool wal) {
  rocksdb::WriteOptions wo;
  wo.disableWAL = !wal;
  return wo;
}

inline StoreError to_error(const rocksdb::Status& s, std::string_view what) {
  return StoreError{std::string(what) + ": " + s.ToString()};
}

}  // namespace le::store::detail
