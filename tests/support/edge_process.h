// Runs the real license-edge binary for end-to-end tests, and a minimal HTTP/1.1 client over a
// loopback socket that can also send raw (malformed) bytes.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
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

// Reads a port file of license-edge or license-primary (--port-file: "<port> <admin_port>\n",
// written to a temporary name and renamed into place). nullopt until it exists.
inline std::optional<Ports> read_ports(const std::string& path) {
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (text.empty() || text.back() != '\n') return std::nullopt;
  unsigned port = 0, admin = 0;
  if (std::sscanf(text.c_str(), "%u %u", &port, &admin) != 2) return std::nullopt;
  return Ports{static_cast<unsigned short>(port), static_cast<unsigned short>(admin)};
}

// A loopback port held for a server that must get the same port back when restarted
// (nats-server: every client's URL names it). The socket is bound with SO_REUSEADDR and never
// listens, for as long as this object lives:
// - the kernel never hands the port to a bind to port 0 (any process's, SO_REUSEPORT or not)
//   nor to an outgoing connection while a socket is bound to it, so no other test's process
//   can take it, also while the server is down between a stop and a restart;
// - a server that binds it explicitly with SO_REUSEADDR (nats-server, like every Go listener)
//   still can, since this socket does not listen; no other process binds it explicitly.
class PortReservation {
 public:
  PortReservation() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      if (fd_ >= 0) ::close(fd_);
      throw std::runtime_error("cannot reserve a loopback port");
    }
    port_ = ntohs(a.sin_port);
  }
  ~PortReservation() { ::close(fd_); }
  PortReservation(const PortReservation&) = delete;
  PortReservation& operator=(const PortReservation&) = delete;
  unsigned short port() const { return port_; }

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
};

// The last `max` bytes of a log file, for a failure message.
inline std::string log_tail(const std::string& path, std::size_t max = 4000) {
  if (path.empty()) return "(no log)";
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (text.size() > max) text = "..." + text.substr(text.size() - max);
  return path + ":\n" + text;
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
// and killed (SIGKILL) when destroyed. Output goes to `log_path` when given. With `port_file`,
// the ports are the ones the child reports there once it serves; without, `port` is the port
// the child was told to use. A child that exits or does not serve within the start-up bound
// fails the start with the end of its log.
class ServerProcess {
 public:
  ServerProcess(std::vector<std::string> argv, unsigned short port,
                std::vector<std::string> env = {}, std::string log_path = {},
                std::string port_file = {})
      : port_(port), log_path_(log_path) {
    pid_ = ::fork();
    if (pid_ == 0) {
      if (!log_path.empty()) {
        const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
          ::dup2(fd, 1);
          ::dup2(fd, 2);
        }
      }
      // Nothing of the test process's (its connections, other children's pipes) is inherited.
      ::close_range(3, ~0U, 0);
      for (auto& e : env) ::putenv(e.data());
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    if (pid_ < 0) throw std::runtime_error("fork: cannot start " + argv[0]);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto fail = [&](const std::string& what) {
      kill9();
      return std::runtime_error(argv[0] + " " + what + "; " + le::test::log_tail(log_path));
    };
    auto exited = [&] {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
      pid_ = -1;
      return true;
    };
    while (!port_file.empty() && port_ == 0) {
      if (auto p = read_ports(port_file)) {
        port_ = p->port;
        admin_port_ = p->admin;
        break;
      }
      if (exited()) throw fail("exited during start-up");
      if (std::chrono::steady_clock::now() >= deadline) throw fail("wrote no port file");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (;;) {
      try {
        HttpClient probe(port_);
        return;
      } catch (const std::exception&) {
        if (exited()) throw fail("exited during start-up");
        if (std::chrono::steady_clock::now() >= deadline) throw fail("did not start listening");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  virtual ~ServerProcess() { kill9(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  unsigned short port() const { return port_; }
  unsigned short admin_port() const { return admin_port_; }
  // The end of the child's log, for a failure message.
  std::string log_tail(std::size_t max = 4000) const { return le::test::log_tail(log_path_, max); }
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

  // Every thread's stack (through gdb, where installed), for a failure message about a child
  // that hangs.
  std::string stacks() const {
    if (pid_ <= 0) return "(not running)";
    std::string out;
    const std::string command =
        "command -v gdb >/dev/null && timeout 60 gdb -p " + std::to_string(pid_) +
        " -batch -nx -ex 'thread apply all bt 30' 2>&1 | grep '^#\\|^Thread'";
    if (FILE* f = ::popen(command.c_str(), "r")) {
      char buf[512];
      while (std::fgets(buf, sizeof buf, f) && out.size() < 60000) out += buf;
      ::pclose(f);
    }
    return out.empty() ? "(no stacks: gdb not installed)" : out;
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
  std::string log_path_;
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
                      std::move(log_path), port_file),
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
