#include "actors/storage.hpp"

#include <deque>
#include <future>
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

constexpr milliseconds max_reconnect_backoff{1000};

caf::error unavailable() {
  return caf::make_error(sb_error::unavailable, std::string{"database unavailable"});
}

/// Tries to connect; tells the front whether the worker is up.
void try_connect(worker_ptr self) {
  auto& st = self->state;
  st.reconnect_scheduled = false;
  try {
    st.sql = storage::open_session(st.cfg.database.dsn);
    st.backoff = st.cfg.database.reconnect_backoff;
    self->send(st.front, up_atom::value, st.index);
    return;
  } catch (const std::exception& e) {
    st.sql.reset();
    if (st.backoff == st.cfg.database.reconnect_backoff || st.backoff.count() == 0)
      core::log(core::log_level::warn, "database connection failed",
                {{"worker", st.index}, {"error", e.what()}});
  }
  self->send(st.front, down_atom::value, st.index);
  st.reconnect_scheduled = true;
  self->delayed_send(self, st.backoff, reconnect_atom::value);
  // Doubling, but never past a second: the database is back within a second of returning
  // (a refused connection costs a fraction of a millisecond; an unreachable host is bounded by
  // database.connect_timeout_s, on this worker's own thread).
  st.backoff = std::min(st.backoff * 2,
                        std::max(st.cfg.database.reconnect_backoff, max_reconnect_backoff));
}

void lose_connection(worker_ptr self) {
  auto& st = self->state;
  st.sql.reset();
  self->send(st.front, down_atom::value, st.index);
  if (!st.reconnect_scheduled) {
    st.reconnect_scheduled = true;
    st.backoff = st.cfg.database.reconnect_backoff;
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
  if (jobs.size() == 1 && jobs[0].single_statement) {
    try {
      results[0].value = jobs[0].fn(sql);
    } catch (...) {
      results[0].error = storage::map_db_exception(std::current_exception(), &sql, lost);
    }
    return results;
  }
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
                                                   storage_config cfg,
                                                   std::shared_future<storage_actor> front,
                                                   std::shared_ptr<metrics> m) {
  self->state.index = index;
  self->state.cfg = std::move(cfg);
  self->state.front = front.get(); // set right after the front is spawned (its own thread)
  self->state.m = std::move(m);
  self->state.backoff = self->state.cfg.database.reconnect_backoff;
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
          core::log(core::log_level::warn, "database connection lost", {{"worker", st.index}});
          lose_connection(self);
        }
      },
      [=](reconnect_atom) {
        if (!self->state.sql)
          try_connect(self);
      },
      [=](ready_atom) {
        // Another worker lost its connection: check ours now rather than on the next job.
        auto& st = self->state;
        if (!st.sql)
          return;
        try {
          storage::exec_script(*st.sql, "SELECT 1");
        } catch (...) {
          core::log(core::log_level::warn, "database connection lost", {{"worker", st.index}});
          lose_connection(self);
        }
      },
  };
}

// -- front ---------------------------------------------------------------------------------------

/// Delivers one result to whoever waits for it (a response promise or a batch callback).
using completion = std::function<void(db_result&&)>;

struct pending_job {
  db_job job;
  completion done;
};

/// A queued request of a batch kind.
struct pending_item {
  std::any input;
  batch_callback done;
  bool solo = false; ///< its batch failed: run it alone
};

/// The queue of one batch kind.
struct kind_queue {
  batch_kind_ptr kind;
  std::deque<pending_item> items;
  std::chrono::steady_clock::time_point oldest;
};

struct inflight_batch {
  std::vector<completion> done; ///< plain jobs: one per job
  bool write = false;
  bool abandoned = false; ///< timed out: already answered, waiting for the worker
  // A batch of a batch kind: one job whose value is the vector of per-item results.
  std::size_t kind_index = SIZE_MAX;
  std::shared_ptr<std::vector<std::any>> inputs;
  std::vector<batch_callback> callbacks;
};

struct front_state {
  static inline const char* name = "storage";
  storage_config cfg;
  std::shared_ptr<metrics> m;
  std::vector<storage_worker_actor> workers;
  std::vector<bool> up;
  std::vector<bool> reported; ///< the worker has told whether it connected
  std::vector<bool> busy;
  std::vector<bool> writing; ///< busy with writes or a batch job (what yielding caps)
  std::deque<pending_job> writes;
  std::deque<pending_job> reads;
  std::vector<kind_queue> kinds;
  std::unordered_map<const batch_kind*, std::size_t> kind_index;
  std::size_t next_kind = 0; ///< round robin over the kinds
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

