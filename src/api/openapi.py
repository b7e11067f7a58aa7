#!/usr/bin/env python3
"""The OpenAPI 3.1 description of License Edge's HTTP API, written as data.

Every route of license-primary and license-edge is described once here; each operation names
the processes that serve it (`served`). The build writes three files from it:
  openapi.json       the whole API, as license-primary serves it at /api/v1/openapi.json
  openapi-edge.json  the edge's routes, as license-edge serves it at /api/v1/openapi.json
  openapi_doc.cpp    both texts, compiled into the binaries (api/openapi.h)
Only the components an operation reaches are kept in a document, so each lints clean alone.

usage: openapi.py OUT_DIR
"""
import copy
import json
import sys

API_VERSION = "2026-01-01"
PRIMARY, EDGE = "primary", "edge"
BOTH = (PRIMARY, EDGE)


def ref(kind, name):
    return {"$ref": f"#/components/{kind}/{name}"}


def schema(name):
    return ref("schemas", name)


# ---- shared pieces -----------------------------------------------------------------------------

HEADERS = {
    "X-API-Version": {
        "description": "The API version that served the request (a date).",
        "required": True,
        "schema": {"type": "string", "format": "date", "examples": [API_VERSION]},
    },
    "X-RateLimit-Limit": {
        "description": "Requests allowed per sliding one-minute window for the caller.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-RateLimit-Reset": {
        "description": "Unix time (seconds) when the window resets.",
        "required": True,
        "schema": {"type": "integer"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "Deprecation": {
        "description": "RFC 9745: the request used something deprecated since this time "
        "(`@` and Unix seconds).",
        "schema": {"type": "string", "examples": ["@1795478400"]},
    },
    "Sunset": {
        "description": "RFC 8594: when the deprecated part will be removed (HTTP date).",
        "schema": {"type": "string", "examples": ["Mon, 01 Mar 2027 00:00:00 GMT"]},
    },
    "Set-Cookie": {
        "description": "The session cookie: `le_session=…; Path=/api/v1/auth; Max-Age=…; "
        "HttpOnly; Secure; SameSite=Strict`.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Link": {
        "description": "Where the deprecation is documented (`rel=\"deprecation\"`).",
        "schema": {"type": "string"},
    },
}

TIME = {"type": "string", "format": "date-time", "examples": ["2024-01-15T12:00:00Z"]}
TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
DATE = {"type": "string", "format": "date", "examples": ["2026-11-24"]}
METADATA = {"type": "object", "description": "Custom key-value pairs.",
            "additionalProperties": True}
STRINGS = {"type": "array", "items": {"type": "string"}}
COUNT = {"type": "integer", "minimum": 0}
LICENSE_TYPE = {"type": "string", "enum": ["perpetual", "subscription", "trial", "floating"]}
LICENSE_STATUS = {"type": "string", "enum": ["active", "expired", "suspended", "revoked"]}
MODE = {"type": "string", "enum": ["live", "test"]}
ACCOUNT_PLAN = {"type": "string",
                "enum": ["builder", "starter", "professional", "business", "enterprise"]}
WEBHOOK_EVENT = {"type": "string", "enum": [
    "license.created", "license.activated", "license.deactivated", "license.expired",
    "license.suspended", "validation.failed", "license.renewed"]}
ERROR_CODES = ["MISSING_FIELDS", "VALIDATION_ERROR", "AUTH_REQUIRED", "INVALID_API_KEY",
               "INVALID_CREDENTIALS", "INVALID_TOKEN", "DOMAIN_MISMATCH", "NOT_FOUND", "METHOD_NOT_ALLOWED", "CONFLICT",
               "PAYLOAD_TOO_LARGE", "REQUEST_TIMEOUT", "HEADERS_TOO_LARGE", "RATE_LIMITED",
               "SERVICE_UNAVAILABLE", "INTERNAL_ERROR"]


def obj(props, required=(), extra=True, **more):
    """An object schema; answers may gain fields (the spec's stability promise)."""
    out = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    if not extra:
        out["additionalProperties"] = False
    out.update(more)
    return out


def req_obj(props, required=(), **more):
    """A request body: unknown fields are refused (400 VALIDATION_ERROR)."""
    return obj(props, required, extra=False, **more)


LICENSE_WRITE = {
    "type": LICENSE_TYPE,
    "max_activations": {"type": "integer", "minimum": 0,
                        "description": "Max simultaneous activations (default 1)."},
    "email": {"type": "string", "description": "Customer email to associate."},
    "expires_at": {"type": ["string", "null"], "format": "date-time"},
    "metadata": METADATA,
    "allowed_domains": STRINGS,
    "max_ips": {"type": "integer", "minimum": 0},
    "max_hwids": {"type": "integer", "minimum": 0},
    "staff": {"type": "boolean"},
    "offline_grace_hours": {"type": ["integer", "null"], "minimum": 0},
    "lease_seconds": {"type": ["integer", "null"], "minimum": 1},
    "discord_id": {"type": "string"},
    "discord_username": {"type": "string"},
    "discord_tag": {"type": "string"},
}

SCHEMAS = {
    "Error": obj({
        "error": {"type": "string", "description": "Human-readable; may change."},
        "code": {"type": "string", "enum": ERROR_CODES,
                 "description": "Machine-readable; stable across API versions."},
        "help": {"type": "string", "examples": ["/docs#errors"]},
    }, ["error", "code"]),
    "User": obj({
        "id": {"type": "string"}, "email": {"type": "string"},
        "accountId": {"type": ["string", "null"]},
        "scope": {"type": "string", "enum": ["portal", "admin"]},
        "status": {"type": "string", "enum": ["active", "invited"]},
        "createdAt": {"type": "integer"}},
        ["id", "email", "accountId", "scope", "status", "createdAt"]),
    "SignInAnswer": obj({"data": obj({
        "token": {"type": "string", "description": "A JWT: `Authorization: Bearer <token>`."},
        "tokenType": {"type": "string", "const": "Bearer"},
        "expiresAt": {"type": "integer", "description": "Unix seconds."},
        "user": ref("schemas", "User")}, ["token", "tokenType", "expiresAt", "user"])},
        ["data"]),
    "RateLimited": obj({
        "error": {"type": "string", "const": "Rate limit exceeded"},
        "code": {"type": "string", "const": "RATE_LIMITED"},
        "retryAfter": {"type": "integer", "minimum": 0},
    }, ["error", "code", "retryAfter"]),
    "Pagination": obj({
        "page": {"type": "integer", "minimum": 1},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100},
        "total": COUNT,
        "totalPages": COUNT,
        "hasMore": {"type": "boolean"},
    }, ["page", "limit", "total", "totalPages", "hasMore"]),
    "Machine": obj({
        "machineId": {"type": "string"},
        "label": {"type": "string"},
        "activatedAt": TIME_OR_NULL,
        "leaseExpiresAt": TIME_OR_NULL,
    }, ["machineId"]),
    "License": obj({
        "id": {"type": "string", "examples": ["lic_1234567890"]},
        "key": {"type": "string", "description": "Only when the license is created.",
                "examples": ["ABCD-EFGH-IJKL-MNOP"]},
        "productId": {"type": "string"},
        "type": LICENSE_TYPE,
        "status": LICENSE_STATUS,
        "mode": MODE,
        "activations": COUNT,
        "maxActivations": COUNT,
        "machines": {"type": "array", "items": schema("Machine")},
        "leaseSeconds": COUNT,
        "expiresAt": TIME_OR_NULL,
        "email": {"type": "string"},
        "plan": {"type": "string", "description": "The product plan it was created from."},
        "metadata": METADATA,
        "allowedDomains": STRINGS,
        "maxIps": COUNT,
        "maxHwids": COUNT,
        "ips": STRINGS,
        "hwids": STRINGS,
        "staff": {"type": "boolean"},
        "discordId": {"type": "string"},
        "discordUsername": {"type": "string"},
        "discordTag": {"type": "string"},
        "offlineGraceHours": {"type": ["integer", "null"]},
        "createdAt": TIME_OR_NULL,
    }, ["id", "type", "status", "activations", "maxActivations", "expiresAt", "metadata"]),
    "LicenseAnswer": obj({"license": schema("License")}, ["license"]),
    "LicenseWrite": req_obj(LICENSE_WRITE),
    "LicenseCreate": req_obj(dict({"product_id": {"type": "string"}}, **LICENSE_WRITE),
                             ["product_id", "type"]),
    "Plan": obj({
        "id": {"type": "string"},
        "type": LICENSE_TYPE,
        "max_activations": COUNT,
        "duration_days": {"type": "integer", "minimum": 0, "maximum": 36500,
                          "description": "0: licenses from the plan do not expire."},
        "offline_grace_hours": {"type": ["integer", "null"], "minimum": 0,
                                "description": "Absent or null: the product's."},
        "metadata": METADATA,
    }, ["id", "type"]),
    "Product": obj({
        "id": {"type": "string", "examples": ["prod_123"]},
        "name": {"type": "string"},
        "platforms": STRINGS,
        "metadata": METADATA,
        "tkiVersions": STRINGS,
        "offlineGraceHours": COUNT,
        "leaseSeconds": COUNT,
        "plans": {"type": "array", "items": schema("Plan")},
    }, ["id", "name", "platforms", "metadata"]),
    "ProductAnswer": obj({"product": schema("Product")}, ["product"]),
    "ProductWrite": req_obj({
        "name": {"type": "string", "maxLength": 256},
        "platforms": {"type": "array",
                      "items": {"type": "string", "enum": ["windows", "mac", "linux", "web"]}},
        "metadata": METADATA,
        "tki_versions": STRINGS,
        "offline_grace_hours": {"type": "integer", "minimum": 0},
        "lease_seconds": {"type": "integer", "minimum": 1},
        "plans": {"type": "array", "maxItems": 20, "items": schema("Plan")},
    }),
    "Account": obj({
        "id": {"type": "string"},
        "plan": ACCOUNT_PLAN,
        "rateLimit": COUNT,
        "tkiRequireHwid": {"type": "boolean"},
        "tkiRateLimit": {"type": "boolean",
                         "description": "TKI authentications are limited per IP."},
    }, ["id", "plan", "rateLimit"]),
    "AccountAnswer": obj({"account": schema("Account"), "branding": schema("Branding")},
                         ["account"]),
    "Branding": obj({
        "productName": {"type": "string", "maxLength": 100},
        "logoUrl": {"type": "string", "description": "https only; empty: none."},
        "primaryColor": {"type": "string", "description": "#rrggbb; empty: the default."},
        "accentColor": {"type": "string"},
        "senderName": {"type": "string", "maxLength": 100},
        "replyTo": {"type": "string"},
    }, ["productName", "logoUrl", "primaryColor", "accentColor", "senderName", "replyTo"],
        description="The account's branding of its license emails and customer-facing pages."),
    "LicenseEmail": obj({
        "licenseId": {"type": "string"},
        "to": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "sent", "failed"]},
        "attempts": COUNT,
        "createdAt": {"type": "string", "format": "date-time"},
        "nextAttemptAt": {"type": "string", "format": "date-time"},
        "sentAt": {"type": "string", "format": "date-time"},
        "lastError": {"type": "string"},
    }, ["licenseId", "to", "status", "attempts", "createdAt"]),
    "ApiKey": obj({
        "id": {"type": "string"},
        "key": {"type": "string", "description": "Only when the key is issued.",
                "examples": ["to_live_xxxxxxxxxxxxx"]},
        "accountId": {"type": "string"},
        "mode": MODE,
        "revoked": {"type": "boolean"},
    }, ["id", "accountId", "mode", "revoked"]),
    "ApiKeyAnswer": obj({"apiKey": schema("ApiKey")}, ["apiKey"]),
    "ModeRequest": req_obj({"mode": MODE}),
    "BlacklistEntry": obj({
        "id": {"type": "string"},
        "type": {"type": "string", "enum": ["ip", "hwid", "license"]},
        "value": {"type": "string",
                  "description": "The IP or HWID; for a license, the SHA-256 of its key."},
        "attempts": {"type": "integer", "minimum": 0,
                     "description": "Blocked attempts, summed over every edge."},
        "lastAttemptAt": TIME_OR_NULL,
    }, ["id", "type", "value", "attempts", "lastAttemptAt"]),
    "Webhook": obj({
        "id": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "events": {"type": "array", "items": WEBHOOK_EVENT},
        "enabled": {"type": "boolean"},
        "secret": {"type": "string", "description": "When created or rotated only."},
        "createdAt": TIME,
    }, ["id", "url", "events", "enabled", "createdAt"]),
    "WebhookAnswer": obj({"webhook": schema("Webhook")}, ["webhook"]),
    "Delivery": obj({
        "id": {"type": "string"},
        "webhookId": {"type": "string"},
        "eventId": {"type": "string"},
        "event": WEBHOOK_EVENT,
        "licenseId": {"type": "string"},
        "status": {"type": "string"},
        "attempts": COUNT,
        "lastStatusCode": {"type": ["integer", "null"]},
        "lastError": {"type": ["string", "null"]},
    }, ["id", "webhookId", "event", "status", "attempts"]),
    "Event": obj({
        "id": {"type": "string", "examples": ["evt_42"]},
        "event": WEBHOOK_EVENT,
        "timestamp": TIME,
        "data": obj({
            "licenseId": {"type": "string"},
            "machineId": {"type": "string"},
            "productId": {"type": "string"},
        }, ["licenseId"]),
    }, ["event", "timestamp", "data"]),
    "ValidateRequest": obj({
        "license_key": {"type": "string", "description": "The license key to validate."},
        "key": {"type": "string", "description": "The same, as the spec's quick start sends it."},
        "product_id": {"type": "string"},
        "machine_id": {"type": "string", "description": "Device fingerprint."},
        "domain": {"type": "string", "description": "Domain for web apps."},
        "receipt": {"type": "boolean",
                    "description": "Ask for a signed offline receipt with a valid answer."},
    }),
    "ValidateAnswer": obj({
        "valid": {"type": "boolean"},
        "license": schema("License"),
        "validatedAt": TIME,
        "code": {"type": "string", "description": "Why the license is not valid."},
        "error": {"type": "string"},
        "receipt": {"type": "object", "description": "Signed offline receipt (when asked)."},
    }, ["valid"]),
    "ActivationRequest": req_obj({
        "license_key": {"type": "string"},
        "machine_id": {"type": "string", "description": "Unique device identifier."},
        "label": {"type": "string", "description": "Human-readable device label."},
    }, ["license_key", "machine_id"]),
    "ActivationAnswer": obj({
        "success": {"type": "boolean"},
        "activated": {"type": "boolean"},
        "changed": {"type": "boolean"},
        "machineId": {"type": "string"},
        "leaseExpiresAt": TIME_OR_NULL,
        "license": schema("License"),
    }, ["success"]),
    "TkiRequest": obj({"data": req_obj({
        "product": {"type": "string"},
        "version": {"type": "string"},
        "licensekey": {"type": "string"},
        "ip": {"type": "string"},
        "hwid": {"type": "string"},
    }, ["product", "version", "licensekey", "ip"])}, ["data"]),
    "TkiSuccess": obj({
        "status_msg": {"type": "string", "const": "Successful Authentication!"},
        "status_overview": {"type": "string", "const": "success"},
        "status_code": {"type": "integer", "const": 200},
        "version": {"type": "string"},
        "discord_id": {"type": "string"},
        "discord_username": {"type": "string"},
        "discord_tag": {"type": "string"},
        "expire_date": {"type": "string", "description": "MM/DD/YYYY, or Never."},
        "staff_license": {"type": "boolean"},
        "product": {"type": "string", "description": "Staff licenses: the requested product."},
    }, ["status_msg", "status_overview", "status_code", "version", "expire_date",
        "staff_license"]),
    "TkiError": obj({
        "message": {"type": "string"},
        "status_overview": {"type": "string", "const": "failed"},
    }, ["message", "status_overview"]),
    "Outcomes": obj({"total": COUNT}, ["total"],
                    additionalProperties={"type": "integer", "minimum": 0},
                    description="Counts by outcome code, and their total."),
    "Distinct": obj({"machines": COUNT, "ips": COUNT, "hwids": COUNT},
                    ["machines", "ips", "hwids"],
                    description="Distinct values seen (HyperLogLog estimates)."),
    "UsageDay": obj({
        "date": DATE,
        "validations": schema("Outcomes"),
        "auths": schema("Outcomes"),
        "lastValidatedAt": TIME_OR_NULL,
        "distinct": schema("Distinct"),
        "keySharing": {"type": "boolean"},
    }, ["date", "validations", "auths"]),
    "LicenseUsage": obj({"data": obj({
        "licenseId": {"type": "string"},
        "productId": {"type": "string"},
        "from": DATE,
        "to": DATE,
        "totals": obj({"validations": schema("Outcomes"), "auths": schema("Outcomes"),
                       "distinct": schema("Distinct"), "lastValidatedAt": TIME_OR_NULL},
                      ["validations", "auths"]),
        "keySharing": obj({"flagged": {"type": "boolean"}, "threshold": COUNT,
                           "days": {"type": "array", "items": DATE}}, ["flagged", "threshold"]),
        "days": {"type": "array", "items": schema("UsageDay")},
        "distinctError": {"type": "number",
                          "description": "Relative standard error of the distinct counts."},
    }, ["licenseId", "from", "to", "totals", "keySharing", "days"])}, ["data"]),
    "Analytics": obj({"data": obj({
        "from": DATE,
        "to": DATE,
        "productId": {"type": ["string", "null"]},
        "totals": obj({"validations": schema("Outcomes"), "auths": schema("Outcomes")},
                      ["validations", "auths"]),
        "days": {"type": "array", "items": schema("UsageDay")},
        "topLicenses": {"type": "array", "items": obj({
            "licenseId": {"type": "string"}, "productId": {"type": "string"},
            "validations": COUNT}, ["licenseId", "validations"])},
    }, ["from", "to", "totals", "days", "topLicenses"])}, ["data"]),
    "AuthLog": obj({
        "timestamp": TIME,
        "licenseId": {"type": ["string", "null"]},
        "product": {"type": "string"},
        "version": {"type": "string"},
        "ip": {"type": "string"},
        "hwid": {"type": ["string", "null"]},
        "userAgent": {"type": ["string", "null"]},
        "outcome": {"type": "string", "enum": ["success", "failed"]},
        "code": {"type": "string"},
        "message": {"type": "string"},
    }, ["timestamp", "product", "ip", "outcome", "message"]),
    "Jwks": obj({"keys": {"type": "array", "items": obj({
        "kty": {"type": "string"}, "crv": {"type": "string"}, "kid": {"type": "string"},
        "x": {"type": "string"}}, ["kid"])}}, ["keys"]),
    "Health": obj({"status": {"type": "string"}}, ["status"]),
    "Ready": obj({"status": {"type": "string", "enum": ["ready", "not_ready"]}}, ["status"]),
}


def page_of(item):
    return obj({"data": {"type": "array", "items": item}, "pagination": schema("Pagination")},
               ["data", "pagination"])


PARAMETERS = {
    "ApiVersion": {
        "name": "X-API-Version", "in": "header", "required": False,
        "description": "Pins the request to the newest API version released on or before "
        "this date; without it the newest serves. Anything else is 400 VALIDATION_ERROR.",
        "schema": {"type": "string", "format": "date"}, "example": API_VERSION},
    "Page": {"name": "page", "in": "query", "required": False, "description": "1-indexed.",
             "schema": {"type": "integer", "minimum": 1, "default": 1}},
    "Limit": {"name": "limit", "in": "query", "required": False,
              "description": "Items per page.",
              "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    "Offset": {"name": "offset", "in": "query", "required": False,
               "description": "Skip N items (instead of page).",
               "schema": {"type": "integer", "minimum": 0, "default": 0}},
    "From": {"name": "from", "in": "query", "required": False,
             "description": "First UTC day (default: 30 days before `to`).",
             "schema": {"type": "string", "format": "date"}},
    "To": {"name": "to", "in": "query", "required": False,
           "description": "Last UTC day (default: today); at most 366 days after `from`.",
           "schema": {"type": "string", "format": "date"}},
}

SECURITY_SCHEMES = {
    "ApiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "to_live_… / to_test_…",
               "description": "An account's API key: `Authorization: Bearer to_live_…`."},
    "OperatorToken": {"type": "http", "scheme": "bearer",
                      "description": "The operator's token (LE_ADMIN_TOKEN) for /admin/v1."},
    "TkiApiKey": {"type": "apiKey", "in": "header", "name": "Authorization",
                  "description": "TKI: the API key itself, without `Bearer`."},
    "Jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "A dashboard user's token from signIn (HS256, 24 h). A portal "
            "user's token also acts for its account's live mode wherever an API key does at "
            "the primary; an admin user's wherever the operator token does."},
    "SessionCookie": {"type": "apiKey", "in": "cookie", "name": "le_session",
                      "description": "The sign-in session (HttpOnly, Secure, SameSite=Strict, "
                      "Path=/api/v1/auth); requests that carry it must also send "
                      "`X-Requested-With`."},
}

