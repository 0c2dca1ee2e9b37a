#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "actors/fwd.hpp"

namespace caf {
class actor_system;
}

namespace switchboard::actors {

class metrics;

/// Settings of the outbound HTTP client.
struct http_client_config {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds total_timeout{15000}; ///< time queued for a bulkhead counts
  std::size_t max_connections = 64; ///< transfers (connections) in flight, all providers
  /// A provider's bulkhead: its calls in flight at once; more wait in its own queue.
  std::size_t max_in_flight_per_provider = 16;
  /// Per-provider budgets (by core::bulkhead_of the call's service); 0 = the default above.
  std::map<std::string, std::size_t> max_in_flight;
};

/// Spawns the HTTP client actor; its libcurl multi loop runs on a thread of its own, behind
/// per-provider bulkheads (core::bulkheads).
http_client_actor spawn_http_client(caf::actor_system& sys, http_client_config cfg,
                                    std::shared_ptr<metrics> m);

} // namespace switchboard::actors
