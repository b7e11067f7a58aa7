#include "metrics/metrics.h"

#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/log.h"

#ifndef LE_VERSION
#define LE_VERSION "unknown"
#endif
#ifndef LE_GIT_COMMIT
#define LE_GIT_COMMIT "unknown"
#endif

namespace le::metrics {

void Histogram::observe(std::chrono::nanoseconds d) {
  const double s = std::chrono::duration<double>(d).count();
  std::size_t i = 0;
  while (i < kLatencyBuckets.size() && s > kLatencyBuckets[i]) ++i;
  buckets_[i].add();
  sum_ns_.add(static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count()));
}

void Histogram::add_to(prometheus::ClientMetric::Histogram& h) const {
  if (h.bucket.empty()) {
    for (double b : kLatencyBuckets) h.bucket.push_back({0, b});
    h.bucket.push_back({0, std::numeric_limits<double>::infinity()});
  }
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i].get();
    h.bucket[i].cumulative_count += cumulative;
  }
  h.sample_count += cumulative;
  h.sample_sum += static_cast<double>(sum_ns_.get()) / 1e9;
}

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void sample(prometheus::MetricFamily& f, const Labels& labels, double value) {
  prometheus::ClientMetric m;
  for (const auto& [k, v] : labels) m.label.push_back({k, v});
  switch (f.type) {
    case prometheus::MetricType::Counter:
      m.counter.value = value;
      break;
    case prometheus::MetricType::Gauge:
      m.gauge.value = value;
      break;
    default:
      m.untyped.value = value;
      break;
  }
  f.metric.push_back(std::move(m));
}

std::string serialize(const Families& families) {
  return prometheus::TextSerializer().Serialize(families);
}

HttpMetrics::HttpMetrics(unsigned threads, std::vector<std::string> routes, std::string prefix)
    : routes_(std::move(routes)), prefix_(std::move(prefix)) {
  routes_.push_back("other");
  for (unsigned i = 0; i < threads; ++i)
    threads_.push_back(std::make_unique<PerThread>(routes_.size()));
}

std::size_t HttpMetrics::status_index(unsigned status) {
  auto it = std::find(kStatuses.begin(), kStatuses.end(), status);
  return static_cast<std::size_t>(it - kStatuses.begin());  // kStatuses.size() = other
}

void HttpMetrics::observe(unsigned worker, int route, unsigned status,
                          std::chrono::nanoseconds elapsed) {
  if (worker >= threads_.size()) return;
  PerThread& t = *threads_[worker];
  const std::size_t r = route < 0 || static_cast<std::size_t>(route) >= routes_.size() - 1
                            ? routes_.size() - 1
                            : static_cast<std::size_t>(route);
  t.requests[r * (kStatuses.size() + 1) + status_index(status)].add();
  if (route >= 0) t.latency[r].observe(elapsed);
  if (sample_every_ != 0 && --t.until_sample == 0) {
    t.until_sample = sample_every_;
    log::info(
        "access", "request",
        {{"route", routes_[r]},
         {"status", std::to_string(status)},
         {"duration_us",
          std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count())},
         {"worker", std::to_string(worker)},
         {"sampled_1_in", std::to_string(sample_every_)}});
  }
}

std::uint64_t HttpMetrics::requests(std::string_view route, unsigned status) const {
  auto it = std::find(routes_.begin(), routes_.end(), route);
  if (it == routes_.end()) return 0;
  const std::size_t r = static_cast<std::size_t>(it - routes_.begin());
  std::uint64_t n = 0;
  for (const auto& t : threads_)
    n += t->requests[r * (kStatuses.size() + 1) + status_index(status)].get();
  return n;
}

void HttpMetrics::collect(Families& out) const {
  auto requests =
      family(prefix_ + "_http_requests_total", "HTTP requests answered, by route and status.",
             prometheus::MetricType::Counter);
  auto latency = family(prefix_ + "_http_request_duration_seconds",
                        "Time from dispatch to the end of the response write, by route.",
                        prometheus::MetricType::Histogram);
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    for (std::size_t s = 0; s <= kStatuses.size(); ++s) {
      std::uint64_t n = 0;
      for (const auto& t : threads_) n += t->requests[r * (kStatuses.size() + 1) + s].get();
      if (n == 0) continue;
      sample(requests,
             {{"route", routes_[r]},
              {"status", s < kStatuses.size() ? std::to_string(kStatuses[s]) : "other"}},
             static_cast<double>(n));
    }
    if (r + 1 == routes_.size()) continue;  // no latency for unrouted answers
    prometheus::ClientMetric m;
    m.label.push_back({"route", routes_[r]});
    for (const auto& t : threads_) t->latency[r].add_to(m.histogram);
    latency.metric.push_back(std::move(m));
  }
  out.push_back(std::move(requests));
  out.push_back(std::move(latency));
}

void collect_process(Families& out, std::string_view prefix,
                     std::chrono::system_clock::time_point started) {
  const std::string p(prefix);
  auto rss = family("process_resident_memory_bytes", "Resident memory size in bytes.",
                    prometheus::MetricType::Gauge);
  long pages = 0, resident = 0;
  if (std::ifstream statm("/proc/self/statm"); statm >> pages >> resident) {
    sample(rss, {}, static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)));
  }
  out.push_back(std::move(rss));
  auto fds = family("process_open_fds", "Open file descriptors.", prometheus::MetricType::Gauge);
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  sample(fds, {}, static_cast<double>(n));
  out.push_back(std::move(fds));
  const double start_s = std::chrono::duration<double>(started.time_since_epoch()).count();
  auto start = family("process_start_time_seconds", "Start time of the process since the epoch.",
                      prometheus::MetricType::Gauge);
  sample(start, {}, start_s);
  out.push_back(std::move(start));
  auto uptime = family(p + "_uptime_seconds", "Seconds since the process started.",
                       prometheus::MetricType::Gauge);
  sample(uptime, {},
         std::chrono::duration<double>(std::chrono::system_clock::now() - started).count());
  out.push_back(std::move(uptime));
  auto build = family(p + "_build_info", "Version and commit of the running build (always 1).",
                      prometheus::MetricType::Gauge);
  sample(build, {{"version", LE_VERSION}, {"commit", LE_GIT_COMMIT}}, 1);
  out.push_back(std::move(build));
}

}  // namespace le::metrics
