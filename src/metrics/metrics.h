// Metrics without a shared write on the hot path: every I/O thread owns its cells and is their
// only writer (a relaxed load and store, no read-modify-write, no lock); a scrape reads and sums
// them, then builds prometheus-cpp metric families and serializes them in the text format.
//
// Thread-safety: a cell or histogram is written by one thread; any thread may read it.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http.h"

namespace le::metrics {

using Families = std::vector<prometheus::MetricFamily>;
using Labels = std::vector<std::pair<std::string, std::string>>;

// A counter cell with a single writer.
class Cell {
 public:
  void add(std::uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

// Request latency buckets (seconds): 50 µs … 1 s.
inline constexpr std::array<double, 12> kLatencyBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25, 1.0};

// A latency histogram with a single writer.
class Histogram {
 public:
  void observe(std::chrono::nanoseconds d);
  // Adds this histogram into a prometheus histogram sample (cumulative buckets, seconds).
  void add_to(prometheus::ClientMetric::Histogram& h) const;

 private:
  std::array<Cell, kLatencyBuckets.size() + 1> buckets_;  // last: above every bound
  Cell sum_ns_;
};

// Family builders.
prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type);
void sample(prometheus::MetricFamily& f, const Labels& labels, double value);
// Serializes in the Prometheus text exposition format.
std::string serialize(const Families& families);

// The statuses counted one by one; any other is counted as "other".
inline constexpr std::array<unsigned, 14> kStatuses = {200, 201, 400, 401, 403, 404, 405,
                                                       408, 409, 413, 429, 431, 500, 503};

// Requests by route and status and latency by route, for one server (a RequestObserver).
class HttpMetrics final : public net::RequestObserver {
 public:
  // `routes`: Router::route_paths(); `prefix` names the families, e.g. "le_edge".
  HttpMetrics(unsigned threads, std::vector<std::string> routes, std::string prefix);
  void observe(unsigned worker, int route, unsigned status,
               std::chrono::nanoseconds elapsed) override;
  void collect(Families& out) const;
  // Requests counted for one route label and status (tests).
  std::uint64_t requests(std::string_view route, unsigned status) const;
  // Logs one request in `every` per I/O thread as a JSON line (0: none, the default). Set before
  // the server starts.
  void set_access_log_sampling(std::uint32_t every) { sample_every_ = every; }

 private:
  struct alignas(64) PerThread {
    explicit PerThread(std::size_t routes)
        : requests(routes * (kStatuses.size() + 1)), latency(routes) {}
    std::vector<Cell> requests;      // [route][status index]
    std::vector<Histogram> latency;  // [route]
    std::uint32_t until_sample = 1;  // requests left until the next access-log line
  };
  static std::size_t status_index(unsigned status);
  std::vector<std::string> routes_;  // labels; the last one is "other" (route -1)
  std::string prefix_;
  std::vector<std::unique_ptr<PerThread>> threads_;
  std::uint32_t sample_every_ = 0;
};

// process_resident_memory_bytes, process_open_fds, process_start_time_seconds,
// <prefix>_uptime_seconds, <prefix>_build_info{version,commit}.
void collect_process(Families& out, std::string_view prefix,
                     std::chrono::system_clock::time_point started);

}  // namespace le::metrics
