#pragma once

#include "config/settings.hpp"
#include "http/routes.hpp"

namespace switchboard::actors {
class runtime;
}

namespace switchboard::http {

class api_rate_limit;

/// The omnichannel routes: voice call-ended, inbound SMS (MTN, Twilio + status callbacks),
/// WhatsApp (verification handshake, messages and statuses) and the tools API. Signatures and
/// tokens are checked before anything is parsed or stored.
void add_omnichannel_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg,
                            api_rate_limit& limit);

} // namespace switchboard::http
