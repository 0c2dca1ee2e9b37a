#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
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

/// Which ingest worker an entry goes to. While a shard has entries queued with a worker, its
/// new entries join that worker (one entity's ids follow their arrival order); a shard with none
/// goes to the worker with the fewest queued entries. Thread-safe (one mutex, held for a few
/// instructions: two uncontended lock/unlock pairs a request).
class ingest_routes {
public:
  explicit ingest_routes(std::size_t workers) : queued_(workers, 0) {}
  /// The worker for an entry of `shard`, counted as queued there until done(shard).
  uint32_t route(uint32_t shard);
  /// An entry of `shard` was answered.
  void done(uint32_t shard);

private:
  struct shard_route {
    uint32_t pending = 0; ///< entries submitted and not answered yet
    uint32_t worker = 0;  ///< where they are (meaningful while pending > 0)
  };
  std::mutex mu_;
  std::vector<shard_route> shards_; ///< by shard number, grown on first sight
  std::vector<uint32_t> queued_;    ///< by worker
};

/// The ingest workers: store inbox entries in batches on connections of their own and answer
/// each request with its storage::inbox_stored (or the error: unavailable while the database is
/// down) on the worker's thread. While a shard has entries in a worker's queue, its new entries
/// join that worker (so one entity's ids follow their arrival order); a shard with none goes to
/// the worker with the shortest queue, so a flooding sender holds one worker at most and the
/// others' entries flow through the rest.
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
  std::shared_ptr<ingest_routes> routes_;
};

} // namespace switchboard::actors
