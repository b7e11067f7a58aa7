// le-openloop: open-loop HTTP/1.1 load client for the load harness (bench/load/run.sh).
// Request i is due at t0 + i/R whatever happened to the requests before it; each goes out on a
// free keep-alive connection (one request in flight per connection, nothing pipelined), or waits
// for one, and its latency runs from its due time to its complete response, so a stalled server
// is charged for the requests it kept from being sent (coordinated omission corrected).
// With --bodies, request i POSTs line i mod N of a file of N JSON bodies (many distinct clients:
// bench/load/heartbeats.sh sends each simulated device's heartbeat).
// Prints one line: sent ok non2xx errors achieved_rps p50_ms p99_ms p999_ms max_ms
#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/flags.h"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    R"(usage: le-openloop --port P --rate R (--duration S | --count N) [flags]
  --host HOST          target address (default 127.0.0.1)
  --port P             target port
  --rate R             requests per second offered, on a fixed schedule
  --duration S         schedule length: seconds, or with a suffix (500ms, 10s, 2m)
  --connections C      keep-alive connections (default 64)
  --threads T          client threads, each with C/T connections and every T-th request (default 1)
  --licenses N         POST /api/v1/validate with random keys as bench/load/validate.lua sends
                       them: keys 0..N-1 exist, --unknown-pct of requests (default 10) use one
                       that does not
  --path PATH          request path (default / , or /api/v1/validate with --licenses)
  --body-file F        POST this file's contents as JSON to --path (otherwise GET)
  --bodies F           POST request i with line i mod N of this file (N non-empty lines, one
                       JSON body each) to --path, round-robin over the lines
  --count N            exactly N requests, over N / rate seconds (instead of --duration)
  --api-key K          send "Authorization: Bearer K"
  --xff                a random client address in X-Forwarded-For on each request
  --timeout S          after the schedule ends, wait this long for answers (default 5)
  --seed N             random seed (default: from the clock)
Prints: sent ok non2xx errors achieved_rps p50_ms p99_ms p999_ms max_ms
  errors: due requests without a complete answer (connection errors, malformed answers, or
  still waiting when --timeout ran out; a request whose connection fails is first sent once
  more on a new one, as the server may have closed it while idle); achieved_rps: answers /
  max(duration, time to the last answer); latencies over every answer (2xx or not), from the
  request's due time.
)";

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  double rate = 0;
  double duration_s = 0;
  unsigned connections = 64;
  unsigned threads = 1;
  std::string path;
  std::optional<std::string> body;  // fixed body (POST)
  std::vector<std::string> bodies;  // round-robin bodies (POST)
  std::uint64_t licenses = 0;       // > 0: random validate bodies
  unsigned unknown_pct = 10;
  std::string api_key;
  bool xff = false;
  double timeout_s = 5;
  std::uint64_t seed = 0;
  std::uint64_t total = 0;  // requests in the schedule
  Clock::time_point t0;
};

// "10", "10s", "500ms", "2m" → seconds; negative when malformed.
double parse_seconds(const std::string& v) {
  std::size_t used = 0;
  double x = 0;
  try {
    x = std::stod(v, &used);
  } catch (...) {
    return -1;
  }
  const std::string unit = v.substr(used);
  if (unit.empty() || unit == "s") return x;
  if (unit == "ms") return x / 1000;
  if (unit == "m") return x * 60;
  return -1;
}

// Key i of the generated replica, as bench/load/validate.lua and bench_data.h spell it.
void append_key(std::string& out, std::uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "BNCH-%04u-%04u-%04u",
                static_cast<unsigned>((i / 100000000) % 10000),
                static_cast<unsigned>((i / 10000) % 10000), static_cast<unsigned>(i % 10000));
  out.append(buf);
}

class Worker {
 public:
  Worker(const Options& o, const tcp::resolver::results_type& endpoints, unsigned index)
      : o_(o),
        endpoints_(endpoints),
        index_(index),
        rng_(o.seed + index),
        schedule_(io_),
        deadline_(io_) {
    local_total_ = o.total > index ? (o.total - index + o.threads - 1) / o.threads : 0;
    latencies_ns_.reserve(local_total_);
    const unsigned conns = o.connections / o.threads + (index < o.connections % o.threads ? 1 : 0);
    for (unsigned k = 0; k < conns; ++k) conns_.push_back(std::make_unique<Conn>(io_));
    head_ = "HTTP/1.1\r\nHost: " + o.host + ":" + o.port + "\r\n";
    if (posts()) head_ += "Content-Type: application/json\r\n";
    if (!o.api_key.empty()) head_ += "Authorization: Bearer " + o.api_key + "\r\n";
  }

