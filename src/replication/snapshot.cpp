#include "replication/snapshot.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/json_writer.h"

namespace le::replication {
namespace {

constexpr std::string_view kMagic = "LESNAP1\n";
constexpr std::string_view kNamePrefix = "replica-";
constexpr std::size_t kMaxManifestBytes = 64 * 1024;
constexpr const char* kSpaceNames[] = {"accounts",      "api_keys", "products",
                                       "product_names", "licenses", "blacklist"};

std::string manifest_json(std::span<const store::SnapshotFile> files, std::uint64_t seq,
                          std::int64_t created) {
  std::string out;
  core::JsonWriter w(out);
  w.begin_object().field("seq", seq).field("created", created);
  w.key("files").begin_array();
  for (const auto& f : files) {
    w.begin_object()
        .field("space", static_cast<std::uint64_t>(f.space))
        .field("name", kSpaceNames[static_cast<int>(f.space)])
        .field("bytes", f.bytes)
        .field("entries", f.entries)
        .end_object();
  }
  w.end_array().end_object();
  return out;
}

// The manifest's seq and files (paths not set); nullopt and `error` when it is not one.
std::optional<FetchedSnapshot> parse_manifest(std::string_view json, std::string& error) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  FetchedSnapshot out;
  bool have_seq = false;
  try {
    auto doc = parser.iterate(padded);
    for (auto field : doc.get_object()) {
      const std::string_view k = field.unescaped_key();
      if (k == "seq") {
        out.seq = field.value().get_uint64();
        have_seq = true;
      } else if (k == "created") {
        out.stream_created = field.value().get_int64();
      } else if (k == "files") {
        for (auto item : field.value().get_array()) {
          store::SnapshotFile f;
          bool have_space = false;
          for (auto ff : item.get_object()) {
            const std::string_view fk = ff.unescaped_key();
            if (fk == "space") {
              const std::uint64_t space = ff.value().get_uint64();
              if (space >= static_cast<std::uint64_t>(store::kKeySpaceCount)) {
                error = "manifest: no key space " + std::to_string(space);
                return std::nullopt;
              }
              f.space = static_cast<store::KeySpace>(space);
              have_space = true;
            } else if (fk == "bytes") {
              f.bytes = ff.value().get_uint64();
            } else if (fk == "entries") {
              f.entries = ff.value().get_uint64();
            }
          }
          if (!have_space) {
            error = "manifest: a file without its key space";
            return std::nullopt;
          }
          for (const auto& other : out.files) {
            if (other.space == f.space) {
              error = "manifest: two files of one key space";
              return std::nullopt;
            }
          }
          out.files.push_back(f);
        }
      }
    }
  } catch (const simdjson::simdjson_error& e) {
    error = std::string("manifest: ") + e.what();
    return std::nullopt;
  }
  if (!have_seq || out.files.empty()) {
    error = "manifest: no seq or no files";
    return std::nullopt;
  }
  return out;
}

// Reads an archive as it arrives: the magic, the manifest line, then each file in turn.
class ArchiveReader {
 public:
  explicit ArchiveReader(std::string dir) : dir_(std::move(dir)) {}

  bool write(std::string_view bytes) {
    while (!bytes.empty()) {
      if (!manifest_) {
        const std::size_t room = kMagic.size() + kMaxManifestBytes - head_.size();
        const auto nl = bytes.substr(0, room).find(
            '\n', head_.size() < kMagic.size() ? kMagic.size() - head_.size() : 0);
        if (nl == std::string_view::npos) {
          if (bytes.size() >= room) return fail("no manifest in the first 64 KiB");
          head_.append(bytes);
          return true;
        }
        head_.append(bytes.substr(0, nl + 1));
        bytes.remove_prefix(nl + 1);
        if (!head_.starts_with(kMagic)) return fail("not a replica snapshot");
        manifest_ = parse_manifest(std::string_view(head_).substr(kMagic.size()), error_);
        if (!manifest_) return false;
        if (!start_file()) return false;
        continue;
      }
      if (index_ >= manifest_->files.size()) return fail("bytes past the last file");
      auto& f = manifest_->files[index_];
      const std::size_t n = std::min<std::uint64_t>(bytes.size(), f.bytes - written_);
      out_.write(bytes.data(), static_cast<std::streamsize>(n));
      if (!out_) return fail("write " + f.path);
      written_ += n;
      bytes.remove_prefix(n);
      if (written_ == f.bytes && !end_file()) return false;
    }
    return true;
  }

  // The files, once every byte of each arrived.
  std::optional<FetchedSnapshot> finish(std::string& error) {
    if (out_.is_open()) out_.close();
    if (!error_.empty() || !manifest_ || index_ < manifest_->files.size()) {
      error = error_.empty() ? "the snapshot ends early" : error_;
      return std::nullopt;
    }
    return std::move(*manifest_);
  }
  const std::string& error() const { return error_; }

 private:
  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }
  // Opens the file at index_, if there is one left.
  bool start_file() {
    written_ = 0;
    if (index_ >= manifest_->files.size()) return true;
    auto& f = manifest_->files[index_];
    if (f.bytes == 0) return fail("an empty file in the manifest");
    f.path = dir_ + "/" + kSpaceNames[static_cast<int>(f.space)] + ".sst";
    out_.open(f.path, std::ios::binary | std::ios::trunc);
    if (!out_) return fail("open " + f.path);
    return true;
  }
  // Closes the file just written whole and opens the next.
  bool end_file() {
    out_.close();
    if (!out_) return fail("close " + manifest_->files[index_].path);
    ++index_;
    return start_file();
  }

