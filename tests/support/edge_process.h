// Runs the real license-edge binary for end-to-end tests, and a minimal HTTP/1.1 client over a
// loopback socket that can also send raw (malformed) bytes.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace le::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Children listen on port 0 and report the ports the kernel gave them; a port chosen here and
// handed over could be taken by another test's process meanwhile (and our listeners set
// SO_REUSEPORT, so both would bind it and the kernel would split connections between them).
struct Ports {
  unsigned short port = 0;
  unsigned short admin = 0;
};

// Reads a port file: license-edge's and license-primary's --port-file ("<port> <admin_port>"),
// or nats-server's ports file ({"nats":["nats://127.0.0.1:<port>"]}). nullopt until complete.
inline std::optional<Ports> read_ports(const std::string& path) {
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Ports p;
  if (const auto at = text.find("nats://"); at != std::string::npos) {
    const auto colon = text.find(':', at + 7);
    const auto end = text.find('"', at);
    if (colon == std::string::npos || end == std::string::npos ||
        text.find('}') == std::string::npos) {
      return std::nullopt;
    }
    p.port = static_cast<unsigned short>(std::stoul(text.substr(colon + 1, end - colon - 1)));
    return p;
  }
  if (text.empty() || text.back() != '\n') return std::nullopt;
  unsigned port = 0, admin = 0;
  if (std::sscanf(text.c_str(), "%u %u", &port, &admin) != 2) return std::nullopt;
  p.port = static_cast<unsigned short>(port);
  p.admin = static_cast<unsigned short>(admin);
  return p;
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
// and killed (SIGKILL) when destroyed. Output goes to `log_path` when given. With `port_file`
// (given the child's pid, where it reports its ports), the port is the one reported there;
// without, `port` is the port the child was told to use.
class ServerProcess {
 public:
  using PortFile = std::function<std::string(pid_t)>;
  ServerProcess(std::vector<std::string> argv, unsigned short port,
                std::vector<std::string> env = {}, std::string log_path = {},
                PortFile port_file = {})
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
    while (port_file && port_ == 0 && std::chrono::steady_clock::now() < deadline) {
      if (auto p = read_ports(port_file(pid_))) {
        port_ = p->port;
        admin_port_ = p->admin;
        break;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error(argv[0] + " exited during start-up");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
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
  virtual ~ServerProcess() { kill9(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  unsigned short port() const { return port_; }
  unsigned short admin_port() const { return admin_port_; }
  bool alive() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // SIGSTOP, returning once every thread of the child has stopped: kill() only queues the
  // signal, and a thread already running may still answer a request or two before it stops.
  // The parent learns of the completed group stop through waitpid(WUNTRACED).
  bool suspend() {
    if (pid_ <= 0 || ::kill(pid_, SIGSTOP) != 0) return false;
    int status = 0;
    return ::waitpid(pid_, &status, WUNTRACED) == pid_ && WIFSTOPPED(status);
  }
  bool resume() {
    if (pid_ <= 0 || ::kill(pid_, SIGCONT) != 0) return false;
    int status = 0;
    return ::waitpid(pid_, &status, WCONTINUED) == pid_ && WIFCONTINUED(status);
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
  unsigned short admin_port_ = 0;
};

// argv for license-edge / license-primary listening on ports the kernel picks (both listeners),
// reported in `port_file`.
inline std::vector<std::string> with_listen(std::string binary, std::vector<std::string> args,
                                            const std::string& port_file) {
  args.insert(args.begin(), std::move(binary));
  for (std::string a :
       {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--port-file"}) {
    args.push_back(a);
  }
  args.push_back(port_file);
  std::remove(port_file.c_str());  // a file left by an earlier run of this child must not count
  return args;
}

// A port-file path of its own for a child: in the temp dir, unique by the test process and a
// counter.
inline std::string new_port_file() {
  static std::atomic<unsigned> n{0};
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/le-ports-" + std::to_string(::getpid()) +
         "-" + std::to_string(n.fetch_add(1));
}

// license-primary or license-edge on ports the kernel picks, reported through a port file.
class ListeningProcess : public ServerProcess {
 public:
  ListeningProcess(std::string binary, std::vector<std::string> args, std::string log_path = {},
                   std::vector<std::string> env = {}, std::string port_file = new_port_file())
      : ServerProcess(with_listen(std::move(binary), std::move(args), port_file), 0, std::move(env),
                      std::move(log_path), [port_file](pid_t) { return port_file; }),
        port_file_(std::move(port_file)) {}
  ~ListeningProcess() override { std::remove(port_file_.c_str()); }

 private:
  std::string port_file_;
};

// license-edge on ports the kernel picks.
class EdgeProcess : public ListeningProcess {
 public:
  EdgeProcess(std::string binary, std::vector<std::string> args, std::string log_path = {})
      : ListeningProcess(std::move(binary), std::move(args), std::move(log_path)) {}
};

}  // namespace le::test
