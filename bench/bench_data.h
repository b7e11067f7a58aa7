// Deterministic synthetic data shared by the generator, the micro-benchmarks and the wrk script
// (bench/load/validate.lua formats keys the same way).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/change_event.h"
#include "core/digest.h"

namespace le::bench {

inline constexpr const char* kBenchAccount = "acc_bench";
inline constexpr const char* kBenchApiKey = "to_live_benchmark0000000000000000";
inline constexpr const char* kBenchProduct = "prod_bench";

// "BNCH-0000-0012-3456" for i = 123456.
inline std::string bench_key(std::uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "BNCH-%04u-%04u-%04u",
                static_cast<unsigned>(i / 100000000 % 10000),
                static_cast<unsigned>(i / 10000 % 10000), static_cast<unsigned>(i % 10000));
  return buf;
}

inline core::LicenseRecord bench_license(std::uint64_t i) {
  core::LicenseRecord l;
  l.id = "lic_bench_" + std::to_string(i);
  l.key_digest = core::sha256(bench_key(i));
  l.account_id = kBenchAccount;
  l.product_id = kBenchProduct;
  l.type = i % 3 == 0 ? core::LicenseType::kSubscription : core::LicenseType::kPerpetual;
  l.expires_at = i % 3 == 0 ? 4102444800 : 0;  // 2100-01-01
  l.max_activations = 5;
  l.activations = {{"machine-" + std::to_string(i), "", 1700000000}};
  l.metadata_json = R"({"seat":"standard"})";
  l.created_at = 1700000000;
  l.version = 1;
  return l;
}

inline core::ChangeEvent with_seq(core::ChangeEvent ev, std::uint64_t seq) {
  ev.seq = seq;
  return ev;
}

}  // namespace le::bench
