// Runs the real license-edge binary for end-to-end tests, and a minimal HTTP/1.1 client over a
// loopback socket that can also send raw (malformed) bytes.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace le::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

inline unsigned short free_port() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

struct HttpReply {
  unsigned status = 0;
  std::string body;
  http::fields headers;
  bool keep_alive = false;
};

class HttpClient {
 public:
  explicit HttpClient(unsigned short port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  HttpReply request(http::verb method, std::string target, std::string body = {},
                    std::vector<std::pair<std::string, std::string>> headers = {
                        {"Content-Type", "application/json"}}) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(socket_, req);
    return read();
  }
  HttpReply post(std::string target, std::string body,
                 std::vector<std::pair<std::string, std::string>> headers = {
                     {"Content-Type", "application/json"}}) {
    return request(http::verb::post, std::move(target), std::move(body), std::move(headers));
  }

  void send_raw(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }
  void half_close() { socket_.shutdown(tcp::socket::shutdown_send); }

  HttpReply read() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    http::read(socket_, buffer_, parser);
    auto& res = parser.get();
    HttpReply r;
    r.status = res.result_int();
    r.body = res.body();
    r.headers = res.base();
    r.keep_alive = res.keep_alive();
    return r;
  }

  // True when the server closed the connection (a read returns EOF).
  bool closed_by_server() {
    char c;
    beast::error_code ec;
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// A child process serving on a loopback port: started, awaited until it accepts connections,
// and killed (SIGKILL) when destroyed. Output goes to `log_path` when given.
class ServerProcess {
 public:
  ServerProcess(std::vector<std::string> argv, unsigned short port,
                std::vector<std::string> env = {}, std::string log_path = {})
      : port_(port) {
    pid_ = ::fork();
    if (pid_ == 0) {
      if (!log_path.empty()) {
        const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
          ::dup2(fd, 1);
          ::dup2(fd, 2);
        }
      }
      for (auto& e : env) ::putenv(e.data());
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        HttpClient probe(port_);
        return;
      } catch (const std::exception&) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          throw std::runtime_error(argv[0] + " exited during start-up");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    throw std::runtime_error(argv[0] + " did not start listening");
  }
  ~ServerProcess() { kill9(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  unsigned short port() const { return port_; }
  bool alive() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  void kill9() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  // SIGTERM and wait; returns the exit status (or -1 when it did not exit in time).
  int terminate(std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

// argv for license-edge / license-primary serving on `port`, its admin listener on `admin_port`.
inline std::vector<std::string> with_listen(std::string binary, std::vector<std::string> args,
                                            unsigned short port, unsigned short admin_port) {
  args.insert(args.begin(), std::move(binary));
  args.push_back("--listen");
  args.push_back("127.0.0.1:" + std::to_string(port));
  args.push_back("--admin-listen");
  args.push_back("127.0.0.1:" + std::to_string(admin_port));
  return args;
}

// license-edge on a free loopback port, its admin listener on another.
class EdgeProcess : public ServerProcess {
 public:
  EdgeProcess(std::string binary, std::vector<std::string> args, unsigned short port = free_port(),
              std::string log_path = {}, unsigned short admin_port = free_port())
      : ServerProcess(with_listen(std::move(binary), std::move(args), port, admin_port), port, {},
                      std::move(log_path)),
        admin_port_(admin_port) {}
  unsigned short admin_port() const { return admin_port_; }

 private:
  unsigned short admin_port_;
};

}  // namespace le::test
