// Commit → receiver latency of webhook deliveries through the real license-primary, over 1,000
// events, paced and in a burst; prints p50/p99. A measurement (label "scale", not in the default
// test run): bench/webhooks.sh runs it.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <thread>

#include "support/webhook_cluster.h"

namespace le::test {
namespace {

using namespace std::chrono_literals;
using V = http::verb;

// Commit → receiver: each license is created by its own request, and its latency is the time
// from that request's sending to the delivery's arrival.
TEST(WebhookLatency, CommitToReceiverOver1000Events) {
  WebhookCluster wc;
  auto& receiver = wc.receivers()[0];
  for (const char* mode : {"paced (one event every 5 ms)", "burst"}) {
    const std::size_t before = receiver.count();
    std::map<std::string, std::chrono::system_clock::time_point> sent;
    HttpClient c(wc.cluster().primary().port());
    for (int i = 0; i < 1000; ++i) {
      const auto at = std::chrono::system_clock::now();
      auto r =
          c.request(V::post, "/api/v1/licenses",
                    R"({"product_id":")" + wc.cluster().product_id() + R"(","type":"perpetual"})",
                    {{"Content-Type", "application/json"},
                     {"Authorization", "Bearer " + wc.cluster().api_key()}});
      ASSERT_EQ(r.status, 201u) << r.body;
      sent[field(r.body, "id")] = at;
      if (mode[0] == 'p') std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(receiver.wait_for(before + 1000, 60s));
    std::vector<double> ms;
    const auto got = receiver.received();
    for (std::size_t i = before; i < got.size(); ++i) {
      const auto it = sent.find(field(got[i].body, "licenseId"));
      ASSERT_NE(it, sent.end());
      ms.push_back(std::chrono::duration<double, std::milli>(got[i].at - it->second).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("webhook latency, %s, 1000 events: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", mode,
                ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back());
  }
}

}  // namespace
}  // namespace le::test
