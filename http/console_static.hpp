#pragma once

#include <string_view>
#include <vector>

#include "http/routes.hpp"

namespace switchboard::http {

/// One file of the operator console, compiled into the binary from http/console/ at build time
/// (cmake/embed_console.cmake).
struct console_asset {
  std::string_view name;         ///< file name, e.g. "app.js"
  std::string_view content_type; ///< from the extension
  std::string_view body;         ///< the file's bytes
  std::string_view etag;         ///< strong ETag (quoted) from the bytes' SHA-256
};

/// Every embedded console file, sorted by name (generated: console_assets.cpp).
const std::vector<console_asset>& console_assets();

/// The embedded file of that name, or null.
const console_asset* find_console_asset(std::string_view name);

/// The Content-Security-Policy the console's files are served with: its own origin only, no
/// inline script or style, no framing.
extern const char* const console_csp;

/// The answer to GET /console/<file>: the file with its content type, CSP, nosniff and ETag
/// (304 when If-None-Match names it); "/console" redirects to "/console/" (index.html), so the
/// page's relative URLs resolve under /console/; 404 for a name not embedded.
response console_static_response(const request& req);

/// GET /console, /console/ and /console/{file} on the admin listener. The files carry no data
/// and are served without the token; every API call the page makes needs it.
void add_console_static_routes(route_table& routes);

} // namespace switchboard::http
