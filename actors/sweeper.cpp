#include <optional>
#include <set>

#include "actors/common.hpp"
#include "storage/db.hpp"
#include "storage/inbox.hpp"
#include "storage/retention.hpp"

namespace switchboard::actors {

using std::chrono::system_clock;

namespace {

/// How often stalled sends and unanswered messages are looked for.
constexpr auto outbox_interval = std::chrono::seconds{1};

struct sweeper_state {
  static inline const char* name = "sweeper";
  sweeper_deps deps;
  bool polling = false;      ///< an inbox poll is in flight
  std::set<int32_t> hinted;  ///< shards hinted since the last hinted poll started
  bool hint_polling = false; ///< a hinted poll is in flight
  bool purging = false;      ///< a retention pass is under way
};

using sweeper_ptr = sweeper_actor::stateful_pointer<sweeper_state>;

/// A table's retention horizon (0: kept forever).
std::chrono::seconds horizon_of(const sweeper_deps& cfg, storage::retained t) {
  switch (t) {
  case storage::retained::inbox:
  case storage::retained::processed_webhooks:
    return cfg.inbox.retention;
  case storage::retained::delivery_status_early:
    return cfg.retention.parked_status;
  case storage::retained::message_delivery_log:
  case storage::retained::omnichannel_sessions:
    return cfg.retention.delivery_log;
  case storage::retained::provider_notifications:
  case storage::retained::bot_answers: // the hand-offs' lifetime: the console shows both
    return cfg.retention.notifications;
  }
  return std::chrono::seconds{0};
}

/// One batch of a retention pass: table `table` (index in storage::retained_tables()), its
/// `batch`-th batch. Each batch is its own short write job; the next starts when it is done, so
/// purging never holds locks across batches. A table is done after a short batch or
/// retention.max_batches of them.
void purge_step(sweeper_ptr self, std::size_t table, std::size_t batch) {
  auto& d = self->state.deps;
  const auto& tables = storage::retained_tables();
  const auto& r = d.retention;
  while (table < tables.size() && horizon_of(d, tables[table]).count() == 0)
    ++table;
  auto& in = d.inbox;
  bool busy = d.load && d.load->busy(in.yield_rate, in.yield_backlog);
  if (table >= tables.size() || busy) {
    // Done, or the acknowledgements need the database now: the next sweep goes on.
    self->state.purging = false;
    return;
  }
  auto t = tables[table];
  auto horizon = horizon_of(d, t);
  auto limit = static_cast<int>(r.batch_rows);
  db_write<int>(
      self, d.storage, "purge_retained",
      [t, horizon, limit](soci::session& sql) {
        return storage::purge_batch(sql, t, horizon, limit);
      },
      [self, table, batch, t, limit](int& n) {
        if (n > 0)
          self->state.deps.stats->rows_purged(storage::table_name(t), static_cast<double>(n));
        bool more = n >= limit && batch + 1 < self->state.deps.retention.max_batches;
        purge_step(self, more ? table : table + 1, more ? batch + 1 : 0);
      },
      [self, table](caf::error&) { purge_step(self, table + 1, 0); });
}

/// The outbox's claims of one round: stalled sends and notifications resumed, unanswered
/// messages replayed to their session; in a cluster only the rows of `only`'s shards.
void claim_outbox(sweeper_ptr self, std::chrono::milliseconds lease,
                  const storage::owned_shards& only) {
  auto& d = self->state.deps;
  db_write<std::vector<storage::delivery_row>>(
      self, d.storage, "claim_due",
      [lease, only](soci::session& sql) {
        return storage::claim_due_deliveries(sql, system_clock::now(), lease, 200, only);
      },
      [self](std::vector<storage::delivery_row>& rows) {
        for (auto& r : rows) {
          core::log(core::log_level::info, "resuming a stalled send",
                    {{"delivery_id", r.id}, {"correlation_id", r.correlation_id}});
          dispatch_send(self->state.deps.channels, r);
        }
      },
      [](caf::error&) {});
  db_write<std::vector<storage::notification_row>>(
      self, d.storage, "claim_due_notifications",
      [lease, only](soci::session& sql) {
        return storage::claim_due_notifications(sql, system_clock::now(), lease, 200, only);
      },
      [self](std::vector<storage::notification_row>& rows) {
        for (auto& n : rows)
          dispatch_notification(self->state.deps.channels, n);
      },
      [](caf::error&) {});
  db_write<std::vector<storage::delivery_row>>(
      self, d.storage, "claim_unanswered",
      [lease, only](soci::session& sql) {
        return storage::claim_unanswered_inbound(sql, system_clock::now(), lease, 200, only);
      },
      [self](std::vector<storage::delivery_row>& rows) {
        for (auto& r : rows)
          self->send(self->state.deps.targets.sessions, replay_atom::value, r.recipient, r.id,
                     r.claim_token);
      },
      [](caf::error&) {});
}

/// Hinted polls are at least this far apart: under load the hints of many batches become one
/// poll, and entities already woken are not woken again by every batch.
constexpr auto hint_spacing = std::chrono::milliseconds{50};

/// A wake-up hint's poll: the pending rows of the hinted shards, whatever their age (1 round
/// trip). Hints arriving meanwhile are polled together afterwards, `hint_spacing` later. While
/// the acknowledgements need the database (busy) hints are dropped: the inbox poll finds the
/// rows when it resumes.
void poll_hinted(sweeper_ptr self) {
  auto& st = self->state;
  auto& d = st.deps;
  if (st.hint_polling || st.hinted.empty())
    return;
  auto& in = d.inbox;
  if (d.load && d.load->busy(in.yield_rate, in.yield_backlog)) {
    st.hinted.clear();
    return;
  }
  std::vector<int32_t> shards(st.hinted.begin(), st.hinted.end());
  st.hinted.clear();
  st.hint_polling = true;
  // The next hinted poll, hint_spacing after this one ends.
  auto next = [self] {
    self->delayed_send(self, hint_spacing, resume_atom::value, deferred_step{[self] {
                         self->state.hint_polling = false;
                         poll_hinted(self);
                       }});
  };
  db_read<std::vector<storage::pending_entity>>(
      self, d.storage, "pending_inbox_hinted",
      [shards](soci::session& sql) {
        return storage::pending_inbox(sql, std::chrono::milliseconds{0}, 1000, shards);
      },
      [self, next](std::vector<storage::pending_entity>& pending) {
        for (auto& p : pending)
          wake(self->state.deps.targets, p.kind, p.entity);
        if (!pending.empty())
          self->state.deps.stats->count("inbox_rewakes", "hint",
                                        static_cast<double>(pending.size()));
        next();
      },
      [next](caf::error&) { next(); });
}

sweeper_actor::behavior_type sweeper_fn(sweeper_ptr self, sweeper_deps deps) {
  self->state.deps = std::move(deps);
  for (auto t : storage::retained_tables())
    self->state.deps.stats->rows_purged(storage::table_name(t), 0);
  self->send(self, sweep_atom::value);
  self->delayed_send(self, outbox_interval, outbox_atom::value);
  self->delayed_send(self, self->state.deps.inbox.poll_interval, inbox_atom::value);
  return {
      [=](resume_atom, deferred_step& step) { step(); },
      [=](sweep_atom) {
        // Expiry is durable: sessions close in the database, whether or not an actor is alive.
        auto& d = self->state.deps;
        db_write<int>(
            self, d.storage, "close_expired",
            [](soci::session& sql) {
              return storage::close_expired_sessions(sql, system_clock::now());
            },
            [self](int& n) {
              if (n > 0) {
                for (int i = 0; i < n; ++i)
                  self->state.deps.stats->session_event("expired");
                core::log(core::log_level::info, "expired sessions closed", {{"count", n}});
              }
            },
            [](caf::error&) {});
        // Rows past their table's horizon go, a batch at a time (one pass at once).
        if (!self->state.purging) {
          self->state.purging = true;
          purge_step(self, 0, 0);
        }
        // Table sizes for /metrics (retention shows as sizes that level off). 1 round trip.
        db_read<std::vector<std::pair<std::string, int64_t>>>(
            self, d.storage, "table_sizes",
            [](soci::session& sql) { return storage::table_sizes(sql); },
            [self](std::vector<std::pair<std::string, int64_t>>& sizes) {
              for (auto& [table, bytes] : sizes)
                self->state.deps.stats->table_bytes(table, static_cast<double>(bytes));
            },
            [](caf::error&) {});
        self->delayed_send(self, d.sweep_interval, sweep_atom::value);
      },
      [=](inbox_atom) {
        // Pending rows whose wake-up was lost (a crash between ack and processing, a node
        // that stopped): wake their entities again. 1 round trip per poll.
        auto& d = self->state.deps;
        self->delayed_send(self, d.inbox.poll_interval, inbox_atom::value);
        auto& in = d.inbox;
        if (self->state.polling || (d.load && d.load->busy(in.yield_rate, in.yield_backlog)))
          return; // processing yields to the acknowledgements: nobody would be admitted now
        self->state.polling = true;
        auto grace = d.inbox.poll_grace;
        std::optional<std::vector<int32_t>> owned;
        if (d.cluster) {
          // A cluster: only the shards owned here, and without waiting for a wake-up that
          // never comes to this node when another one ingested the row.
          owned = d.cluster->processing();
          grace = std::min(grace, d.inbox.poll_interval);
        }
        db_read<std::vector<storage::pending_entity>>(
            self, d.storage, "pending_inbox",
            [grace, owned](soci::session& sql) {
              return owned ? storage::pending_inbox(sql, grace, 1000, *owned)
                           : storage::pending_inbox(sql, grace, 1000);
            },
            [self](std::vector<storage::pending_entity>& pending) {
              self->state.polling = false;
              for (auto& p : pending)
                wake(self->state.deps.targets, p.kind, p.entity);
              if (!pending.empty())
                self->state.deps.stats->count("inbox_rewakes", "poller",
                                              static_cast<double>(pending.size()));
            },
            [self](caf::error&) { self->state.polling = false; });
      },
      [=](inbox_atom, std::vector<int32_t>& shards) {
        self->state.hinted.insert(shards.begin(), shards.end());
        poll_hinted(self);
      },
      [=](outbox_atom) {
        auto& d = self->state.deps;
        auto lease = d.claim_lease;
        self->delayed_send(self, outbox_interval, outbox_atom::value);
        // A cluster: only the rows of the shards processed here, so that resumed sends, retries
        // and replays never race between nodes (none while the leases are not healthy).
        storage::owned_shards only;
        if (d.cluster) {
          only.shards = d.cluster->shards();
          only.owned = d.cluster->processing();
        }
        bool claims = !d.cluster || !only.owned.empty();
        if (claims)
          claim_outbox(self, lease, only);
        // Rows waiting per provider, for /metrics. 1 round trip.
        auto sms_service = d.channels.sms_provider;
        db_read<std::vector<storage::queued_count>>(
            self, d.storage, "outbox_queued",
            [sms_service](soci::session& sql) {
              return storage::queued_by_service(sql, sms_service);
            },
            [self](std::vector<storage::queued_count>& counts) {
              std::map<std::string, std::pair<int64_t, int64_t>> by{
                  {"whatsapp", {}}, {"mtn", {}}, {"twilio", {}}, {"telegram", {}}, {"smtp", {}}};
              for (auto& c : counts)
                by[c.service] = {c.queued, c.due};
              for (auto& [service, n] : by)
                self->state.deps.stats->outbox_queued(service, static_cast<double>(n.first),
                                                      static_cast<double>(n.second));
            },
            [](caf::error&) {});
      },
  };
}

struct edge_state {
  static inline const char* name = "edge";
  storage_actor storage;
  std::chrono::milliseconds timeout{0};
};

using edge_ptr = edge_actor::stateful_pointer<edge_state>;

edge_actor::behavior_type edge_fn(edge_ptr self, storage_actor storage,
                                  std::chrono::milliseconds timeout) {
  self->state.storage = std::move(storage);
  self->state.timeout = timeout;
  return {
      [=](db_job& job, bool write, edge_callback& done) {
        auto& st = self->state;
        auto req = write ? self->request(st.storage, st.timeout, write_atom::value, std::move(job))
                         : self->request(st.storage, st.timeout, read_atom::value, std::move(job));
        req.then([done](std::any& v) { done(json_reply(200, *std::any_cast<nlohmann::json>(&v))); },
                 [done](caf::error& e) { done(error_reply(e)); });
      },
      [=](resume_atom, deferred_step& step) { step(); },
      [=](ready_atom, std::function<void(storage_status)>& done) {
        auto& st = self->state;
        self->request(st.storage, st.timeout, ready_atom::value)
            .then([done](storage_status st) { done(st); },
                  [done](caf::error&) { done(storage_status{}); });
      },
  };
}

} // namespace

sweeper_actor spawn_sweeper(caf::actor_system& sys, sweeper_deps deps) {
  return sys.spawn(sweeper_fn, std::move(deps));
}

edge_actor spawn_edge(caf::actor_system& sys, storage_actor storage,
                      std::chrono::milliseconds timeout) {
  return sys.spawn(edge_fn, std::move(storage), timeout);
}

} // namespace switchboard::actors
