#include "actors/storage.hpp"

#include <deque>
#include <unordered_map>

#include <caf/all.hpp>
#include <soci/soci.h>

#include "actors/metrics.hpp"
#include "core/log.hpp"
#include "storage/db.hpp"
#include "storage/migrator.hpp"

namespace switchboard::actors {

using core::sb_error;
using std::chrono::milliseconds;

namespace {

// -- worker --------------------------------------------------------------------------------------

struct worker_state {
  static inline const char* name = "storage_worker";
  uint32_t index = 0;
  storage_config cfg;
  storage_actor front;
  std::unique_ptr<soci::session> sql;
  milliseconds backoff{0};
  std::shared_ptr<metrics> m;
  bool reconnect_scheduled = false;
};

using worker_ptr = storage_worker_actor::stateful_pointer<worker_state>;

caf::error unavailable() {
  return caf::make_error(sb_error::unavailable, std::string{"database unavailable"});
}

/// Tries to connect; tells the front whether the worker is up.
void try_connect(worker_ptr self) {
  auto& st = self->state;
  st.reconnect_scheduled = false;
  try {
    st.sql = storage::open_session(st.cfg.dsn);
    st.backoff = st.cfg.reconnect_backoff;
    self->send(st.front, up_atom::value, st.index);
    return;
  } catch (const std::exception& e) {
    st.sql.reset();
    if (st.backoff == st.cfg.reconnect_backoff || st.backoff.count() == 0)
      core::log(core::log_level::warn, "database connection failed",
                {{"worker", std::to_string(st.index)}, {"error", e.what()}});
  }
  self->send(st.front, down_atom::value, st.index);
  st.reconnect_scheduled = true;
  self->delayed_send(self, st.backoff, reconnect_atom::value);
  st.backoff = std::min(st.backoff * 2, milliseconds{30000});
}

void lose_connection(worker_ptr self) {
  auto& st = self->state;
  st.sql.reset();
  self->send(st.front, down_atom::value, st.index);
  if (!st.reconnect_scheduled) {
    st.reconnect_scheduled = true;
    st.backoff = st.cfg.reconnect_backoff;
    self->delayed_send(self, st.backoff, reconnect_atom::value);
  }
}

/// Runs `job` in its own transaction; sets `lost` when the connection broke.
db_result run_alone(soci::session& sql, db_job& job, bool& lost) {
  db_result r;
  try {
    storage::exec_script(sql, "BEGIN");
    r.value = job.fn(sql);
    storage::exec_script(sql, "COMMIT");
  } catch (...) {
    r.error = storage::map_db_exception(std::current_exception(), &sql, lost);
    if (!lost) {
      try {
        storage::exec_script(sql, "ROLLBACK");
      } catch (...) {
        lost = !storage::connection_ok(sql);
      }
    }
  }
  return r;
}

/// Runs a write batch as one transaction. When a job fails, the batch is rolled back and every
/// job runs again alone, so one bad job fails only itself.
std::vector<db_result> run_writes(soci::session& sql, std::vector<db_job>& jobs, bool& lost) {
  std::vector<db_result> results(jobs.size());
  try {
    storage::exec_script(sql, "BEGIN");
    for (std::size_t i = 0; i < jobs.size(); ++i)
      results[i].value = jobs[i].fn(sql);
    storage::exec_script(sql, "COMMIT");
    return results;
  } catch (...) {
    auto err = storage::map_db_exception(std::current_exception(), &sql, lost);
    if (lost) {
      for (auto& r : results) {
        r.value.reset();
        r.error = err;
      }
      return results;
    }
    try {
      storage::exec_script(sql, "ROLLBACK");
    } catch (...) {
      lost = !storage::connection_ok(sql);
    }
    if (jobs.size() == 1 || lost) {
      for (auto& r : results) {
        r.value.reset();
        r.error = lost ? unavailable() : err;
      }
      return results;
    }
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (lost) {
      results[i] = db_result{{}, unavailable()};
      continue;
    }
    results[i] = run_alone(sql, jobs[i], lost);
  }
  return results;
}

std::vector<db_result> run_reads(soci::session& sql, std::vector<db_job>& jobs, bool& lost) {
  std::vector<db_result> results(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (lost) {
      results[i].error = unavailable();
      continue;
    }
    try {
      results[i].value = jobs[i].fn(sql);
    } catch (...) {
      results[i].error = storage::map_db_exception(std::current_exception(), &sql, lost);
    }
  }
  return results;
}

storage_worker_actor::behavior_type storage_worker(worker_ptr self, uint32_t index,
                                                   storage_config cfg, storage_actor front,
                                                   std::shared_ptr<metrics> m) {
  self->state.index = index;
  self->state.cfg = std::move(cfg);
  self->state.front = std::move(front);
  self->state.m = std::move(m);
  self->state.backoff = self->state.cfg.reconnect_backoff;
  try_connect(self);
  return {
      [=](batch_atom, uint64_t id, bool write, std::vector<db_job>& jobs) {
        auto& st = self->state;
        std::vector<db_result> results;
        bool lost = false;
        if (!st.sql) {
          results.resize(jobs.size());
          for (auto& r : results)
            r.error = unavailable();
        } else if (write) {
          auto t0 = std::chrono::steady_clock::now();
          results = run_writes(*st.sql, jobs, lost);
          auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          bool ok = !lost && std::all_of(results.begin(), results.end(), [](const db_result& r) {
            return !r.error;
          });
          st.m->storage_batch(jobs.size(), secs, ok);
        } else {
          results = run_reads(*st.sql, jobs, lost);
        }
        self->send(st.front, done_atom::value, id, st.index, std::move(results));
        if (lost) {
          core::log(core::log_level::warn, "database connection lost",
                    {{"worker", std::to_string(st.index)}});
          lose_connection(self);
        }
      },
      [=](reconnect_atom) {
        if (!self->state.sql)
          try_connect(self);
      },
  };
}

// -- front ---------------------------------------------------------------------------------------

struct pending_job {
  db_job job;
  caf::typed_response_promise<std::any> rp;
};

struct inflight_batch {
  std::vector<caf::typed_response_promise<std::any>> rps;
  bool write = false;
  bool abandoned = false; ///< timed out: promises already failed, waiting for the worker
};

struct front_state {
  static inline const char* name = "storage";
  storage_config cfg;
  std::shared_ptr<metrics> m;
  std::vector<storage_worker_actor> workers;
  std::vector<bool> up;
  std::vector<bool> reported; ///< the worker has told whether it connected
  std::vector<bool> busy;
  std::deque<pending_job> writes;
  std::deque<pending_job> reads;
  std::chrono::steady_clock::time_point oldest_write;
  bool tick_scheduled = false;
  std::unordered_map<uint64_t, inflight_batch> batches;
  uint64_t next_batch = 1;
  std::vector<caf::typed_response_promise<bool>> flush_waiters;