  bool kinds_empty() const {
    return std::all_of(kinds.begin(), kinds.end(), [](auto& k) { return k.items.empty(); });
  }
};

using front_ptr = storage_actor::stateful_pointer<front_state>;

completion promise_completion(caf::typed_response_promise<std::any> rp) {
  return [rp](db_result&& r) mutable {
    if (r.error)
      rp.deliver(std::move(r.error));
    else
      rp.deliver(std::move(r.value));
  };
}

bool writes_in_flight(const front_state& st) {
  return std::any_of(st.batches.begin(), st.batches.end(),
                     [](auto& kv) { return kv.second.write && !kv.second.abandoned; });
}

void answer_flush_waiters(front_ptr self) {
  auto& st = self->state;
  if (st.writes.empty() && st.kinds_empty() && !writes_in_flight(st)) {
    for (auto& rp : st.flush_waiters)
      rp.deliver(true);
    st.flush_waiters.clear();
  }
}

void fail_all(inflight_batch& b, const caf::error& e) {
  for (auto& d : b.done) {
    db_result r;
    r.error = e;
    d(std::move(r));
  }
  for (auto& cb : b.callbacks) {
    db_result r;
    r.error = e;
    cb(r);
  }
}

void fail_queued(front_state& st) {
  for (auto* q : {&st.writes, &st.reads}) {
    for (auto& p : *q) {
      db_result r;
      r.error = unavailable();
      p.done(std::move(r));
    }
    q->clear();
  }
  for (auto& k : st.kinds) {
    for (auto& item : k.items) {
      db_result r;
      r.error = unavailable();
      item.done(r);
    }
    k.items.clear();
  }
}

uint64_t start_batch(front_ptr self, std::size_t worker, bool write, std::vector<db_job> jobs,
                     inflight_batch b) {
  auto& st = self->state;
  auto id = st.next_batch++;
  b.write = write;
  st.batches.emplace(id, std::move(b));
  st.busy[worker] = true;
  self->send(st.workers[worker], batch_atom::value, id, write, std::move(jobs));
  self->delayed_send(self, st.cfg.storage.request_timeout, timeout_atom::value, id);
  return id;
}

void dispatch(front_ptr self, std::size_t worker, bool write, std::deque<pending_job>& q) {
  auto& st = self->state;
  auto n = std::min(q.size(), st.cfg.storage.max_batch);
  std::vector<db_job> jobs;
  inflight_batch b;
  jobs.reserve(n);
  b.done.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    jobs.push_back(std::move(q.front().job));
    b.done.push_back(std::move(q.front().done));
    q.pop_front();
  }
  start_batch(self, worker, write, std::move(jobs), std::move(b));
  if (write && !st.writes.empty())
    st.oldest_write = std::chrono::steady_clock::now();
}

/// Hands up to max_items queued requests of one kind to a worker as one job.
void dispatch_kind(front_ptr self, std::size_t worker, std::size_t index) {
  auto& st = self->state;
  auto& k = st.kinds[index];
  inflight_batch b;
  b.kind_index = index;
  b.inputs = std::make_shared<std::vector<std::any>>();
  auto max = std::max<std::size_t>(1, k.kind->max_items);
  while (!k.items.empty() && b.inputs->size() < max) {
    auto& item = k.items.front();
    if (item.solo && !b.inputs->empty())
      break;
    bool solo = item.solo;
    b.inputs->push_back(std::move(item.input));
    b.callbacks.push_back(std::move(item.done));
    k.items.pop_front();
    if (solo)
      break;
  }
  db_job job;
  job.name = k.kind->name;
  job.single_statement = k.kind->single_statement;
  job.fn = [kind = k.kind, inputs = b.inputs](soci::session& sql) -> std::any {
    return std::any{kind->run(sql, *inputs)};
  };
  std::vector<db_job> jobs;
  jobs.push_back(std::move(job));
  start_batch(self, worker, true, std::move(jobs), std::move(b));
  if (!k.items.empty())
    k.oldest = std::chrono::steady_clock::now();
}

