// Listening addresses: a second server on an address another one already serves is refused at
// start (SO_REUSEPORT would otherwise let it join, and the kernel would split connections between
// two servers with different replicas), while the first goes on serving; a free address, and
// port 0, still start.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <string>
#include <system_error>

#include "net/server.h"

namespace le::net {
namespace {

namespace asio = boost::asio;

std::string get_healthz(unsigned short port) {
  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  asio::write(s, asio::buffer(req));
  std::string out;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec);
  return out;
}

class Listen : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(http::verb::get, "/healthz",
                [](const Request&, Response& res) { res.body = R"({"status":"ok"})"; });
    config_.address = "127.0.0.1";
    config_.port = 0;
    config_.threads = 2;
  }
  Router router_;
  ServerConfig config_;
};

TEST_F(Listen, ASecondServerOnAServedAddressIsRefusedAndTheFirstKeepsServing) {
  Server first(config_, router_);
  first.start();
  ServerConfig same = config_;
  same.port = first.port();
  Server second(same, router_);
  try {
    second.start();
    ADD_FAILURE() << "a second server started on 127.0.0.1:" << first.port();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE) << e.what();
    EXPECT_NE(std::string(e.what()).find("another process already serves 127.0.0.1:" +
                                         std::to_string(first.port())),
              std::string::npos)
        << e.what();
  }
  for (int i = 0; i < 4; ++i)
    EXPECT_NE(get_healthz(first.port()).find("200 OK"), std::string::npos);
  second.shutdown(std::chrono::milliseconds(100));
  first.shutdown(std::chrono::milliseconds(100));
}

TEST_F(Listen, AnAddressFreedByAStoppedServerCanBeServedAgain) {
  unsigned short port = 0;
  {
    Server first(config_, router_);
    first.start();
    port = first.port();
    EXPECT_NE(get_healthz(port).find("200 OK"), std::string::npos);
    first.shutdown(std::chrono::milliseconds(100));
  }
  ServerConfig again = config_;
  again.port = port;
  Server second(again, router_);
  ASSERT_NO_THROW(second.start());
  EXPECT_NE(get_healthz(port).find("200 OK"), std::string::npos);
  second.shutdown(std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace le::net