RATE_HEADERS = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]


def headers(names):
    return {n: ref("headers", n) for n in names}


def json_response(desc, body, hdrs=(), example=None):
    content = {"schema": body}
    if example is not None:
        content["example"] = example
    return {"description": desc, "headers": headers(hdrs),
            "content": {"application/json": content}}


class Op:
    """One operation: method, path, who serves it, and its description."""

    def __init__(self, method, path, op_id, summary, tag, served=(PRIMARY,), security=None,
                 body=None, body_example=None, ok=None, ok_status="200", ok_example=None,
                 errors=(400, 401, 404), params=(), limited=True, versioned=True,
                 description=None, extra_responses=None, ok_headers=(), content_type=None,
                 body_required=True, admin_listener=False):
        self.method, self.path, self.op_id = method, path, op_id
        self.summary, self.tag, self.served = summary, tag, served
        self.security, self.body, self.body_example = security, body, body_example
        self.ok, self.ok_status, self.ok_example = ok, ok_status, ok_example
        self.errors, self.params, self.limited = errors, params, limited
        self.versioned, self.description = versioned, description
        self.extra_responses = extra_responses or {}
        self.ok_headers, self.content_type = ok_headers, content_type
        self.body_required = body_required
        self.admin_listener = admin_listener  # served on --admin-listen, not the API's port

    def render(self):
        common = (["X-API-Version"] if self.versioned else []) + \
                 (RATE_HEADERS if self.limited else [])
        op = {"operationId": self.op_id, "summary": self.summary, "tags": [self.tag]}
        if self.description:
            op["description"] = self.description
        params = [ref("parameters", "ApiVersion")] if self.versioned else []
        for name in _path_params(self.path):
            params.append({"name": name, "in": "path", "required": True,
                           "schema": {"type": "string"}})
        params += list(self.params)
        if params:
            op["parameters"] = params
        op["security"] = self.security if self.security is not None else [{"ApiKey": []}]
        if self.body is not None:
            media = {"schema": self.body}
            if self.body_example is not None:
                media["example"] = self.body_example
            op["requestBody"] = {"required": self.body_required,
                                 "content": {"application/json": media}}
        responses = {}
        if self.content_type:
            responses[self.ok_status] = {
                "description": "OK", "headers": headers(common + list(self.ok_headers)),
                "content": {self.content_type: {"schema": {"type": "string"}}}}
        else:
            responses[self.ok_status] = json_response(
                "OK", self.ok, common + list(self.ok_headers), self.ok_example)
        responses.update(copy.deepcopy(self.extra_responses))
        for status in ((400,) if self.versioned else ()) + tuple(self.errors):
            responses.setdefault(str(status), ref("responses", f"E{status}"))
        if self.limited:
            responses.setdefault("429", ref("responses", "E429"))
        op["responses"] = responses
        return op