  void run() {
    for (auto& c : conns_) connect(c.get());
    deadline_.expires_at(o_.t0 + seconds(o_.duration_s + o_.timeout_s));
    deadline_.async_wait([this](boost::system::error_code ec) {
      if (!ec) io_.stop();
    });
    if (local_total_ == 0) return;
    schedule_.expires_at(due(0));
    schedule_.async_wait([this](boost::system::error_code ec) {
      if (!ec) tick();
    });
    io_.run();
  }

  std::uint64_t local_total_ = 0;
  std::uint64_t sent_ = 0, ok_ = 0, non2xx_ = 0, failed_ = 0, connect_errors_ = 0, resent_ = 0;
  std::string first_failure_;  // the first failed exchange's error, for the stderr note
  std::vector<std::uint64_t> latencies_ns_;
  Clock::time_point last_answer_{};

 private:
  struct Conn {
    explicit Conn(asio::io_context& io) : socket(io), retry(io) {}
    tcp::socket socket;
    asio::steady_timer retry;
    boost::beast::flat_buffer buffer;
    std::optional<http::response_parser<http::string_body>> parser;
    std::string request;
    std::uint64_t in_flight = 0;  // local index of the request being answered
    bool resent = false;          // the request in flight is being sent a second time
    bool resend = false;          // send `request` again once reconnected
  };

