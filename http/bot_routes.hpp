#pragma once

#include "config/settings.hpp"
#include "http/routes.hpp"

namespace switchboard::actors {
class runtime;
}

namespace switchboard::http {

/// The support-bot routes: POST /webhooks/chatwoot (signature and timestamp checked when a
/// secret is configured) and POST /webhooks/telegram (secret-token header checked). Each is
/// registered only when its provider is enabled.
void add_bot_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg);

} // namespace switchboard::http
