#pragma once

#include <chrono>
#include <memory>

#include "actors/fwd.hpp"

namespace caf {
class actor_system;
}

namespace switchboard::actors {

class metrics;

/// Settings of the outbound HTTP client.
struct http_client_config {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds total_timeout{15000};
  std::size_t max_connections = 64;
};

/// Spawns the HTTP client actor; its libcurl multi loop runs on a thread of its own.
http_client_actor spawn_http_client(caf::actor_system& sys, http_client_config cfg,
                                    std::shared_ptr<metrics> m);

} // namespace switchboard::actors
