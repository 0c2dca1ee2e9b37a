#pragma once

// Keyed routers: map an entity key to its actor, spawn on demand, monitor, passivate idle ones.
// Used by the session router (key: phone number) and the conversation router (key:
// "account:conversation"). Include from actor implementation files only.

#include <string>
#include <unordered_map>

#include "actors/common.hpp"

namespace switchboard::actors {

/// State of a keyed router over entities of type Entity.
template <class Entity> struct keyed_router_state {
  static inline const char* name = "router";
  services_ptr svc;
  const char* kind = "entity"; ///< metrics label of the live-actor gauge
  std::unordered_map<std::string, Entity> entities;
  std::unordered_map<caf::actor_addr, std::string> keys;

  ~keyed_router_state() {
    for (auto& kv : entities)
      caf::anon_send_exit(kv.second, caf::exit_reason::user_shutdown);
  }
};

/// The entity for `key`; `spawn(key)` creates it (monitored) when there is none.
template <class Self, class Spawn> auto& route_to(Self* self, const std::string& key, Spawn spawn) {
  auto& st = self->state;
  auto it = st.entities.find(key);
  if (it != st.entities.end())
    return it->second;
  auto a = spawn(key);
  st.keys.emplace(a.address(), key);
  st.svc->stats->live_actors(st.kind, 1);
  return st.entities.emplace(key, a).first->second;
}

/// Forgets entities when they terminate (passivated or failed).
template <class Self> void watch_entities(Self* self) {
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto it = st.keys.find(dm.source);
    if (it == st.keys.end())
      return;
    auto e = st.entities.find(it->second);
    if (e != st.entities.end() && e->second.address() == dm.source)
      st.entities.erase(e);
    st.keys.erase(it);
    st.svc->stats->live_actors(st.kind, -1);
    if (dm.reason && dm.reason != caf::exit_reason::user_shutdown)
      core::log(core::log_level::error, "entity actor died",
                {{"kind", st.kind}, {"reason", caf::to_string(dm.reason)}});
  });
}

/// Passivation asked by the entity itself: forget it first (new events spawn a fresh one), then
/// let it finish what is already in its mailbox and stop.
template <class Self> void passivate(Self* self, const std::string& key) {
  auto& st = self->state;
  auto it = st.entities.find(key);
  if (it == st.entities.end()
      || it->second.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
    return;
  self->send(it->second, stop_atom::value);
  st.entities.erase(it);
}

} // namespace switchboard::actors
