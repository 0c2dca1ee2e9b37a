#pragma once

// Small pieces every route that hands work to the actors uses.

#include <memory>
#include <string>
#include <string_view>

#include "actors/events.hpp"
#include "config/settings.hpp"
#include "http/server.hpp"

namespace switchboard::core {
class keyed_limiter;
}

namespace switchboard::actors {
class metrics;
}

namespace switchboard::http {

/// The HTTP response for an actor's answer.
response to_response(const actors::edge_reply& r);

/// A completion callback for the actors that answers the request through `respond`.
actors::edge_callback reply_to(responder respond);

/// The token of an `Authorization: Bearer <token>` header, or empty.
std::string bearer_of(const request& req);

/// Per-key rate limits of the authenticated APIs (api.rate_per_s, api.burst, api.max_keys): one
/// token bucket per bearer token (kept by its SHA-256), shared by the HTTP threads; no database
/// round trip and no timer. Webhooks from providers are not limited (they retry; the inbox
/// stores them).
class api_rate_limit {
public:
  api_rate_limit(const config::api_settings& s, actors::metrics& stats);
  ~api_rate_limit();

  /// Whether a call with `token` on `route` may go on; when not, answers it 429 with Retry-After
  /// through `respond` and counts it (switchboard_api_rate_limited_total{route}).
  bool admit(std::string_view route, std::string_view token, const responder& respond);

private:
  std::unique_ptr<core::keyed_limiter> buckets_;
  actors::metrics& stats_;
};

} // namespace switchboard::http
