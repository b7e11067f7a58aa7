// The server's request path against hostile and unusual bytes, in process through
// Server::exchange (one connection over a socket pair): what it writes back, and whether it
// keeps the connection. Each case is one the server once got wrong or must never get wrong.
#include <gtest/gtest.h>

#include <charconv>
#include <string>
#include <vector>

#include "net/server.h"

namespace le::net {
namespace {

struct Answer {
  unsigned status = 0;
  std::string head;  // status line and headers
  std::string body;
  bool has(std::string_view header_line) const {
    return head.find(header_line) != std::string::npos;
  }
};

// Splits what the server wrote into responses. `head_only[i]` marks answers to HEAD, which have
// a Content-Length and no body. Fails the test on anything that is not a whole response.
std::vector<Answer> split(std::string_view out, std::vector<bool> head_only = {}) {
  std::vector<Answer> answers;
  while (!out.empty()) {
    const auto end = out.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      ADD_FAILURE() << "incomplete response head: " << out;
      break;
    }
    Answer a;
    a.head = std::string(out.substr(0, end + 2));
    out.remove_prefix(end + 4);
    if (a.head.size() < 12 || !a.head.starts_with("HTTP/1.")) {
      ADD_FAILURE() << "not a status line: " << a.head;
      break;
    }
    std::from_chars(a.head.data() + 9, a.head.data() + 12, a.status);
    std::size_t length = 0;
    const auto cl = a.head.find("\r\nContent-Length: ");
    if (cl != std::string::npos) {
      const char* p = a.head.data() + cl + 18;
      std::from_chars(p, a.head.data() + a.head.size(), length);
    }
    const bool head = answers.size() < head_only.size() && head_only[answers.size()];
    if (!head) {
      if (out.size() < length) {
        ADD_FAILURE() << "body cut short";
        break;
      }
      a.body = std::string(out.substr(0, length));
      out.remove_prefix(length);
    }
    answers.push_back(std::move(a));
  }
  return answers;
}

class Wire : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(http::verb::post, "/echo", [](const Request& req, Response& res) {
      res.body = "{\"len\":" + std::to_string(req.body.size()) + ",\"target\":\"" +
                 std::string(req.target) + "\"}";
    });
    router_.add(http::verb::get, "/healthz",
                [](const Request&, Response& res) { res.body = R"({"status":"ok"})"; });
    router_.set_error_writer([this](const ErrorContext& ctx, ProtocolError e, Response& res) {
      res.status = status_of(e);
      error_paths_.emplace_back(ctx.path);
      res.body = "{\"error\":" + std::to_string(res.status) + "}";
    });
    config_.limits.header_bytes = 8 * 1024;
    config_.limits.body_bytes = 16 * 1024;
  }
  Server::Exchange exchange(std::string_view in) {
    Server server(config_, router_);
    return server.exchange(in);
  }

  Router router_;
  ServerConfig config_;
  std::vector<std::string> error_paths_;
};

constexpr std::string_view kHealth = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

TEST_F(Wire, KeepAliveServesPipelinedRequestsInOrder) {
  const std::string in =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + std::string(kHealth);
  auto x = exchange(in);
  auto a = split(x.output);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].body, R"({"len":3,"target":"/echo"})");
  EXPECT_EQ(a[1].body, R"({"status":"ok"})");
  EXPECT_TRUE(x.kept_open);
}

TEST_F(Wire, AnUnendingChunkExtensionIsRefusedOnceTheReadBufferIsFull) {
  std::string in = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=";
  in.append(4 << 20, 'a');  // 4 MiB and no CRLF: a server that buffers it all never answers
  auto x = exchange(in);
  auto a = split(x.output);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status, 400u);
  EXPECT_TRUE(a[0].has("Connection: close"));
  EXPECT_FALSE(x.kept_open);
}

TEST_F(Wire, AnUnendingTrailerIsRefusedOnceTheReadBufferIsFull) {
  std::string in =
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n0\r\nX-T: ";
  in.append(4 << 20, 't');
  auto x = exchange(in);
  auto a = split(x.output);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status, 400u);
  EXPECT_FALSE(x.kept_open);
}

TEST_F(Wire, ChunkExtensionsAddedUpOverManyChunksAreBounded) {
  std::string in = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 100; ++i) in += "1;ext=" + std::string(100, 'e') + "\r\nx\r\n";
  in += "0\r\n\r\n";
  auto a = split(exchange(in).output);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status, 400u);
}

TEST_F(Wire, ChunkedBodiesWithinTheLimitsAreServed) {
  const std::string in =
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2;name=value\r\nab\r\n1\r\nc\r\n0\r\nX-Trailer: t\r\n\r\n" +
      std::string(kHealth);
  auto x = exchange(in);
  auto a = split(x.output);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].body, R"({"len":3,"target":"/echo"})");
  EXPECT_EQ(a[1].status, 200u);
  EXPECT_TRUE(x.kept_open);
}

// RFC 9112 6.3: a request whose final transfer coding is not chunked has no knowable length.
// Its bytes must never be read as the next request.
TEST_F(Wire, ATransferCodingOtherThanChunkedIsRefusedAndTheConnectionClosed) {
  for (std::string te :
       {"gzip", "chunked, identity", "identity", "gzip, chunked", "chunked, chunked"}) {
    error_paths_.clear();
    const std::string in = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te +
                           "\r\n\r\n" + std::string(kHealth);
    auto x = exchange(in);
    auto a = split(x.output);
    ASSERT_EQ(a.size(), 1u) << te << ": " << x.output;
    EXPECT_EQ(a[0].status, 400u) << te;
    EXPECT_TRUE(a[0].has("Connection: close")) << te;
    EXPECT_FALSE(x.kept_open) << te;
    ASSERT_EQ(error_paths_.size(), 1u);
    EXPECT_EQ(error_paths_[0], "/echo");
  }
}

// RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; answer and close.
TEST_F(Wire, Http10WithTransferEncodingIsAnsweredAndClosed) {
  const std::string in =
      "POST /echo HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: "
      "chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n" +
      std::string(kHealth);
  auto x = exchange(in);
  auto a = split(x.output);
  ASSERT_EQ(a.size(), 1u) << x.output;
  EXPECT_EQ(a[0].status, 400u);
  EXPECT_TRUE(a[0].has("Connection: close"));
  EXPECT_FALSE(x.kept_open);
}

TEST_F(Wire, Http10KeepAliveWithContentLengthStillWorks) {
  const std::string in =
      "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nab" +
      std::string(kHealth);
  auto x = exchange(in);
  auto a = split(x.output);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_TRUE(a[0].head.starts_with("HTTP/1.0 200"));
  EXPECT_TRUE(a[0].has("Connection: keep-alive"));
}

// RFC 9110 9.3.2: the answer to HEAD has no content, whatever its status.
TEST_F(Wire, HeadIsAnsweredWithoutContentAndTheConnectionStaysInStep) {
  const std::string in =
      "HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\n" +
      std::string(kHealth);
  auto x = exchange(in);
  auto a = split(x.output, {true, true, true});
  ASSERT_EQ(a.size(), 4u) << x.output;
  EXPECT_EQ(a[0].status, 405u);
  EXPECT_TRUE(a[0].has("Allow: POST"));
  EXPECT_EQ(a[1].status, 200u);  // HEAD on a GET route answers as GET, without the body
  EXPECT_TRUE(a[1].has("Content-Length: 15"));
  EXPECT_EQ(a[2].status, 404u);
  EXPECT_EQ(a[3].body, R"({"status":"ok"})");  // the next answer starts exactly where it should
  EXPECT_TRUE(x.kept_open);
}

TEST_F(Wire, AllowListsHeadWhereGetIsServed) {
  auto a = split(exchange("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").output);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status, 405u);
  EXPECT_TRUE(a[0].has("Allow: GET, HEAD"));
}

// RFC 9112 3.2.2: a server MUST accept the absolute form.
TEST_F(Wire, AbsoluteFormTargetsAreServedByTheirPath) {
  const std::string in =
      "POST http://127.0.0.1:8080/echo?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: "
      "1\r\n\r\nz"
      "GET HTTP://example.com/healthz HTTP/1.1\r\nHost: example.com\r\n\r\n"
      "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n";
  auto a = split(exchange(in).output);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].body, R"({"len":1,"target":"/echo?x=1"})");
  EXPECT_EQ(a[1].body, R"({"status":"ok"})");
  EXPECT_EQ(a[2].status, 404u);  // "/" is not a route
  EXPECT_EQ(error_paths_.at(0), "/");
}

// RFC 9112 3.2: HTTP/1.1 without exactly one Host is a 400.
TEST_F(Wire, Http11NeedsExactlyOneHost) {
  for (std::string hosts : {std::string(), std::string("Host: a\r\nHost: b\r\n")}) {
    auto x = exchange("GET /healthz HTTP/1.1\r\n" + hosts + "\r\n" + std::string(kHealth));
    auto a = split(x.output);
    ASSERT_EQ(a.size(), 1u) << hosts;
    EXPECT_EQ(a[0].status, 400u);
    EXPECT_FALSE(x.kept_open);
  }
  auto a = split(exchange("GET /healthz HTTP/1.0\r\n\r\n").output);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status, 200u);  // HTTP/1.0 needs none
}

TEST_F(Wire, HeaderStageErrorsKnowTheRequestPath) {
  auto a = split(
      exchange("POST /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n")
          .output);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status, 431u);
  a = split(exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n")
                .output);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status, 400u);
  a = split(exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n").output);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status, 413u);
  EXPECT_EQ(error_paths_, (std::vector<std::string>{"/echo", "/echo", "/echo"}));
}

TEST_F(Wire, AHeaderOverTheLimitBeforeTheRequestLineEndsIsStill431) {
  auto a = split(exchange("GET /" + std::string(20000, 'p')).output);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status, 431u);
}

TEST(TargetForms, PathAndOriginOfEachForm) {
  EXPECT_EQ(path_of_target("/a/b?q=1"), "/a/b");
  EXPECT_EQ(path_of_target("http://h:1/a/b?q"), "/a/b");
  EXPECT_EQ(path_of_target("https://h"), "/");
  EXPECT_EQ(path_of_target("http://h?q"), "/");
  EXPECT_EQ(origin_of_target("http://h?q"), "?q");
  EXPECT_EQ(origin_of_target("http://h/x?q"), "/x?q");
  EXPECT_EQ(origin_of_target("/x"), "/x");
  EXPECT_EQ(path_of_target("*"), "*");
  EXPECT_EQ(target_of_request_line("POST /api/license/auth HTTP/1.1\r\nHost: x"),
            "/api/license/auth");
  EXPECT_EQ(target_of_request_line("POST /api/lic"), "");  // may still be arriving
  EXPECT_EQ(target_of_request_line(""), "");
}

}  // namespace
}  // namespace le::net
