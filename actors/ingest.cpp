// The acknowledgement path: blocking actors, each on its own thread and connection, that store
// webhooks' inbox rows in batches. The HTTP edge sends to them directly (not through the
// storage actor or the scheduler), so processing never delays an acknowledgement: a worker takes
// what its mailbox holds, up to a batch, writes it with one multi-row INSERT (1 round trip, an
// INSERT commits by itself), answers every request, and takes the next batch that formed
// meanwhile (group commit without a timer).

#include "actors/ingest.hpp"

#include <mutex>

#include <caf/all.hpp>
#include <soci/soci.h>

#include "actors/common.hpp"
#include "actors/metrics.hpp"
#include "core/log.hpp"
#include "storage/cluster.hpp"
#include "storage/db.hpp"
#include "storage/inbox.hpp"

namespace switchboard::actors {

using core::sb_error;

namespace {

struct pending {
  std::vector<core::inbox_entry> entries;
  std::vector<batch_callback> done;
};

/// One worker's connection, opened lazily and again after a loss, at most once per backoff.
class connection {
public:
  explicit connection(const ingest_config& cfg) : cfg_(cfg) {}

  soci::session* get() {
    if (sql_)
      return sql_.get();
    auto now = std::chrono::steady_clock::now();
    if (now < next_try_)
      return nullptr;
    try {
      sql_ = storage::open_session(cfg_.dsn);
      storage::exec_script(*sql_, "SET statement_timeout = "
                                      + std::to_string(cfg_.statement_timeout.count()));
      storage::use_for_ingest_only(*sql_);
      if (!cfg_.node.empty())
        storage::name_hint_sender(*sql_, cfg_.node);
      if (down_)
        core::log(core::log_level::info, "ingest connection restored");
      down_ = false;
    } catch (const std::exception& e) {
      sql_.reset();
      if (!down_)
        core::log(core::log_level::warn, "ingest connection failed", {{"error", e.what()}});
      down_ = true;
      next_try_ = now + cfg_.reconnect_backoff;
    }
    return sql_.get();
  }

  void lost() {
    sql_.reset();
    down_ = true;
    next_try_ = std::chrono::steady_clock::now(); // try again at once on the next batch
  }

private:
  const ingest_config& cfg_;
  std::unique_ptr<soci::session> sql_;
  std::chrono::steady_clock::time_point next_try_;
  bool down_ = false;
};

void fail(pending& batch, const caf::error& e) {
  for (auto& cb : batch.done) {
    db_result r;
    r.error = e;
    cb(r);
  }
}

/// Stores a batch and answers each request.
void flush(connection& conn, pending& batch, metrics& m) {
  auto* sql = conn.get();
  if (sql == nullptr) {
    fail(batch, caf::make_error(sb_error::unavailable, std::string{"database unavailable"}));
    return;
  }
  std::vector<const core::inbox_entry*> ptrs;
  ptrs.reserve(batch.entries.size());
  for (auto& e : batch.entries)
    ptrs.push_back(&e);
  auto t0 = std::chrono::steady_clock::now();
  try {
    auto stored = storage::insert_inbox(*sql, ptrs);
    m.storage_batch(ptrs.size(),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                    true);
    for (std::size_t i = 0; i < batch.done.size(); ++i) {
      db_result r;
      r.value = stored[i];
      batch.done[i](r);
    }
  } catch (...) {
    bool lost = false;
    auto err = storage::map_db_exception(std::current_exception(), sql, lost);
    m.storage_batch(ptrs.size(), 0, false);
    if (lost) {
      conn.lost();
      err = caf::make_error(sb_error::unavailable, std::string{"database unavailable"});
    }
    if (lost || batch.entries.size() == 1) {
      fail(batch, err);
      return;
    }
    // One bad row must not fail the others: each one again, alone.
    for (std::size_t i = 0; i < batch.entries.size(); ++i) {
      pending one;
      one.entries.push_back(std::move(batch.entries[i]));
      one.done.push_back(std::move(batch.done[i]));
      flush(conn, one, m);
    }
  }
}

void ingest_worker(caf::blocking_actor* self, ingest_config cfg, std::shared_ptr<metrics> m) {
  connection conn{cfg};
  conn.get();
  bool running = true;
  pending batch;
  auto take = [&](ingest_atom, core::inbox_entry& e, batch_callback& cb) {
    batch.entries.push_back(std::move(e));
    batch.done.push_back(std::move(cb));
  };
  auto stop = [&](caf::exit_msg& em) {
    running = false;
    self->fail_state(std::move(em.reason));
  };
  while (running) {
    self->receive(take, stop);
    // What arrived meanwhile joins the batch.
    bool more = true;
    while (running && more && batch.entries.size() < cfg.max_batch)
      self->receive(
          take, stop, caf::after(std::chrono::seconds{0}) >> [&] { more = false; });
    if (!batch.entries.empty())
      flush(conn, batch, *m);
    batch.entries.clear();
    batch.done.clear();
  }
}

} // namespace

uint32_t ingest_routes::route(uint32_t shard) {
  std::lock_guard<std::mutex> lock{mu_};
  if (shard >= shards_.size())
    shards_.resize(shard + 1);
  auto& s = shards_[shard];
  if (s.pending == 0) {
    uint32_t best = 0;
    for (uint32_t w = 1; w < queued_.size(); ++w)
      if (queued_[w] < queued_[best])
        best = w;
    s.worker = best;
  }
  ++s.pending;
  ++queued_[s.worker];
  return s.worker;
}

void ingest_routes::done(uint32_t shard) {
  std::lock_guard<std::mutex> lock{mu_};
  auto& s = shards_[shard];
  --s.pending;
  --queued_[s.worker];
}

ingest_pool::ingest_pool(caf::actor_system& sys, ingest_config cfg, std::shared_ptr<metrics> m,
                         std::shared_ptr<ingest_load> load)
    : load_(std::move(load)),
      routes_(std::make_shared<ingest_routes>(std::max<std::size_t>(1, cfg.workers))) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, cfg.workers); ++i)
    workers_.push_back(sys.spawn<caf::detached>(ingest_worker, cfg, m));
}

ingest_pool::~ingest_pool() {
  stop();
}

void ingest_pool::submit(core::inbox_entry entry, batch_callback done) {
  if (workers_.empty()) {
    db_result r;
    r.error = caf::make_error(sb_error::unavailable, std::string{"shutting down"});
    done(r);
    return;
  }
  // Two uncontended lock/unlock pairs a request (route here, done on the worker's thread).
  auto shard = entry.shard;
  auto i = routes_->route(shard);
  load_->submitted();
  // Two clock reads a request: the latency that makes processing yield (inbox.yield_latency_ms).
  batch_callback counted = [load = load_, routes = routes_, shard, done = std::move(done),
                            since = ingest_load::now_ms()](db_result& r) {
    routes->done(shard);
    load->backlog.fetch_sub(1, std::memory_order_relaxed);
    load->acked(ingest_load::now_ms() - since);
    done(r);
  };
  caf::anon_send(workers_[i], ingest_atom::value, std::move(entry), std::move(counted));
}

void ingest_pool::stop() {
  for (auto& w : workers_)
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  workers_.clear();
}

} // namespace switchboard::actors
