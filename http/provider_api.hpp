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
/// looked at) and GET /openapi.json, then builds the OpenAPI document from every route added so
/// far: call it last. Throws std::logic_error (the server does not start) when an /api/ route is
/// undocumented or the documentation is inconsistent; see openapi_document.
void add_provider_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg,
                         api_rate_limit& limit);

/// The OpenAPI 3.1 document of the /api/ routes of a table: one operation per /api/ route, from
/// its route::openapi (or, for the tools API registered in webhooks.cpp without one, from
/// tools_list_operation / tools_call_operation), with the `{name}` segments of its pattern
/// declared as path parameters. Throws std::logic_error listing every problem: an /api/ route
/// without documentation, documentation that is not a JSON object with `responses` and a unique
/// `operationId`, an unknown security scheme, documentation on a route outside /api/, built-in
/// documentation matching no route or duplicating a route's own.
nlohmann::json openapi_document(const route_table& routes);

/// OpenAPI operation of GET /api/v1/tools (the tool definitions of core/tools.hpp).
nlohmann::json tools_list_operation();

/// OpenAPI operation of POST /api/v1/tools/{name}: the body is the tool's arguments, each tool's
/// schema embedded from core::tool_definitions().
nlohmann::json tools_call_operation();

} // namespace switchboard::http
