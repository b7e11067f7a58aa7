// An error answer of the Traffic Orchestrator protocol: HTTP status + {error, code, help}.
#pragma once

#include <string>
#include <string_view>

namespace le::core {

struct ApiError {
  int http_status = 400;
  std::string_view code;  // stable machine-readable code, e.g. "MISSING_FIELDS"
  std::string message;    // human-readable

  static ApiError missing_fields(std::string msg) {
    return {400, "MISSING_FIELDS", std::move(msg)};
  }
  static ApiError validation(std::string msg) { return {400, "VALIDATION_ERROR", std::move(msg)}; }
  static ApiError auth_required() {
    return {401, "AUTH_REQUIRED", "No authentication token provided"};
  }
  static ApiError invalid_api_key() {
    return {401, "INVALID_API_KEY", "API key is invalid, expired, or revoked"};
  }
  static ApiError domain_mismatch() {
    return {403, "DOMAIN_MISMATCH", "License is not valid for the requested domain"};
  }
  static ApiError not_found(std::string msg = "Requested resource does not exist") {
    return {404, "NOT_FOUND", std::move(msg)};
  }
  static ApiError method_not_allowed() {
    return {405, "METHOD_NOT_ALLOWED", "Method not allowed for this resource"};
  }
  static ApiError payload_too_large() {
    return {413, "PAYLOAD_TOO_LARGE", "Request body exceeds the size limit"};
  }
  static ApiError unsupported_media_type() {
    return {415, "VALIDATION_ERROR", "Content-Type must be application/json"};
  }
  static ApiError internal() {
    return {500, "INTERNAL_ERROR", "Server error — retry with exponential backoff"};
  }

  // The answer to a request the HTTP layer refused before any handler (by its status: 400, 404,
  // 405, 408, 413, 431, 500), the same in every process.
  static ApiError for_protocol_status(unsigned status) {
    switch (status) {
      case 404:
        return not_found("Route not found");
      case 405:
        return method_not_allowed();
      case 408:
        return {408, "REQUEST_TIMEOUT", "Request was not completed in time"};
      case 413:
        return payload_too_large();
      case 431:
        return {431, "HEADERS_TOO_LARGE", "Request headers exceed the size limit"};
      case 500:
        return internal();
      default:
        return validation("Malformed HTTP request");
    }
  }
};

inline constexpr std::string_view kErrorHelp = "/docs#errors";

}  // namespace le::core
