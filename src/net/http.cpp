#include "net/http.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>

namespace le::net {

unsigned status_of(ProtocolError e) {
  switch (e) {
    case ProtocolError::kNotFound:
      return 404;
    case ProtocolError::kMethodNotAllowed:
      return 405;
    case ProtocolError::kBodyTooLarge:
      return 413;
    case ProtocolError::kHeaderTooLarge:
      return 431;
    case ProtocolError::kBadRequest:
      return 400;
    case ProtocolError::kRequestTimeout:
      return 408;
    case ProtocolError::kInternal:
      return 500;
    case ProtocolError::kBadApiVersion:
      return 400;
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
  const bool pattern = path.find("{}") != std::string::npos;
  routes_.push_back(Route{std::move(path), {{method, std::move(handler)}}, pattern});
  // Exact routes first: the hot routes never pay for pattern matching.
  std::stable_partition(routes_.begin(), routes_.end(), [](const Route& r) { return !r.pattern; });
}

void Router::mirror(std::string_view from, std::string_view to,
                    const std::function<bool(std::string_view path)>& include) {
  const auto served = routes_;  // the copies below extend routes_
  for (const auto& r : served) {
    if (!r.path.starts_with(from) || !include(r.path)) continue;
    const std::string path = std::string(to) + r.path.substr(from.size());
    const Route* there = nullptr;
    for (const auto& other : routes_) {
      if (other.path == path) there = &other;
    }
    for (const auto& [method, handler] : r.methods) {
      const bool taken =
          there != nullptr && std::any_of(there->methods.begin(), there->methods.end(),
                                          [m = method](const auto& e) { return e.first == m; });
      if (!taken) add(method, path, handler);
      there = nullptr;  // add() may have moved the routes
      for (const auto& other : routes_) {
        if (other.path == path) there = &other;
      }
    }
  }
}

bool Router::match(std::string_view pattern, std::string_view path,
                   std::array<std::string_view, 2>& params) {
  std::size_t n = 0;
  while (!pattern.empty() || !path.empty()) {
    const auto pslash = pattern.find('/', 1);
    const auto qslash = path.find('/', 1);
    const std::string_view pseg = pattern.substr(0, pslash);
    const std::string_view qseg = path.substr(0, qslash);
    if (pseg == "/{}") {
      if (qseg.size() < 2 || n == params.size()) return false;
      params[n++] = qseg.substr(1);
    } else if (pseg != qseg) {
      return false;
    }
    pattern.remove_prefix(pseg.size());
    path.remove_prefix(qseg.size());
  }
  return true;
}

const Router::Route* Router::find(std::string_view path,
                                  std::array<std::string_view, 2>& params) const {
  for (const auto& r : routes_) {
    if (r.pattern ? match(r.path, path, params) : r.path == path) return &r;
  }
  return nullptr;
}

std::optional<std::string_view> Request::query(std::string_view name) const {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string_view origin_of_target(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() &&
        boost::beast::iequals(target.substr(0, scheme.size()), scheme)) {
      target.remove_prefix(scheme.size());
      const auto end = target.find_first_of("/?#");
      return end == std::string_view::npos ? target.substr(target.size()) : target.substr(end);
    }
  }
  return target;
}

std::string_view path_of_target(std::string_view target) {
  const std::string_view origin = origin_of_target(target);
  const std::string_view path = origin.substr(0, origin.find_first_of("?#"));
  if (path.empty() && origin.data() != target.data()) return "/";
  return path;
}

std::string_view target_of_request_line(std::string_view raw) {
  const auto eol = raw.find('\n');
  std::string_view line = raw.substr(0, eol == std::string_view::npos ? raw.size() : eol);
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return {};
  line.remove_prefix(sp1 + 1);
  const auto sp2 = line.find(' ');
  // Without the version the line may still be arriving: the target may be cut short.
  if (sp2 == std::string_view::npos)
    return eol == std::string_view::npos ? std::string_view() : line;
  return line.substr(0, sp2);
}

int Router::dispatch(const Request& req, Response& res) const {
  std::array<std::string_view, 2> params{};
  const ErrorContext ctx{req.path, req.peer, req.worker, req.fields};
  bool bad_version = false;
  if (versioning_.select != nullptr) {
    const auto version = versioning_.select(req.header(versioning_.header));
    res.add_header(versioning_.header, std::string(version.value_or(versioning_.current)));
    bad_version = !version;
  }
  // Admitted first, so a request with a bad version counts and its answer carries the limit.
  if (admission_ && !admission_(req, res)) return -1;
  if (bad_version) {
    write_error(ctx, ProtocolError::kBadApiVersion, res);
    return -1;
  }
  if (const Route* found = find(req.path, params)) {
    const Route& r = *found;
    const int index = static_cast<int>(found - routes_.data());
    const http::verb method_wanted = req.method == http::verb::head ? http::verb::get : req.method;
    for (const auto& [method, handler] : r.methods) {
      if (method == method_wanted) {
        if (!r.pattern) {
          handler(req, res);
        } else {
          Request with_params = req;
          with_params.params = params;
          handler(with_params, res);
        }
        return index;
      }
    }
    std::string allow;
    for (const auto& m : r.methods) {
      if (!allow.empty()) allow.append(", ");
      allow.append(http::to_string(m.first));
      if (m.first == http::verb::get) allow.append(", HEAD");
    }
    write_error(ctx, ProtocolError::kMethodNotAllowed, res);
    res.add_header("Allow", std::move(allow));
    return index;
  }
  write_error(ctx, ProtocolError::kNotFound, res);
  return -1;
}

std::vector<std::string> Router::route_paths() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) out.push_back(r.path);
  return out;
}

std::vector<std::pair<http::verb, std::string>> Router::routes() const {
  std::vector<std::pair<http::verb, std::string>> out;
  for (const auto& r : routes_) {
    for (const auto& m : r.methods) out.emplace_back(m.first, r.path);
  }
  return out;
}

void Router::write_error(const ErrorContext& ctx, ProtocolError e, Response& res) const {
  res.status = status_of(e);
  if (versioning_.select != nullptr) {
    // Errors the server finds before dispatch (413, 431, …) name the version too.
    const auto extra = res.extra_headers();
    if (std::none_of(extra.begin(), extra.end(),
                     [&](const auto& h) { return h.first == versioning_.header; })) {
      res.add_header(versioning_.header, std::string(versioning_.current));
    }
  }
  if (error_writer_) {
    error_writer_(ctx, e, res);
    res.status = status_of(e);
  } else {
    res.content_type = "text/plain";
    res.body.assign("error\n");
  }
}

}  // namespace le::net
