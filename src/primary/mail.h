// License emails and the branding they carry.
//
// A license created with a customer email (POST /api/v1/portal/licenses, the Stripe flow) gets
// its mail row in the same Tx as the license — a durable outbox: the mail is never lost to a
// crash between the two, and never sent for a license that was not stored. The row holds the
// key (shown nowhere else once the answer is sent) until the mail is sent or given up; then the
// key is erased from it. The Mailer sends due rows through the SMTP relay, retrying with
// backoff; a 5xx to its recipient or its content, or 72 hours unsent, marks the mail failed. GET
// /api/v1/licenses/{id}/email shows the state.
//
// Branding (per account, PATCH /api/v1/account/settings {"branding": {...}}): the product name,
// logo, colours, sender name and reply-to of the account's emails and customer-facing pages.
// Both live in the primary's own column families (Cf::kBranding, Cf::kMails), never streamed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/clock.h"
#include "core/json_writer.h"
#include "core/model.h"
#include "primary/primary_store.h"
#include "primary/smtp_client.h"

namespace le::primary {

struct Branding {
  std::string product_name;   // shown instead of the product's own name
  std::string logo_url;       // https only
  std::string primary_color;  // "#rrggbb"
  std::string accent_color;
  std::string sender_name;  // the From header's display name
  std::string reply_to;     // an email address

  bool operator==(const Branding&) const = default;
};

// Each field is checked as read_branding() checks it; nullopt names the first bad one's problem
// through `why` ("logo_url must be an https URL").
std::optional<std::string> branding_problem(const Branding& b);
std::string encode_branding(const Branding& b);
std::optional<Branding> decode_branding(std::string_view json);
void write_branding(core::JsonWriter& w, const Branding& b);  // the API's camelCase object
// The account's branding; empty fields when it set none.
Result<Branding> branding_of(const PrimaryStore& store, std::string_view account_id);
Result<void> set_branding(PrimaryStore& store, std::string_view account_id, const Branding& b);

enum class MailStatus : std::uint8_t { kQueued, kSent, kFailed };
std::string_view to_string(MailStatus s);

struct LicenseMail {
  std::string license_id;
  std::string account_id;
  std::string to;
  std::string key;  // the plaintext key, until sent or given up
  MailStatus status = MailStatus::kQueued;
  std::uint32_t attempts = 0;
  std::int64_t created_ms = 0;
  std::int64_t next_attempt_ms = 0;
  std::int64_t sent_ms = 0;
  std::string last_error;
};

std::string encode_mail(const LicenseMail& m);
std::optional<LicenseMail> decode_mail(std::string_view json);
// Stages the mail of a license just created (inside its Tx), due at once.
void stage_license_mail(PrimaryStore::Tx& tx, const core::LicenseRecord& l, std::string_view key,
                        std::int64_t now_ms);
// Drops a license's mail, sent or not (inside the Tx that deletes the license): the key of a
// deleted license is neither sent nor kept.
void unstage_license_mail(PrimaryStore::Tx& tx, std::string_view license_id);
Result<std::optional<LicenseMail>> license_mail(const PrimaryStore& store,
                                                std::string_view license_id);
// {"licenseId","to","status","attempts","createdAt","nextAttemptAt"?,"sentAt"?,"lastError"?}
void write_mail(core::JsonWriter& w, const LicenseMail& m);

// The message: RFC 5322 headers (From with the sender name, Reply-To, an RFC 2047 Subject for
// any non-ASCII name) and a text and an HTML part, the HTML in the account's colours and logo.
std::string compose_license_mail(const LicenseMail& m, const Branding& b,
                                 std::string_view product_name, std::string_view from_address,
                                 std::int64_t now_s);

struct MailerOptions {
  SmtpOptions smtp;
  std::string from = "licenses@localhost";  // envelope sender and From address
  std::string ca_file;                      // also trusted for the relay's certificate
  // A mail not sent this long after its license was created is given up (RFC 5321 4.5.4.1
  // suggests 4–5 days): a relay down for hours, or misconfigured until an operator mends it,
  // still gets it.
  std::chrono::hours give_up_after{72};
  std::chrono::milliseconds first_retry{2'000};  // doubled per attempt, at most an hour
  std::chrono::milliseconds poll{1'000};
};

struct MailerStats {
  std::atomic<std::uint64_t> sent{0}, failed_attempts{0}, given_up{0};
};

class Mailer {
 public:
  Mailer(PrimaryStore& store, const core::Clock& clock, MailerOptions options);
  ~Mailer();
  Mailer(const Mailer&) = delete;
  Mailer& operator=(const Mailer&) = delete;

  void start();
  void stop();
  // Look for due mails now (a license with an email was just created).
  void wake();
  // Sends every due mail once, on the calling thread; returns the attempts made.
  std::size_t run_due();
  const MailerStats& stats() const { return stats_; }

 private:
  void attempt(LicenseMail m);

  PrimaryStore& store_;
  const core::Clock& clock_;
  MailerOptions options_;
  boost::asio::ssl::context tls_;
  MailerStats stats_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace le::primary
