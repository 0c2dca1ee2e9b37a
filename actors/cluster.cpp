// The lease actor: one per node (cluster.enabled). Detached, on a database connection of its
// own, so that renewals never queue behind processing: every TTL/4 it heartbeats and renews all
// of the node's shards in one statement, takes free or expired shards up to a fair share of the
// live members (1 more statement, only when short), and hands over shards beyond that share
// (released on the round after they stopped being processed, so in-flight work has drained).
// Lease traffic: 1-2 statements per node per TTL/4. Beside it, the wake-up hint listener:
// LISTEN on a connection of its own, the owned shards of other nodes' inbox rows to the sweeper.

#include "actors/cluster.hpp"

#include <algorithm>
#include <set>

#include <soci/soci.h>

#include "actors/common.hpp"
#include "storage/db.hpp"

namespace switchboard::actors {

namespace {

struct lease_state {
  static inline const char* name = "leases";
  std::string dsn;
  std::shared_ptr<metrics> stats;
  std::shared_ptr<cluster_view> view;
  inbox_targets targets;
  storage::cluster_member me;
  std::unique_ptr<soci::session> sql;
  std::unique_ptr<storage::lease_store> store;
  bool shards_ensured = false;
  std::vector<int32_t> releasing; ///< no longer processed; released on the next round
  bool was_healthy = false;
};

using lease_ptr = lease_actor::stateful_pointer<lease_state>;

/// Tells the routers to stop the entity actors of shards this node no longer processes.
void stop_shards(lease_ptr self, const std::vector<int32_t>& shards) {
  if (shards.empty())
    return;
  auto& t = self->state.targets;
  if (t.sessions)
    self->send(t.sessions, lost_atom::value, shards);
  if (t.conversations)
    self->send(t.conversations, lost_atom::value, shards);
}

bool connect(lease_ptr self) {
  auto& st = self->state;
  if (st.sql && storage::connection_ok(*st.sql))
    return true;
  st.store.reset();
  st.sql.reset();
  try {
    st.sql = storage::open_session(st.dsn);
    // A renewal that cannot finish within half the TTL is no renewal.
    storage::exec_script(*st.sql,
                         "SET statement_timeout = "
                             + std::to_string(std::max<long>(100, st.view->ttl().count() / 2)));
    st.store = storage::make_pg_lease_store(*st.sql);
    return true;
  } catch (const std::exception& e) {
    core::log(core::log_level::warn, "lease connection failed", {{"error", e.what()}});
    st.sql.reset();
    return false;
  }
}

/// One round: renew (1 round trip), then take or hand over towards the fair share.
void lease_round(lease_ptr self) {
  auto& st = self->state;
  auto& view = *st.view;
  auto& stats = *st.stats;
  auto ttl = view.ttl();
  auto shards = static_cast<int>(view.shards());
  auto rejected = view.take_rejected();
  if (!rejected.empty()) {
    stats.cluster_epoch_rejection(rejected.size());
    stats.cluster_shards_lost("rejected", rejected.size());
    core::log(core::log_level::warn, "shards lost: a fenced write found another epoch",
              {{"shards", std::to_string(rejected.size())}});
    stop_shards(self, rejected);
  }
  if (!connect(self)) {
    stats.cluster_renewal(false);
    return;
  }
  try {
    if (!st.shards_ensured) {
      stats.count("cluster_lease_statements", "ensure");
      st.store->ensure_shards(shards);
      st.shards_ensured = true;
    }
    // Shards handed over: no longer processed since the last round, released now.
    if (!st.releasing.empty()) {
      stats.count("cluster_lease_statements", "release");
      st.store->release(st.me.node_id, st.releasing);
      stats.cluster_shards_lost("released", st.releasing.size());
      st.releasing.clear();
    }
    auto before = view.held();
    auto sent = cluster_view::clock::now();
    bool was_expired = view.expired();
    stats.count("cluster_lease_statements", "renew");
    auto r = st.store->renew(st.me, ttl);
    stats.cluster_renewal(true);
    std::set<std::pair<int32_t, int64_t>> now_held;
    for (auto& l : r.held)
      now_held.emplace(l.shard, l.epoch);
    std::vector<int32_t> lost;
    for (auto& l : before)
      if (!now_held.count({l.shard, l.epoch}))
        lost.push_back(l.shard);
    if (!lost.empty()) {
      stats.cluster_shards_lost(was_expired ? "expired" : "stolen", lost.size());
      core::log(core::log_level::warn, "shards lost to another node",
                {{"shards", std::to_string(lost.size())}});
    }
    // Shards lost while not healthy were already stopped locally; stopping twice is harmless.
    stop_shards(self, lost);
    view.renewed(r.held, sent);
    st.was_healthy = true;
    auto share = fair_share(shards, r.live_members);
    auto held = static_cast<int>(r.held.size());
    if (held < share) {
      stats.count("cluster_lease_statements", "take");
      auto taken = st.store->take(st.me.node_id, shards, share - held, ttl);
      view.add(taken);
      for (auto& t : taken)
        if (t.taken_over_ms >= 0)
          stats.cluster_failover(static_cast<double>(t.taken_over_ms) / 1000.0);
      if (!taken.empty())
        core::log(core::log_level::info, "shards taken",
                  {{"shards", std::to_string(taken.size())},
                   {"owned", std::to_string(held + static_cast<int>(taken.size()))},
                   {"live_members", std::to_string(r.live_members)}});
    } else if (held > share) {
      // Hand over the highest shards beyond the share: stop processing them now, release
      // them on the next round.
      for (auto it = r.held.rbegin(); it != r.held.rend() && held > share; ++it, --held)
        st.releasing.push_back(it->shard);
      view.drop(st.releasing);
      stop_shards(self, st.releasing);
    }
  } catch (const std::exception& e) {
    stats.cluster_renewal(false);
    core::log(core::log_level::warn, "lease renewal failed", {{"error", e.what()}});
    if (st.sql && !storage::connection_ok(*st.sql)) {
      st.store.reset();
      st.sql.reset();
    }
  }
  if (!view.healthy() && st.was_healthy) {
    st.was_healthy = false;
    // Not renewed within 2/3 of the TTL: stop processing every shard locally.
    std::vector<int32_t> all;
    for (auto& l : view.held())
      all.push_back(l.shard);
    core::log(core::log_level::warn, "leases not renewed in time; processing stops");
    stop_shards(self, all);
  }
  stats.cluster_shards(view.processing().size(), view.healthy());
}

lease_actor::behavior_type lease_fn(lease_ptr self, std::string dsn, std::string address,
                                    std::shared_ptr<cluster_view> view, inbox_targets targets,
                                    std::shared_ptr<metrics> stats) {
  auto& st = self->state;
  st.dsn = std::move(dsn);
  st.stats = std::move(stats);
  st.view = std::move(view);
  st.targets = std::move(targets);
  st.me.node_id = st.view->node();
  st.me.address = std::move(address);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // A clean stop hands every shard over at once (a crash waits for the leases to expire).
    auto& st = self->state;
    try {
      if (st.store) {
        st.stats->count("cluster_lease_statements", "leave");
        st.store->leave(st.me.node_id);
      }
    } catch (const std::exception& e) {
      core::log(core::log_level::warn, "leaving the cluster failed", {{"error", e.what()}});
    }
    self->quit(msg.reason);
  });
  self->send(self, tick_atom::value);
  return {
      [=](tick_atom) {
        auto period = self->state.view->ttl() / 4;
        auto t0 = std::chrono::steady_clock::now();
        lease_round(self);
        auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - t0);
        self->delayed_send(self, std::max(std::chrono::milliseconds{10}, period - spent),
                           tick_atom::value);
      },
  };
}

