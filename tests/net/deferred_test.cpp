// Deferred responses (Response::defer): a handler returns at once and answers later from another
// thread; the connection's thread keeps serving other connections meanwhile; a completion that
// never comes is answered by the timeout writer; a late completion is ignored.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "net/server.h"
#include "support/edge_process.h"

namespace le::net {
namespace {

using test::HttpClient;
using test::HttpReply;
using Clock = std::chrono::steady_clock;

// Completions parked by handlers, released by the test.
struct Parked {
  std::mutex mu;
  std::vector<std::shared_ptr<Completion>> items;
  void add(std::shared_ptr<Completion> c) {
    std::lock_guard lock(mu);
    items.push_back(std::move(c));
  }
  std::shared_ptr<Completion> take() {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mu);
        if (!items.empty()) {
          auto c = items.front();
          items.erase(items.begin());
          return c;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return nullptr;
  }
};

class Deferred : public ::testing::Test {
 protected:
  void SetUp() override {
    auto deferring = [this](std::chrono::milliseconds timeout) {
      return [this, timeout](const Request& req, Response& res) {
        res.add_header("X-Before", "kept");
        auto c = res.defer(timeout, [](Response& r) {
          r.status = 503;
          r.body = R"({"error":"timed out"})";
        });
        ASSERT_NE(c, nullptr);
        {
          std::lock_guard lock(bodies_mu_);
          bodies_.emplace_back(req.body);  // the request's views die with the handler's return
        }
        parked_.add(std::move(c));
      };
    };
    router_.add(http::verb::post, "/later", deferring(std::chrono::milliseconds(10'000)));
    router_.add(http::verb::post, "/short", deferring(std::chrono::milliseconds(300)));
    router_.add(http::verb::get, "/now",
                [](const Request&, Response& res) { res.body = R"({"now":true})"; });
    // Defers, hands its completion out, then fails: the server answers 500 itself.
    router_.add(http::verb::post, "/throws", [this](const Request&, Response& res) {
      auto c = res.defer(std::chrono::milliseconds(10'000), [](Response& r) { r.status = 504; });
      parked_.add(std::move(c));
      throw std::runtime_error("handler bug after defer");
    });
    router_.set_error_writer([](const ErrorContext&, ProtocolError e, Response& res) {
      res.status = status_of(e);
      res.body = "{}";
    });
    ServerConfig config;
    config.port = 0;
    config.threads = 1;  // one I/O thread: a blocked thread would stall /now
    server_ = std::make_unique<Server>(config, router_);
    server_->start();
  }
  void TearDown() override { server_->shutdown(std::chrono::milliseconds(100)); }

  Router router_;
  Parked parked_;
  std::mutex bodies_mu_;
  std::vector<std::string> bodies_;  // guarded by bodies_mu_
  std::unique_ptr<Server> server_;
};

TEST_F(Deferred, CompletedFromAnotherThreadWhileTheIoThreadServesOthers) {
  HttpReply reply;
  std::thread client([&] {
    HttpClient c(server_->port());
    reply = c.post("/later", "hello");
  });
  auto completion = parked_.take();
  ASSERT_NE(completion, nullptr);
  // The single I/O thread is free: another connection is answered while /later waits.
  HttpClient other(server_->port());
  EXPECT_EQ(other.request(http::verb::get, "/now").status, 200u);
  std::thread([completion] {
    completion->complete([](Response& r) {
      r.status = 201;
      r.body = R"({"done":true})";
    });
  }).join();
  client.join();
  EXPECT_EQ(reply.status, 201u);
  EXPECT_EQ(reply.body, R"({"done":true})");
  EXPECT_EQ(reply.headers["X-Before"], "kept");
  std::lock_guard lock(bodies_mu_);
  EXPECT_EQ(bodies_.at(0), "hello");
}

TEST_F(Deferred, NeverCompletedIsAnsweredByTheTimeoutWriterAndLateCompletionIsIgnored) {
  HttpClient c(server_->port());
  const auto t0 = Clock::now();
  auto r = c.post("/short", "x");
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.body, R"({"error":"timed out"})");
  EXPECT_GE(s, 0.29);
  EXPECT_LT(s, 2.0);
  auto completion = parked_.take();
  ASSERT_NE(completion, nullptr);
  completion->complete([](Response& res) { res.status = 299; });  // too late: nothing happens
  EXPECT_EQ(c.request(http::verb::get, "/now").status, 200u);     // same connection, next request
}

TEST_F(Deferred, ManyConcurrentDeferredRequestsEachGetTheirOwnAnswer) {
  constexpr int kClients = 20;
  std::vector<HttpReply> replies(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      HttpClient c(server_->port());
      replies[i] = c.post("/later", std::to_string(i));
    });
  }
  // Answer each with its own number, from several threads, in arbitrary order.
  std::vector<std::thread> answerers;
  for (int i = 0; i < kClients; ++i) {
    auto completion = parked_.take();
    ASSERT_NE(completion, nullptr);
    answerers.emplace_back([completion, i] {
      completion->complete([i](Response& r) { r.body = "{\"n\":" + std::to_string(i) + "}"; });
    });
  }
  for (auto& t : answerers) t.join();
  for (auto& t : clients) t.join();
  std::set<std::string> seen;
  for (const auto& r : replies) {
    EXPECT_EQ(r.status, 200u);
    seen.insert(r.body);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kClients));
}

// A completion whose handler threw after deferring must never reach a response: not the one the
// connection answers next, and not a session that is gone (under ASan a write into the freed
// frame is reported).
TEST_F(Deferred, CompletionAfterItsHandlerThrewIsANoOp) {
  std::shared_ptr<Completion> stale;
  {
    HttpClient c(server_->port());
    EXPECT_EQ(c.post("/throws", "x").status, 500u);
    stale = parked_.take();
    ASSERT_NE(stale, nullptr);
  }
  HttpClient c(server_->port());
  const auto failed = c.post("/throws", "y");
  EXPECT_EQ(failed.status, 500u);
  EXPECT_FALSE(failed.keep_alive);
  auto stale_same_connection = parked_.take();
  ASSERT_NE(stale_same_connection, nullptr);
  HttpReply reply;
  std::thread client([&] {
    // The connections above were closed after their 500s and their sessions ended: a new
    // session's deferred answer, which the stale completions must not touch.
    HttpClient d(server_->port());
    reply = d.post("/later", "z");
  });
  auto live = parked_.take();
  ASSERT_NE(live, nullptr);
  // Both stale completions run first, on the I/O thread, while /later is parked.
  for (auto& s : {stale, stale_same_connection}) {
    s->complete([](Response& r) {
      r.status = 299;
      r.add_header("X-Stale", "written");
    });
  }
  // Posted after them to the same thread: by the time it runs, theirs have run.
  live->complete([](Response& r) { r.body = R"({"live":true})"; });
  client.join();
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, R"({"live":true})");
  EXPECT_EQ(reply.headers.count("X-Stale"), 0u);
}

// A completion called after the server is gone neither crashes nor writes anywhere.
TEST(DeferredShutdown, CompletionAfterTheServerIsDestroyedIsANoOp) {
  Router router;
  Parked parked;
  router.add(http::verb::post, "/later", [&parked](const Request&, Response& res) {
    parked.add(res.defer(std::chrono::milliseconds(10'000), [](Response& r) { r.status = 504; }));
  });
  router.set_error_writer(
      [](const ErrorContext&, ProtocolError e, Response& res) { res.status = status_of(e); });
  ServerConfig config;
  config.port = 0;
  auto server = std::make_unique<Server>(config, router);
  server->start();
  std::thread client([port = server->port()] {
    try {
      HttpClient c(port);
      c.post("/later", "x");
    } catch (const std::exception&) {
      // cut off by the shutdown: expected
    }
  });
  auto c = parked.take();
  ASSERT_NE(c, nullptr);
  server->shutdown(std::chrono::milliseconds(0));
  server.reset();
  client.join();
  c->complete([](Response& r) { r.status = 299; });
  SUCCEED();
}

}  // namespace
}  // namespace le::net
