// What the record store's translation units share (record_store.cpp, record_snapshot.cpp).
#pragma once

#include <rocksdb/status.h>

#include <string>
#include <string_view>

#include "store/record_store.h"

namespace le::store::detail {

inline constexpr std::string_view kAppliedSeqKey = "applied_seq";
// Column family names of the record key spaces, in KeySpace order.
inline constexpr const char* kCfNames[] = {"accounts",      "api_keys", "products",
                                           "product_names", "licenses", "blacklist"};

inline StoreError to_error(const rocksdb::Status& s, std::string_view what) {
  return StoreError{std::string(what) + ": " + s.ToString()};
}

}  // namespace le::store::detail