struct hint_state {
  static inline const char* name = "hints";
  std::string dsn;
  std::chrono::milliseconds reconnect_backoff{500};
  std::shared_ptr<cluster_view> view;
  sweeper_actor sweeper;
  std::unique_ptr<soci::session> sql;
};

using hint_ptr = hint_actor::stateful_pointer<hint_state>;

/// How long one round waits for a notification (exit messages are handled between rounds).
constexpr auto hint_wait = std::chrono::milliseconds{200};

/// One round: waits for hints, hands the owned shards among them to the sweeper. Answers when
/// to run again (at once after a wait; after a pause when the connection failed).
std::chrono::milliseconds hint_round(hint_ptr self) {
  auto& st = self->state;
  try {
    if (!st.sql || !storage::connection_ok(*st.sql)) {
      st.sql = storage::open_session(st.dsn);
      storage::listen_inbox_hints(*st.sql);
    }
    auto hinted = storage::wait_inbox_hints(*st.sql, hint_wait, st.view->node());
    std::vector<int32_t> owned;
    for (auto s : hinted)
      if (st.view->owns_shard(s))
        owned.push_back(s);
    if (!owned.empty())
      self->send(st.sweeper, inbox_atom::value, std::move(owned));
    return std::chrono::milliseconds{0};
  } catch (const std::exception& e) {
    core::log(core::log_level::warn, "wake-up hints: connection failed", {{"error", e.what()}});
    st.sql.reset();
    return st.reconnect_backoff;
  }
}

hint_actor::behavior_type hints_fn(hint_ptr self, std::string dsn,
                                   std::chrono::milliseconds reconnect_backoff,
                                   std::shared_ptr<cluster_view> view, sweeper_actor sweeper) {
  self->state.dsn = std::move(dsn);
  self->state.reconnect_backoff = reconnect_backoff;
  self->state.view = std::move(view);
  self->state.sweeper = std::move(sweeper);
  self->send(self, tick_atom::value);
  return {
      [=](tick_atom) {
        auto pause = hint_round(self);
        if (pause.count() == 0)
          self->send(self, tick_atom::value);
        else
          self->delayed_send(self, pause, tick_atom::value);
      },
  };
}

} // namespace

hint_actor spawn_hints(caf::actor_system& sys, std::string dsn,
                       std::chrono::milliseconds reconnect_backoff,
                       std::shared_ptr<cluster_view> view, sweeper_actor sweeper) {
  return sys.spawn<caf::detached>(hints_fn, std::move(dsn), reconnect_backoff, std::move(view),
                                  std::move(sweeper));
}

lease_actor spawn_leases(caf::actor_system& sys, std::string dsn, std::string address,
                         std::shared_ptr<cluster_view> view, inbox_targets targets,
                         std::shared_ptr<metrics> stats) {
  return sys.spawn<caf::detached>(lease_fn, std::move(dsn), std::move(address), std::move(view),
                                  std::move(targets), std::move(stats));
}

} // namespace switchboard::actors