def _path_params(path):
    return [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]


def error_response(desc, hdrs=("X-API-Version",) + tuple(RATE_HEADERS)):
    return json_response(desc, schema("Error"), hdrs)


RESPONSES = {
    "E400": error_response("MISSING_FIELDS or VALIDATION_ERROR (a malformed body, an "
                           "unknown field, a bad X-API-Version)."),
    "E401": error_response("AUTH_REQUIRED or INVALID_API_KEY."),
    "E403": error_response("Forbidden."),
    "E404": error_response("NOT_FOUND: another account's resources do not exist either."),
    "E409": error_response("CONFLICT."),
    "E413": error_response("PAYLOAD_TOO_LARGE."),
    "E429": {"description": "RATE_LIMITED: the plan's limit for this minute is spent.",
             "headers": headers(["X-API-Version", "Retry-After"] + RATE_HEADERS),
             "content": {"application/json": {"schema": schema("RateLimited"), "example": {
                 "error": "Rate limit exceeded", "code": "RATE_LIMITED", "retryAfter": 23}}}},
    "E503": error_response("SERVICE_UNAVAILABLE: retry after Retry-After seconds.",
                           ("X-API-Version", "Retry-After")),
}

PAGE_PARAMS = [ref("parameters", n) for n in ("Page", "Limit", "Offset")]
OPERATOR = [{"OperatorToken": []}]
PUBLIC = []
OPTIONAL_KEY = [{}, {"ApiKey": []}]

