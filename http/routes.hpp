#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "http/server.hpp"

namespace switchboard::http {

/// Path parameters captured by `{name}` segments.
using path_params = std::map<std::string, std::string>;

/// A route handler: the request, its path parameters and the responder.
using route_handler = std::function<void(request&&, const path_params&, responder)>;

/// One route: method, pattern ("/api/v1/tools/{name}"), label for metrics, body limit.
struct route {
  std::string method;
  std::string pattern;
  std::string label;
  std::size_t body_limit = 0; ///< 0 = the server default
  route_handler handler;
  /// OpenAPI 3.1 operation object (JSON text); required on /api/ routes, checked when the app
  /// builds its OpenAPI document (http/provider_api.hpp).
  std::string openapi = {};
};

/// Matches requests to routes; 404 for unknown paths, 405 (with Allow) for known paths with
/// another method.
class route_table {
public:
  /// Adds a route.
  void add(route r);

  /// The route and parameters for a method and path, or null.
  const route* match(std::string_view method, std::string_view path, path_params& params) const;

  /// Methods allowed on a path (empty when the path matches no route).
  std::vector<std::string> allowed(std::string_view path) const;

  /// Body limit for a method and path (`fallback` when no route or no own limit).
  std::size_t body_limit(std::string_view method, std::string_view path,
                         std::size_t fallback) const;

  /// A handler for http::server that dispatches through this table.
  handler make_handler() const;

  /// All routes, in the order added.
  const std::vector<route>& routes() const { return routes_; }

private:
  std::vector<route> routes_;
};

/// Matches a path against a pattern with `{name}` segments, filling `params`.
bool match_pattern(std::string_view pattern, std::string_view path, path_params& params);

} // namespace switchboard::http
