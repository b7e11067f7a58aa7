#include "core/validate.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/json_read.h"
#include "core/json_writer.h"
#include "core/lease.h"
#include "core/time_format.h"

namespace le::core {
namespace {

namespace dom = simdjson::dom;

// ISO 8601 needs no JSON escaping: quoted in place, without a temporary string.
void append_quoted_iso8601(std::string& out, std::int64_t t) {
  out.push_back('"');
  append_iso8601(out, t);
  out.push_back('"');
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

// Reduces "https://App.Example.com:8443/path" to "App.Example.com".
std::string_view host_of(std::string_view d) {
  if (auto p = d.find("://"); p != std::string_view::npos) d.remove_prefix(p + 3);
  if (auto p = d.find_first_of("/?#"); p != std::string_view::npos) d = d.substr(0, p);
  if (auto p = d.find('@'); p != std::string_view::npos) d.remove_prefix(p + 1);
  if (auto p = d.rfind(':'); p != std::string_view::npos && d.find(']') == std::string_view::npos) {
    d = d.substr(0, p);
  }
  while (!d.empty() && d.back() == '.') d.remove_suffix(1);
  return d;
}

}  // namespace

std::variant<ValidateRequest, ApiError> parse_validate_request(std::string_view body) {
  thread_local json::Parser parser;
  dom::object obj;
  if (auto e = json::parse_request_object(parser, body, obj)) return std::move(*e);
  ValidateRequest req;
  std::optional<std::string_view> key;
  for (const auto field : obj) {
    const std::string_view name = field.key;
    std::optional<ApiError> err;
    if (name == "license_key" || name == "key") {
      std::optional<std::string_view> k;
      err = json::read_request_string(field.value, name, k, kMaxLicenseKeyBytes);
      if (!err && k) {
        if (key && *key != *k) return ApiError::validation("Fields 'key' and 'license_key' differ");
        key = k;
      }
    } else if (name == "product_id") {
      err = json::read_request_string(field.value, name, req.product_id, kMaxFieldBytes);
    } else if (name == "machine_id") {
      err = json::read_request_string(field.value, name, req.machine_id, kMaxFieldBytes);
    } else if (name == "domain") {
      err = json::read_request_string(field.value, name, req.domain, kMaxFieldBytes);
    } else if (name == "offline") {
      if (!json::read_bool(field.value, req.offline)) {
        return ApiError::validation("Field 'offline' must be a boolean");
      }
    } else if (name == "nonce") {
      err = json::read_request_string(field.value, name, req.nonce, kMaxNonceBytes);
    }
    // Unknown fields are ignored (forward compatibility); the parse validated them as JSON.
    if (err) return *err;
  }
  if (!key || key->empty()) return ApiError::missing_fields("Missing required field: license_key");
  req.license_key = *key;
  return req;
}

void append_offline_receipt(std::string& out, std::string_view token, std::int64_t issued_at,
                            std::int64_t valid_until) {
  if (out.empty() || out.back() != '}') return;
  out.pop_back();
  out.append(R"(,"offline":{"token":)");
  JsonWriter::append_string(out, token);
  out.append(R"(,"issuedAt":)");
  append_quoted_iso8601(out, issued_at);
  out.append(R"(,"validUntil":)");
  append_quoted_iso8601(out, valid_until);
  out.append("}}");
}

Credential classify_authorization(std::optional<std::string_view> header) {
  if (!header) return NoCredential{};
  std::string_view h = *header;
  constexpr std::string_view kBearer = "Bearer ";
  if (h.size() < kBearer.size() || !iequals(h.substr(0, kBearer.size()), kBearer)) {
    if (h.find_first_not_of(' ') == std::string_view::npos || iequals(h, "Bearer")) {
      return ApiError::auth_required();
    }
    return ApiError::invalid_api_key();
  }
  h.remove_prefix(kBearer.size());
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  if (h.empty()) return ApiError::auth_required();
  if (h.size() > kMaxFieldBytes) return ApiError::invalid_api_key();
  if (h.starts_with("to_live_") && h.size() > 8) return BearerKey{h, Mode::kLive};
  if (h.starts_with("to_test_") && h.size() > 8) return BearerKey{h, Mode::kTest};
  return ApiError::invalid_api_key();
}

std::variant<const ApiKeyRecord*, ApiError> check_api_key(const BearerKey& key,
                                                          const ApiKeyRecord* found) {
  if (!api_key_authenticates(found, key.mode)) return ApiError::invalid_api_key();
  return found;
}

bool api_key_authenticates(const ApiKeyRecord* found, Mode mode) {
  // The prefix is part of the secret's text, so a record found by digest has the same mode;
  // checking it again guards against a record written with a wrong mode.
  return found != nullptr && !found->revoked && found->mode == mode;
}

std::string_view to_string(ValidationCode c) {
  switch (c) {
    case ValidationCode::kValid:
      return "VALID";
    case ValidationCode::kNotFound:
      return "NOT_FOUND";
    case ValidationCode::kExpired:
      return "EXPIRED";
    case ValidationCode::kSuspended:
      return "SUSPENDED";
    case ValidationCode::kRevoked:
      return "REVOKED";
    case ValidationCode::kProductMismatch:
      return "PRODUCT_MISMATCH";
    case ValidationCode::kMachineNotActivated:
      return "MACHINE_NOT_ACTIVATED";
  }
  return "NOT_FOUND";
}

std::string_view detail(ValidationCode c) {
  switch (c) {
    case ValidationCode::kValid:
      return "License is valid";
    case ValidationCode::kNotFound:
      return "License key not found";
    case ValidationCode::kExpired:
      return "License has expired";
    case ValidationCode::kSuspended:
      return "License is suspended";
    case ValidationCode::kRevoked:
      return "License has been revoked";
    case ValidationCode::kProductMismatch:
      return "License is not valid for this product";
    case ValidationCode::kMachineNotActivated:
      return "Machine is not activated for this license";
  }
  return "License key not found";
}

LicenseStatus effective_status(const LicenseRecord& l, std::int64_t now) {
  if (l.status == LicenseStatus::kActive && l.expires_at != 0 && l.expires_at <= now) {
    return LicenseStatus::kExpired;
  }
  return l.status;
}

bool domain_allowed(std::string_view domain, const std::vector<std::string>& patterns) {
  const std::string_view host = host_of(domain);
  if (host.empty()) return false;
  for (const auto& p : patterns) {
    std::string_view pat = p;
    if (pat.starts_with("*.")) {
      std::string_view suffix = pat.substr(1);  // ".example.com"
      if (host.size() > suffix.size() &&
          iequals(host.substr(host.size() - suffix.size()), suffix)) {
        return true;
      }
    } else if (iequals(host, host_of(pat))) {
      return true;
    }
  }
  return false;
}

std::variant<ValidateOutcome, ApiError> decide_validate(const ValidateRequest& req,
                                                        const ApiKeyRecord* api_key,
                                                        const LicenseRecord* license,
                                                        std::int64_t now) {
  if (!visible_to(api_key, license)) return ValidateOutcome{ValidationCode::kNotFound, nullptr};
  switch (effective_status(*license, now)) {
    case LicenseStatus::kRevoked:
      return ValidateOutcome{ValidationCode::kRevoked, license};
    case LicenseStatus::kSuspended:
      return ValidateOutcome{ValidationCode::kSuspended, license};
    case LicenseStatus::kExpired:
      return ValidateOutcome{ValidationCode::kExpired, license};
    case LicenseStatus::kActive:
      break;
  }
  if (req.product_id && *req.product_id != license->product_id) {
    return ValidateOutcome{ValidationCode::kProductMismatch, license};
  }
  if (req.domain && !license->allowed_domains.empty() &&
      !domain_allowed(*req.domain, license->allowed_domains)) {
    return ApiError::domain_mismatch();
  }
  ValidateOutcome valid{ValidationCode::kValid, license};
  if (req.machine_id) {
    const auto& acts = license->activations;
    auto it = std::find_if(acts.begin(), acts.end(),
                           [&](const Activation& a) { return a.machine_id == *req.machine_id; });
    // A floating seat counts only while its lease is live (core/lease.h): checked here, at
    // request time, like expiry, without waiting for the primary's cull.
    if (it == acts.end() || !holds_seat(*license, *it, now)) {
      return ValidateOutcome{ValidationCode::kMachineNotActivated, license};
    }
    if (is_floating(*license)) valid.lease_expires_at = it->lease_expires_at;
  }
  return valid;
}

void write_validate_response(std::string& out, const ValidateOutcome& o, std::string_view key,
                             std::int64_t now) {
  // The hottest serializer: constant fragments appended whole, dynamic strings escaped.
  // Output is the same as a JsonWriter would produce.
  out.clear();
  out.append(o.valid() ? R"({"valid":true)" : R"({"valid":false)");
  if (o.license != nullptr) {
    const LicenseRecord& l = *o.license;
    out.append(R"(,"license":{"id":)");
    JsonWriter::append_string(out, l.id);
    out.append(R"(,"key":)");
    JsonWriter::append_string(out, key);
    out.append(R"(,"status":")").append(to_string(effective_status(l, now)));
    out.append(R"(","type":")").append(to_string(l.type));
    char num[24];
    auto r = std::to_chars(num, num + sizeof num, seats_held(l, now));
    out.append(R"(","activations":)").append(num, r.ptr);
    r = std::to_chars(num, num + sizeof num, l.max_activations);
    out.append(R"(,"maxActivations":)").append(num, r.ptr);
    out.append(R"(,"expiresAt":)");
    if (l.expires_at == 0) {
      out.append("null");
    } else {
      append_quoted_iso8601(out, l.expires_at);
    }
    out.append(R"(,"metadata":)")
        .append(l.metadata_json.empty() ? std::string_view("{}") : l.metadata_json);
    out.push_back('}');
  }
  // The same second is formatted for every response in it: keep the last one per thread.
  thread_local std::int64_t cached_second = -1;
  thread_local char cached_text[24];
  thread_local std::size_t cached_len = 0;
  if (now != cached_second) {
    std::string t;
    append_quoted_iso8601(t, now);
    cached_len = std::min(t.size(), sizeof cached_text);
    std::memcpy(cached_text, t.data(), cached_len);
    cached_second = now;
  }
  out.append(R"(,"validatedAt":)").append(cached_text, cached_len);
  if (o.lease_expires_at != 0) {
    out.append(R"(,"leaseExpiresAt":)");
    append_quoted_iso8601(out, o.lease_expires_at);
  }
  out.append(R"(,"code":")").append(to_string(o.code));
  out.append(R"(","detail":")").append(detail(o.code)).append(R"("})");
}

void write_api_error(std::string& out, const ApiError& e) {
  out.clear();
  JsonWriter w(out);
  w.begin_object().field("error", e.message).field("code", e.code).field("help", kErrorHelp);
  w.end_object();
}

void write_rate_limited(std::string& out, std::uint32_t retry_after_s) {
  out.clear();
  JsonWriter w(out);
  w.begin_object().field("error", "Rate limit exceeded").field("code", "RATE_LIMITED");
  w.field("retryAfter", retry_after_s).end_object();
}

}  // namespace le::core
