#include "cache/record_cache.h"

#include <cstring>

namespace le::cache {

RecordCache::RecordCache(const store::RecordStore& replica, const InvalidationStamps& stamps,
                         CacheCapacity capacity)
    : replica_(replica),
      stamps_(stamps),
      licenses_(capacity.licenses),
      api_keys_(capacity.others),
      accounts_(capacity.others),
      products_(capacity.others),
      blacklist_(capacity.others) {
  if (capacity.license_doorkeeper) license_admission_.emplace();
}

template <typename T>
const Ptr<T>* RecordCache::fresh(ClockCache<Ptr<T>>& cache, store::KeySpace space,
                                 std::string_view key, std::uint64_t& stamp) {
  // The stamp is read before the store: an apply that lands in between leaves an entry filled
  // afterwards with an outdated stamp, so it is never served.
  stamp = stamps_.stamp(space, key);
  const Ptr<T>* hit = cache.find(key, stamp);
  bump(hit != nullptr ? hits_ : misses_);
  return hit;
}

template <typename T, typename Load>
store::Result<Ptr<T>> RecordCache::fill(ClockCache<Ptr<T>>& cache, std::string_view key,
                                        std::uint64_t stamp, Load load) {
  auto loaded = load();
  if (!loaded) {
    bump(store_errors_);
    return loaded.error();
  }
  Ptr<T> value = *loaded ? std::make_shared<const T>(std::move(**loaded)) : nullptr;
  cache.put(key, stamp, value);
  return value;
}

template <typename T, typename Load>
store::Result<Ptr<T>> RecordCache::lookup(ClockCache<Ptr<T>>& cache, store::KeySpace space,
                                          std::string_view key, Load load) {
  std::uint64_t stamp;
  if (const Ptr<T>* hit = fresh(cache, space, key, stamp)) return *hit;
  return fill(cache, key, stamp, load);
}

store::Result<Ptr<core::LicenseRecord>> RecordCache::license(const core::Digest& d) {
  // Served from the store's in-memory view, every license is one table probe and a decode into
  // the scratch record: a per-thread copy would only add a second probe and an allocation.
  if (replica_.memory_view() != nullptr) {
    bump(misses_);  // a store read, as /metrics counts them
    return scratch(d);
  }
  const std::string_view key = store::digest_key(d);
  std::uint64_t stamp;
  if (const Ptr<core::LicenseRecord>* hit =
          fresh(licenses_, store::KeySpace::kLicense, key, stamp)) {
    return *hit;
  }
  std::uint64_t h;
  std::memcpy(&h, key.data(), sizeof h);
  if (license_admission_ && !license_admission_->seen_before(h)) {
    return scratch(d);  // first sighting: served without allocating or admitting
  }
  return fill(licenses_, key, stamp, [&] { return replica_.license(d); });
}

store::Result<Ptr<core::LicenseRecord>> RecordCache::scratch(const core::Digest& d) {
  auto found = replica_.license_into(d, scratch_license_);
  if (!found) {
    bump(store_errors_);
    return found.error();
  }
  if (!*found) return Ptr<core::LicenseRecord>();
  return Ptr<core::LicenseRecord>(Ptr<void>(), &scratch_license_);  // non-owning
}

store::Result<Ptr<core::ApiKeyRecord>> RecordCache::api_key(const core::Digest& d) {
  return lookup(api_keys_, store::KeySpace::kApiKey, store::digest_key(d),
                [&] { return replica_.api_key(d); });
}

store::Result<Ptr<core::AccountRecord>> RecordCache::account(std::string_view id) {
  return lookup(accounts_, store::KeySpace::kAccount, id, [&] { return replica_.account(id); });
}

store::Result<Ptr<core::ProductRecord>> RecordCache::product(std::string_view id) {
  // In the same cache as by name: an id never equals a name index key (those hold a \0).
  return lookup(products_, store::KeySpace::kProduct, id, [&] { return replica_.product(id); });
}

store::Result<Ptr<core::ProductRecord>> RecordCache::product_by_name(std::string_view account_id,
                                                                     std::string_view name) {
  // Keyed and stamped by the name index entry, which the applier rewrites on every product change.
  store::product_name_key(key_buf_, account_id, name);
  return lookup(products_, store::KeySpace::kProductName, key_buf_,
                [&] { return replica_.product_by_name(account_id, name); });
}

store::Result<Ptr<core::BlacklistEntry>> RecordCache::blacklist(std::string_view account_id,
                                                                core::BlacklistKind kind,
                                                                std::string_view value) {
  store::blacklist_key(key_buf_, account_id, kind, value);
  return lookup(blacklist_, store::KeySpace::kBlacklist, key_buf_,
                [&] { return replica_.blacklist(account_id, kind, value); });
}

store::Result<store::ApplyResult> apply_and_invalidate(store::RecordStore& replica,
                                                       InvalidationStamps& stamps,
                                                       std::span<const core::ChangeEvent> events,
                                                       std::uint64_t last_seq) {
  auto result = replica.apply(events, last_seq);
  if (!result) return result;
  // `touched` includes the product name index key of every product written, so entries cached
  // by name are invalidated even when the name itself did not change.
  for (const auto& k : result->touched) stamps.bump(k.space, k.key);
  return result;
}

}  // namespace le::cache
