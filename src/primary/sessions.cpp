#include "primary/sessions.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>

#include "common/log.h"
#include "core/digest.h"
#include "core/signing.h"
#include "primary/ids.h"
#include "store/keys.h"

namespace le::primary {
namespace {

constexpr std::size_t kUsersCf = static_cast<std::size_t>(Cf::kUsers);
constexpr std::size_t kSessionsCf = static_cast<std::size_t>(Cf::kSessions);
constexpr std::size_t kSecretsCf = static_cast<std::size_t>(Cf::kJwtSecrets);
constexpr std::int64_t kInviteSeconds = 7 * 86400;

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("the random generator failed");
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<std::string> scrypt(std::string_view password, std::string_view salt, unsigned log_n,
                                  std::uint64_t r, std::uint64_t p, std::size_t bytes) {
  std::string out(bytes, '\0');
  const std::uint64_t n = std::uint64_t{1} << log_n;
  // 128 * N * r bytes of memory, and a little more.
  const std::uint64_t max_mem = 128 * n * r + (std::uint64_t{1} << 20);
  if (EVP_PBE_scrypt(password.data(), password.size(),
                     reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), n, r, p,
                     max_mem, reinterpret_cast<unsigned char*>(out.data()), bytes) != 1) {
    return std::nullopt;
  }
  return out;
}

// Fields joined by '\0' (no field holds one: every string was read without control characters).
std::string join(std::initializer_list<std::string_view> fields) {
  std::string out;
  bool first = true;
  for (auto f : fields) {
    if (!first) out.push_back('\0');
    first = false;
    out.append(f);
  }
  return out;
}

// The fields of `v` between `sep`s.
std::vector<std::string_view> split(std::string_view v, char sep = '\0') {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = v.find(sep);
    out.push_back(v.substr(0, at));
    if (at == std::string_view::npos) return out;
    v.remove_prefix(at + 1);
  }
}

// Writes outside the change stream, through a Tx (its lock orders them with the records').
Result<void> write_rows(PrimaryStore& store, std::span<const store::ExtraWrite> writes) {
  auto tx = store.begin();
  for (const auto& w : writes) tx.index(static_cast<Cf>(w.cf), w.key, w.value);
  return tx.commit();
}

bool to_i64(std::string_view s, std::int64_t& out) {
  return std::from_chars(s.data(), s.data() + s.size(), out).ec == std::errc{};
}

std::string encode_user(const UserRecord& u) {
  return join({u.id, u.account_id, u.email, u.password, u.invite, u.invited_by,
               std::to_string(u.created_at), std::to_string(u.invite_expires_at)});
}

std::optional<UserRecord> decode_user(std::string_view v) {
  const auto f = split(v);
  if (f.size() != 8) return std::nullopt;
  UserRecord u{std::string(f[0]), std::string(f[1]), std::string(f[2]),
               std::string(f[3]), std::string(f[4]), std::string(f[5])};
  if (!to_i64(f[6], u.created_at) || !to_i64(f[7], u.invite_expires_at)) return std::nullopt;
  return u;
}

struct SessionRow {
  std::string user_id;
  std::string secret_digest;  // hex SHA-256 of the cookie's secret
  std::int64_t expires_at = 0;
};

std::optional<SessionRow> decode_session(std::string_view v) {
  const auto f = split(v);
  SessionRow s{std::string(f[0])};
  if (f.size() != 3 || !to_i64(f[2], s.expires_at)) return std::nullopt;
  s.secret_digest.assign(f[1]);
  return s;
}

}  // namespace

std::string hash_password(std::string_view password, unsigned log_n) {
  const std::string salt = random_bytes(16);
  const auto h = scrypt(password, salt, log_n, 8, 1, 32);
  if (!h) throw std::runtime_error("scrypt failed");
  return "scrypt$" + std::to_string(log_n) + "$8$1$" + core::base64url(salt) + "$" +
         core::base64url(*h);
}

