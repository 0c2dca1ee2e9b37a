#pragma once

#include <memory>
#include <string>
#include <utility>

#include <caf/send.hpp>

#include "actors/fwd.hpp"
#include "config/settings.hpp"

namespace caf {
class actor_system;
}

namespace switchboard::actors {

class metrics;

/// Settings of the storage actor: the configuration's own sections, as loaded.
struct storage_config {
  config::database_settings database; ///< dsn, pool_size (the workers), reconnect_backoff
  config::storage_settings storage;   ///< max_batch, flush_delay, request_timeout, yield_workers
  /// While this says so (the acknowledgement path is busy), writes and batch jobs run on at most
  /// storage.yield_workers connections at once, so that processing leaves the database's CPU to
  /// the ingest INSERTs. Reads are not held back.
  std::function<bool()> yielding;
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

namespace switchboard::actors {

/// A batch kind over typed inputs and outputs: `fn(sql, const std::vector<const In*>&)` answers
/// a std::vector<Out>, one per input, in order.
template <class In, class Out, class F>
batch_kind_ptr make_batch_kind(std::string name, std::size_t max_items, bool single_statement, F fn,
                               bool ingest_lane = false) {
  auto k = std::make_shared<batch_kind>();
  k->name = std::move(name);
  k->max_items = max_items;
  k->single_statement = single_statement;
  k->run = [fn = std::move(fn)](soci::session& sql, std::vector<std::any>& inputs) {
    std::vector<const In*> in;
    in.reserve(inputs.size());
    for (auto& a : inputs)
      in.push_back(std::any_cast<In>(&a));
    std::vector<Out> out = fn(sql, in);
    std::vector<db_result> results(out.size());
    for (std::size_t i = 0; i < out.size(); ++i)
      results[i].value = Out(std::move(out[i])); // Out(): std::vector<bool> yields proxies
    return results;
  };
  return k;
}

/// Queues one request of a batch kind; `done(db_result&)` runs once on the storage actor's
/// thread with the result (value: the kind's Out) or the error. No timer per request: the
/// storage actor times out whole batches.
template <class Handle, class In, class Done>
void submit_batch(const Handle& storage, const batch_kind_ptr& kind, In input, Done done) {
  caf::anon_send(storage,
                 batch_request{kind, std::any{std::move(input)}, batch_callback{std::move(done)}});
}

} // namespace switchboard::actors
