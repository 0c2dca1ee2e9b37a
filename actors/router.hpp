#pragma once

// Keyed routers: map an entity key to its actor, spawn on demand, passivate the ones that stay
// idle. Used by the session router (key: phone number) and the conversation router (key:
// "account:conversation"). One map entry per live entity and one sweep timer per router.
// Include from actor implementation files only.

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/common.hpp"

namespace switchboard::actors {

/// State of a keyed router over entities of type Entity, spawned with `Deps` (which the router
/// reads its router_deps from, `deps->routing`, and hands to every entity it spawns).
template <class Entity, class Deps> struct keyed_router_state {
  static inline const char* name = "router";
  struct entry {
    Entity actor;
    caf::actor_clock::time_point idle_since; ///< meaningful when idle
    uint32_t routed = 0;                     ///< messages routed to it
    bool idle = false;
    bool parked = false; ///< not idle, but only waiting (see mark_parked)
  };
  std::shared_ptr<const Deps> deps;
  const char* kind = "entity"; ///< metrics label of the live-actor gauge
  std::unordered_map<std::string, entry> entities;
  std::size_t active = 0;   ///< entities not idle (inbox.max_active)
  std::size_t working = 0;  ///< of those, the ones not parked (inbox.min_active while yielding)
  std::size_t deferred = 0; ///< wake-ups refused since last counted in the metrics
  caf::actor_clock::time_point deferred_counted;

  ~keyed_router_state() {
    for (auto& kv : entities)
      caf::anon_send_exit(kv.second.actor, caf::exit_reason::user_shutdown);
  }
};

/// The entity for `key`, marked busy; `spawn(key)` creates it (monitored) when there is none.
template <class Self, class Spawn> auto& route_to(Self* self, const std::string& key, Spawn spawn) {
  auto& st = self->state;
  auto it = st.entities.find(key);
  if (it == st.entities.end()) {
    typename std::decay_t<decltype(st.entities)>::mapped_type e;
    e.actor = spawn(key);
    e.idle = true; // counted as it turns busy below
    it = st.entities.emplace(key, std::move(e)).first;
    st.deps->routing.stats->live_actors(st.kind, 1);
  }
  if (it->second.idle)
    ++st.active;
  if (it->second.idle || it->second.parked)
    ++st.working;
  it->second.idle = false;
  it->second.parked = false;
  ++it->second.routed;
  return it->second.actor;
}

/// Adds the wake-ups refused so far to the metrics (counted in the router, published in bulk).
template <class Self> void count_deferred(Self* self) {
  auto& st = self->state;
  if (st.deferred > 0)
    st.deps->routing.stats->count("inbox_deferred", st.kind, static_cast<double>(st.deferred));
  st.deferred = 0;
  st.deferred_counted = self->clock().now();
}

/// Forgets an entity's share of the counts before it turns idle or goes away.
template <class State, class Entry> void uncount(State& st, const Entry& e) {
  if (e.idle)
    return;
  --st.active;
  if (!e.parked)
    --st.working;
}

/// Whether a wake-up for an entity that is not working yet may start it now. Processing takes
/// a bounded number of entities (inbox.max_active), and, so that the acknowledgements come
/// first, only inbox.min_active of them:
/// - while webhooks arrive faster than inbox.yield_rate or queue up to be stored (more than
///   inbox.yield_backlog), min_active live ones: each will answer its burst when its window
///   closes, so admitting more adds work the overloaded database does not have time for;
/// - while only the acknowledgements are slower than inbox.yield_latency_ms (the machine is
///   slow, the load is not high), min_active working ones: parked entities (waiting for their
///   gathering window or reply token) make no database work while they wait. Counting them
///   held other users' messages in the inbox for seconds behind one flooding number, or a noisy
///   neighbour, at 400 webhooks/s (bench/isolation_bench: answer p99 1.7 s -> 6.7 s).
/// A wake-up refused is not lost: the rows stay pending and the poller wakes the entity later.
template <class Self> bool admit_wake(Self* self, const std::string& key) {
  auto& st = self->state;
  auto it = st.entities.find(key);
  if (it != st.entities.end() && !it->second.idle)
    return true;
  auto& cfg = st.deps->routing.inbox;
  auto* load = st.deps->routing.load.get();
  bool ok = st.active < cfg.max_active;
  if (ok && load != nullptr) {
    if (load->overloaded(cfg.yield_rate, cfg.yield_backlog))
      ok = st.active < cfg.min_active;
    else if (load->slow())
      ok = st.working < cfg.min_active;
  }
  if (!ok)
    st.deps->routing.stats->count("inbox_deferred", st.kind);
  return ok;
}

/// Whether this node processes the entity: always for a single node; in a cluster, when its
/// shard is owned and the leases are healthy. Wake-ups of others are dropped: their rows stay
/// pending and the owner's poller takes them.
template <class Self> bool owned_here(Self* self, const std::string& key) {
  auto& cluster = self->state.deps->routing.cluster;
  return !cluster || cluster->owns(key);
}

/// The shards were lost (taken over, handed over, or the leases not renewed in time): their
/// entities are forgotten and asked to stop (they finish what is in their mailbox; their
/// fenced writes are refused once another node owns the shard).
template <class Self> void stop_lost(Self* self, const std::vector<int32_t>& shards) {
  auto& st = self->state;
  if (!st.deps->routing.cluster || shards.empty())
    return;
  std::set<int32_t> lost(shards.begin(), shards.end());
  auto n = st.deps->routing.cluster->shards();
  for (auto it = st.entities.begin(); it != st.entities.end();) {
    if (lost.count(static_cast<int32_t>(core::shard_of(it->first, n))) > 0) {
      uncount(st, it->second);
      self->send(it->second.actor, stop_atom::value);
      it = st.entities.erase(it);
    } else {
      ++it;
    }
  }
}

/// How often a router looks for entities idle long enough to passivate.
inline std::chrono::milliseconds sweep_interval(std::chrono::seconds idle) {
  return std::max<std::chrono::milliseconds>(idle / 2, std::chrono::milliseconds{100});
}

/// Counts terminated entities and forgets the ones that died of an error (passivated ones were
/// forgotten when they were asked to stop); arms the idle sweeps.
template <class Self> void watch_entities(Self* self) {
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    st.deps->routing.stats->live_actors(st.kind, -1);
    if (!dm.reason || dm.reason == caf::exit_reason::user_shutdown)
      return;
    for (auto it = st.entities.begin(); it != st.entities.end(); ++it)
      if (it->second.actor.address() == dm.source) {
        uncount(st, it->second);
        st.entities.erase(it);
        break;
      }
    core::log(core::log_level::error, "entity actor died",
              {{"kind", st.kind}, {"reason", caf::to_string(dm.reason)}});
  });
  self->delayed_send(self, sweep_interval(self->state.deps->routing.idle_passivate),
                     sweep_atom::value);
}

