#pragma once

#include <memory>
#include <string>
#include <utility>

#include "actors/fwd.hpp"

namespace caf {
class actor_system;
}

namespace switchboard::actors {

class metrics;

/// Settings of the storage actor (from config::database_settings and storage_settings).
struct storage_config {
  std::string dsn;
  std::size_t pool_size = 4;
  std::size_t max_batch = 256;
  std::chrono::milliseconds flush_delay{1};
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds reconnect_backoff{500};
};

/// Spawns the storage front and its detached workers.
storage_actor spawn_storage(caf::actor_system& sys, storage_config cfg, std::shared_ptr<metrics> m);

/// Wraps a typed function as a db_job; the reply's std::any then holds a T.
template <class T, class F> db_job make_job(std::string name, F fn) {
  return db_job{std::move(name), [fn = std::move(fn)](soci::session& sql) -> std::any {
                  return std::any{static_cast<T>(fn(sql))};
                }};
}

} // namespace switchboard::actors