bool password_matches(std::string_view password, std::string_view stored) {
  const auto f = split(stored, '$');
  std::int64_t log_n = 0, r = 0, p = 0;
  if (f.size() != 6 || f[0] != "scrypt" || !to_i64(f[1], log_n) || !to_i64(f[2], r) ||
      !to_i64(f[3], p) || log_n < 10 || log_n > 20 || r < 1 || r > 32 || p < 1 || p > 16) {
    return false;
  }
  const auto salt = core::from_base64url(f[4]);
  const auto want = core::from_base64url(f[5]);
  if (!salt || !want || want->empty()) return false;
  const auto got =
      scrypt(password, *salt, static_cast<unsigned>(log_n), static_cast<std::uint64_t>(r),
             static_cast<std::uint64_t>(p), want->size());
  return got && core::constant_time_equal(*got, *want);
}

Result<std::unique_ptr<Sessions>> Sessions::open(PrimaryStore& store, std::int64_t now,
                                                 SessionOptions options) {
  options.scrypt_log_n = std::clamp(options.scrypt_log_n, 10u, 20u);
  std::unique_ptr<Sessions> s(new Sessions(store, options));
  s->dummy_hash_ = hash_password(random_bytes(16), options.scrypt_log_n);
  bool corrupt = false;
  auto scanned =
      store.records().scan_extra(kSecretsCf, {}, {}, [&](std::string_view k, std::string_view v) {
        if (v.size() != 48) {
          corrupt = true;
          return false;
        }
        s->secrets_.push_back({{std::string(k), std::string(v.substr(16))},
                               static_cast<std::int64_t>(*store::from_be64(v.substr(0, 8))),
                               static_cast<std::int64_t>(*store::from_be64(v.substr(8, 8)))});
        return true;
      });
  if (!scanned) return scanned.error();
  if (corrupt) return StoreError{"an undecodable JWT secret"};
  std::sort(s->secrets_.begin(), s->secrets_.end(),
            [](const Secret& a, const Secret& b) { return a.created_at < b.created_at; });
  if (s->secrets_.empty() || s->secrets_.back().retires_at != 0) {
    if (auto kid = s->rotate_secret(now); !kid) return kid.error();
  }
  return s;
}

store::ExtraWrite Sessions::secret_row(const Secret& s) {
  std::string v = store::be64(static_cast<std::uint64_t>(s.created_at));
  store::append_be64(v, static_cast<std::uint64_t>(s.retires_at));
  v.append(s.secret.key);
  return {kSecretsCf, s.secret.kid, std::move(v)};
}

Result<std::string> Sessions::rotate_secret(std::int64_t now) {
  std::lock_guard g(mu_);
  // The new set is written in one commit, and only then replaces the one in memory.
  std::vector<Secret> next = secrets_;
  std::vector<store::ExtraWrite> writes;
  for (auto& old : next) {
    if (old.retires_at != 0) continue;
    old.retires_at = now + options_.jwt_seconds;
    writes.push_back(secret_row(old));
  }
  // Secrets past their overlap verify nothing any more: deleted.
  std::erase_if(next, [&](const Secret& s) {
    if (s.retires_at > now) return false;
    writes.push_back({kSecretsCf, s.secret.kid, std::nullopt});
    return true;
  });
  next.push_back({{random_id("jwt_"), random_bytes(32)}, now, 0});
  writes.push_back(secret_row(next.back()));
  if (auto done = write_rows(store_, writes); !done) return done.error();
  secrets_ = std::move(next);
  log::info("primary", "new JWT secret", {{"kid", secrets_.back().secret.kid}});
  return Result<std::string>(boost::system::in_place_value, secrets_.back().secret.kid);
}

std::vector<core::JwtSecret> Sessions::live_secrets(std::int64_t now) const {
  std::lock_guard g(mu_);
  std::vector<core::JwtSecret> out;
  for (const auto& s : secrets_) {
    if (s.retires_at == 0 || s.retires_at > now) out.push_back(s.secret);
  }
  return out;
}

Result<std::optional<UserRecord>> Sessions::user_by_email(std::string_view email) const {
  auto v = store_.records().get_extra(kUsersCf, "e" + lower(email));
  if (!v) return v.error();
  if (!*v) return std::optional<UserRecord>();
  auto u = decode_user(**v);
  if (!u) return StoreError{"an undecodable user"};
  return std::optional<UserRecord>(std::move(*u));
}

Result<std::optional<UserRecord>> Sessions::user_by_id(std::string_view id) const {
  auto email = store_.records().get_extra(kUsersCf, "i" + std::string(id));
  if (!email) return email.error();
  if (!*email) return std::optional<UserRecord>();
  return user_by_email(**email);
}

