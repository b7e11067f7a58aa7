// The dashboard: GET / and /ui redirect to /ui/, which serves index.html; /ui/<file> serves the
// other files of src/ui, compiled in (ui_assets.h), or read from --ui-dir at each request. Every
// answer carries the dashboard's Content-Security-Policy, so nothing but the primary's own
// scripts ever runs in the page.
#include <fstream>
#include <iterator>

#include "primary/handlers.h"
#include "primary/ui_assets.h"

namespace le::primary {

std::optional<std::string_view> ui_content_type(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"}};
  for (const auto& [ext, type] : kTypes) {
    if (name.ends_with(ext)) return type;
  }
  return std::nullopt;
}

namespace {

// A file name of the dashboard's one flat directory: no path, no hidden file.
bool plain_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

void serve(const RouteContext& ctx, std::string_view name, net::Response& res) {
  const auto type = plain_name(name) ? ui_content_type(name) : std::nullopt;
  std::optional<std::string> bytes;
  if (type && !ctx.options.ui_dir.empty()) {
    std::ifstream f(ctx.options.ui_dir + "/" + std::string(name), std::ios::binary);
    if (f) bytes.emplace(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  } else if (type) {
    for (const auto& a : ui_assets()) {
      if (a.name == name) bytes.emplace(a.bytes);
    }
  }
  res.add_header("Content-Security-Policy", std::string(kUiContentSecurityPolicy));
  res.add_header("X-Content-Type-Options", "nosniff");
  res.add_header("Referrer-Policy", "no-referrer");
  res.add_header("Cache-Control", "no-cache");
  if (!bytes) refuse(core::ApiError::not_found("No such page"));
  res.content_type = *type;
  res.body = std::move(*bytes);
}

void redirect(net::Response& res) {
  res.status = 302;
  res.body.clear();
  res.content_type = "text/plain";
  res.add_header("Location", "/ui/");
}

}  // namespace

void add_ui_routes(net::Router& router, const RouteContext& ctx) {
  using V = net::http::verb;
  router.add(V::get, "/", [](const net::Request&, net::Response& res) { redirect(res); });
  router.add(V::get, "/ui", [](const net::Request&, net::Response& res) { redirect(res); });
  router.add(V::get, "/ui/", guarded([ctx](const net::Request&, net::Response& res) {
               serve(ctx, "index.html", res);
             }));
  router.add(V::get, "/ui/{}", guarded([ctx](const net::Request& req, net::Response& res) {
               serve(ctx, req.params[0], res);
             }));
}

}  // namespace le::primary
