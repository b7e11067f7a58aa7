#include "primary/mail.h"

#include <algorithm>
#include <ctime>

#include "core/json_read.h"
#include "core/signing.h"
#include "core/time_format.h"
#include "primary/client_connect.h"

namespace le::primary {
namespace {

constexpr auto kBrandingCf = static_cast<std::size_t>(Cf::kBranding);
constexpr auto kMailsCf = static_cast<std::size_t>(Cf::kMails);

std::string mail_key(std::string_view license_id) { return "m" + std::string(license_id); }
std::string due_key(std::string_view license_id) { return "q" + std::string(license_id); }

bool hex_color(std::string_view c) {
  return c.size() == 7 && c[0] == '#' && std::all_of(c.begin() + 1, c.end(), [](char x) {
           return std::isxdigit(static_cast<unsigned char>(x));
         });
}

bool plain_text(std::string_view s, std::size_t max) {
  return s.size() <= max && std::none_of(s.begin(), s.end(), [](char c) {
           return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
         });
}

std::string html_escaped(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

bool ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// A header value's words: as they are when ASCII, else one RFC 2047 encoded word.
std::string header_words(std::string_view s) {
  return ascii(s) ? std::string(s) : "=?UTF-8?B?" + core::base64(s) + "?=";
}

std::string rfc5322_date(std::int64_t now_s) {
  const std::time_t t = static_cast<std::time_t>(now_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

}  // namespace

std::optional<std::string> branding_problem(const Branding& b) {
  if (!plain_text(b.product_name, 100))
    return "product_name must be at most 100 characters of text";
  if (!b.logo_url.empty() && (!b.logo_url.starts_with("https://") || b.logo_url.size() > 180 ||
                              b.logo_url.find_first_of(" \"'<>\\`") != std::string::npos ||
                              !plain_text(b.logo_url, 180))) {
    return "logo_url must be an https URL of at most 180 characters";
  }
  for (const auto* c : {&b.primary_color, &b.accent_color}) {
    if (!c->empty() && !hex_color(*c)) return "colors must be #rrggbb";
  }
  if (!plain_text(b.sender_name, 100) ||
      b.sender_name.find_first_of("\"\\<>") != std::string::npos) {
    return "sender_name must be at most 100 characters of text, without quotes or <>";
  }
  return std::nullopt;
}

void write_branding(core::JsonWriter& w, const Branding& b) {
  w.begin_object().field("productName", b.product_name).field("logoUrl", b.logo_url);
  w.field("primaryColor", b.primary_color).field("accentColor", b.accent_color);
  w.field("senderName", b.sender_name).field("replyTo", b.reply_to).end_object();
}

// Stored as the API shows it.
std::string encode_branding(const Branding& b) {
  std::string out;
  core::JsonWriter w(out);
  write_branding(w, b);
  return out;
}

std::optional<Branding> decode_branding(std::string_view json) {
  thread_local core::json::Parser parser;
  core::json::dom::element doc;
  if (parser.parse(json, doc)) return std::nullopt;
  Branding b;
  if (!core::json::read_string(doc["productName"], b.product_name) ||
      !core::json::read_string(doc["logoUrl"], b.logo_url) ||
      !core::json::read_string(doc["primaryColor"], b.primary_color) ||
      !core::json::read_string(doc["accentColor"], b.accent_color) ||
      !core::json::read_string(doc["senderName"], b.sender_name) ||
      !core::json::read_string(doc["replyTo"], b.reply_to)) {
    return std::nullopt;
  }
  return b;
}

Result<Branding> branding_of(const PrimaryStore& store, std::string_view account_id) {
  auto v = store.records().get_extra(kBrandingCf, account_id);
  if (!v) return v.error();
  if (!*v) return Branding{};
  return decode_branding(**v).value_or(Branding{});
}

Result<void> set_branding(PrimaryStore& store, std::string_view account_id, const Branding& b) {
  auto tx = store.begin();
  tx.index(Cf::kBranding, std::string(account_id), encode_branding(b));
  return tx.commit();
}

std::string_view to_string(MailStatus s) {
  switch (s) {
    case MailStatus::kQueued:
      return "queued";
    case MailStatus::kSent:
      return "sent";
    case MailStatus::kFailed:
      return "failed";
  }
  return "queued";
}

std::string encode_mail(const LicenseMail& m) {
  std::string out;
  core::JsonWriter w(out);
  w.begin_object().field("license_id", m.license_id).field("account_id", m.account_id);
  w.field("to", m.to).field("key", m.key).field("status", static_cast<std::uint32_t>(m.status));
  w.field("attempts", m.attempts).field("created_ms", m.created_ms);
  w.field("next_attempt_ms", m.next_attempt_ms).field("sent_ms", m.sent_ms);
  w.field("last_error", m.last_error).end_object();
  return out;
}

std::optional<LicenseMail> decode_mail(std::string_view json) {
  thread_local core::json::Parser parser;
  core::json::dom::element doc;
  if (parser.parse(json, doc)) return std::nullopt;
  LicenseMail m;
  std::uint32_t status = 0;
  if (!core::json::read_string(doc["license_id"], m.license_id) ||
      !core::json::read_string(doc["account_id"], m.account_id) ||
      !core::json::read_string(doc["to"], m.to) || !core::json::read_string(doc["key"], m.key) ||
      !core::json::read_u32(doc["status"], status) || status > 2 ||
      !core::json::read_u32(doc["attempts"], m.attempts) ||
      !core::json::read_i64(doc["created_ms"], m.created_ms) ||
      !core::json::read_i64(doc["next_attempt_ms"], m.next_attempt_ms) ||
      !core::json::read_i64(doc["sent_ms"], m.sent_ms) ||
      !core::json::read_string(doc["last_error"], m.last_error)) {
    return std::nullopt;
  }
  m.status = static_cast<MailStatus>(status);
  return m;
}

void stage_license_mail(PrimaryStore::Tx& tx, const core::LicenseRecord& l, std::string_view key,
                        std::int64_t now_ms) {
  LicenseMail m;
  m.license_id = l.id;
  m.account_id = l.account_id;
  m.to = l.email;
  m.key = std::string(key);
  m.created_ms = m.next_attempt_ms = now_ms;
  tx.index(Cf::kMails, mail_key(l.id), encode_mail(m));
  tx.index(Cf::kMails, due_key(l.id), std::string());
}

void unstage_license_mail(PrimaryStore::Tx& tx, std::string_view license_id) {
  tx.index(Cf::kMails, mail_key(license_id), std::nullopt);
  tx.index(Cf::kMails, due_key(license_id), std::nullopt);
}

Result<std::optional<LicenseMail>> license_mail(const PrimaryStore& store,
                                                std::string_view license_id) {
  auto v = store.records().get_extra(kMailsCf, mail_key(license_id));
  if (!v) return v.error();
  if (!*v) return std::optional<LicenseMail>();
  return decode_mail(**v);
}

void write_mail(core::JsonWriter& w, const LicenseMail& m) {
  w.begin_object().field("licenseId", m.license_id).field("to", m.to);
  w.field("status", to_string(m.status)).field("attempts", m.attempts);
  w.field("createdAt", core::iso8601(m.created_ms / 1000));
  if (m.status == MailStatus::kQueued) {
    w.field("nextAttemptAt", core::iso8601(m.next_attempt_ms / 1000));
  }
  if (m.sent_ms > 0) w.field("sentAt", core::iso8601(m.sent_ms / 1000));
  if (!m.last_error.empty()) w.field("lastError", m.last_error);
  w.end_object();
}

std::string compose_license_mail(const LicenseMail& m, const Branding& b,
                                 std::string_view product_name, std::string_view from_address,
                                 std::int64_t now_s) {
  const std::string name(b.product_name.empty() ? product_name : b.product_name);
  const std::string primary = b.primary_color.empty() ? "#1f4e79" : b.primary_color;
  const std::string accent = b.accent_color.empty() ? "#eef3f8" : b.accent_color;
  const std::string boundary = "le-" + m.license_id + "-" + std::to_string(m.created_ms);
  std::string out;
  out += "From: ";
  if (!b.sender_name.empty()) {
    out += ascii(b.sender_name) ? "\"" + b.sender_name + "\"" : header_words(b.sender_name);
    out += " ";
  }
  out += "<" + std::string(from_address) + ">\r\n";
  if (!b.reply_to.empty()) out += "Reply-To: <" + b.reply_to + ">\r\n";
  out += "To: <" + m.to + ">\r\n";
  out += "Subject: " + header_words("Your " + name + " license key") + "\r\n";
  out += "Date: " + rfc5322_date(now_s) + "\r\n";
  const auto at = from_address.find('@');
  out += "Message-ID: <" + m.license_id + "." + std::to_string(m.created_ms) + "@" +
         std::string(at == std::string_view::npos ? "localhost" : from_address.substr(at + 1)) +
         ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  out += "--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n\r\n";
  out += "Thank you for your purchase of " + name + ".\r\n\r\n";
  out += "Your license key: " + m.key + "\r\n\r\n";
  out += "Enter it in " + name + " to activate it.\r\n";
  if (!b.reply_to.empty()) out += "Questions? Reply to this email (" + b.reply_to + ").\r\n";
  out += "\r\n--" + boundary + "\r\nContent-Type: text/html; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n\r\n";
  const std::string n = html_escaped(name);
  out += "<!doctype html>\r\n<html><body style=\"margin:0;font-family:sans-serif;background:" +
         accent + "\">\r\n";
  out += "<div style=\"background:" + primary + ";color:#ffffff;padding:16px 24px\">";
  if (!b.logo_url.empty()) {
    // Lines stay under SMTP's 998 bytes: the URL (at most 180 bytes, 900 escaped) and the name
    // (at most 100, 600 escaped) each on a line of their own.
    out += "<img src=\"" + html_escaped(b.logo_url) + "\"\r\nalt=\"" + n +
           "\"\r\nheight=\"32\" style=\"vertical-align:middle\"> ";
  }
  out += "<strong>" + n + "</strong></div>\r\n";
  out += "<div style=\"padding:24px;color:#1a1a1a\"><p>Thank you for your purchase of " + n +
         ".</p>\r\n<p>Your license key:</p>\r\n<p style=\"font-family:monospace;font-size:18px;"
         "padding:12px;background:#ffffff;border-left:4px solid " +
         primary + "\">" + html_escaped(m.key) + "</p>\r\n";
  out += "<p>Enter it in " + n + " to activate it.</p></div>\r\n</body></html>\r\n";
  out += "--" + boundary + "--\r\n";
  return out;
}

Mailer::Mailer(PrimaryStore& store, const core::Clock& clock, MailerOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      tls_(make_client_tls(options_.ca_file)) {}

Mailer::~Mailer() { stop(); }

void Mailer::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      run_due();
      lock.lock();
      cv_.wait_for(lock, options_.poll, [this] { return stopping_ || woken_; });
      woken_ = false;
    }
  });
}

void Mailer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Mailer::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

std::size_t Mailer::run_due() {
  std::vector<LicenseMail> due;
  const std::int64_t now = clock_.now_ms();
  auto scanned =
      store_.records().scan_extra(kMailsCf, "q", "q", [&](std::string_view k, std::string_view) {
        auto v = store_.records().get_extra(kMailsCf, mail_key(k.substr(1)));
        if (v && *v) {
          if (auto m = decode_mail(**v); m && m->next_attempt_ms <= now) due.push_back(*m);
        }
        return due.size() < 100;
      });
  if (!scanned) return 0;
  for (auto& m : due) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    attempt(std::move(m));
  }
  return due.size();
}

