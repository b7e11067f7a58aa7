// Records for tests: one account with a product, API keys in both modes, and licenses built
// field by field from a sane active default.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "core/change_event.h"
#include "core/digest.h"
#include "core/model.h"

namespace le::test {

inline constexpr std::int64_t kNow = 1'700'000'000;  // 2023-11-14T22:13:20Z

inline core::AccountRecord account(std::string id = "acc_1") {
  core::AccountRecord a;
  a.id = std::move(id);
  a.plan = core::Plan::kProfessional;
  a.version = 1;
  return a;
}

inline core::ApiKeyRecord api_key(std::string_view secret, std::string account_id = "acc_1",
                                  core::Mode mode = core::Mode::kLive) {
  core::ApiKeyRecord k;
  k.id = "key_" + std::string(secret.substr(0, 12));
  k.digest = core::sha256(secret);
  k.account_id = std::move(account_id);
  k.mode = mode;
  k.version = 1;
  return k;
}

inline core::ProductRecord product(std::string id = "prod_1", std::string name = "MyProduct",
                                   std::string account_id = "acc_1") {
  core::ProductRecord p;
  p.id = std::move(id);
  p.account_id = std::move(account_id);
  p.name = std::move(name);
  p.platforms = {"windows", "linux"};
  p.tki_versions = {"1.0.0", "1.1.0"};
  p.version = 1;
  return p;
}

inline core::LicenseRecord license(std::string_view key, std::string id = "lic_1") {
  core::LicenseRecord l;
  l.id = std::move(id);
  l.key_digest = core::sha256(key);
  l.account_id = "acc_1";
  l.product_id = "prod_1";
  l.max_activations = 3;
  l.created_at = kNow - 86400;
  l.version = 1;
  return l;
}

inline core::BlacklistEntry blacklist(std::string id, core::BlacklistKind kind, std::string value,
                                      std::string account_id = "acc_1") {
  core::BlacklistEntry b;
  b.id = std::move(id);
  b.account_id = std::move(account_id);
  b.kind = kind;
  b.value = std::move(value);
  b.version = 1;
  return b;
}

template <typename Rec>
core::ChangeEvent event(Rec rec, std::uint64_t seq = 0, bool deleted = false) {
  core::ChangeEvent ev;
  ev.seq = seq;
  ev.deleted = deleted;
  ev.record = std::move(rec);
  return ev;
}

// A fresh directory under the system temp dir, removed on destruction (RocksDB
// test::PerThreadDBPath in spirit: every test gets its own database).
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("le-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (std::getenv("LE_KEEP_TEST_DIRS") != nullptr) return;  // for debugging a failure
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path(std::string_view sub = "") const { return (path_ / sub).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace le::test
