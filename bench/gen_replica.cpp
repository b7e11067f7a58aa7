// license-gen: builds a replica of N synthetic licenses (plus the bench account, product and
// API key) through the same apply path replication uses, or writes them as a JSON-lines change
// file. Used by the load harness and for catch-up measurements.
#include <chrono>
#include <fstream>
#include <iostream>

#include "bench_data.h"
#include "common/flags.h"
#include "store/record_store.h"

int main(int argc, char** argv) {
  using namespace le;
  Flags flags(argc, argv, {"db", "jsonl", "count", "batch"});
  const std::uint64_t count = flags.u64("count", 1000000);
  const std::uint64_t batch_size = flags.u64("batch", 10000);
  if (!flags.ok() || (!flags.has("db") && !flags.has("jsonl")) || batch_size == 0) {
    std::cerr << "usage: license-gen (--db DIR | --jsonl FILE) [--count N] [--batch N]\n"
              << flags.error() << "\n";
    return 2;
  }
  std::vector<core::ChangeEvent> head;
  core::AccountRecord acc;
  acc.id = bench::kBenchAccount;
  acc.plan = core::Plan::kEnterprise;
  acc.version = 1;
  core::ApiKeyRecord key;
  key.id = "key_bench";
  key.digest = core::sha256(bench::kBenchApiKey);
  key.account_id = acc.id;
  key.version = 1;
  core::ProductRecord prod;
  prod.id = bench::kBenchProduct;
  prod.account_id = acc.id;
  prod.name = "BenchProduct";
  prod.tki_versions = {"1.0.0"};
  prod.version = 1;
  for (auto ev : {core::ChangeEvent{0, "", false, acc}, core::ChangeEvent{0, "", false, key},
                  core::ChangeEvent{0, "", false, prod}}) {
    head.push_back(bench::with_seq(ev, head.size() + 1));
  }
  auto event_at = [&](std::uint64_t i) {
    core::ChangeEvent ev;
    ev.seq = head.size() + 1 + i;
    ev.type = "license.created";
    ev.record = bench::bench_license(i);
    return ev;
  };

  const auto start = std::chrono::steady_clock::now();
  if (flags.has("jsonl")) {
    std::ofstream out(flags.str("jsonl"));
    for (const auto& ev : head) out << core::encode_change_event(ev, true) << '\n';
    for (std::uint64_t i = 0; i < count; ++i)
      out << core::encode_change_event(event_at(i), true) << '\n';
    if (!out) {
      std::cerr << "write failed\n";
      return 1;
    }
  } else {
    auto replica = store::RecordStore::open({flags.str("db")});
    if (!replica) {
      std::cerr << replica.error().message << "\n";
      return 1;
    }
    if (auto r = (*replica)->apply(head, head.size()); !r) {
      std::cerr << r.error().message << "\n";
      return 1;
    }
    std::vector<core::ChangeEvent> batch;
    for (std::uint64_t i = 0; i < count; i += batch_size) {
      batch.clear();
      for (std::uint64_t j = i; j < std::min(count, i + batch_size); ++j)
        batch.push_back(event_at(j));
      if (auto r = (*replica)->apply(batch, batch.back().seq); !r) {
        std::cerr << r.error().message << "\n";
        return 1;
      }
    }
    if (auto r = (*replica)->compact(); !r) {
      std::cerr << r.error().message << "\n";
      return 1;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "generated " << count << " licenses in " << secs << " s ("
            << static_cast<std::uint64_t>(count / secs) << " licenses/s)\n";
  return 0;
}
