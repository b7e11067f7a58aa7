// A JetStream Object Store bucket, as NATS defines it (ADR-20) — libnats 3.4 has no client for
// it, so this is one over the JetStream API: bucket B is the stream OBJ_B; an object's bytes are
// messages of at most 128 KiB on $O.B.C.<nuid>, and its description (ObjectInfo JSON: name,
// size, chunks, SHA-256 digest, nuid) is the last message on $O.B.M.<base64url(name)>, written
// with a subject rollup after every chunk is stored. The nats CLI reads these objects
// (`nats object ls B`, `nats object get B NAME`).
//
// A reader checks the size, the number of chunks and the digest: an object that does not match
// its description is an error, never handed over as whole. Deleting an object purges its chunks
// and its description.
//
// Thread-safety: the functions use the JetStream they are given from the calling thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nats/jetstream.h"

namespace le::replication {

inline constexpr std::size_t kObjectChunkBytes = 128 * 1024;

struct ObjectInfo {
  std::string name;
  std::string nuid;
  std::uint64_t size = 0;
  std::uint64_t chunks = 0;
  std::string digest;  // "SHA-256=<base64url>"
  std::string mtime;   // RFC 3339
};

class ObjectStore {
 public:
  ObjectStore(nats::JetStream& js, std::string bucket) : js_(js), bucket_(std::move(bucket)) {}

  // Creates the bucket's stream unless it exists (file storage, `replicas` copies). Empty on
  // success.
  std::string ensure(int replicas = 1);

  // Stores an object read through `read(buffer, capacity)` (returns the bytes it wrote there;
  // 0 at the end; nullopt for a read error). Empty on success.
  using Reader = std::function<std::optional<std::size_t>(char* buffer, std::size_t capacity)>;
  std::string put(const std::string& name, const Reader& read);

  // The names of the bucket's objects, sorted; nullopt and `error` set when unavailable.
  std::optional<std::vector<std::string>> list(std::string& error);
  // An object's description; nullopt and `error` set when absent ("not found") or unavailable.
  std::optional<ObjectInfo> info(const std::string& name, std::string& error);

  // Hands an object's bytes to `write` in order (false from it stops the read, an error), then
  // checks them against its description. Empty on success.
  using Writer = std::function<bool(std::string_view bytes)>;
  std::string get(const std::string& name, const Writer& write);

  // Deletes an object: its chunks, then its description. Empty on success.
  std::string remove(const std::string& name);

  const std::string& bucket() const { return bucket_; }
  std::string stream() const { return "OBJ_" + bucket_; }

 private:
  std::string meta_subject(std::string_view name) const;
  std::string chunk_subject(std::string_view nuid) const;
  std::string purge(const std::string& subject);

  nats::JetStream& js_;
  std::string bucket_;
};

}  // namespace le::replication