/// The entry of an entity's report after seeing `seen` routed messages, or null when it is
/// stale (only its current actor counts, and only when nothing was routed to it since).
template <class Self> auto* reporting_entry(Self* self, const std::string& key, uint32_t seen) {
  auto& st = self->state;
  auto it = st.entities.find(key);
  if (it == st.entities.end() || it->second.routed != seen
      || it->second.actor.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
    return static_cast<decltype(&it->second)>(nullptr);
  return &it->second;
}

/// The entity told it has nothing to do after seeing `seen` routed messages.
template <class Self> void mark_idle(Self* self, const std::string& key, uint32_t seen) {
  auto* e = reporting_entry(self, key, seen);
  if (e == nullptr)
    return;
  uncount(self->state, *e);
  e->idle = true;
  e->parked = false;
  e->idle_since = self->clock().now();
}

/// The entity told it only waits (for its gathering window, for a reply token) after seeing
/// `seen` routed messages: it stays live and counts against inbox.max_active, not against
/// inbox.min_active. The next message routed to it counts it as working again; what it does
/// when its wait ends (one answer for the burst) is not counted again.
template <class Self> void mark_parked(Self* self, const std::string& key, uint32_t seen) {
  auto* e = reporting_entry(self, key, seen);
  if (e == nullptr || e->idle || e->parked)
    return;
  e->parked = true;
  --self->state.working;
}

/// Passivates the entities idle for actors.idle_passivate: forgotten first (new events spawn a
/// fresh one), then asked to stop (they finish what is already in their mailbox). Re-arms.
template <class Self> void sweep_idle(Self* self) {
  auto& st = self->state;
  count_deferred(self);
  auto limit = st.deps->routing.idle_passivate;
  auto now = self->clock().now();
  for (auto it = st.entities.begin(); it != st.entities.end();) {
    if (it->second.idle && now - it->second.idle_since >= limit) {
      self->send(it->second.actor, stop_atom::value);
      it = st.entities.erase(it);
    } else {
      ++it;
    }
  }
  self->delayed_send(self, sweep_interval(limit), sweep_atom::value);
}

} // namespace switchboard::actors
