#pragma once

#include "config/settings.hpp"
#include "http/routes.hpp"

namespace switchboard::http {

/// Benchmark-only routes, registered only when `server.bench_routes` is true: `GET /bench/static`
/// (a fixed tiny JSON answer, the floor of the edge) and `POST /bench/signed-noop` (verifies
/// X-Hub-Signature-256 with the WhatsApp app secret and parses the JSON body, then answers 200
/// without storing anything), so scripts/bench can price signature checks and parsing.
void add_bench_routes(route_table& routes, const config::settings& cfg);

} // namespace switchboard::http
