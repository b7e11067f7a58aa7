// A local deployment for integration tests: a real nats-server with JetStream on a reserved
// loopback port, a license-primary and any number of license-edge processes, each with its data
// under one temporary directory, plus helpers to drive the management API and read JSON answers.
#pragma once

#include <simdjson.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/edge_process.h"
#include "support/fixtures.h"

namespace le::test {

inline constexpr const char* kAdminToken = "test-admin-token";

// Reads a JSON pointer ("/license/key") from a reply body; "" when absent or not a string.
inline std::string json_str(const std::string& body, std::string_view pointer) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(body).get(doc)) return {};
  std::string_view s;
  if (doc.at_pointer(pointer).get_string().get(s)) return {};
  return std::string(s);
}
inline std::int64_t json_int(const std::string& body, std::string_view pointer) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(body).get(doc)) return -1;
  std::int64_t v;
  if (doc.at_pointer(pointer).get_int64().get(v)) return -1;
  return v;
}
inline bool json_bool(const std::string& body, std::string_view pointer) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(body).get(doc)) return false;
  bool v = false;
  if (doc.at_pointer(pointer).get_bool().get(v)) return false;
  return v;
}

// The value of the sample whose name-and-labels text is exactly `series` in a Prometheus
// exposition; -1 when absent.
inline double metric(const std::string& text, const std::string& series) {
  std::size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + series.size() + 1));
    at += series.size();
  }
  return -1;
}
// The same, scraped from an admin listener's /metrics.
inline double scrape(unsigned short admin_port, const std::string& series) {
  HttpClient c(admin_port);
  return metric(c.request(http::verb::get, "/metrics").body, series);
}

// POSTs a JSON body on a fresh connection, with "Authorization: <authorization>" when given.
inline HttpReply post_json(unsigned short port, const std::string& target, const std::string& body,
                           const std::string& authorization = {}) {
  HttpClient c(port);
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
  if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
  return c.post(target, body, headers);
}

// Polls `pred` until true or the timeout; returns its last value.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

