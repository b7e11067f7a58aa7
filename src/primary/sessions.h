// Dashboard users and their sign-in sessions (spec "JWT Tokens"; "Scopes & Permissions"):
//
//  - A user is an email and a password, of an account (scope "portal": that account's licenses,
//    products, keys, webhooks, usage and settings) or of the operators (scope "admin": every
//    account). The operator creates an account's first user and the operator users; an
//    account's users invite others. Passwords are kept as scrypt hashes (OpenSSL's
//    EVP_PBE_scrypt, N = 2^15, r = 8, p = 1: 32 MiB and ~0.1 s per hash by default), each with
//    its own salt and its parameters, so a cost raised later applies to new hashes while old
//    ones still verify.
//  - Signing in makes a session (a random id and a random secret; the store keeps the secret's
//    digest) and answers a JWT (core/jwt.h: HS256, 24 hours) naming it; the browser keeps the
//    session in an HttpOnly, Secure, SameSite=Strict cookie sent only to /api/v1/auth, through
//    which it gets a fresh JWT. Signing out revokes the session: its JWTs are refused from then
//    on (every JWT is checked against its session), and so is its cookie. A session lasts
//    session_seconds (30 days) from sign-in.
//  - Sign-in answers the same for an unknown email and a wrong password, and takes the same
//    time (an unknown email is checked against a dummy hash), and compares in constant time.
//    Attempts are limited per email and per client address (the caller's limiter).
//  - The JWT secrets rotate like the receipt roots: rotate() makes a new current secret, and
//    the previous one still verifies for a token's lifetime (the overlap), then is deleted.
//
// Storage: column families of the primary's database (Cf::kUsers, kSessions, kJwtSecrets),
// written outside the change stream — users and sessions never leave the primary.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/jwt.h"
#include "primary/primary_store.h"

namespace le::primary {

struct SessionOptions {
  unsigned scrypt_log_n = 15;  // N = 2^15 (tests lower it; at least 10)
  std::int64_t jwt_seconds = core::kJwtSeconds;
  std::int64_t session_seconds = 30 * 86400;
};

struct UserRecord {
  std::string id;          // usr_…
  std::string account_id;  // empty: an operator (scope admin)
  std::string email;       // lower-cased
  std::string password;    // "scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>"; empty: invited
  std::string invite;      // hex SHA-256 of the invitation token, until it is accepted
  std::string invited_by;  // the user who invited (empty: the operator)
  std::int64_t created_at = 0;
  std::int64_t invite_expires_at = 0;

  core::JwtScope scope() const {
    return account_id.empty() ? core::JwtScope::kAdmin : core::JwtScope::kPortal;
  }
};

// What signing in (or refreshing) gives the browser.
struct SignIn {
  std::string token;  // the JWT
  std::int64_t expires_at = 0;
  std::string cookie;  // the session cookie's value: "<session id>.<secret>"
  std::int64_t session_expires_at = 0;
  UserRecord user;
};

// A password hash in the stored form, and its check (constant time in the hash's bytes).
std::string hash_password(std::string_view password, unsigned log_n);
bool password_matches(std::string_view password, std::string_view stored);

class Sessions {
 public:
  // Loads the JWT secrets, making the first one when there is none.
  static Result<std::unique_ptr<Sessions>> open(PrimaryStore& store, std::int64_t now,
                                                SessionOptions options = {});

  // A user with a password (the operator's call); nullopt when the email is taken.
  Result<std::optional<UserRecord>> create_user(std::string_view account_id, std::string_view email,
                                                std::string_view password, std::int64_t now);
  // A user of `by`'s account invited by `by`, with the invitation token (shown once) that
  // accept_invite() takes within 7 days; nullopt when the email is taken.
  struct Invited {
    UserRecord user;
    std::string token;
  };
  Result<std::optional<Invited>> invite(const UserRecord& by, std::string_view email,
                                        std::int64_t now);
  // Sets the invited user's password; nullopt when the token is not a valid invitation.
  Result<std::optional<UserRecord>> accept_invite(std::string_view token, std::string_view password,
                                                  std::int64_t now);

  // A new session for a matching email and password; nullopt otherwise (whichever was wrong).
  Result<std::optional<SignIn>> sign_in(std::string_view email, std::string_view password,
                                        std::int64_t now);
  // A fresh JWT for a live session's cookie; nullopt when the cookie is not one.
  Result<std::optional<SignIn>> refresh(std::string_view cookie, std::int64_t now);
  // Revokes the session; false when there was none.
  Result<bool> revoke(std::string_view session_id);

  // The user a JWT speaks for, when it verifies and its session is live; the refusal reason
  // otherwise (a revoked or unknown session reads as kExpired).
  struct Verified {
    core::JwtClaims claims;
    UserRecord user;
  };
  Result<std::variant<Verified, core::JwtError>> verify(std::string_view token, std::int64_t now);

  Result<std::optional<UserRecord>> user_by_id(std::string_view id) const;
  // An account's users (empty account: the operators), oldest first.
  Result<std::vector<UserRecord>> users_of(std::string_view account_id) const;

  // A new current JWT secret; the previous one verifies for jwt_seconds more. Returns its kid.
  Result<std::string> rotate_secret(std::int64_t now);
  const SessionOptions& options() const { return options_; }

 private:
  struct Secret {
    core::JwtSecret secret;
    std::int64_t created_at = 0;
    std::int64_t retires_at = 0;  // 0: the current one
  };
  Sessions(PrimaryStore& store, SessionOptions options) : store_(store), options_(options) {}
  Result<std::optional<UserRecord>> user_by_email(std::string_view email) const;
  Result<void> put_user(const UserRecord& u);
  Result<SignIn> start_session(const UserRecord& u, std::int64_t now);
  SignIn issue(const UserRecord& u, std::string session_id, std::int64_t session_expires,
               std::int64_t now) const;
  std::vector<core::JwtSecret> live_secrets(std::int64_t now) const;
  static store::ExtraWrite secret_row(const Secret& s);

  PrimaryStore& store_;
  SessionOptions options_;
  std::string dummy_hash_;       // what an unknown email's password is checked against
  mutable std::mutex mu_;        // secrets_; and users' writes (email uniqueness)
  std::vector<Secret> secrets_;  // oldest first; the last is the current one
};

}  // namespace le::primary