  bool posts() const { return o_.licenses > 0 || o_.body || !o_.bodies.empty(); }
  static Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }
  // Due time of this worker's j-th request: global request index_ + j * threads.
  Clock::time_point due(std::uint64_t j) const {
    const double i = static_cast<double>(index_ + j * o_.threads);
    return o_.t0 + std::chrono::nanoseconds(std::llround(i * 1e9 / o_.rate));
  }
  bool past_deadline() const {
    return Clock::now() >= o_.t0 + seconds(o_.duration_s + o_.timeout_s);
  }

  void connect(Conn* c) {
    asio::async_connect(c->socket, endpoints_,
                        [this, c](boost::system::error_code ec, const tcp::endpoint&) {
                          if (ec) {
                            ++connect_errors_;
                            c->socket.close();
                            if (past_deadline()) return;
                            c->retry.expires_after(std::chrono::milliseconds(50));
                            c->retry.async_wait([this, c](boost::system::error_code e) {
                              if (!e) connect(c);
                            });
                            return;
                          }
                          c->socket.set_option(tcp::no_delay(true));
                          c->buffer.clear();
                          if (c->resend) {
                            c->resend = false;
                            return send(c, c->in_flight, true);
                          }
                          free_.push_back(c);
                          dispatch();
                        });
  }

  void tick() {
    const auto now = Clock::now();
    while (next_due_ < local_total_ && due(next_due_) <= now) ++next_due_;
    dispatch();
    if (next_due_ < local_total_) {
      schedule_.expires_at(due(next_due_));
      schedule_.async_wait([this](boost::system::error_code ec) {
        if (!ec) tick();
      });
    }
  }

  // Oldest due request first, onto any free connection.
  void dispatch() {
    while (next_sent_ < next_due_ && !free_.empty()) {
      Conn* c = free_.back();
      free_.pop_back();
      send(c, next_sent_++);
    }
  }

  // Request j, or with `again` the same request once more (`c->request` as built).
  void send(Conn* c, std::uint64_t j, bool again = false) {
    c->in_flight = j;
    c->resent = again;
    if (!again) {
      build_request(c->request, index_ + j * o_.threads);
      ++sent_;
    }
    asio::async_write(c->socket, asio::buffer(c->request),
                      [this, c](boost::system::error_code ec, std::size_t) {
                        if (ec) return fail(c, "write: " + ec.message());
                        c->parser.emplace();
                        http::async_read(c->socket, c->buffer, *c->parser,
                                         [this, c](boost::system::error_code e, std::size_t) {
                                           if (e) return fail(c, "read: " + e.message());
                                           answered(c);
                                         });
                      });
  }

  void answered(Conn* c) {
    const auto now = Clock::now();
    const unsigned status = c->parser->get().result_int();
    (status >= 200 && status < 300 ? ok_ : non2xx_)++;
    latencies_ns_.push_back(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - due(c->in_flight)).count()));
    last_answer_ = now;
    const bool keep_alive = c->parser->keep_alive();
    c->parser.reset();
    if (keep_alive) {
      free_.push_back(c);
      dispatch();
    } else {
      boost::system::error_code ignored;
      c->socket.close(ignored);
      connect(c);
    }
    finish_if_done();
  }

  void fail(Conn* c, std::string why) {
    c->parser.reset();
    boost::system::error_code ignored;
    c->socket.close(ignored);
    // The server may have closed the connection while it was idle (its idle timeout) before it
    // saw this request: sent once more on a new connection, as HTTP clients do; its latency
    // still runs from its due time. A second failure counts.
    if (!c->resent && !past_deadline()) {
      c->resend = true;
      ++resent_;
      return connect(c);
    }
    if (failed_++ == 0) first_failure_ = std::move(why);
    finish_if_done();
    if (!past_deadline()) connect(c);
  }

  void finish_if_done() {
    if (ok_ + non2xx_ + failed_ == local_total_) io_.stop();
  }

  // Request `i` of the whole schedule (all threads).
  void build_request(std::string& out, std::uint64_t i) {
    out.clear();
    std::string body;
    if (o_.licenses > 0) {
      std::uint64_t key;
      if (std::uniform_int_distribution<unsigned>(1, 100)(rng_) <= o_.unknown_pct) {
        key = o_.licenses + std::uniform_int_distribution<std::uint64_t>(1, o_.licenses)(rng_);
      } else {
        key = std::uniform_int_distribution<std::uint64_t>(0, o_.licenses - 1)(rng_);
      }
      body = R"({"license_key":")";
      append_key(body, key);
      body += R"("})";
    } else if (o_.body) {
      body = *o_.body;
    } else if (!o_.bodies.empty()) {
      body = o_.bodies[i % o_.bodies.size()];
    }
    const bool post = posts();
    out.append(post ? "POST " : "GET ").append(o_.path).append(" ").append(head_);
    if (o_.xff) {
      auto r = [&](unsigned n) { return std::uniform_int_distribution<unsigned>(1, n)(rng_); };
      char buf[64];
      std::snprintf(buf, sizeof buf, "X-Forwarded-For: %u.%u.%u.%u\r\n", 11 + r(200), r(255),
                    r(255), r(254));
      out.append(buf);
    }
    if (post) out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    out.append("\r\n").append(body);
  }

  const Options& o_;
  const tcp::resolver::results_type& endpoints_;
  const unsigned index_;
  std::mt19937_64 rng_;
  asio::io_context io_{1};
  asio::steady_timer schedule_;
  asio::steady_timer deadline_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> free_;
  std::string head_;             // "HTTP/1.1\r\n" and the fixed headers
  std::uint64_t next_due_ = 0;   // requests [0, next_due_) are due
  std::uint64_t next_sent_ = 0;  // requests [0, next_sent_) have been sent
};

}  // namespace

