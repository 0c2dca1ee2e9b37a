#pragma once

// Serial work for entity actors (sessions, conversations): one event at a time in arrival order,
// and telling the router when the entity has nothing left to do (the router passivates entities
// that stay idle; entities keep no timer of their own). The actor's state has a member `work`
// of type entity_work, `key` (its router key) and `router`. Include from actor implementation
// files only.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "actors/common.hpp"

namespace switchboard::actors {

/// The work queue of an entity actor.
struct entity_work {
  /// Queued items, allocated only while there are some (an idle entity keeps 8 bytes, not a
  /// vector's 24; not a deque: an empty deque allocates ~600 B).
  std::unique_ptr<std::vector<std::function<void()>>> items;
  uint32_t routed = 0; ///< messages received from the router (see settle)
  uint16_t holds = 0;  ///< activities outside the queue still running (an accept, a burst)
  bool busy = false;
  bool stopping = false;
  bool parked = false; ///< told the router it only waits (see park)
};

/// Whether the entity has nothing queued, running or held.
template <class Self> bool entity_idle(Self* self) {
  auto& w = self->state.work;
  return !w.busy && (!w.items || w.items->empty()) && w.holds == 0;
}

/// Counts a message the router sent (wake-ups, requests); call in those handlers.
template <class Self> void from_router(Self* self) {
  ++self->state.work.routed;
  self->state.work.parked = false; // the router counts it as working again
}

/// Tells the router, once per wait, that the entity's one remaining activity (its one hold) is
/// a wait: nothing queued or running, no database work until the wait ends. The caller knows
/// what the hold is. The router no longer counts it against inbox.min_active (router.hpp).
template <class Self> void park(Self* self) {
  auto& w = self->state.work;
  if (w.parked || w.busy || (w.items && !w.items->empty()) || w.holds != 1 || w.stopping)
    return;
  w.parked = true;
  self->send(self->state.router, parked_atom::value, self->state.key, w.routed);
}

/// Called whenever work ends: an idle entity stops when passivated, else tells the router how
/// many of its messages it has seen, so that the router ignores the report when it has routed
/// more since.
template <class Self> void settle(Self* self) {
  if (!entity_idle(self))
    return;
  auto& w = self->state.work;
  w.items.reset(); // idle entities keep no buffers
  if (w.stopping)
    self->quit();
  else
    self->send(self->state.router, idle_atom::value, self->state.key, w.routed);
}

/// Starts the next item unless one runs.
template <class Self> void pump(Self* self) {
  auto& w = self->state.work;
  if (w.busy)
    return;
  if (!w.items || w.items->empty()) {
    settle(self);
    return;
  }
  w.busy = true;
  auto item = std::move(w.items->front());
  w.items->erase(w.items->begin()); // queues are a few items long
  item();
}

/// Ends the current item (every item calls it exactly once) and starts the next.
template <class Self> void finish(Self* self) {
  self->state.work.busy = false;
  pump(self);
}

/// Queues an item.
template <class Self> void enqueue(Self* self, std::function<void()> item) {
  auto& w = self->state.work;
  if (!w.items)
    w.items = std::make_unique<std::vector<std::function<void()>>>();
  w.items->push_back(std::move(item));
  pump(self);
}

/// An activity outside the queue begins (the entity is not idle until it ends).
template <class Self> void hold(Self* self) {
  ++self->state.work.holds;
}

/// An activity begun with hold() ended.
template <class Self> void release(Self* self) {
  auto& w = self->state.work;
  if (w.holds > 0)
    --w.holds;
  settle(self);
}

/// The router passivated the entity: it stops once it is idle.
template <class Self> void stop_when_idle(Self* self) {
  self->state.work.stopping = true;
  if (entity_idle(self))
    self->quit();
}

} // namespace switchboard::actors
