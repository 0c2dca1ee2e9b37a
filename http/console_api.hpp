#pragma once

#include "config/settings.hpp"
#include "http/admin.hpp"
#include "http/routes.hpp"

namespace switchboard::actors {
class runtime;
}

namespace switchboard::http {

/// The operator console's JSON API on the admin listener (bearer admin.token):
/// GET /admin/v1/deliveries, /admin/v1/deliveries/{id}, /admin/v1/queues, /admin/v1/audit,
/// /admin/v1/sessions, /admin/v1/sessions/{id}; POST /admin/v1/deliveries/{id}/requeue,
/// /admin/v1/deliveries/{id}/cancel, /admin/v1/sessions/{id}/close; GET /admin/v1/providers,
/// /admin/v1/charts/sends, /admin/v1/node. Shapes:
/// /work/briefs/console-contract.md (and each route's OpenAPI operation).
void add_console_api_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg,
                            const lifecycle& life);

} // namespace switchboard::http
