#include "http/console_static.hpp"
#include "http/openapi_ops.hpp"

#include <algorithm>
#include <string>

namespace switchboard::http {

const char* const console_csp
    = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
      "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
      "frame-ancestors 'none'";

namespace {

void security_headers(response& r) {
  r.headers.add("Content-Security-Policy", console_csp);
  r.headers.add("X-Content-Type-Options", "nosniff");
  r.headers.add("X-Frame-Options", "DENY");
  r.headers.add("Referrer-Policy", "no-referrer");
}

/// Whether an If-None-Match value ("*", or a list of entity tags, weak or strong) names `etag`
/// (the weak comparison RFC 9110 section 13.1.2 prescribes for If-None-Match).
bool none_match(std::string_view header, std::string_view etag) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == '\t' || header[pos] == ','))
      ++pos;
    if (pos >= header.size())
      break;
    auto end = header.find(',', pos);
    auto tag = header.substr(pos, end == std::string_view::npos ? header.npos : end - pos);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t'))
      tag.remove_suffix(1);
    if (tag == "*")
      return true;
    if (tag.rfind("W/", 0) == 0)
      tag.remove_prefix(2);
    if (tag == etag)
      return true;
    if (end == std::string_view::npos)
      break;
    pos = end + 1;
  }
  return false;
}

} // namespace

const console_asset* find_console_asset(std::string_view name) {
  const auto& all = console_assets();
  auto it = std::find_if(all.begin(), all.end(),
                         [&](const console_asset& a) { return a.name == name; });
  return it == all.end() ? nullptr : &*it;
}

response console_static_response(const request& req) {
  constexpr std::string_view prefix = "/console/";
  if (req.path.size() < prefix.size() || req.path.compare(0, prefix.size(), prefix) != 0) {
    // "/console" (or "/console//"-less variants): the page's relative URLs need the slash.
    auto r = response::make(301, "", "text/plain; charset=utf-8");
    r.headers.add("Location", "/console/");
    security_headers(r);
    return r;
  }
  auto name = std::string_view{req.path}.substr(prefix.size());
  if (name.empty())
    name = "index.html";
  const auto* asset = find_console_asset(name);
  if (!asset) {
    auto r = response::error(404, "not_found", "no console file " + std::string{name});
    security_headers(r);
    return r;
  }
  response r;
  if (none_match(req.headers.get("If-None-Match"), asset->etag)) {
    r.status = 304;
  } else {
    r.status = 200;
    r.content_type = std::string{asset->content_type};
    r.body = std::string{asset->body};
  }
  r.headers.add("ETag", std::string{asset->etag});
  // Cached, but revalidated each time: an upgraded binary serves its own console at once.
  r.headers.add("Cache-Control", "no-cache");
  security_headers(r);
  return r;
}

void add_console_static_routes(route_table& routes) {
  auto serve = [](request&& req, const path_params&, responder respond) {
    respond(console_static_response(req));
  };
  routes.add({"GET", "/console", "console_static", 0, serve, openapi_ops::console_static(false)});
  routes.add(
      {"GET", "/console/{file}", "console_static", 0, serve, openapi_ops::console_static(true)});
}

} // namespace switchboard::http
