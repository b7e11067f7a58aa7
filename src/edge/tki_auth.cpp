// TKI authentication at the edge (spec tki-auth-api): the decision from the replica, a first
// use from a new IP or HWID bound at the primary, and each attempt recorded for the account's
// auth logs and usage (edge/reporter.h).
#include "common/log.h"
#include "core/digest.h"
#include "core/failure_report.h"
#include "core/json_writer.h"
#include "core/tki.h"
#include "edge/edge_service.h"

namespace le::edge {

using net::http::field;

void EdgeService::bind_at_primary(const net::Request& req, net::Response& res,
                                  core::WriteCommand cmd, PendingAuth auth) {
  auto& counts = threads_[req.worker]->writes[static_cast<std::size_t>(core::WriteOp::kBind)];
  const unsigned retry = options_.binding_retry_after_s;
  if (primary_ == nullptr) {
    counts[static_cast<std::size_t>(WriteOutcome::kUnavailable)].add();
    return answer_binding_unavailable(res, retry);
  }
  // The answer is written on this request's I/O thread, which counts the attempt's outcome (and
  // a refusal as its failure).
  auto answered = std::make_shared<PendingAuth>(std::move(auth));
  auto record = [this, worker = req.worker, answered](core::TkiStatus status) {
    if (reporter_ == nullptr) return;
    const PendingAuth& a = *answered;
    AuthInput in;
    in.at_ms = clock_.now_ms();
    in.account = a.account.get();
    in.mode = a.mode;
    in.license = a.license.get();
    in.product = a.product;
    in.version = a.version;
    in.ip = a.ip;
    std::optional<IpBytes> ip;
    in.ip_key = IpBytes::of(a.ip, ip);
    in.hwid = a.hwid;
    in.user_agent = a.user_agent;
    in.status = status;
    reporter_->count_auth(worker, in);
  };
  auto completion = res.defer(write_deadline(), [&counts, retry, record](net::Response& r) {
    counts[static_cast<std::size_t>(WriteOutcome::kUnavailable)].add();
    record(core::TkiStatus::kBindingRequired);
    answer_binding_unavailable(r, retry);
  });
  auto refused = [this, worker = req.worker, license = cmd.license, answered](
                     core::TkiStatus status, const core::ChangeEvent* state) {
    const auto* l = state ? std::get_if<core::LicenseRecord>(&state->record) : nullptr;
    if (l != nullptr) {
      report_failure(worker, license, core::failure_reason({status}, *l), answered->hwid);
    }
  };
  primary_->send(cmd, [completion, &counts, retry, answered, record,
                       refused = std::move(refused)](std::optional<core::WriteReply> reply) {
    completion->complete(
        [reply = std::move(reply), &counts, retry, answered, record, refused](net::Response& r) {
          auto count = [&](WriteOutcome o) { counts[static_cast<std::size_t>(o)].add(); };
          if (reply && reply->tki) {
            // Refused at the primary, in TKI's own words (e.g. "Max Amount of IP's reached!").
            count(WriteOutcome::kRefused);
            record(*reply->tki);
            refused(*reply->tki, reply->license ? &*reply->license : nullptr);
            r.status = static_cast<unsigned>(core::http_status(*reply->tki));
            core::write_tki_failure(r.body, *reply->tki);
            return;
          }
          if (!reply || !reply->bind || !reply->license) {
            count(WriteOutcome::kUnavailable);
            record(core::TkiStatus::kBindingRequired);
            return answer_binding_unavailable(r, retry);
          }
          count(WriteOutcome::kDone);
          record(core::TkiStatus::kSuccess);
          core::TkiRequest answered_request;
          answered_request.version = answered->version;
          r.status = 200;
          core::write_tki_success(r.body, answered_request,
                                  std::get<core::LicenseRecord>(reply->license->record));
        });
  });
}

void EdgeService::tki_auth(const net::Request& req, net::Response& res) {
  PerThread& t = *threads_[req.worker];
  const std::int64_t now = clock_.now_seconds();
  const auto raw_key = core::tki_api_key(req.header(field::authorization));

  core::TkiRecords records;
  records.authorization_present = raw_key.has_value();
  std::optional<core::TkiRequest> request;
  cache::Ptr<core::ApiKeyRecord> key;
  cache::Ptr<core::AccountRecord> account;
  cache::Ptr<core::LicenseRecord> license;
  cache::Ptr<core::ProductRecord> product;
  cache::Ptr<core::BlacklistEntry> ip_block, hwid_block, license_block;
  std::optional<store::StoreError> failure;
  // Unwraps a lookup, remembering the first store failure.
  auto take = [&failure](auto&& result, auto& into) {
    if (result) {
      into = std::move(*result);
    } else if (!failure) {
      failure = result.error();
    }
  };

  // Look up only what the decision can reach: each step needs the previous one to have passed.
  if (raw_key) {
    take(t.cache.api_key(t.api_key_digests.digest(*raw_key)), key);
    if (key && !key->revoked) take(t.cache.account(key->account_id), account);
  }
  std::optional<ratelimit::Decision> limited;
  if (account && account->tki_rate_limit && options_.rate_limit.enabled) {
    auto d =
        limit_ip(req.worker, 't', client_of(req), options_.rate_limit.tki_per_ip, clock_.now_ms());
    if (!d.allowed) limited = d;
  }
  records.rate_limited = limited.has_value();
  if (account && !limited) {
    request = core::parse_tki_request(req.body);
    if (request) {
      const std::string& acc = account->id;
      take(t.cache.blacklist(acc, core::BlacklistKind::kIp, request->ip), ip_block);
      if (request->hwid) {
        take(t.cache.blacklist(acc, core::BlacklistKind::kHwid, *request->hwid), hwid_block);
      }
      const core::Digest digest = core::sha256(request->licensekey);
      take(t.cache.license(digest), license);
      core::HexDigest hex;
      take(t.cache.blacklist(acc, core::BlacklistKind::kLicense, core::to_hex(digest, hex)),
           license_block);
      take(t.cache.product_by_name(acc, request->product), product);
    }
  }
  if (failure) {
    log::error("edge", "replica read failed", {{"error", failure->message}});
    res.status = 503;
    res.body.clear();
    core::JsonWriter w(res.body);
    w.begin_object().field("message", "Temporarily unable to read licenses; retry shortly");
    w.field("status_overview", "failed").end_object();
    res.add_header("Retry-After", "1");
    return;
  }
  records.api_key = key.get();
  records.account = account.get();
  records.license = license.get();
  records.product = product.get();
  records.ip_block = ip_block.get();
  records.hwid_block = hwid_block.get();
  records.license_block = license_block.get();

  const core::TkiDecision d = core::decide_tki(request, records, now);
  // The license the attempt is recorded against: the key's account's, if it names one.
  const core::LicenseRecord* own =
      key && core::visible_to(key.get(), license.get()) ? license.get() : nullptr;
  if (d.blacklist_hit != nullptr && reporter_ != nullptr) {
    reporter_->count_blacklist_hit(req.worker, *d.blacklist_hit, clock_.now_ms());
  }
  res.status = static_cast<unsigned>(core::http_status(d.status));
  if (d.status != core::TkiStatus::kBindingRequired && reporter_ != nullptr && account) {
    // The attempt, with what the request named (none of it when it did not parse).
    std::optional<IpBytes> ip;
    AuthInput in;
    in.at_ms = clock_.now_ms();
    in.account = account.get();
    in.mode = key->mode;
    in.license = own;
    if (request) {
      in.product = request->product;
      in.version = request->version;
      in.ip = request->ip;
      in.ip_key = IpBytes::of(request->ip, ip);
      in.hwid = request->hwid.value_or(std::string_view());
    }
    in.user_agent = req.header(field::user_agent).value_or(std::string_view());
    in.status = d.status;
    reporter_->count_auth(req.worker, in);
  }
  if (d.status == core::TkiStatus::kSuccess) {
    core::write_tki_success(res.body, *request, *license);
    return;
  }
  if (d.status == core::TkiStatus::kBindingRequired) {
    // A new IP or HWID within the limits: bound at the primary (one round trip), which re-checks
    // the limits against every edge's bindings. Until it answers, nobody is let in unbound.
    core::WriteCommand cmd;
    cmd.op = core::WriteOp::kBind;
    cmd.api_key = key->digest;
    cmd.mode = key->mode;
    cmd.license = license->key_digest;
    if (d.bind_ip) cmd.ip.assign(request->ip);
    if (d.bind_hwid) cmd.hwid.assign(*request->hwid);
    PendingAuth auth{account,
                     key->mode,
                     own ? license : nullptr,
                     std::string(request->product),
                     std::string(request->version),
                     std::string(request->ip),
                     std::string(request->hwid.value_or(std::string_view())),
                     std::string(req.header(field::user_agent).value_or(std::string_view()))};
    return bind_at_primary(req, res, std::move(cmd), std::move(auth));
  }
  if (license && request) {
    report_failure(req.worker, license->key_digest, core::failure_reason(d, *license),
                   request->hwid);
  }
  core::write_tki_failure(res.body, d.status);
  if (d.status == core::TkiStatus::kRateLimited) {
    res.add_header("Retry-After", std::to_string(limited->retry_after_s));
  }
}

}  // namespace le::edge