  std::size_t workers_up() const {
    return static_cast<std::size_t>(std::count(up.begin(), up.end(), true));
  }

  /// Every worker has tried its connection and none holds one: fail fast instead of queueing.
  bool known_down() const {
    return workers_up() == 0
           && std::all_of(reported.begin(), reported.end(), [](bool b) { return b; });
  }
};

using front_ptr = storage_actor::stateful_pointer<front_state>;

bool writes_in_flight(const front_state& st) {
  return std::any_of(st.batches.begin(), st.batches.end(),
                     [](auto& kv) { return kv.second.write && !kv.second.abandoned; });
}

void answer_flush_waiters(front_ptr self) {
  auto& st = self->state;
  if (st.writes.empty() && !writes_in_flight(st)) {
    for (auto& rp : st.flush_waiters)
      rp.deliver(true);
    st.flush_waiters.clear();
  }
}

void fail_queued(std::deque<pending_job>& q) {
  for (auto& p : q)
    p.rp.deliver(unavailable());
  q.clear();
}

void dispatch(front_ptr self, std::size_t worker, bool write, std::deque<pending_job>& q) {
  auto& st = self->state;
  auto n = std::min(q.size(), st.cfg.max_batch);
  std::vector<db_job> jobs;
  inflight_batch b;
  b.write = write;
  jobs.reserve(n);
  b.rps.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    jobs.push_back(std::move(q.front().job));
    b.rps.push_back(std::move(q.front().rp));
    q.pop_front();
  }
  auto id = st.next_batch++;
  st.batches.emplace(id, std::move(b));
  st.busy[worker] = true;
  self->send(st.workers[worker], batch_atom::value, id, write, std::move(jobs));
  self->delayed_send(self, st.cfg.request_timeout, timeout_atom::value, id);
  if (write && !st.writes.empty())
    st.oldest_write = std::chrono::steady_clock::now();
}

/// Hands queued work to idle workers: reads at once, writes when a batch is full or the oldest
/// queued write has waited flush_delay.
void pump(front_ptr self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  for (std::size_t w = 0; w < st.workers.size(); ++w) {
    if (!st.up[w] || st.busy[w])
      continue;
    if (!st.reads.empty()) {
      dispatch(self, w, false, st.reads);
      continue;
    }
    bool due
        = !st.writes.empty()
          && (st.writes.size() >= st.cfg.max_batch || now - st.oldest_write >= st.cfg.flush_delay);
    if (due)
      dispatch(self, w, true, st.writes);
  }
  if (!st.writes.empty() && !st.tick_scheduled) {
    st.tick_scheduled = true;
    auto wait
        = st.cfg.flush_delay - std::chrono::duration_cast<milliseconds>(now - st.oldest_write);
    self->delayed_send(self, std::max(wait, milliseconds{0}), tick_atom::value);
  }
}

template <class Promise>
void enqueue(front_ptr self, std::deque<pending_job>& q, db_job job, Promise rp) {
  auto& st = self->state;
  if (st.known_down()) {
    rp.deliver(unavailable());
    return;
  }
  if (&q == &st.writes && st.writes.empty())
    st.oldest_write = std::chrono::steady_clock::now();
  q.push_back(pending_job{std::move(job), std::move(rp)});
  pump(self);
}

storage_actor::behavior_type storage_front(front_ptr self, storage_config cfg,
                                           std::shared_ptr<metrics> m) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.m = std::move(m);
  if (st.cfg.max_batch == 0)
    st.cfg.max_batch = 1;
  auto n = std::max<std::size_t>(1, st.cfg.pool_size);
  st.up.assign(n, false);
  st.reported.assign(n, false);
  st.busy.assign(n, false);
  for (uint32_t i = 0; i < n; ++i) {
    auto w = self->spawn<caf::detached + caf::linked>(storage_worker, i, st.cfg,
                                                      storage_actor{self}, st.m);
    st.workers.push_back(w);
  }
  return {
      [=](write_atom, db_job& job) -> caf::result<std::any> {
        auto rp = self->make_response_promise<std::any>();
        enqueue(self, self->state.writes, std::move(job), rp);
        return rp;
      },
      [=](read_atom, db_job& job) -> caf::result<std::any> {
        auto rp = self->make_response_promise<std::any>();
        enqueue(self, self->state.reads, std::move(job), rp);
        return rp;
      },
      [=](ready_atom) -> caf::result<storage_status> {
        auto& st = self->state;
        auto up = static_cast<uint32_t>(st.workers_up());
        if (up == 0)
          return storage_status{false, false, 0};
        auto rp = self->make_response_promise<storage_status>();
        auto probe = make_job<bool>("readiness", [](soci::session& sql) {
          return storage::migrations_applied(sql, storage::embedded_migrations());
        });
        self->request(storage_actor{self}, st.cfg.request_timeout, read_atom::value,
                      std::move(probe))
            .then(
                [=](std::any& v) mutable {
                  rp.deliver(storage_status{true, std::any_cast<bool>(v),
                                            static_cast<uint32_t>(self->state.workers_up())});
                },
                [=](caf::error&) mutable {
                  rp.deliver(storage_status{false, false,
                                            static_cast<uint32_t>(self->state.workers_up())});
                });
        return rp;
      },
      [=](flush_atom) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        self->state.flush_waiters.push_back(rp);
        pump(self);
        answer_flush_waiters(self);
        return rp;
      },
      [=](done_atom, uint64_t id, uint32_t worker, std::vector<db_result>& results) {
        auto& st = self->state;
        if (worker < st.busy.size())
          st.busy[worker] = false;
        auto it = st.batches.find(id);
        if (it != st.batches.end()) {
          auto& b = it->second;
          if (!b.abandoned)
            for (std::size_t i = 0; i < b.rps.size() && i < results.size(); ++i) {
              if (results[i].error)
                b.rps[i].deliver(std::move(results[i].error));
              else
                b.rps[i].deliver(std::move(results[i].value));
            }
          st.batches.erase(it);
        }
        pump(self);
        answer_flush_waiters(self);
      },
      [=](timeout_atom, uint64_t id) {
        auto& st = self->state;
        auto it = st.batches.find(id);
        if (it == st.batches.end() || it->second.abandoned)
          return;
        it->second.abandoned = true;
        for (auto& rp : it->second.rps)
          rp.deliver(caf::make_error(sb_error::timeout, std::string{"database request timed out"}));
        answer_flush_waiters(self);
      },
      [=](up_atom, uint32_t worker) {
        auto& st = self->state;
        if (worker < st.up.size()) {
          if (!st.up[worker] && st.workers_up() == 0)
            core::log(core::log_level::info, "database available");
          st.up[worker] = true;
          st.reported[worker] = true;
        }
        st.m->storage_workers_up(st.workers_up());
        pump(self);
      },
      [=](down_atom, uint32_t worker) {
        auto& st = self->state;
        if (worker < st.up.size()) {
          st.up[worker] = false;
          st.reported[worker] = true;
        }
        st.m->storage_workers_up(st.workers_up());
        if (st.known_down()) {
          fail_queued(st.writes);
          fail_queued(st.reads);
          answer_flush_waiters(self);
        }
      },
      [=](tick_atom) {
        self->state.tick_scheduled = false;
        pump(self);
      },
  };
}

} // namespace

storage_actor spawn_storage(caf::actor_system& sys, storage_config cfg,
                            std::shared_ptr<metrics> m) {
  return sys.spawn(storage_front, std::move(cfg), std::move(m));
}

} // namespace switchboard::actors
