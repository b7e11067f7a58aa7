// The OpenAPI 3.1 documents of the HTTP API (GET /api/v1/openapi.json), generated at build
// time from src/api/openapi.py: the whole API as license-primary serves it, and the routes of
// license-edge.
#pragma once

#include <string_view>

namespace le::api {

enum class Process { kPrimary, kEdge };

// The document's JSON text (static storage).
std::string_view openapi_json(Process p);

}  // namespace le::api
