#include "net/http.h"

namespace le::net {

unsigned status_of(ProtocolError e) {
  switch (e) {
    case ProtocolError::kNotFound: return 404;
    case ProtocolError::kMethodNotAllowed: return 405;
    case ProtocolError::kBodyTooLarge: return 413;
    case ProtocolError::kHeaderTooLarge: return 431;
    case ProtocolError::kBadRequest: return 400;
    case ProtocolError::kRequestTimeout: return 408;
    case ProtocolError::kInternal: return 500;
  }
  return 400;
}

void Router::add(http::verb method, std::string path, Handler handler) {
  for (auto& r : routes_) {
    if (r.path == path) {
      r.methods.emplace_back(method, std::move(handler));
      return;
    }
  }
  routes_.push_back(Route{std::move(path), {{method, std::move(handler)}}});
}

void Router::dispatch(const Request& req, Response& res) const {
  for (const auto& r : routes_) {
    if (r.path != req.path) continue;
    for (const auto& [method, handler] : r.methods) {
      if (method == req.method) {
        handler(req, res);
        return;
      }
    }
    std::string allow;
    for (const auto& m : r.methods) {
      if (!allow.empty()) allow.append(", ");
      allow.append(http::to_string(m.first));
    }
    write_error(req.path, ProtocolError::kMethodNotAllowed, res);
    res.add_header("Allow", std::move(allow));
    return;
  }
  write_error(req.path, ProtocolError::kNotFound, res);
}

void Router::write_error(std::string_view path, ProtocolError e, Response& res) const {
  res.status = status_of(e);
  if (error_writer_) {
    error_writer_(path, e, res);
    res.status = status_of(e);
  } else {
    res.content_type = "text/plain";
    res.body.assign("error\n");
  }
}

}  // namespace le::net
