#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/settings.hpp"

namespace switchboard::actors {

class metrics;

/// Readiness as the storage actor sees it.
struct readiness {
  bool database = false;   ///< a live connection exists
  bool migrations = false; ///< every embedded migration is applied
  unsigned workers_up = 0;
};

/// The actor graph behind the HTTP edge. Its interface uses no CAF types, so the HTTP layer and
/// main() stay free of actor headers; every call returns at once and answers through a callback
/// (called exactly once, on an actor thread).
class runtime {
public:
  /// Starts the actor system (scheduler policy "sharing") and spawns the storage, HTTP client,
  /// router and scheduler actors.
  runtime(const config::settings& s, std::shared_ptr<metrics> m);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Asks the storage actor whether the database is reachable and migrated.
  void check_readiness(std::function<void(readiness)> done);

  /// Waits (blocking; call from main only) until queued writes are committed, up to `limit`.
  bool flush_storage(std::chrono::milliseconds limit);

  /// Stops every actor and waits for them.
  void shutdown();

  /// The process metrics.
  metrics& stats();

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace switchboard::actors