/// Hands queued work to idle workers: reads at once; writes and batch kinds when a batch is full
/// or its oldest request has waited flush_delay (the batch kinds take turns).
void pump(front_ptr self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  auto due = [&](std::size_t size, std::size_t max, std::chrono::steady_clock::time_point oldest) {
    return size > 0 && (size >= max || now - oldest >= st.cfg.storage.flush_delay);
  };
  // While the acknowledgement path is busy, writes and batch jobs take at most yield_workers
  // connections; the job in flight pumps again when it is done, so no tick is needed meanwhile.
  std::size_t cap = st.workers.size();
  if (st.cfg.yielding && st.cfg.storage.yield_workers < cap && st.cfg.yielding())
    cap = std::max<std::size_t>(1, st.cfg.storage.yield_workers);
  std::size_t writing = 0;
  for (std::size_t w = 0; w < st.workers.size(); ++w)
    writing += st.busy[w] && st.writing[w];
  bool capped = false;
  for (std::size_t w = 0; w < st.workers.size(); ++w) {
    if (!st.up[w] || st.busy[w])
      continue;
    if (!st.reads.empty()) {
      dispatch(self, w, false, st.reads);
      st.writing[w] = false;
      continue;
    }
    if (writing >= cap) {
      capped = true;
      break;
    }
    bool dispatched = false;
    for (std::size_t i = 0; i < st.kinds.size() && !dispatched; ++i) {
      auto index = (st.next_kind + i) % st.kinds.size();
      auto& k = st.kinds[index];
      if (due(k.items.size(), std::max<std::size_t>(1, k.kind->max_items), k.oldest)) {
        st.next_kind = index + 1;
        dispatch_kind(self, w, index);
        dispatched = true;
      }
    }
    if (!dispatched && due(st.writes.size(), st.cfg.storage.max_batch, st.oldest_write))
      dispatch(self, w, true, st.writes);
    st.writing[w] = st.busy[w]; // a write or a batch job went to it
    writing += st.writing[w];
  }
  if (!capped && !st.tick_scheduled && (!st.writes.empty() || !st.kinds_empty())) {
    auto oldest = st.writes.empty() ? now : st.oldest_write;
    for (auto& k : st.kinds)
      if (!k.items.empty())
        oldest = std::min(oldest, k.oldest);
    st.tick_scheduled = true;
    auto wait = st.cfg.storage.flush_delay - std::chrono::duration_cast<milliseconds>(now - oldest);
    self->delayed_send(self, std::max(wait, milliseconds{0}), tick_atom::value);
  }
}

void enqueue(front_ptr self, std::deque<pending_job>& q, db_job job, completion done) {
  auto& st = self->state;
  if (st.known_down()) {
    db_result r;
    r.error = unavailable();
    done(std::move(r));
    return;
  }
  if (&q == &st.writes && st.writes.empty())
    st.oldest_write = std::chrono::steady_clock::now();
  q.push_back(pending_job{std::move(job), std::move(done)});
  pump(self);
}

void enqueue_item(front_ptr self, batch_request& req) {
  auto& st = self->state;
  if (!req.kind || !req.kind->run) {
    db_result r;
    r.error = caf::make_error(sb_error::internal, std::string{"batch request without a kind"});
    req.done(r);
    return;
  }
  if (st.known_down()) {
    db_result r;
    r.error = unavailable();
    req.done(r);
    return;
  }
  auto [it, added] = st.kind_index.emplace(req.kind.get(), st.kinds.size());
  if (added)
    st.kinds.push_back(kind_queue{req.kind, {}, {}});
  auto& k = st.kinds[it->second];
  if (k.items.empty())
    k.oldest = std::chrono::steady_clock::now();
  k.items.push_back(pending_item{std::move(req.input), std::move(req.done), false});
  pump(self);
}

