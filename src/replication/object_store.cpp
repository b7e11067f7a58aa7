#include "replication/object_store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

#include "core/json_writer.h"
#include "core/signing.h"
#include "core/time_format.h"

namespace le::replication {
namespace {

using nats::status_text;

std::string nats_error(std::string_view what, natsStatus s, jsErrCode jerr = jsErrCode{}) {
  std::string out(what);
  out += ": " + status_text(s);
  if (static_cast<int>(jerr) != 0) out += " (" + std::to_string(static_cast<int>(jerr)) + ")";
  if (const char* last = nats_GetLastError(nullptr); last != nullptr && *last != '\0') {
    out += " ";
    out += last;
  }
  return out;
}

// base64url with padding: what NATS clients use for object names in subjects and for digests.
std::string padded_base64url(std::string_view bytes) {
  std::string s = core::base64url(bytes);
  while (s.size() % 4 != 0) s.push_back('=');
  return s;
}

// 22 characters of base62: a NUID-shaped random id for an object's chunk subject.
std::string random_nuid() {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  unsigned char raw[22];
  RAND_bytes(raw, sizeof raw);
  std::string out;
  for (unsigned char c : raw) out.push_back(kAlphabet[c % 62]);
  return out;
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  void update(std::string_view b) { EVP_DigestUpdate(ctx_.get(), b.data(), b.size()); }
  std::string nats_digest() {
    unsigned char d[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), d, &n);
    return "SHA-256=" + padded_base64url(std::string_view(reinterpret_cast<char*>(d), n));
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

std::string info_json(const std::string& bucket, const ObjectInfo& o) {
  std::string out;
  core::JsonWriter w(out);
  w.begin_object()
      .field("name", o.name)
      .field("bucket", bucket)
      .field("nuid", o.nuid)
      .field("size", o.size)
      .field("mtime", o.mtime)
      .field("chunks", o.chunks)
      .field("digest", o.digest);
  w.key("options").begin_object().field("max_chunk_size",
                                        static_cast<std::uint64_t>(kObjectChunkBytes));
  w.end_object().end_object();
  return out;
}

std::optional<ObjectInfo> parse_info(std::string_view json, std::string& error) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  ObjectInfo o;
  try {
    auto doc = parser.iterate(padded);
    auto obj = doc.get_object();
    for (auto field : obj) {
      const std::string_view k = field.unescaped_key();
      auto v = field.value();
      if (k == "name") {
        o.name = std::string(std::string_view(v.get_string()));
      } else if (k == "nuid") {
        o.nuid = std::string(std::string_view(v.get_string()));
      } else if (k == "size") {
        o.size = v.get_uint64();
      } else if (k == "chunks") {
        o.chunks = v.get_uint64();
      } else if (k == "digest") {
        o.digest = std::string(std::string_view(v.get_string()));
      } else if (k == "mtime") {
        o.mtime = std::string(std::string_view(v.get_string()));
      } else if (k == "deleted") {
        if (v.get_bool()) {
          error = "not found (deleted)";
          return std::nullopt;
        }
      }
    }
  } catch (const simdjson::simdjson_error& e) {
    error = std::string("malformed object description: ") + e.what();
    return std::nullopt;
  }
  // What put() writes: 22 characters of base62 (it goes into subjects and API requests).
  const bool nuid_ok =
      o.nuid.size() == 22 && std::all_of(o.nuid.begin(), o.nuid.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
      });
  if (!nuid_ok) {
    error = "malformed object description: bad nuid";
    return std::nullopt;
  }
  return o;
}

struct MsgDeleter {
  void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};
using Msg = std::unique_ptr<natsMsg, MsgDeleter>;

}  // namespace

std::string ObjectStore::meta_subject(std::string_view name) const {
  return "$O." + bucket_ + ".M." + padded_base64url(name);
}

std::string ObjectStore::chunk_subject(std::string_view nuid) const {
  return "$O." + bucket_ + ".C." + std::string(nuid);
}

