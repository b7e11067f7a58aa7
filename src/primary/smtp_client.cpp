#include "primary/smtp_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <optional>

#include "core/signing.h"
#include "primary/client_connect.h"

namespace le::primary {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// A reply line is at most 512 bytes (RFC 5321 4.5.3.1.5); a multi-line reply of EHLO a few.
constexpr std::size_t kReplyLimit = 16 * 1024;

struct Reply {
  int code = 0;
  std::string text;  // every line, without the codes, joined by '\n'
};

// Dot-stuffing (RFC 5321 4.5.2) and the terminating line; bare LFs become CRLF.
std::string dot_stuffed(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 64);
  bool line_start = true;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (line_start && c == '.') out.push_back('.');
    if (c == '\n' && (i == 0 || data[i - 1] != '\r')) out.push_back('\r');
    if (c == '\r' && (i + 1 >= data.size() || data[i + 1] != '\n')) {
      out.append("\r\n");
      line_start = true;
      continue;
    }
    out.push_back(c);
    line_start = c == '\n';
  }
  if (!line_start) out.append("\r\n");
  out.append(".\r\n");
  return out;
}

// One exchange over a stream whose deadline is set: read replies, write commands.
template <typename Stream>
class Session {
 public:
  Session(Stream& s, std::string& buffer) : s_(s), buffer_(buffer) {}

  asio::awaitable<std::optional<Reply>> read(std::string& error, std::string_view step) {
    Reply r;
    for (;;) {
      auto [ec, n] = co_await asio::async_read_until(s_, asio::dynamic_buffer(buffer_, kReplyLimit),
                                                     "\r\n", kNoThrow);
      if (ec) {
        error = describe_failure(ec, step);
        co_return std::nullopt;
      }
      const std::string line = buffer_.substr(0, n - 2);
      buffer_.erase(0, n);
      const auto digit = [&](std::size_t i) { return line[i] >= '0' && line[i] <= '9'; };
      if (line.size() < 3 || line[0] < '2' || line[0] > '5' || !digit(1) || !digit(2)) {
        error = std::string(step) + ": not an SMTP reply";
        co_return std::nullopt;
      }
      const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
      if (r.code != 0 && code != r.code) {
        error = std::string(step) + ": a reply's lines disagree";
        co_return std::nullopt;
      }
      r.code = code;
      if (!r.text.empty()) r.text.push_back('\n');
      r.text += line.size() > 4 ? line.substr(4) : std::string();
      if (line.size() == 3 || line[3] == ' ') co_return r;
      if (line[3] != '-') {
        error = std::string(step) + ": not an SMTP reply";
        co_return std::nullopt;
      }
    }
  }

  // Sends `command` (CRLF added) and reads the reply; an answer outside 2xx/3xx is the error.
  // A 5xx sets `permanent` only where it judges this message (`of_the_message`: its recipient,
  // its content); at the other steps it is the relay's or its setup's (a login refused, a sender
  // not allowed), which an operator mends, and the mail waits for that.
  asio::awaitable<std::optional<Reply>> command(std::string command, std::string& error,
                                                std::string_view step, bool& permanent,
                                                bool of_the_message = false) {
    command.append("\r\n");
    if (auto [ec, n] = co_await asio::async_write(s_, asio::buffer(command), kNoThrow); ec) {
      error = describe_failure(ec, step);
      co_return std::nullopt;
    }
    auto r = co_await read(error, step);
    if (r && r->code >= 400) {
      permanent = of_the_message && r->code >= 500;
      error = std::string(step) + ": " + std::to_string(r->code) + " " + r->text;
      co_return std::nullopt;
    }
    co_return r;
  }

  // Sends `command` (CRLF added) without reading an answer.
  asio::awaitable<bool> send_only(std::string command, std::string& error, bool&) {
    command.append("\r\n");
    auto [ec, n] = co_await asio::async_write(s_, asio::buffer(command), kNoThrow);
    if (ec) error = describe_failure(ec, "QUIT");
    co_return !ec;
  }

 private:
  Stream& s_;
  std::string& buffer_;
};

bool offers(const Reply& ehlo, std::string_view extension) {
  std::size_t at = 0;
  while (at <= ehlo.text.size()) {
    auto end = ehlo.text.find('\n', at);
    if (end == std::string::npos) end = ehlo.text.size();
    std::string_view line(ehlo.text.data() + at, end - at);
    if (line.size() >= extension.size() &&
        std::equal(
            extension.begin(), extension.end(), line.begin(),
            [](char a, char b) { return a == std::toupper(static_cast<unsigned char>(b)); }) &&
        (line.size() == extension.size() || line[extension.size()] == ' ')) {
      return true;
    }
    at = end + 1;
  }
  return false;
}