  std::string dir_;
  std::string head_;
  std::optional<FetchedSnapshot> manifest_;
  std::size_t index_ = 0;
  std::uint64_t written_ = 0;
  std::ofstream out_;
  std::string error_;
};

}  // namespace

std::string snapshot_name(std::int64_t stream_created, std::uint64_t seq) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%020lld-%020llu", static_cast<long long>(stream_created),
                static_cast<unsigned long long>(seq));
  return std::string(kNamePrefix) + buf;
}

std::optional<SnapshotId> snapshot_id(std::string_view name) {
  if (!name.starts_with(kNamePrefix) || name.size() != kNamePrefix.size() + 41 ||
      name[kNamePrefix.size() + 20] != '-') {
    return std::nullopt;
  }
  auto number = [&](std::size_t at, auto& out) {
    const char* b = name.data() + at;
    auto [p, ec] = std::from_chars(b, b + 20, out);
    return ec == std::errc() && p == b + 20;
  };
  SnapshotId id;
  if (!number(kNamePrefix.size(), id.stream_created) || !number(kNamePrefix.size() + 21, id.seq) ||
      id.stream_created < 0) {
    return std::nullopt;
  }
  return id;
}

std::string publish_snapshot(ObjectStore& store, std::span<const store::SnapshotFile> files,
                             std::uint64_t seq, std::int64_t stream_created, std::size_t keep,
                             SnapshotSummary* summary) {
  if (files.empty()) return "nothing to publish";
  const std::string name = snapshot_name(stream_created, seq);
  std::string list_error;
  auto before = store.list(list_error);
  if (!before) return list_error;
  if (std::find(before->begin(), before->end(), name) != before->end()) {
    if (summary != nullptr) {
      *summary = SnapshotSummary{};
      summary->seq = seq;
      summary->existed = true;
    }
    return {};
  }
  const std::string head = std::string(kMagic) + manifest_json(files, seq, stream_created) + "\n";
  std::size_t head_at = 0;
  std::size_t file = 0;
  std::ifstream in;
  SnapshotSummary sum;
  sum.seq = seq;
  for (const auto& f : files) sum.entries += f.entries;
  const std::string error =
      store.put(name, [&](char* buf, std::size_t cap) -> std::optional<std::size_t> {
        if (head_at < head.size()) {
          const std::size_t n = std::min(cap, head.size() - head_at);
          std::memcpy(buf, head.data() + head_at, n);
          head_at += n;
          sum.bytes += n;
          return n;
        }
        while (file < files.size()) {
          if (!in.is_open()) {
            in.open(files[file].path, std::ios::binary);
            if (!in) return std::nullopt;
          }
          in.read(buf, static_cast<std::streamsize>(cap));
          const auto n = static_cast<std::size_t>(in.gcount());
          if (n > 0) {
            sum.bytes += n;
            return n;
          }
          if (!in.eof()) return std::nullopt;
          in.close();
          ++file;
        }
        return std::size_t{0};
      });
  if (!error.empty()) return error;
  if (summary != nullptr) *summary = sum;
  auto names = store.list(list_error);
  if (!names) return "published, but the old ones stay: " + list_error;
  std::vector<std::string> ours;
  for (auto& n : *names) {
    const auto id = snapshot_id(n);
    if (!id) continue;
    if (id->stream_created != stream_created) {
      // Of another incarnation of the stream: no edge can follow from it.
      if (auto e = store.remove(n); !e.empty()) return "published; deleting an old one: " + e;
    } else {
      ours.push_back(std::move(n));
    }
  }
  for (std::size_t i = 0; i + keep < ours.size(); ++i) {
    if (auto e = store.remove(ours[i]); !e.empty()) return "published; deleting an old one: " + e;
  }
  return {};
}

std::optional<FetchedSnapshot> fetch_newest_snapshot(ObjectStore& store,
                                                     std::int64_t stream_created,
                                                     std::uint64_t after, const std::string& dir,
                                                     std::string& error) {
  error.clear();
  auto names = store.list(error);
  if (!names) return std::nullopt;
  std::vector<std::string> candidates;  // oldest first, as listed
  for (const auto& n : *names) {
    const auto id = snapshot_id(n);
    if (id && id->stream_created == stream_created && id->seq > after) candidates.push_back(n);
  }
  std::string errors;
  for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
    const std::uint64_t seq = snapshot_id(*it)->seq;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      error = "create " + dir + ": " + ec.message();
      return std::nullopt;
    }
    ArchiveReader reader(dir);
    std::uint64_t bytes = 0;
    std::string e = store.get(*it, [&](std::string_view b) {
      bytes += b.size();
      return reader.write(b);
    });
    if (!e.empty() && !reader.error().empty()) e += " (" + reader.error() + ")";
    std::optional<FetchedSnapshot> fetched;
    if (e.empty()) fetched = reader.finish(e);
    if (fetched && (fetched->seq != seq || fetched->stream_created != stream_created)) {
      e = *it + " says seq " + std::to_string(fetched->seq);
      fetched.reset();
    }
    if (fetched) {
      fetched->bytes = bytes;
      return fetched;
    }
    if (!errors.empty()) errors += "; ";
    errors += e;
  }
  error = errors;
  return std::nullopt;
}

}  // namespace le::replication