LICENSE_EXAMPLE = {
    "license": {"id": "lic_abc123def456", "key": "ABCD-EFGH-IJKL-MNOP",
                "productId": "prod_123", "type": "subscription", "status": "active",
                "activations": 0, "maxActivations": 3, "expiresAt": "2027-01-15T12:00:00Z",
                "metadata": {}, "createdAt": "2024-01-15T12:00:00Z"}}

ACTIVATION_DESC = ("At an edge the request is decided by the primary over NATS, so a seat is "
                   "taken once, globally. The API key is optional: the license key is the "
                   "credential.")

OPS = [
    # ---- validation and activations (edge and primary)
    Op("post", "/api/v1/validate", "validateLicense", "Validate a license", "Validation",
       served=(EDGE,), security=OPTIONAL_KEY, body=schema("ValidateRequest"),
       body_example={"license_key": "XXXX-XXXX-XXXX-XXXX", "machine_id": "unique-device-fingerprint"},
       ok=schema("ValidateAnswer"),
       ok_example={"valid": True, "license": {
           "id": "lic_1234567890", "key": "XXXX-XXXX-XXXX-XXXX", "status": "active",
           "type": "perpetual", "activations": 2, "maxActivations": 5, "expiresAt": None,
           "metadata": {}}, "validatedAt": "2024-01-15T12:00:00Z"},
       description="Answered from the edge's replica. An invalid license is a 200 with "
       "`valid:false` and a `code` unless the request itself is wrong.",
       errors=(400, 401, 403, 404, 413, 503)),
    Op("post", "/api/license/auth", "tkiAuthenticate", "Authenticate a license (TKI Auth)",
       "TKI Auth", served=(EDGE,), security=[{"TkiApiKey": []}], body=schema("TkiRequest"),
       body_example={"data": {"product": "MyProduct", "version": "1.0.0",
                              "licensekey": "XXXX-XXXX-XXXX-XXXX", "ip": "192.168.1.1",
                              "hwid": "unique-hardware-id"}},
       ok=schema("TkiSuccess"),
       ok_example={"status_msg": "Successful Authentication!", "status_overview": "success",
                   "status_code": 200, "version": "1.0.0", "discord_id": "123456789012345678",
                   "discord_username": "john_doe", "discord_tag": "@john_doe#0001",
                   "expire_date": "12/31/2024", "staff_license": False},
       errors=(), limited=False,
       extra_responses={str(s): json_response(d, schema("TkiError"), ["X-API-Version"]) for s, d in [
           (400, "Missing fields, expired license, version or product mismatch."),
           (401, "Authorization header is missing, or the API key is invalid."),
           (403, "A blacklisted IP, HWID or license; the IP or HWID limit is reached."),
           (404, "License or product not found."),
           (429, "Rate limited (per IP, when the account enables it)."),
           (503, "A first use from a new IP or HWID could not be registered now.")]}),
] + [
    Op("post", f"/api/v1/{name}", op_id, summary, "Activations", served=BOTH,
       security=OPTIONAL_KEY, body=schema("ActivationRequest"),
       body_example={"license_key": "XXXX-XXXX-XXXX-XXXX", "machine_id": "mach_abcdef",
                     "label": "Work laptop"},
       ok=schema("ActivationAnswer"), description=desc,
       errors=(400, 401, 403, 404, 413, 503))
    for name, op_id, summary, desc in [
        ("activate", "activateLicense", "Activate a license on a machine", ACTIVATION_DESC),
        ("deactivate", "deactivateLicense", "Deactivate a machine", ACTIVATION_DESC),
        ("heartbeat", "heartbeatLicense", "Extend a floating seat's lease",
         "Floating licenses: keeps the machine's seat. An edge answers from its replica while "
         "the lease holds and sends the extension to the primary in a batch.")]
] + [
    # ---- licenses
    Op("post", "/api/v1/licenses", "createLicense", "Create a license", "Licenses",
       body=schema("LicenseCreate"),
       body_example={"product_id": "prod_123", "type": "subscription", "max_activations": 3,
                     "email": "customer@example.com", "expires_at": "2027-01-15T12:00:00Z",
                     "metadata": {"plan": "pro"}},
       ok=schema("LicenseAnswer"), ok_status="201", ok_example=LICENSE_EXAMPLE,
       errors=(400, 401, 404, 413)),
    Op("get", "/api/v1/licenses", "listLicenses", "List licenses", "Licenses",
       params=PAGE_PARAMS + [
           {"name": "status", "in": "query", "required": False, "schema": LICENSE_STATUS},
           {"name": "product_id", "in": "query", "required": False, "schema": {"type": "string"}}],
       ok=page_of(schema("License")), errors=(400, 401)),
    Op("post", "/api/v1/licenses/batch", "createLicenses", "Create licenses in one transaction",
       "Licenses", body=req_obj({"licenses": {"type": "array", "items": schema("LicenseCreate")}},
                                ["licenses"]),
       body_example={"licenses": [{"product_id": "prod_123", "type": "perpetual"},
                                  {"product_id": "prod_123", "type": "trial"}]},
       ok=obj({"licenses": {"type": "array", "items": obj(
           {"id": {"type": "string"}, "key": {"type": "string"}}, ["id", "key"])}}, ["licenses"]),
       ok_status="201", errors=(400, 401, 404, 413)),
    Op("get", "/api/v1/licenses/{licenseId}", "getLicense", "Get a license", "Licenses",
       ok=schema("LicenseAnswer")),
    Op("patch", "/api/v1/licenses/{licenseId}", "updateLicense", "Update a license", "Licenses",
       body=schema("LicenseWrite"), body_example={"max_activations": 5, "metadata": {"seats": 5}},
       ok=schema("LicenseAnswer"), errors=(400, 401, 404, 413)),
    Op("delete", "/api/v1/licenses/{licenseId}", "deleteLicense", "Delete a license", "Licenses",
       ok=obj({"deleted": {"type": "boolean", "const": True}}, ["deleted"])),
] + [
    Op("post", f"/api/v1/licenses/{{licenseId}}/{action}", op_id, summary, "Licenses",
       ok=schema("LicenseAnswer"))
    for action, op_id, summary in [
        ("suspend", "suspendLicense", "Suspend a license"),
        ("revoke", "revokeLicense", "Revoke a license (permanently)"),
        ("reinstate", "reinstateLicense", "Reinstate a suspended license")]
] + [
    Op("post", "/api/v1/licenses/{licenseId}/renew", "renewLicense", "Renew a subscription",
       "Licenses", body=req_obj({"duration_days": {"type": "integer", "minimum": 1,
                                                   "maximum": 36500}}),
       body_required=False, body_example={"duration_days": 30}, ok=schema("LicenseAnswer"),
       description="Extends the expiry by the license's plan period (or `duration_days`) from "
       "the later of its expiry and now; records `license.renewed`.",
       errors=(400, 401, 404, 413)),
    Op("get", "/api/v1/licenses/{licenseId}/email", "getLicenseEmail",
       "The license email's state", "Licenses",
       description="A license created with a customer email (and an SMTP relay configured) "
       "gets its key by email: queued, sent, or failed after its retries.",
       ok=obj({"email": schema("LicenseEmail")}, ["email"])),
    Op("get", "/api/v1/licenses/{licenseId}/usage", "getLicenseUsage", "A license's usage",
       "Usage", params=[ref("parameters", "From"), ref("parameters", "To")],
       ok=schema("LicenseUsage"), errors=(400, 401, 404, 503)),
    # ---- the customer's page
    Op("post", "/api/v1/customer/license", "getCustomerLicense",
       "A license, as its holder sees it", "Customer", security=PUBLIC,
       description="The license key is the credential (as in validation): the license's "
       "status, type, expiry and seats, the product's name and the vendor's branding, for "
       "the white-labeled customer page `/ui/customer.html`. A key of no license is 404.",
       body=req_obj({"license_key": {"type": "string", "maxLength": 128}}, ["license_key"]),
       body_example={"license_key": "XXXX-XXXX-XXXX-XXXX"},
       ok=obj({"license": obj({
           "id": {"type": "string"}, "type": {"type": "string"},
           "status": {"type": "string"}, "activations": COUNT, "maxActivations": COUNT,
           "expiresAt": {"type": ["string", "null"], "format": "date-time"},
           "machines": {"type": "array", "items": obj({
               "label": {"type": "string"},
               "activatedAt": {"type": "string", "format": "date-time"}}, ["label"])}},
           ["id", "type", "status", "activations", "maxActivations", "expiresAt", "machines"]),
           "product": obj({"name": {"type": "string"}}, ["name"]),
           "branding": schema("Branding")}, ["license", "product", "branding"]),
       ok_headers=("Cache-Control",), errors=(400, 404, 413)),
    # ---- the portal
    Op("post", "/api/v1/portal/licenses", "createPortalLicense",
       "Create a license from a product's plan", "Portal",
       body=req_obj({"product": {"type": "string", "description": "Product id or name."},
                     "plan": {"type": "string"}, "customer_email": {"type": "string"},
                     "metadata": METADATA}, ["product", "plan", "customer_email"]),
       body_example={"product": "prod_123", "plan": "pro", "customer_email": "buyer@example.com",
                     "metadata": {"stripeCustomerId": "cus_123",
                                  "stripeSubscriptionId": "sub_456"}},
       ok=obj({"license": schema("License"), "plan": {"type": "string"}}, ["license", "plan"]),
       ok_status="201", errors=(400, 401, 404, 413)),
    Op("get", "/api/v1/portal/licenses", "listPortalLicenses", "List licenses (portal)",
       "Portal", params=PAGE_PARAMS, ok=page_of(schema("License")), errors=(400, 401)),
    # ---- products
    Op("post", "/api/v1/products", "createProduct", "Create a product", "Products",
       body={"allOf": [schema("ProductWrite"), {"required": ["name"]}]},
       body_example={"name": "Contract App", "platforms": ["windows", "mac"],
                     "plans": [{"id": "pro", "type": "subscription", "max_activations": 3,
                                "duration_days": 365, "metadata": {}}]},
       ok=schema("ProductAnswer"), ok_status="201", errors=(400, 401, 409, 413)),
    Op("get", "/api/v1/products", "listProducts", "List products", "Products",
       params=PAGE_PARAMS, ok=page_of(schema("Product")), errors=(400, 401)),
    Op("get", "/api/v1/products/{productId}", "getProduct", "Get a product", "Products",
       ok=schema("ProductAnswer")),
    Op("patch", "/api/v1/products/{productId}", "updateProduct", "Update a product", "Products",
       body=schema("ProductWrite"), body_example={"tki_versions": ["1.0.0", "1.1.0"]},
       ok=schema("ProductAnswer"), errors=(400, 401, 404, 409, 413)),
    Op("delete", "/api/v1/products/{productId}", "deleteProduct", "Delete a product",
       "Products", ok=obj({"deleted": {"type": "boolean", "const": True}}, ["deleted"]),
       errors=(400, 401, 404, 409)),
    # ---- blacklist
    Op("post", "/api/v1/blacklist", "addBlacklistEntry", "Blacklist an IP, HWID or license key",
       "Blacklist", body=req_obj({"type": {"type": "string", "enum": ["ip", "hwid", "license"]},
                                  "value": {"type": "string"}}, ["type", "value"]),
       body_example={"type": "ip", "value": "203.0.113.7"},
       ok=obj({"entry": schema("BlacklistEntry")}, ["entry"]), ok_status="201",
       extra_responses={"200": json_response(
           "The same entry existed; it is returned unchanged.",
           obj({"entry": schema("BlacklistEntry")}, ["entry"]),
           ["X-API-Version"] + RATE_HEADERS)},
       errors=(400, 401, 413)),
    Op("get", "/api/v1/blacklist", "listBlacklist", "List blacklist entries", "Blacklist",
       params=PAGE_PARAMS, ok=page_of(schema("BlacklistEntry")), errors=(400, 401)),
    Op("delete", "/api/v1/blacklist/{entryId}", "deleteBlacklistEntry",
       "Remove a blacklist entry", "Blacklist",
       ok=obj({"deleted": {"type": "boolean", "const": True}}, ["deleted"])),
    # ---- webhooks and events
    Op("post", "/api/v1/webhooks", "createWebhook", "Add a webhook endpoint", "Webhooks",
       body=req_obj({"url": {"type": "string", "format": "uri"},
                     "events": {"type": "array", "items": WEBHOOK_EVENT},
                     "enabled": {"type": "boolean"}}, ["url"]),
       body_example={"url": "https://hooks.example.org/webhooks/to",
                     "events": ["license.created", "license.suspended"]},
       ok=schema("WebhookAnswer"), ok_status="201", errors=(400, 401, 413),
       description="Deliveries are signed: `X-TO-Signature` is the HMAC-SHA256 of "
       "`timestamp.body` with the endpoint's secret; `X-TO-Timestamp`, `X-TO-Event` and "
       "`X-TO-Delivery-ID` come with it. Retried after 30 s, 5 min, 30 min and 4 h."),
    Op("get", "/api/v1/webhooks", "listWebhooks", "List webhook endpoints", "Webhooks",
       params=PAGE_PARAMS, ok=page_of(schema("Webhook")), errors=(400, 401)),
    Op("get", "/api/v1/webhooks/{webhookId}", "getWebhook", "Get a webhook endpoint",
       "Webhooks", ok=schema("WebhookAnswer")),
    Op("patch", "/api/v1/webhooks/{webhookId}", "updateWebhook", "Update a webhook endpoint",
       "Webhooks", body=req_obj({"url": {"type": "string", "format": "uri"},
                                 "events": {"type": "array", "items": WEBHOOK_EVENT},
                                 "enabled": {"type": "boolean"}}),
       body_example={"enabled": False}, ok=schema("WebhookAnswer"), errors=(400, 401, 404, 413)),
    Op("delete", "/api/v1/webhooks/{webhookId}", "deleteWebhook", "Remove a webhook endpoint",
       "Webhooks", ok=obj({"deleted": {"type": "boolean", "const": True}}, ["deleted"])),
    Op("post", "/api/v1/webhooks/{webhookId}/rotate-secret", "rotateWebhookSecret",
       "Rotate a webhook endpoint's secret", "Webhooks", ok=schema("WebhookAnswer")),
    Op("get", "/api/v1/webhooks/{webhookId}/deliveries", "listDeliveries",
       "List an endpoint's deliveries", "Webhooks", params=PAGE_PARAMS,
       ok=page_of(schema("Delivery"))),
    Op("post", "/api/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
       "redeliver", "Send a delivery again", "Webhooks",
       ok=obj({"delivery": schema("Delivery")}, ["delivery"]), ok_status="202",
       errors=(400, 401, 404, 409)),
    Op("get", "/api/v1/events", "listEvents", "List the account's events", "Webhooks",
       params=PAGE_PARAMS + [{
           "name": "after", "in": "query", "required": False, "deprecated": True,
           "description": "Deprecated (sunset 2027-03-01): a cursor of event ids; use page, "
           "limit and offset. Answers to it carry Deprecation, Sunset and Link.",
           "schema": {"type": "integer", "minimum": 0}}],
       ok=page_of(schema("Event")), ok_headers=("Deprecation", "Sunset", "Link"),
       errors=(400, 401)),
    # ---- usage and analytics
    Op("get", "/api/v1/analytics", "getAnalytics", "Account totals by day and outcome",
       "Usage", params=[ref("parameters", "From"), ref("parameters", "To"),
                        {"name": "product_id", "in": "query", "required": False,
                         "schema": {"type": "string"}},
                        {"name": "top", "in": "query", "required": False,
                         "description": "How many of the most-used licenses to list.",
                         "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                    "default": 10}}],
       ok=schema("Analytics"), errors=(400, 401, 503)),
    Op("get", "/api/v1/auth-logs", "listAuthLogs", "TKI authentication attempts", "Usage",
       params=PAGE_PARAMS + [
           {"name": "license_id", "in": "query", "required": False, "schema": {"type": "string"}},
           {"name": "ip", "in": "query", "required": False, "schema": {"type": "string"}},
           {"name": "outcome", "in": "query", "required": False,
            "schema": {"type": "string", "enum": ["success", "failed"]}}],
       ok=page_of(schema("AuthLog")), errors=(400, 401, 503)),
    # ---- the account and its keys
    Op("get", "/api/v1/account", "getAccount", "The caller's account", "Account",
       ok=schema("AccountAnswer"), errors=(401, 404)),
    Op("patch", "/api/v1/account/settings", "updateAccountSettings",
       "The account's TKI settings", "Account",
       body=req_obj({"tki_require_hwid": {"type": "boolean"},
                     "tki_rate_limit": {"type": "boolean"},
                     "branding": req_obj({k: {"type": "string"} for k in (
                         "product_name", "logo_url", "primary_color", "accent_color",
                         "sender_name", "reply_to")})}),
       body_example={"tki_require_hwid": False, "tki_rate_limit": True,
                     "branding": {"product_name": "Contract App", "primary_color": "#1f4e79",
                                  "logo_url": "https://example.com/logo.png",
                                  "sender_name": "Contract Licensing",
                                  "reply_to": "support@example.com"}},
       description="The fields given change; the branding's fields given replace the stored "
       "ones (\"\" clears one).",
       ok=schema("AccountAnswer"), errors=(400, 401, 413)),
    Op("post", "/api/v1/api-keys", "issueApiKey", "Issue another API key (rotation)", "Account",
       body=schema("ModeRequest"), body_required=False, body_example={"mode": "live"},
       ok=schema("ApiKeyAnswer"), ok_status="201", errors=(400, 401, 413)),
    Op("get", "/api/v1/api-keys", "listApiKeys", "The account's API keys", "Account",
       params=PAGE_PARAMS, ok=page_of(schema("ApiKey")), errors=(400, 401)),
    Op("post", "/api/v1/api-keys/{keyId}/revoke", "revokeApiKey", "Revoke an API key",
       "Account", ok=schema("ApiKeyAnswer")),
    Op("get", "/api/v1/signing-keys", "getSigningKeys", "Offline receipts' root keys (JWKS)",
       "Receipts", security=PUBLIC, ok=schema("Jwks"), errors=(400,),
       ok_headers=("Cache-Control",)),
    # ---- operator
    Op("post", "/admin/v1/accounts", "createAccount", "Create an account", "Operator",
       security=OPERATOR, limited=False,
       body=req_obj({"id": {"type": "string"}, "plan": ACCOUNT_PLAN,
                     "tki_require_hwid": {"type": "boolean"},
                     "tki_rate_limit": {"type": "boolean"}}, ["plan"]),
       body_example={"id": "acme", "plan": "professional"},
       ok=schema("AccountAnswer"), ok_status="201", errors=(400, 401, 409, 413)),
    Op("patch", "/admin/v1/accounts/{accountId}", "updateAccount", "Change an account",
       "Operator", security=OPERATOR, limited=False,
       body=req_obj({"plan": ACCOUNT_PLAN, "tki_require_hwid": {"type": "boolean"},
                     "tki_rate_limit": {"type": "boolean"}}),
       body_example={"plan": "business"}, ok=schema("AccountAnswer"),
       errors=(400, 401, 404, 413)),
    Op("post", "/admin/v1/accounts/{accountId}/api-keys", "issueAccountApiKey",
       "Issue an account's API key", "Operator", security=OPERATOR, limited=False,
       body=schema("ModeRequest"), body_example={"mode": "live"}, ok=schema("ApiKeyAnswer"),
       ok_status="201", errors=(400, 401, 404, 413)),
    Op("post", "/admin/v1/api-keys/{keyId}/revoke", "revokeAnyApiKey", "Revoke any API key",
       "Operator", security=OPERATOR, limited=False, ok=schema("ApiKeyAnswer")),
    Op("post", "/admin/v1/signing-keys/rotate", "rotateSigningKey",
       "Rotate the receipts' root key", "Operator", security=OPERATOR, limited=False,
       ok=obj({"kid": {"type": "string"}}, ["kid"]), ok_status="201", errors=(401, 503)),
    Op("post", "/admin/v1/snapshots", "writeSnapshot", "Write a replica snapshot now",
       "Operator", security=OPERATOR, limited=False, ok_status="202",
       ok=obj({"snapshots": obj({
           "requested": {"type": "boolean"},
           "written": {"type": "integer", "description": "Snapshots written since start."},
           "lastSeq": {"type": "integer",
                       "description": "Stream sequence the newest one covers."},
           "lastRecords": {"type": "integer"},
           "lastBytes": {"type": "integer"}},
           ["requested", "written", "lastSeq", "lastRecords", "lastBytes"])}, ["snapshots"]),
       errors=(401, 503),
       description="Writes a snapshot of the records for edges to start from (the JetStream "
       "Object Store bucket `license-replica`) at once instead of at the next "
       "`--snapshot-interval-s`. Answered before it is written: its progress shows in the "
       "`le_primary_snapshot*` metrics."),
    # ---- health and the document
    # ---- dashboard users and sign-in
    Op("post", "/api/v1/auth/login", "signIn", "Sign in", "Sign-in", security=PUBLIC,
       body=req_obj({"email": {"type": "string", "format": "email"},
                     "password": {"type": "string"}}, ["email", "password"]),
       body_example={"email": "owner@example.com", "password": "correct horse battery"},
       ok=schema("SignInAnswer"), ok_headers=("Set-Cookie",), errors=(401,),
       description="A JWT (HS256, 24 h) and the session cookie that refreshes it. A wrong "
       "email and a wrong password are one answer (401 INVALID_CREDENTIALS); attempts are "
       "limited per email and per client address."),
    Op("post", "/api/v1/auth/refresh", "refreshSession", "A fresh token for the session",
       "Sign-in", security=[{"SessionCookie": []}], body_required=False,
       ok=schema("SignInAnswer"), ok_headers=("Set-Cookie",), errors=(401, 403)),
    Op("post", "/api/v1/auth/logout", "signOut", "Sign out", "Sign-in",
       security=[{"Jwt": []}, {"SessionCookie": []}], body_required=False,
       ok=obj({"data": obj({"signedOut": {"type": "boolean"}}, ["signedOut"])}, ["data"]),
       ok_headers=("Set-Cookie",), errors=(401, 403),
       description="Revokes the session: its tokens and its cookie are refused from now on."),
    Op("get", "/api/v1/auth/me", "getCurrentUser", "The signed-in user", "Sign-in",
       security=[{"Jwt": []}], ok=obj({"data": schema("User")}, ["data"]), errors=(401, 403)),
    Op("post", "/api/v1/auth/invitations/accept", "acceptInvitation", "Accept an invitation",
       "Sign-in", security=PUBLIC,
       body=req_obj({"token": {"type": "string"}, "password": {"type": "string", "minLength": 10}},
                    ["token", "password"]),
       ok=schema("SignInAnswer"), ok_headers=("Set-Cookie",), errors=(404,)),
    Op("get", "/api/v1/portal/users", "listAccountUsers", "The account's users", "Sign-in",
       security=[{"ApiKey": []}, {"Jwt": []}], params=PAGE_PARAMS,
       ok=obj({"data": {"type": "array", "items": schema("User")},
               "pagination": schema("Pagination")}, ["data", "pagination"]), errors=(401, 403)),
    Op("post", "/api/v1/portal/users", "inviteUser", "Invite a user to the account", "Sign-in",
       security=[{"Jwt": []}], body=req_obj({"email": {"type": "string", "format": "email"}},
                                             ["email"]),
       body_example={"email": "colleague@example.com"}, ok_status="201",
       ok=obj({"data": obj({"user": schema("User"), "inviteToken": {"type": "string"},
                            "inviteExpiresAt": {"type": "integer"}},
                           ["user", "inviteToken", "inviteExpiresAt"])}, ["data"]),
       errors=(401, 403, 409),
       description="The invitation token is shown once; acceptInvitation takes it within 7 days."),
    Op("post", "/admin/v1/accounts/{accountId}/users", "createAccountUser",
       "Create a user of an account", "Operator", security=OPERATOR, limited=False,
       body=req_obj({"email": {"type": "string", "format": "email"},
                     "password": {"type": "string", "minLength": 10, "maxLength": 256}},
                    ["email", "password"]),
       body_example={"email": "owner@example.com", "password": "correct horse battery"},
       ok_status="201", ok=obj({"data": schema("User")}, ["data"]), errors=(401, 403, 404, 409)),
    Op("post", "/admin/v1/users", "createOperatorUser", "Create an operator user (scope admin)",
       "Operator", security=OPERATOR, limited=False,
       body=req_obj({"email": {"type": "string", "format": "email"},
                     "password": {"type": "string", "minLength": 10, "maxLength": 256}},
                    ["email", "password"]),
       body_example={"email": "ops@example.com", "password": "correct horse battery"},
       ok_status="201", ok=obj({"data": schema("User")}, ["data"]), errors=(401, 403, 409)),
    Op("post", "/admin/v1/auth/secrets/rotate", "rotateJwtSecret", "Rotate the JWT secret",
       "Operator", security=OPERATOR, limited=False, body_required=False,
       ok=obj({"data": obj({"kid": {"type": "string"}}, ["kid"])}, ["data"]), errors=(401, 403),
       description="Tokens of the previous secret still verify for their lifetime (24 h)."),
    Op("get", "/healthz", "healthz", "Liveness", "Health", served=BOTH, security=PUBLIC,
       limited=False, ok=schema("Health"), errors=(400,)),
    Op("get", "/readyz", "readyz", "Readiness", "Health", served=BOTH, security=PUBLIC,
       limited=False, ok=schema("Ready"), errors=(400,),
       extra_responses={"503": json_response("Not ready (replica catching up, NATS down).",
                                             schema("Ready"), ["X-API-Version"])}),
    Op("get", "/api/v1/openapi.json", "getOpenApi", "This document", "Health", served=BOTH,
       security=PUBLIC, limited=False, ok={"type": "object"}, errors=(400,)),
    Op("get", "/metrics", "metrics", "Prometheus metrics (admin listener)", "Health",
       served=BOTH, security=PUBLIC, limited=False, versioned=False,
       content_type="text/plain", errors=(404,), admin_listener=True,
       description="Served on the admin listener (`--admin-listen`, loopback by default), "
       "with its own /healthz and /readyz, not on the API's."),
]

# The portal: an account's routes are served under /api/v1/portal/ too (the router's mirror in
# management_api.cpp, with the same first segments), for a dashboard user's JWT or an API key.
PORTAL_MIRRORED = ("licenses", "products", "blacklist", "webhooks", "events", "analytics",
                   "auth-logs", "account", "api-keys")


def portal_twins(ops):
    served = {(o.method, o.path) for o in ops}
    twins = []
    for o in ops:
        if not o.path.startswith("/api/v1/") or PRIMARY not in o.served:
            continue
        rest = o.path[len("/api/v1/"):]
        path = "/api/v1/portal/" + rest
        if rest.split("/")[0] not in PORTAL_MIRRORED or (o.method, path) in served:
            continue
        twin = copy.copy(o)
        twin.path, twin.served, twin.tag = path, (PRIMARY,), "Portal"
        twin.op_id = "portal" + o.op_id[0].upper() + o.op_id[1:]
        twin.summary = o.summary + " (portal)"
        twin.security = [{"ApiKey": []}, {"Jwt": []}]
        twins.append(twin)
    return ops + twins


OPS = portal_twins(OPS)

TAGS = [
    ("Validation", "Is this license valid here? Answered by the edges from their replicas."),
    ("TKI Auth", "The TKI Auth protocol: POST /api/license/auth."),
    ("Activations", "Machines taking and releasing a license's seats."),
    ("Licenses", "Create, change and end licenses."),
    ("Portal", "Everything a dashboard user does, for its JWT or the account's API key: the "
     "account's routes under /api/v1/portal/, and the Stripe example's license creation."),
    ("Products", "Products, their TKI versions and their plans (pricing tiers)."),
    ("Blacklist", "IPs, HWIDs and license keys an account refuses."),
    ("Webhooks", "Signed event deliveries and the event list."),
    ("Usage", "Usage counted at the edges and aggregated at the primary."),
    ("Account", "The caller's account, settings and API keys."),
    ("Sign-in", "Dashboard users, their sign-in sessions and JWTs."),
    ("Customer", "What a license's holder sees of it, on the vendor's branded page."),
    ("Receipts", "Keys that verify offline receipts."),
    ("Operator", "The operator's endpoints (accounts, keys, users, key and secret rotation)."),
    ("Health", "Liveness, readiness and this document."),
]

CACHE_CONTROL = {"description": "How long the answer may be cached.", "schema": {"type": "string"}}


def document(process):
    ops = [o for o in OPS if process in o.served]
    paths = {}
    admin_port = 9091 if process == PRIMARY else 9090
    for o in ops:
        op = paths.setdefault(o.path, {})[o.method] = o.render()
        if o.admin_listener:
            op["servers"] = [{"url": f"http://127.0.0.1:{admin_port}",
                              "description": "the admin listener"}]
    title = "License Edge API" if process == PRIMARY else "License Edge API — edge node"
    port = 8090 if process == PRIMARY else 8080
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": API_VERSION,
            "summary": "License validation at the edge; licenses, products and webhooks at "
            "the primary.",
            "description": (
                "Versions are dates: send `X-API-Version: <date>` to pin one (the newest "
                "released on or before it serves); every answer names the version that served "
                "it. Errors are `{error, code, help}` (TKI Auth: `{message, status_overview}`). "
                "Every answer under an API key carries `X-RateLimit-*`; over the plan's limit, "
                "429 `RATE_LIMITED` with `Retry-After`. Deprecated parts answer with "
                "`Deprecation`, `Sunset` and `Link`."
                + ("" if process == PRIMARY else
                   " This document describes the edge's routes only; the primary serves the "
                   "whole API.")),
            "license": {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
        },
        "servers": [{"url": f"http://127.0.0.1:{port}",
                     "description": f"license-{process} on loopback (scripts/run.sh)"}],
        "security": [{"ApiKey": []}],
        "tags": [{"name": n, "description": d} for n, d in TAGS
                 if any(o.tag == n for o in ops)],
        "paths": paths,
        "components": {
            "securitySchemes": SECURITY_SCHEMES,
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "headers": dict(HEADERS, **{"Cache-Control": CACHE_CONTROL}),
            "responses": RESPONSES,
        },
    }
    return prune(doc)


def prune(doc):
    """Keeps only the components the paths reach (directly or through other components)."""
    comps = doc["components"]
    keep = {k: set() for k in comps}
    used_schemes = set()
    for item in doc["paths"].values():
        for op in item.values():
            for req in op.get("security", []) or []:
                used_schemes.update(req)
    for req in doc.get("security", []):
        used_schemes.update(req)
    keep["securitySchemes"] = used_schemes
    todo = [doc["paths"]]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            r = node.get("$ref")
            if isinstance(r, str) and r.startswith("#/components/"):
                _, _, kind, name = r.split("/", 3)
                if name not in keep[kind]:
                    keep[kind].add(name)
                    todo.append(comps[kind][name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    doc["components"] = {k: {n: v for n, v in comps[k].items() if n in keep[k]}
                         for k in comps if keep[k]}
    return doc


def cpp_source(texts):
    out = ["// Generated by src/api/openapi.py: do not edit.", '#include "api/openapi.h"', "",
           "namespace le::api {", "namespace {"]
    for name, text in texts:
        # Raw string literals are limited in length by some compilers: concatenate chunks.
        chunks = [text[i:i + 8000] for i in range(0, len(text), 8000)]
        out.append(f"constexpr char k{name}[] =")
        out += [f'    R"le_doc({c})le_doc"' for c in chunks]
        out.append(";")
    out += ["}  // namespace", "",
            "std::string_view openapi_json(Process p) {",
            "  return p == Process::kPrimary ? std::string_view(kPrimary, sizeof kPrimary - 1)",
            "                                : std::string_view(kEdge, sizeof kEdge - 1);",
            "}", "", "}  // namespace le::api", ""]
    return "\n".join(out)


def main():
    out_dir = sys.argv[1]
    texts = []
    for process, file, name in [(PRIMARY, "openapi.json", "Primary"),
                                (EDGE, "openapi-edge.json", "Edge")]:
        text = json.dumps(document(process), indent=1, ensure_ascii=False)
        assert ")le_doc" not in text
        with open(f"{out_dir}/{file}", "w", encoding="utf-8") as f:
            f.write(text + "\n")
        texts.append((name, text))
    with open(f"{out_dir}/openapi_doc.cpp", "w", encoding="utf-8") as f:
        f.write(cpp_source(texts))


if __name__ == "__main__":
    main()