/// The answer of a batch-kind job: results to their callbacks, or each input again alone when
/// a batch of several failed for a reason of its own.
void finish_kind_batch(front_ptr self, inflight_batch& b, std::vector<db_result>& results) {
  auto& st = self->state;
  caf::error error = results.empty() ? caf::make_error(sb_error::internal, std::string{"no result"})
                                     : std::move(results[0].error);
  std::vector<db_result>* items = nullptr;
  if (!error && !results.empty())
    items = std::any_cast<std::vector<db_result>>(&results[0].value);
  if (!error && (!items || items->size() != b.callbacks.size()))
    error = caf::make_error(sb_error::internal, std::string{"batch answered the wrong count"});
  if (!error) {
    for (std::size_t i = 0; i < b.callbacks.size(); ++i)
      b.callbacks[i]((*items)[i]);
    return;
  }
  auto code = core::code_of(error);
  if (b.callbacks.size() > 1 && code != sb_error::unavailable && code != sb_error::timeout) {
    auto& k = st.kinds[b.kind_index];
    for (std::size_t i = b.callbacks.size(); i-- > 0;)
      k.items.push_front(pending_item{std::move((*b.inputs)[i]), std::move(b.callbacks[i]), true});
    k.oldest = std::chrono::steady_clock::time_point{};
    return;
  }
  for (auto& cb : b.callbacks) {
    db_result r;
    r.error = error;
    cb(r);
  }
}

storage_actor::behavior_type storage_front(front_ptr self, storage_config cfg,
                                           std::shared_ptr<metrics> m,
                                           std::vector<storage_worker_actor> workers) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.m = std::move(m);
  if (st.cfg.storage.max_batch == 0)
    st.cfg.storage.max_batch = 1;
  auto n = std::max<std::size_t>(1, st.cfg.database.pool_size);
  st.up.assign(n, false);
  st.reported.assign(n, false);
  st.busy.assign(n, false);
  st.writing.assign(n, false);
  for (auto& w : workers) {
    self->link_to(w);
    st.workers.push_back(w);
  }
  return {
      [=](write_atom, db_job& job) -> caf::result<std::any> {
        auto rp = self->make_response_promise<std::any>();
        enqueue(self, self->state.writes, std::move(job), promise_completion(rp));
        return rp;
      },
      [=](read_atom, db_job& job) -> caf::result<std::any> {
        auto rp = self->make_response_promise<std::any>();
        enqueue(self, self->state.reads, std::move(job), promise_completion(rp));
        return rp;
      },
      [=](batch_request& req) { enqueue_item(self, req); },
      [=](write_atom, db_job& job, batch_callback& cb) {
        enqueue(self, self->state.writes, std::move(job),
                [cb = std::move(cb)](db_result&& r) { cb(r); });
      },
      [=](read_atom, db_job& job, batch_callback& cb) {
        enqueue(self, self->state.reads, std::move(job),
                [cb = std::move(cb)](db_result&& r) { cb(r); });
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
        self->request(storage_actor{self}, st.cfg.storage.request_timeout, read_atom::value,
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
          auto b = std::move(it->second);
          st.batches.erase(it);
          if (!b.abandoned) {
            if (b.kind_index != SIZE_MAX)
              finish_kind_batch(self, b, results);
            else
              for (std::size_t i = 0; i < b.done.size() && i < results.size(); ++i)
                b.done[i](std::move(results[i]));
          }
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
        fail_all(it->second,
                 caf::make_error(sb_error::timeout, std::string{"database request timed out"}));
        it->second.done.clear();
        it->second.callbacks.clear();
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
          if (st.up[worker])
            for (std::size_t w = 0; w < st.workers.size(); ++w)
              if (w != worker && st.up[w])
                self->send(st.workers[w], ready_atom::value); // probe the others
          st.up[worker] = false;
          st.reported[worker] = true;
        }
        st.m->storage_workers_up(st.workers_up());
        if (st.known_down()) {
          fail_queued(st);
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
  // The workers are spawned here, on the caller's thread, not by the front: a detached actor's
  // thread inherits the nice value of the thread that spawns it, and a worker holds row locks
  // between the statements of a transaction, so it must not be one that processing's nice
  // value (actors.processing_nice) deschedules while others wait on its locks.
  auto n = std::max<std::size_t>(1, cfg.database.pool_size);
  std::promise<storage_actor> front;
  std::shared_future<storage_actor> handle = front.get_future().share();
  std::vector<storage_worker_actor> workers;
  for (uint32_t i = 0; i < n; ++i)
    workers.push_back(sys.spawn<caf::detached>(storage_worker, i, cfg, handle, m));
  auto self = sys.spawn(storage_front, cfg, std::move(m), std::move(workers));
  front.set_value(self);
  return self;
}

} // namespace switchboard::actors