Result<std::vector<UserRecord>> Sessions::users_of(std::string_view account_id) const {
  std::vector<std::string> emails;
  const std::string prefix = "a" + std::string(account_id) + '\0';
  auto scanned = store_.records().scan_extra(kUsersCf, prefix, prefix,
                                             [&](std::string_view, std::string_view v) {
                                               emails.emplace_back(v);
                                               return true;
                                             });
  if (!scanned) return scanned.error();
  std::vector<UserRecord> out;
  for (const auto& e : emails) {
    auto u = user_by_email(e);
    if (!u) return u.error();
    if (*u) out.push_back(std::move(**u));
  }
  std::sort(out.begin(), out.end(), [](const UserRecord& a, const UserRecord& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  return out;
}

Result<void> Sessions::put_user(const UserRecord& u) {
  const std::array<store::ExtraWrite, 3> writes{
      store::ExtraWrite{kUsersCf, "e" + u.email, encode_user(u)},
      store::ExtraWrite{kUsersCf, "i" + u.id, u.email},
      store::ExtraWrite{kUsersCf, "a" + u.account_id + '\0' + u.id, u.email}};
  return write_rows(store_, writes);
}

Result<std::optional<UserRecord>> Sessions::create_user(std::string_view account_id,
                                                        std::string_view email,
                                                        std::string_view password,
                                                        std::int64_t now) {
  UserRecord u{random_id("usr_"), std::string(account_id), lower(email),
               hash_password(password, options_.scrypt_log_n)};
  u.created_at = now;
  std::lock_guard g(mu_);
  auto existing = user_by_email(u.email);
  if (!existing) return existing.error();
  if (*existing) return std::optional<UserRecord>();
  if (auto put = put_user(u); !put) return put.error();
  return std::optional<UserRecord>(std::move(u));
}

Result<std::optional<Sessions::Invited>> Sessions::invite(const UserRecord& by,
                                                          std::string_view email,
                                                          std::int64_t now) {
  std::string token = "inv_" + core::base64url(random_bytes(24));
  UserRecord u{random_id("usr_"), by.account_id, lower(email)};
  u.invite = core::to_hex(core::sha256(token));
  u.invited_by = by.id;
  u.created_at = now;
  u.invite_expires_at = now + kInviteSeconds;
  std::lock_guard g(mu_);
  auto existing = user_by_email(u.email);
  if (!existing) return existing.error();
  if (*existing) return std::optional<Invited>();
  if (auto put = put_user(u); !put) return put.error();
  return std::optional<Invited>(Invited{std::move(u), std::move(token)});
}

Result<std::optional<UserRecord>> Sessions::accept_invite(std::string_view token,
                                                          std::string_view password,
                                                          std::int64_t now) {
  // The token's digest names the invitation; found by a scan of the pending ones (few).
  const std::string digest = core::to_hex(core::sha256(token));
  std::optional<UserRecord> found;
  bool corrupt = false;
  auto scanned =
      store_.records().scan_extra(kUsersCf, "e", "e", [&](std::string_view, std::string_view v) {
        auto u = decode_user(v);
        if (!u) corrupt = true;
        if (u && !u->invite.empty() && core::constant_time_equal(u->invite, digest)) {
          found = std::move(*u);
        }
        return !corrupt && !found;
      });
  if (!scanned) return scanned.error();
  if (corrupt) return StoreError{"an undecodable user"};
  if (!found || found->invite_expires_at <= now) return std::optional<UserRecord>();
  const std::string hashed = hash_password(password, options_.scrypt_log_n);
  // Read again under the lock: of two acceptances at once, the second finds it accepted.
  std::lock_guard g(mu_);
  auto current = user_by_email(found->email);
  if (!current) return current.error();
  if (!*current || (*current)->invite != digest) return std::optional<UserRecord>();
  UserRecord u = std::move(**current);
  u.password = hashed;
  u.invite.clear();
  u.invite_expires_at = 0;
  if (auto put = put_user(u); !put) return put.error();
  return std::optional<UserRecord>(std::move(u));
}

SignIn Sessions::issue(const UserRecord& u, std::string session_id, std::int64_t session_expires,
                       std::int64_t now) const {
  const auto secrets = live_secrets(now);
  if (secrets.empty()) throw std::runtime_error("no current JWT secret");  // open() makes one
  core::JwtClaims c{u.id,      u.account_id,
                    u.scope(), std::move(session_id),
                    now,       std::min(now + options_.jwt_seconds, session_expires)};
  SignIn out;
  out.token = core::sign_jwt(c, secrets.back());
  out.expires_at = c.expires_at;
  out.session_expires_at = session_expires;
  out.user = u;
  return out;
}

Result<SignIn> Sessions::start_session(const UserRecord& u, std::int64_t now) {
  std::string id = random_id("ses_");
  const std::string secret = core::base64url(random_bytes(24));
  const std::int64_t expires = now + options_.session_seconds;
  const store::ExtraWrite w{
      kSessionsCf, id, join({u.id, core::to_hex(core::sha256(secret)), std::to_string(expires)})};
  if (auto put = write_rows(store_, {&w, 1}); !put) return put.error();
  SignIn out = issue(u, id, expires, now);
  out.cookie = id + "." + secret;
  return out;
}

Result<std::optional<SignIn>> Sessions::sign_in(std::string_view email, std::string_view password,
                                                std::int64_t now) {
  auto user = user_by_email(email);
  if (!user) return user.error();
  // The same work whether or not the email is known, or has a password yet.
  const bool known = *user && !(*user)->password.empty();
  const bool matches = password_matches(password, known ? (*user)->password : dummy_hash_);
  if (!known || !matches) return std::optional<SignIn>();
  auto s = start_session(**user, now);
  if (!s) return s.error();
  return std::optional<SignIn>(std::move(*s));
}

Result<std::optional<SignIn>> Sessions::refresh(std::string_view cookie, std::int64_t now) {
  const auto dot = cookie.find('.');
  if (dot == std::string_view::npos || dot > 64) return std::optional<SignIn>();
  const std::string id(cookie.substr(0, dot));
  auto row = store_.records().get_extra(kSessionsCf, id);
  if (!row) return row.error();
  if (!*row) return std::optional<SignIn>();
  const auto s = decode_session(**row);
  if (!s) return StoreError{"an undecodable session"};
  if (!core::constant_time_equal(core::to_hex(core::sha256(cookie.substr(dot + 1))),
                                 s->secret_digest) ||
      s->expires_at <= now) {
    return std::optional<SignIn>();
  }
  auto user = user_by_id(s->user_id);
  if (!user) return user.error();
  if (!*user) return std::optional<SignIn>();
  SignIn out = issue(**user, id, s->expires_at, now);
  out.cookie = std::string(cookie);
  return std::optional<SignIn>(std::move(out));
}

Result<bool> Sessions::revoke(std::string_view session_id) {
  auto row = store_.records().get_extra(kSessionsCf, session_id);
  if (!row) return row.error();
  if (!*row) return false;
  const store::ExtraWrite del{kSessionsCf, std::string(session_id), std::nullopt};
  if (auto done = write_rows(store_, {&del, 1}); !done) return done.error();
  return true;
}

Result<std::variant<Sessions::Verified, core::JwtError>> Sessions::verify(std::string_view token,
                                                                          std::int64_t now) {
  using Out = std::variant<Verified, core::JwtError>;
  const auto secrets = live_secrets(now);
  auto checked = core::verify_jwt(token, secrets, now);
  if (auto* e = std::get_if<core::JwtError>(&checked)) return Out(*e);
  auto& claims = std::get<core::JwtClaims>(checked);
  auto row = store_.records().get_extra(kSessionsCf, claims.session);
  if (!row) return row.error();
  const auto s = *row ? decode_session(**row) : std::nullopt;
  if (!s || s->user_id != claims.subject || s->expires_at <= now) {
    return Out(core::JwtError::kExpired);  // signed out, or the session ran out
  }
  auto user = user_by_id(claims.subject);
  if (!user) return user.error();
  if (!*user || (*user)->account_id != claims.account || (*user)->scope() != claims.scope) {
    return Out(core::JwtError::kClaims);
  }
  return Out(Verified{std::move(claims), std::move(**user)});
}

}  // namespace le::primary
