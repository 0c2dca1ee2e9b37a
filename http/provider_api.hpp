#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "config/settings.hpp"
#include "http/routes.hpp"

namespace switchboard::actors {
class runtime;
}

namespace switchboard::http {

class api_rate_limit;

/// Adds the provider API (GET and PUT /api/v1/providers/me/notification-config, authenticated by
/// the provider's API key as a bearer token, checked against the database before the body is
/// looked at) and GET /api/v1/sessions/{session_id}/deliveries.
void add_provider_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg,
                         api_rate_limit& limit);

/// What differs between the two listeners' documents.
struct openapi_info {
  bool admin = false;     ///< the admin listener's document (else the public one)
  std::string server_url; ///< servers[0].url ("/" when empty on the public listener)
};

/// The OpenAPI 3.1 document of every route of a table: one operation per route, from its
/// route::openapi, with the `{name}` segments of its pattern declared as path parameters, plus
/// `servers`, `info.license`, the tags and security schemes the operations use. Throws
/// std::logic_error listing every problem: a route without documentation (so a new route cannot
/// be added undocumented: the server does not start), documentation that is not a JSON object
/// with `responses` and a unique `operationId`, an unknown security scheme, a path parameter not
/// in the pattern, a route registered twice.
nlohmann::json openapi_document(const route_table& routes, const openapi_info& info = {});

/// OpenAPI operation of GET /api/v1/tools (the tool definitions of core/omni/tools.hpp).
nlohmann::json tools_list_operation();

/// OpenAPI operation of POST /api/v1/tools/{name}: the body is the tool's arguments, each tool's
/// schema embedded from core::tool_definitions().
nlohmann::json tools_call_operation();

} // namespace switchboard::http
