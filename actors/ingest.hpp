#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "actors/fwd.hpp"
#include "core/events.hpp"

namespace caf {
class actor_system;
}

namespace switchboard::actors {

class metrics;
struct ingest_load;

/// Settings of the ingest workers (from storage.ingest_workers and the database settings).
struct ingest_config {
  std::string dsn;
  std::size_t workers = 2;     ///< threads, each with its own connection
  std::size_t max_batch = 512; ///< rows per INSERT
  std::chrono::milliseconds statement_timeout{10000};
  std::chrono::milliseconds reconnect_backoff{500};
  std::string node; ///< a cluster's node id: named on the connections (wake-up hints), or empty
};

/// The ingest workers: store inbox entries in batches on connections of their own and answer
/// each request with its storage::inbox_stored (or the error: unavailable while the database is
/// down) on the worker's thread. Entries of one entity go to one worker, so their ids follow
/// their arrival order.
class ingest_pool {
public:
  /// `load` counts the entries submitted (rate) and not answered yet (backlog).
  ingest_pool(caf::actor_system& sys, ingest_config cfg, std::shared_ptr<metrics> m,
              std::shared_ptr<ingest_load> load);
  ~ingest_pool();
  ingest_pool(const ingest_pool&) = delete;
  ingest_pool& operator=(const ingest_pool&) = delete;

  /// Queues an entry; `done` is called once, from a worker thread.
  void submit(core::inbox_entry entry, batch_callback done);

  /// Stops the workers (what they hold is answered first).
  void stop();

private:
  std::vector<caf::actor> workers_;
  std::shared_ptr<ingest_load> load_;
};

} // namespace switchboard::actors
