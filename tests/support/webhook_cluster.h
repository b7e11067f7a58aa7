// A license-primary (the real binary, not publishing) with an account, a product and three
// webhook endpoints pointing at three WebhookReceivers; licenses created in batches; the
// recorded events read back. For the webhook delivery tests through the binary.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "support/cluster.h"
#include "support/webhook_receiver.h"

namespace le::test {

inline std::string event_id(const std::string& body) {
  const auto at = body.find("\"id\":\"") + 6;
  return body.substr(at, body.find('"', at) - at);
}

inline std::string field(const std::string& body, const std::string& name) {
  const auto at = body.find("\"" + name + "\":\"") + name.size() + 4;
  return body.substr(at, body.find('"', at) - at);
}

class WebhookCluster {
 public:
  WebhookCluster() {
    start();
    cluster_.bootstrap();
    for (auto& r : receivers_) {
      auto reply =
          cluster_.api(http::verb::post, "/api/v1/webhooks", R"({"url":")" + r.url() + R"("})");
      if (reply.status != 201) throw std::runtime_error("register: " + reply.body);
    }
  }
  void start() { cluster_.start_primary({"--no-publish", "--webhooks-allow-private"}); }
  Cluster& cluster() { return cluster_; }
  std::array<WebhookReceiver, 3>& receivers() { return receivers_; }

  // Creates `n` licenses in batches of `batch`, until done or the primary is gone; returns how
  // many the primary confirmed.
  std::size_t create(std::size_t n, std::size_t batch) {
    std::size_t confirmed = 0;
    try {
      HttpClient c(cluster_.primary().port());
      while (confirmed < n) {
        const std::size_t k = std::min(batch, n - confirmed);
        std::string body = R"({"licenses":[)";
        for (std::size_t i = 0; i < k; ++i) {
          if (i) body.push_back(',');
          body += R"({"product_id":")" + cluster_.product_id() + R"(","type":"perpetual"})";
        }
        body += "]}";
        auto r = c.request(http::verb::post, "/api/v1/licenses/batch", body,
                           {{"Content-Type", "application/json"},
                            {"Authorization", "Bearer " + cluster_.api_key()}});
        if (r.status != 201) throw std::runtime_error("batch: " + r.body);
        confirmed += k;
      }
    } catch (const boost::system::system_error&) {
      // The primary was killed under us.
    }
    return confirmed;
  }
  // Every event the primary recorded, by id.
  std::vector<std::string> events() {
    std::vector<std::string> ids;
    for (std::uint64_t after = 0;;) {
      auto r =
          cluster_.api(http::verb::get, "/api/v1/events?limit=100&after=" + std::to_string(after));
      std::size_t n = 0;
      for (std::size_t at = r.body.find("\"id\":\"evt_"); at != std::string::npos;
           at = r.body.find("\"id\":\"evt_", at + 1)) {
        ids.push_back(event_id(r.body.substr(at)));
        ++n;
      }
      if (n == 0) return ids;
      after = std::stoull(ids.back().substr(4));
    }
  }

 private:
  Cluster cluster_;
  std::array<WebhookReceiver, 3> receivers_;
};

}  // namespace le::test