std::string ObjectStore::ensure(int replicas) {
  const std::string name = stream();
  const std::string chunks = "$O." + bucket_ + ".C.>";
  const std::string metas = "$O." + bucket_ + ".M.>";
  const char* subjects[] = {chunks.c_str(), metas.c_str()};
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = name.c_str();
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 2;
  cfg.Storage = js_FileStorage;
  cfg.Discard = js_DiscardNew;
  cfg.AllowRollup = true;
  cfg.AllowDirect = true;
  cfg.Replicas = replicas;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr{};
  natsStatus s = js_GetStreamInfo(&si, js_.context(), name.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return {};
  }
  if (s != NATS_NOT_FOUND) return nats_error("object store info", s, jerr);
  s = js_AddStream(&si, js_.context(), &cfg, nullptr, &jerr);
  if (s != NATS_OK) return nats_error("create object store " + name, s, jerr);
  jsStreamInfo_Destroy(si);
  return {};
}

std::string ObjectStore::put(const std::string& name, const Reader& read) {
  ObjectInfo o;
  o.name = name;
  o.nuid = random_nuid();
  const std::string subject = chunk_subject(o.nuid);
  Sha256 sha;
  std::string buffer(kObjectChunkBytes, '\0');
  std::string error;
  for (;;) {
    // Fill a whole chunk (the reader may hand over less at a time).
    std::size_t filled = 0;
    while (filled < buffer.size()) {
      auto n = read(buffer.data() + filled, buffer.size() - filled);
      if (!n) {
        error = "read the object's bytes";
        break;
      }
      if (*n == 0) break;
      filled += *n;
    }
    if (!error.empty() || filled == 0) break;
    const std::string_view chunk(buffer.data(), filled);
    sha.update(chunk);
    jsPubAck* ack = nullptr;
    jsErrCode jerr{};
    natsStatus s = js_Publish(&ack, js_.context(), subject.c_str(), chunk.data(),
                              static_cast<int>(chunk.size()), nullptr, &jerr);
    jsPubAck_Destroy(ack);
    if (s != NATS_OK) {
      error = nats_error("publish chunk", s, jerr);
      break;
    }
    o.size += filled;
    ++o.chunks;
    if (filled < buffer.size()) break;
  }
  if (!error.empty()) {
    purge(subject);  // no description names these chunks
    return error;
  }
  o.digest = sha.nats_digest();
  o.mtime = core::iso8601(std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
  // An object of the same name being replaced: its chunks go once the new description is in.
  std::string ignored;
  auto previous = info(name, ignored);

  const std::string meta = meta_subject(name);
  const std::string body = info_json(bucket_, o);
  natsMsg* raw = nullptr;
  natsStatus s =
      natsMsg_Create(&raw, meta.c_str(), nullptr, body.data(), static_cast<int>(body.size()));
  if (s != NATS_OK) return nats_error("create description", s);
  Msg msg(raw);
  natsMsgHeader_Set(msg.get(), "Nats-Rollup", "sub");
  jsPubAck* ack = nullptr;
  jsErrCode jerr{};
  s = js_PublishMsg(&ack, js_.context(), msg.get(), nullptr, &jerr);
  jsPubAck_Destroy(ack);
  if (s != NATS_OK) {
    std::string error_text = nats_error("publish description", s, jerr);
    // The server may have stored it without the answer arriving: purge only chunks no
    // description names.
    std::string ignored_error;
    auto stored = info(name, ignored_error);
    if (!stored || stored->nuid != o.nuid) purge(subject);
    return error_text;
  }
  if (previous && previous->nuid != o.nuid) purge(chunk_subject(previous->nuid));
  return {};
}

std::optional<std::vector<std::string>> ObjectStore::list(std::string& error) {
  const std::string filter = "$O." + bucket_ + ".M.>";
  jsOptions o;
  jsOptions_Init(&o);
  o.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* si = nullptr;
  jsErrCode jerr{};
  natsStatus s = js_GetStreamInfo(&si, js_.context(), stream().c_str(), &o, &jerr);
  if (s == NATS_NOT_FOUND) return std::vector<std::string>{};  // no bucket: no objects
  if (s != NATS_OK) {
    error = nats_error("object store info", s, jerr);
    return std::nullopt;
  }
  std::vector<std::string> names;
  const std::size_t prefix = filter.size() - 1;
  if (si->State.Subjects != nullptr) {
    for (int i = 0; i < si->State.Subjects->Count; ++i) {
      std::string_view subj(si->State.Subjects->List[i].Subject);
      if (subj.size() <= prefix) continue;
      std::string encoded(subj.substr(prefix));
      while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
      if (auto name = core::from_base64url(encoded)) names.push_back(std::move(*name));
    }
  }
  jsStreamInfo_Destroy(si);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<ObjectInfo> ObjectStore::info(const std::string& name, std::string& error) {
  natsMsg* raw = nullptr;
  jsErrCode jerr{};
  natsStatus s = js_GetLastMsg(&raw, js_.context(), stream().c_str(), meta_subject(name).c_str(),
                               nullptr, &jerr);
  if (s == NATS_NOT_FOUND) {
    error = "not found";
    return std::nullopt;
  }
  if (s != NATS_OK) {
    error = nats_error("object description", s, jerr);
    return std::nullopt;
  }
  Msg msg(raw);
  auto o = parse_info(std::string_view(natsMsg_GetData(msg.get()),
                                       static_cast<std::size_t>(natsMsg_GetDataLength(msg.get()))),
                      error);
  if (o && o->name != name) {
    error = "object description names " + o->name;
    return std::nullopt;
  }
  return o;
}

std::string ObjectStore::get(const std::string& name, const Writer& write) {
  std::string error;
  auto o = info(name, error);
  if (!o) return name + ": " + error;
  if (o->chunks == 0) return o->size == 0 ? std::string() : name + ": no chunks";
  const std::string subject = chunk_subject(o->nuid);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  const std::string name_of_stream = stream();
  so.Stream = name_of_stream.c_str();
  so.Ordered = true;  // in order, flow-controlled; the library repairs gaps
  so.Config.DeliverPolicy = js_DeliverAll;
  natsSubscription* sub = nullptr;
  jsErrCode jerr{};
  natsStatus s = js_SubscribeSync(&sub, js_.context(), subject.c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK) return nats_error("subscribe to " + name, s, jerr);
  natsSubscription_SetPendingLimits(sub, -1, 256 << 20);
  Sha256 sha;
  std::uint64_t size = 0;
  for (std::uint64_t i = 0; i < o->chunks && error.empty(); ++i) {
    natsMsg* raw = nullptr;
    s = natsSubscription_NextMsg(&raw, sub, 10000);
    if (s != NATS_OK) {
      error = nats_error("chunk " + std::to_string(i) + " of " + name, s);
      break;
    }
    Msg msg(raw);
    const std::string_view chunk(natsMsg_GetData(msg.get()),
                                 static_cast<std::size_t>(natsMsg_GetDataLength(msg.get())));
    size += chunk.size();
    if (size > o->size) {
      error = name + ": more bytes than its description says";
      break;
    }
    sha.update(chunk);
    if (!write(chunk)) error = name + ": writing its bytes failed";
  }
  natsSubscription_Destroy(sub);
  if (!error.empty()) return error;
  if (size != o->size)
    return name + ": " + std::to_string(size) + " bytes, not " + std::to_string(o->size);
  if (sha.nats_digest() != o->digest) return name + ": digest mismatch";
  return {};
}

std::string ObjectStore::purge(const std::string& subject) {
  jsOptions o;
  jsOptions_Init(&o);
  o.Stream.Purge.Subject = subject.c_str();
  jsErrCode jerr{};
  natsStatus s = js_PurgeStream(js_.context(), stream().c_str(), &o, &jerr);
  return s == NATS_OK ? std::string() : nats_error("purge " + subject, s, jerr);
}

std::string ObjectStore::remove(const std::string& name) {
  std::string error;
  auto o = info(name, error);
  if (!o) return name + ": " + error;
  if (auto e = purge(chunk_subject(o->nuid)); !e.empty()) return e;
  return purge(meta_subject(name));
}

}  // namespace le::replication
