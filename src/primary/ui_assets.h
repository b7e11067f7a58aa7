// The dashboard's files (src/ui), compiled into the primary, and how they are answered.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace le::primary {

struct UiAsset {
  std::string_view name;  // a file name of src/ui, e.g. "app.js"
  std::string_view bytes;
};

std::span<const UiAsset> ui_assets();

// The media type of a file name by its extension; nullopt for one the dashboard does not serve.
std::optional<std::string_view> ui_content_type(std::string_view name);

// The Content-Security-Policy of every dashboard answer: scripts, styles and connections of the
// primary's origin only, no inline script or style, no framing, images also https: (a logo).
inline constexpr std::string_view kUiContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'";

}  // namespace le::primary
