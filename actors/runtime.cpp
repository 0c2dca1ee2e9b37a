#include "actors/runtime.hpp"

#include <caf/all.hpp>

#include "actors/fwd.hpp"
#include "actors/http_client.hpp"
#include "actors/metrics.hpp"
#include "actors/storage.hpp"

namespace switchboard::actors {

struct runtime::impl {
  config::settings settings;
  std::shared_ptr<metrics> stats;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  storage_actor storage;
  http_client_actor http;
  bool stopped = false;
};

runtime::runtime(const config::settings& s, std::shared_ptr<metrics> m)
    : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.settings = s;
  d.stats = std::move(m);
  d.cfg.set("scheduler.policy", caf::atom("sharing"));
  d.cfg.set("scheduler.max-threads", s.actors.scheduler_threads);
  d.cfg.set("logger.verbosity", caf::atom("quiet"));
  d.sys = std::make_unique<caf::actor_system>(d.cfg);
  storage_config sc;
  sc.dsn = s.database.dsn;
  sc.pool_size = s.database.pool_size;
  sc.max_batch = s.storage.max_batch;
  sc.flush_delay = s.storage.flush_delay;
  sc.request_timeout = s.storage.request_timeout;
  sc.reconnect_backoff = s.database.reconnect_backoff;
  d.storage = spawn_storage(*d.sys, sc, d.stats);
  http_client_config hc;
  hc.connect_timeout = s.http_client.connect_timeout;
  hc.total_timeout = s.http_client.total_timeout;
  hc.max_connections = s.http_client.max_connections;
  d.http = spawn_http_client(*d.sys, hc, d.stats);
}

runtime::~runtime() {
  shutdown();
}

void runtime::check_readiness(std::function<void(readiness)> done) {
  auto timeout = impl_->settings.storage.request_timeout;
  auto storage = impl_->storage;
  // CAF 0.17.6 dereferences a null argument tuple when a function is spawned without arguments
  // (UB that UBSan reports), so spawned functions always take at least one.
  impl_->sys->spawn(
      [=](caf::event_based_actor* self, storage_actor storage) {
        self->request(storage, timeout, ready_atom::value)
            .then(
                [=](storage_status st) {
                  done(readiness{st.connected, st.migrated, st.workers_up});
                },
                [=](caf::error&) { done(readiness{}); });
      },
      storage);
}

bool runtime::flush_storage(std::chrono::milliseconds limit) {
  caf::scoped_actor self{*impl_->sys};
  bool ok = false;
  self->request(impl_->storage, limit, flush_atom::value)
      .receive([&](bool b) { ok = b; }, [&](caf::error&) { ok = false; });
  return ok;
}

void runtime::shutdown() {
  auto& d = *impl_;
  if (d.stopped)
    return;
  d.stopped = true;
  caf::anon_send_exit(d.storage, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(d.http, caf::exit_reason::user_shutdown);
  d.sys.reset();
}

metrics& runtime::stats() {
  return *impl_->stats;
}

} // namespace switchboard::actors