void Mailer::attempt(LicenseMail m) {
  std::string product_name = "your software";
  Branding branding;
  if (auto l = store_.license_by_id(m.license_id); l && *l) {
    if (auto p = store_.records().product((*l)->product_id); p && *p) product_name = (*p)->name;
  }
  if (auto b = branding_of(store_, m.account_id)) branding = *b;
  SmtpMessage message{
      options_.from, m.to,
      compose_license_mail(m, branding, product_name, options_.from, clock_.now_seconds())};
  bool permanent = false;
  const std::string error = smtp_send_blocking(options_.smtp, tls_, message, permanent);
  ++m.attempts;
  m.last_error = error;
  const auto age = std::chrono::milliseconds(clock_.now_ms() - m.created_ms);
  const bool done = error.empty() || permanent || age >= options_.give_up_after;
  if (error.empty()) {
    m.status = MailStatus::kSent;
    m.sent_ms = clock_.now_ms();
    stats_.sent.fetch_add(1);
  } else {
    stats_.failed_attempts.fetch_add(1);
    if (done) {
      m.status = MailStatus::kFailed;
      stats_.given_up.fetch_add(1);
    } else {
      const auto backoff = std::min<std::int64_t>(
          options_.first_retry.count() << std::min<std::uint32_t>(m.attempts - 1, 20), 3'600'000);
      m.next_attempt_ms = clock_.now_ms() + backoff;
    }
  }
  if (done) m.key.clear();  // the key is kept no longer than its mail needs it
  auto tx = store_.begin();
  // Under the Tx's lock: a license deleted during the attempt took its mail with it, and the
  // mail stays gone.
  auto still = tx.records().get_extra(kMailsCf, mail_key(m.license_id));
  if (!still || !*still) return;
  tx.index(Cf::kMails, mail_key(m.license_id), encode_mail(m));
  if (done) tx.index(Cf::kMails, due_key(m.license_id), std::nullopt);
  (void)tx.commit();
}

}  // namespace le::primary
