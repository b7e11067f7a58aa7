// No heap allocation per request on the hot paths: validations (public and with an API key),
// failed validations counted for the primary, and TKI authentications through the real server
// over loopback, from the edge's in-memory view.
// Every operator new in this process is counted; after a warm-up, 10,000 more requests must not
// allocate (a handful of allocations not tied to requests, such as a timer's, are tolerated).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cache/record_cache.h"
#include "core/clock.h"
#include "edge/edge_service.h"
#include "net/server.h"
#include "support/fixtures.h"

namespace {
std::atomic<std::uint64_t> g_allocations{0};
}

// GCC pairs the library's operator new with these free() calls when it inlines them into
// containers and warns (-Wmismatched-new-delete); both sides are the replacements below.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Every replaceable form (but the aligned ones, which pair among themselves), so whatever a
// library allocates with one form and frees with another still meets malloc and free.
namespace {
void* counted(std::size_t n) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = counted(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace le::edge {
namespace {

// A blocking keep-alive client that allocates nothing per request: requests are built before
// the measurement, responses read into a fixed buffer.
class RawClient {
 public:
  explicit RawClient(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  // Sends `request` and reads one response; its status, 0 on failure.
  unsigned exchange(std::string_view request) {
    for (std::size_t sent = 0; sent < request.size();) {
      const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return 0;
      sent += static_cast<std::size_t>(n);
    }
    std::size_t have = 0;
    for (;;) {
      const ssize_t n = ::recv(fd_, buf_ + have, sizeof buf_ - have, 0);
      if (n <= 0) return 0;
      have += static_cast<std::size_t>(n);
      const std::string_view got(buf_, have);
      const auto end = got.find("\r\n\r\n");
      if (end == std::string_view::npos) continue;
      const auto cl = got.find("Content-Length: ");
      if (cl == std::string_view::npos || cl > end) return 0;
      std::size_t length = 0;
      std::from_chars(got.data() + cl + 16, got.data() + end, length);
      if (have < end + 4 + length) continue;
      if (have != end + 4 + length) return 0;  // nothing pipelined: exactly one response
      unsigned status = 0;
      std::from_chars(got.data() + 9, got.data() + 12, status);
      return status;
    }
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  char buf_[16384];
};

std::string post(std::string_view path, std::string_view body, std::string_view auth = {}) {
  std::string r = "POST " + std::string(path) + " HTTP/1.1\r\nHost: edge\r\n";
  if (!auth.empty()) r += "Authorization: " + std::string(auth) + "\r\n";
  r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
       "\r\n\r\n" + std::string(body);
  return r;
}

TEST(EdgeAllocations, NonePerRequestForValidationsAndTkiAuthentications) {
  test::TempDir dir;
  store::RecordStoreOptions options{dir.path("db")};
  options.memory_view = true;
  auto replica = store::RecordStore::open(options).value();
  cache::InvalidationStamps stamps(12);
  auto product = test::product();
  std::vector<core::ChangeEvent> events = {
      test::event(test::account()), test::event(test::api_key("to_live_allockey")),
      test::event(test::api_key("tki-key")), test::event(product)};
  constexpr int kLicenses = 64;
  for (int i = 0; i < kLicenses; ++i) {
    auto l = test::license("LIC-" + std::to_string(i), "lic_" + std::to_string(i));
    l.ips = {"10.0.0.1"};
    l.hwids = {"hw-1"};
    l.allowed_domains = {"example.com"};
    l.metadata_json = R"({"seats":5,"tier":"pro"})";
    l.activations.push_back({"machine-1", "Laptop", test::kNow});
    events.push_back(test::event(l));
  }
  ASSERT_TRUE(cache::apply_and_invalidate(*replica, stamps, events, 1));

  core::SystemClock clock;
  EdgeOptions edge_options;
  edge_options.threads = 1;
  edge_options.rate_limit.enabled = false;
  EdgeService service(*replica, stamps, clock, edge_options);
  Reporter reporter(1, {});
  service.set_reporter(&reporter);
  // Takes the threads' tallies away (swapped, read, cleared) as the reporter's flush does.
  auto drain = [&] {
    reporter.take([](const core::FailureTally&, const core::UsageTally&, const core::AuthLog&,
                     const core::BlacklistHits&) {});
  };
  net::Router router;
  service.register_routes(router);
  net::ServerConfig config;
  config.address = "127.0.0.1";
  config.port = 0;
  config.threads = 1;
  net::Server server(config, router);
  server.start();

  std::vector<std::string> requests;
  for (int i = 0; i < kLicenses; ++i) {
    const std::string key = "LIC-" + std::to_string(i);
    requests.push_back(
        post("/api/v1/validate", R"({"key":")" + key + R"(","domain":"example.com"})"));
    requests.push_back(
        post("/api/v1/validate", R"({"key":")" + key + R"("})", "Bearer to_live_allockey"));
    requests.push_back(post("/api/v1/validate", R"({"key":"UNKNOWN-)" + std::to_string(i) + "\"}"));
    requests.push_back(post("/api/license/auth",
                            R"({"data":{"product":"MyProduct","version":"1.0.0","licensekey":")" +
                                key + R"(","ip":"10.0.0.1","hwid":"hw-1"}})",
                            "tki-key"));
    // MACHINE_NOT_ACTIVATED, with a machine id longer than a string keeps inline.
    requests.push_back(
        post("/api/v1/validate",
             R"({"key":")" + key + R"(","machine_id":"device-not-activated-here"})"));
  }
  RawClient client(server.port());
  ASSERT_TRUE(client.ok());
  // Each kind answers as it should (valid, valid, unknown key, TKI success, machine refused).
  ASSERT_EQ(client.exchange(requests[0]), 200u);
  ASSERT_EQ(client.exchange(requests[1]), 200u);
  ASSERT_EQ(client.exchange(requests[2]), 200u);  // {"valid":false,…}
  ASSERT_EQ(client.exchange(requests[3]), 200u);
  ASSERT_EQ(client.exchange(requests[4]), 200u);  // {"valid":false,…}, counted
  // Warm-up, with the tallies (failures, usage, auth attempts) drained now and then.
  for (int i = 0; i < 2500; ++i) {
    ASSERT_NE(client.exchange(requests[i % requests.size()]), 0u);
    if (i % 500 == 499) drain();
  }

  // 12,500 requests, 2,500 of each kind, counted per kind so a failure names its path.
  constexpr int kPerKind = 2'500;
  constexpr std::size_t kKinds = 5;
  const char* kinds[] = {"public validation", "API-key validation", "unknown key",
                         "TKI authentication", "failed validation"};
  for (std::size_t kind = 0; kind < kKinds; ++kind) {
    int failed = 0;
    const std::uint64_t before = g_allocations.load();
    for (int i = 0; i < kPerKind; ++i) {
      const auto& request =
          requests[(static_cast<std::size_t>(i) * kKinds + kind) % requests.size()];
      failed += client.exchange(request) == 0 ? 1 : 0;
      if (i % 500 == 499) drain();
    }
    const std::uint64_t allocations = g_allocations.load() - before;
    EXPECT_EQ(failed, 0) << kinds[kind];
    EXPECT_LE(allocations, 5u) << allocations << " allocations over " << kPerKind << " "
                               << kinds[kind] << " requests";
  }
  server.shutdown(std::chrono::milliseconds(500));
}

}  // namespace
}  // namespace le::edge