// Runs a binary to completion and returns its first line of output (e.g. --digest).
inline std::string run_for_line(const std::string& command) {
  std::string out;
  if (FILE* f = ::popen(command.c_str(), "r")) {
    char buf[256];
    if (std::fgets(buf, sizeof buf, f)) out = buf;
    ::pclose(f);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

class Cluster {
 public:
  Cluster() = default;

  const TempDir& dir() const { return dir_; }
  std::string nats_url() const {
    return nats_elsewhere_.empty() ? "nats://127.0.0.1:" + std::to_string(nats_port_.port())
                                   : nats_elsewhere_;
  }
  // NATS the test runs itself (a cluster): the primary's and edges' --nats is `url` (a
  // comma-separated list is one connection's servers).
  void use_nats(std::string url) { nats_elsewhere_ = std::move(url); }

  // nats-server on the cluster's reserved port, the same one across restarts: every process's
  // --nats URL names it, and the reservation keeps any other process from taking it while the
  // server is down.
  void start_nats() {
    nats_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"nats-server", "-js", "-a", "127.0.0.1", "-p",
                                 std::to_string(nats_port_.port()), "-sd", dir_.path("nats")},
        nats_port_.port(), std::vector<std::string>{}, dir_.path("nats.log"));
  }
  void stop_nats() {
    if (nats_) nats_->terminate();
    nats_.reset();
  }

  void start_primary(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        "--db", dir_.path("primary-db"), "--nats", nats_url(), "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    primary_ = std::make_unique<ListeningProcess>(
        LE_PRIMARY_BINARY, args, dir_.path("primary.log"),
        std::vector<std::string>{std::string("LE_ADMIN_TOKEN=") + kAdminToken});
    primary_port_ = primary_->port();
  }
  ServerProcess& primary() { return *primary_; }
  // Whether the primary has subscribed to the writes edges forward.
  bool primary_takes_writes() {
    HttpClient c(primary_port_);
    return json_bool(c.request(http::verb::get, "/readyz").body, "/edgeWrites");
  }
  void stop_primary() {
    if (primary_) primary_->terminate();
    primary_.reset();
  }
  void kill_primary() { primary_.reset(); }

  // An edge with its replica under dir()/<name>, following the stream. Rate limiting is off:
  // tests poll validations far faster than a client would (limits are tested on their own).
  std::unique_ptr<EdgeProcess> start_edge(const std::string& name,
                                          std::vector<std::string> extra = {},
                                          bool rate_limits = false, std::string nats = {}) {
    std::vector<std::string> args{
        "--db", dir_.path(name), "--nats", nats.empty() ? nats_url() : nats, "--threads", "2"};
    if (!rate_limits) args.push_back("--no-rate-limit");
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<EdgeProcess>(LE_EDGE_BINARY, args, dir_.path(name + ".log"));
  }

  std::string primary_digest() {
    return run_for_line(std::string(LE_PRIMARY_BINARY) + " --db " + dir_.path("primary-db") +
                        " --digest 2>/dev/null");
  }
  std::string edge_digest(const std::string& name) {
    return run_for_line(std::string(LE_EDGE_BINARY) + " --db " + dir_.path(name) +
                        " --digest 2>/dev/null");
  }

  HttpReply call(http::verb method, const std::string& target, const std::string& body,
                 const std::string& token) {
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    try {
      HttpClient c(primary_port_);
      return c.request(method, target, body, headers);
    } catch (const std::exception& e) {
      // A connection the primary broke: say whether it still runs, and what it logged.
      throw std::runtime_error(std::string(e.what()) + " (" + target + "; the primary " +
                               (primary_ && primary_->alive() ? "runs" : "is gone") + ")\n" +
                               log_tail(dir_.path("primary.log")));
    }
  }
  HttpReply admin(http::verb method, const std::string& target, const std::string& body = {}) {
    return call(method, target, body, kAdminToken);
  }
  HttpReply api(http::verb method, const std::string& target, const std::string& body = {}) {
    return call(method, target, body, api_key_);
  }

  // An account (enterprise plan) with a live API key and one product named `product`.
  void bootstrap(const std::string& account = "acme", const std::string& product = "Acme App") {
    auto r = admin(http::verb::post, "/admin/v1/accounts",
                   R"({"id":")" + account + R"(","plan":"enterprise"})");
    if (r.status != 201) throw std::runtime_error("create account: " + r.body);
    r = admin(http::verb::post, "/admin/v1/accounts/" + account + "/api-keys",
              R"({"mode":"live"})");
    if (r.status != 201) throw std::runtime_error("create api key: " + r.body);
    api_key_ = json_str(r.body, "/apiKey/key");
    api_key_id_ = json_str(r.body, "/apiKey/id");
    r = api(http::verb::post, "/api/v1/products",
            R"({"name":")" + product + R"(","platforms":["windows"],"tki_versions":["1.0.0"]})");
    if (r.status != 201) throw std::runtime_error("create product: " + r.body);
    product_id_ = json_str(r.body, "/product/id");
  }
  const std::string& api_key() const { return api_key_; }
  unsigned short primary_port() const { return primary_port_; }
  const std::string& api_key_id() const { return api_key_id_; }
  const std::string& product_id() const { return product_id_; }

  struct License {
    std::string id, key;
  };
  License create_license(const std::string& extra_fields = {}) {
    auto r =
        api(http::verb::post, "/api/v1/licenses",
            R"({"product_id":")" + product_id_ + R"(","type":"perpetual")" + extra_fields + "}");
    if (r.status != 201) throw std::runtime_error("create license: " + r.body);
    return {json_str(r.body, "/license/id"), json_str(r.body, "/license/key")};
  }
  // Creates `count` licenses through the batch endpoint.
  void create_licenses(std::size_t count) {
    std::string one = R"({"product_id":")" + product_id_ + R"(","type":"perpetual"})";
    while (count > 0) {
      const std::size_t n = std::min<std::size_t>(count, 1000);
      std::string body = R"({"licenses":[)";
      for (std::size_t i = 0; i < n; ++i) {
        if (i) body.push_back(',');
        body += one;
      }
      body += "]}";
      auto r = api(http::verb::post, "/api/v1/licenses/batch", body);
      if (r.status != 201) throw std::runtime_error("batch: " + r.body);
      count -= n;
    }
  }

  // The validation code of `key` at an edge ("VALID", "SUSPENDED", …, or the HTTP error code).
  static std::string validate(unsigned short edge_port, const std::string& key,
                              const std::string& bearer = {}) {
    HttpClient c(edge_port);
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
    if (!bearer.empty()) headers.emplace_back("Authorization", "Bearer " + bearer);
    auto r = c.post("/api/v1/validate", R"({"license_key":")" + key + R"("})", headers);
    return json_str(r.body, "/code");
  }
  static bool edge_ready(unsigned short edge_port) {
    HttpClient c(edge_port);
    return c.request(http::verb::get, "/readyz").status == 200;
  }
  static std::int64_t edge_applied_seq(unsigned short edge_port) {
    HttpClient c(edge_port);
    return json_int(c.request(http::verb::get, "/readyz").body, "/appliedSeq");
  }

 private:
  TempDir dir_;
  PortReservation nats_port_;        // held for the cluster's lifetime
  unsigned short primary_port_ = 0;  // the running primary's, or the last one's
  std::unique_ptr<ServerProcess> nats_;
  std::unique_ptr<ServerProcess> primary_;
  std::string api_key_, api_key_id_, product_id_;
  std::string nats_elsewhere_;
};

}  // namespace le::test
