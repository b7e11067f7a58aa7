// Sending one message over SMTP (RFC 5321) to a relay: EHLO, STARTTLS whenever the relay offers
// it (the certificate then verified like a webhook receiver's), AUTH PLAIN when a user is set
// (only over TLS), MAIL FROM, RCPT TO, DATA with its lines dot-stuffed, QUIT. The whole
// exchange has one deadline.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <string>

namespace le::primary {

struct SmtpOptions {
  std::string host;  // the relay, as --smtp HOST:PORT names it
  std::string port = "25";
  std::string helo = "localhost";  // the name this client gives in EHLO
  std::string user, password;      // AUTH PLAIN, only over TLS; empty: no AUTH
  bool require_tls = false;        // refuse to send in the clear
  std::chrono::milliseconds timeout{30'000};
};

struct SmtpMessage {
  std::string from;  // envelope sender (MAIL FROM)
  std::string to;    // the one recipient (RCPT TO)
  std::string data;  // the message, headers and body, lines ending CRLF
};

// Empty when the relay took the message (250 after DATA); else what failed, e.g.
// "RCPT TO: 550 no such user" or "connecting: Connection refused". A 5xx answer is permanent
// (`permanent` set): sending again will not help.
boost::asio::awaitable<std::string> smtp_send(const SmtpOptions& options,
                                              boost::asio::ssl::context& tls,
                                              const SmtpMessage& message, bool& permanent);

// smtp_send() on a private io_context, blocking the calling thread until it is done.
std::string smtp_send_blocking(const SmtpOptions& options, boost::asio::ssl::context& tls,
                               const SmtpMessage& message, bool& permanent);

}  // namespace le::primary
