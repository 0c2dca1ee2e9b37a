#pragma once

// Small pieces every route that hands work to the actors uses.

#include <string>

#include "actors/events.hpp"
#include "http/server.hpp"

namespace switchboard::http {

/// The HTTP response for an actor's answer.
response to_response(const actors::edge_reply& r);

/// A completion callback for the actors that answers the request through `respond`.
actors::edge_callback reply_to(responder respond);

/// The token of an `Authorization: Bearer <token>` header, or empty.
std::string bearer_of(const request& req);

} // namespace switchboard::http
