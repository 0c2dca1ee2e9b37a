#pragma once

// Serial work for entity actors (sessions, conversations): one event at a time in arrival order,
// idle detection and passivation. The actor's state has a member `work` of type entity_work and
// `key` (its router key) and `router`. Include from actor implementation files only.

#include <chrono>
#include <functional>
#include <vector>

#include "actors/common.hpp"

namespace switchboard::actors {

/// The work queue of an entity actor. Times come from the actor's clock (simulated in tests).
struct entity_work {
  std::vector<std::function<void()>> items; ///< not a deque: an empty deque allocates ~600 B
  bool busy = false;
  bool stopping = false;
  caf::actor_clock::time_point last_activity;
};

/// Starts the next item unless one runs; quits when passivated and idle.
template <class Self> void pump(Self* self) {
  auto& w = self->state.work;
  if (w.busy)
    return;
  if (w.items.empty()) {
    if (w.stopping)
      self->quit();
    return;
  }
  w.busy = true;
  auto item = std::move(w.items.front());
  w.items.erase(w.items.begin()); // queues are a few items long
  item();
}

/// Ends the current item (every item calls it exactly once) and starts the next.
template <class Self> void finish(Self* self) {
  self->state.work.busy = false;
  self->state.work.last_activity = self->clock().now();
  pump(self);
}

/// Queues an item.
template <class Self> void enqueue(Self* self, std::function<void()> item) {
  self->state.work.last_activity = self->clock().now();
  self->state.work.items.push_back(std::move(item));
  pump(self);
}

/// The router asked the entity to stop: it does once its queue is empty.
template <class Self> void stop_when_idle(Self* self) {
  self->state.work.stopping = true;
  pump(self);
}

/// How often an entity checks whether it has been idle long enough to be passivated.
inline std::chrono::milliseconds idle_check_interval(std::chrono::seconds idle) {
  return std::max<std::chrono::milliseconds>(idle / 2, std::chrono::milliseconds{100});
}

/// Arms the idle checks of a newly spawned entity.
template <class Self> void start_idle_checks(Self* self) {
  self->state.work.last_activity = self->clock().now();
  self->delayed_send(self, idle_check_interval(self->state.svc->cfg.actors.idle_passivate),
                     tick_atom::value);
}

/// The periodic idle check: idle long enough asks the router for passivation, else re-arms.
template <class Self> void idle_tick(Self* self) {
  auto& st = self->state;
  auto idle = st.svc->cfg.actors.idle_passivate;
  auto quiet = self->clock().now() - st.work.last_activity;
  if (!st.work.busy && st.work.items.empty() && quiet >= idle)
    self->send(st.router, idle_atom::value, st.key);
  else
    self->delayed_send(self, idle_check_interval(idle), tick_atom::value);
}

} // namespace switchboard::actors