int main(int argc, char** argv) {
  le::Flags flags(argc, argv,
                  {"host", "port", "rate", "duration", "connections", "threads", "licenses", "path",
                   "body-file", "bodies", "count", "api-key", "unknown-pct", "timeout", "seed"},
                  {"xff"});
  Options o;
  o.host = flags.str("host", o.host);
  o.port = flags.str("port");
  o.rate = static_cast<double>(flags.u64("rate", 0));
  o.duration_s = parse_seconds(flags.str("duration", "-1"));
  o.connections = static_cast<unsigned>(flags.u64("connections", o.connections));
  o.threads = static_cast<unsigned>(flags.u64("threads", o.threads));
  o.licenses = flags.u64("licenses", 0);
  o.unknown_pct = static_cast<unsigned>(flags.u64("unknown-pct", o.unknown_pct));
  o.path = flags.str("path", o.licenses > 0 ? "/api/v1/validate" : "/");
  o.api_key = flags.str("api-key");
  o.xff = flags.flag("xff");
  o.timeout_s = parse_seconds(flags.str("timeout", "5"));
  o.seed = flags.u64("seed", static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()));
  std::string problem = flags.ok() ? "" : flags.error();
  if (problem.empty() && flags.has("body-file")) {
    std::ifstream in(flags.str("body-file"), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    if (!in.is_open()) problem = "cannot read --body-file " + flags.str("body-file");
    o.body = s.str();
  }
  if (problem.empty() && flags.has("bodies")) {
    std::ifstream in(flags.str("bodies"), std::ios::binary);
    if (!in.is_open()) problem = "cannot read --bodies " + flags.str("bodies");
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) o.bodies.push_back(std::move(line));
    }
    if (problem.empty() && o.bodies.empty())
      problem = "--bodies " + flags.str("bodies") + " is empty";
  }
  const bool counted = flags.has("count");
  const std::uint64_t count = flags.u64("count", 0);
  if (problem.empty() && counted) {
    if (count == 0 || o.rate <= 0) {
      problem = "--count must be at least 1, with --rate";
    } else if (flags.has("duration")) {
      problem = "--count and --duration exclude each other";
    } else {
      o.duration_s = static_cast<double>(count) / o.rate;
    }
  }
  if (problem.empty()) {
    if (o.port.empty() || o.rate <= 0 || o.duration_s <= 0)
      problem = "--port, --rate and --duration (or --count) are required";
    else if (o.timeout_s < 0)
      problem = "malformed --timeout";
    else if (o.threads == 0 || o.connections < o.threads)
      problem = "--threads must be 1..connections";
    else if ((o.licenses > 0) + o.body.has_value() + !o.bodies.empty() > 1)
      problem = "--licenses, --body-file and --bodies exclude each other";
    else if (o.unknown_pct > 100)
      problem = "--unknown-pct must be 0..100";
    else if (o.rate * o.duration_s > 1e9)
      problem = "more than 1e9 requests in the schedule";
  }
  if (!problem.empty()) {
    std::cerr << "le-openloop: " << problem << "\n" << kUsage;
    return 2;
  }
  o.total = counted ? count : static_cast<std::uint64_t>(std::floor(o.rate * o.duration_s));

  asio::io_context resolve_io;
  boost::system::error_code ec;
  const auto endpoints = tcp::resolver(resolve_io).resolve(o.host, o.port, ec);
  if (ec) {
    std::cerr << "le-openloop: cannot resolve " << o.host << ":" << o.port << ": " << ec.message()
              << "\n";
    return 1;
  }

  // The schedule starts a little later, once every connection has had a chance to be opened.
  o.t0 = Clock::now() + std::chrono::milliseconds(200);
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned k = 0; k < o.threads; ++k)
    workers.push_back(std::make_unique<Worker>(o, endpoints, k));
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  for (auto& t : threads) t.join();

  std::uint64_t sent = 0, ok = 0, non2xx = 0, errors = 0, connect_errors = 0, failed = 0,
                resent = 0;
  std::string first_failure;
  std::vector<std::uint64_t> lat;
  lat.reserve(o.total);
  Clock::time_point last = o.t0;
  for (auto& w : workers) {
    sent += w->sent_;
    ok += w->ok_;
    non2xx += w->non2xx_;
    errors += w->local_total_ - w->ok_ - w->non2xx_;
    connect_errors += w->connect_errors_;
    failed += w->failed_;
    resent += w->resent_;
    if (first_failure.empty()) first_failure = w->first_failure_;
    lat.insert(lat.end(), w->latencies_ns_.begin(), w->latencies_ns_.end());
    last = std::max(last, w->last_answer_);
  }
  std::sort(lat.begin(), lat.end());
  auto pct_ms = [&](double q) {
    if (lat.empty()) return 0.0;
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(lat.size())));
    return static_cast<double>(lat[std::clamp<std::size_t>(rank, 1, lat.size()) - 1]) / 1e6;
  };
  const double elapsed = std::max(o.duration_s, std::chrono::duration<double>(last - o.t0).count());
  if (connect_errors > 0)
    std::cerr << "le-openloop: " << connect_errors << " failed connection attempts\n";
  if (resent > 0)
    std::cerr << "le-openloop: " << resent
              << " requests sent again on a new connection (the kept-alive one was closed)\n";
  if (failed > 0)
    std::cerr << "le-openloop: " << failed
              << " requests failed on their connection (first: " << first_failure << ")\n";
  std::printf("%llu %llu %llu %llu %.0f %.3f %.3f %.3f %.3f\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(ok),
              static_cast<unsigned long long>(non2xx), static_cast<unsigned long long>(errors),
              static_cast<double>(ok + non2xx) / elapsed, pct_ms(0.5), pct_ms(0.99), pct_ms(0.999),
              pct_ms(1.0));
  return 0;
}