// After the greeting and EHLO (and STARTTLS's second EHLO): AUTH, the envelope, the data.
template <typename Stream>
asio::awaitable<std::string> deliver(Session<Stream>& s, const SmtpOptions& o, const Reply& ehlo,
                                     bool tls, const SmtpMessage& m, bool& permanent) {
  std::string error;
  if (!o.user.empty()) {
    if (!tls) co_return "AUTH: the relay offers no STARTTLS; no password is sent in the clear";
    if (!offers(ehlo, "AUTH")) co_return "AUTH: the relay offers none";
    std::string plain;
    plain.push_back('\0');
    plain += o.user;
    plain.push_back('\0');
    plain += o.password;
    if (!co_await s.command("AUTH PLAIN " + core::base64(plain), error, "AUTH", permanent)) {
      co_return error;
    }
  }
  if (!co_await s.command("MAIL FROM:<" + m.from + ">", error, "MAIL FROM", permanent) ||
      !co_await s.command("RCPT TO:<" + m.to + ">", error, "RCPT TO", permanent, true)) {
    co_return error;
  }
  auto data = co_await s.command("DATA", error, "DATA", permanent);
  if (!data) co_return error;
  if (data->code != 354) co_return "DATA: " + std::to_string(data->code) + " " + data->text;
  // The end of the data is acknowledged before QUIT goes: a relay that does not pipeline may
  // refuse commands sent ahead of its answer. QUIT's own answer is not awaited.
  std::string message = dot_stuffed(m.data);
  message.resize(message.size() - 2);  // command() adds the last CRLF
  if (!co_await s.command(std::move(message), error, "the message", permanent, true)) {
    co_return error;
  }
  bool ignored = false;
  std::string quit_error;
  (void)co_await s.send_only("QUIT", quit_error, ignored);
  co_return std::string();
}

}  // namespace

asio::awaitable<std::string> smtp_send(const SmtpOptions& o, ssl::context& tls,
                                       const SmtpMessage& m, bool& permanent) {
  permanent = false;
  for (const auto& address : {m.from, m.to}) {
    if (address.find_first_of("\r\n<>") != std::string::npos) {
      permanent = true;
      co_return "an address with a line break or angle bracket";
    }
  }
  auto executor = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + o.timeout;
  auto [rec, resolved] = co_await resolve_until(o.host, o.port, deadline);
  if (rec) co_return describe_failure(rec, "resolving " + o.host);

  beast::tcp_stream stream(executor);
  stream.expires_at(deadline);
  if (auto [ec, ep] = co_await stream.async_connect(resolved, kNoThrow); ec) {
    co_return describe_failure(ec, "connecting");
  }
  std::string buffer, error;
  Session plain(stream, buffer);
  auto greeting = co_await plain.read(error, "greeting");
  if (!greeting) co_return error;
  if (greeting->code != 220) {
    co_return "greeting: " + std::to_string(greeting->code) + " " + greeting->text;
  }
  auto ehlo = co_await plain.command("EHLO " + o.helo, error, "EHLO", permanent);
  if (!ehlo) co_return error;
  if (!offers(*ehlo, "STARTTLS")) {
    if (o.require_tls) co_return "STARTTLS: the relay does not offer it";
    co_return co_await deliver(plain, o, *ehlo, false, m, permanent);
  }
  if (!co_await plain.command("STARTTLS", error, "STARTTLS", permanent)) co_return error;
  if (!buffer.empty()) co_return "STARTTLS: the relay sent more before the handshake";
  TlsClientStream tls_stream(std::move(stream), tls);
  if (auto e = co_await client_handshake(tls_stream, o.host); !e.empty()) co_return e;
  Session secure(tls_stream, buffer);
  auto ehlo2 = co_await secure.command("EHLO " + o.helo, error, "EHLO", permanent);
  if (!ehlo2) co_return error;
  co_return co_await deliver(secure, o, *ehlo2, true, m, permanent);
}

std::string smtp_send_blocking(const SmtpOptions& options, ssl::context& tls,
                               const SmtpMessage& message, bool& permanent) {
  asio::io_context ioc;
  std::string result = "not run";
  asio::co_spawn(ioc, smtp_send(options, tls, message, permanent),
                 [&](std::exception_ptr e, std::string r) {
                   result = e ? std::string("failed") : std::move(r);
                 });
  ioc.run();
  return result;
}

}  // namespace le::primary
