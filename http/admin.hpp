#pragma once

#include <atomic>

#include "config/settings.hpp"
#include "http/routes.hpp"

namespace switchboard::actors {
class runtime;
}

namespace switchboard::http {

/// What the listeners share about the process's life: once draining, /readyz answers 503 on
/// both listeners so load balancers stop sending (SIGTERM or POST /admin/v1/drain).
struct lifecycle {
  std::atomic<bool> draining{false};
};

/// Wraps a handler with the admin bearer check (constant time; an empty token never matches):
/// 401 with WWW-Authenticate otherwise.
route_handler admin_authenticated(const config::settings& cfg, route_handler inner);

/// GET /healthz: 200 while the process serves.
route_handler healthz_handler();

/// GET /metrics: the Prometheus text of the process's metrics.
route_handler metrics_handler(actors::runtime& rt);

/// GET /readyz: 200 when the database is reachable and migrated and the process is not draining.
void add_readiness_routes(route_table& routes, actors::runtime& rt, const lifecycle& life);

/// The admin listener's routes: /healthz and /readyz (open), and with bearer admin.token:
/// GET /metrics, GET|PUT /admin/v1/log-level, GET /admin/v1/status, POST /admin/v1/drain.
void add_admin_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg,
                      lifecycle& life);

} // namespace switchboard::http
