// The keyed router and entity work queue (actors/router.hpp, actors/entity.hpp) under CAF's
// deterministic test scheduler: spawn on demand, one actor per key, passivation when idle, and no
// message lost across incarnations.

#include <catch2/catch.hpp>

#include <map>

#include "actors/entity.hpp"
#include "actors/router.hpp"

using namespace switchboard;
using namespace switchboard::actors;

namespace {

/// What the dummy entities saw: (key, message, incarnation) in processing order.
struct journal {
  std::vector<std::tuple<std::string, std::string, caf::actor_id>> seen;
};

using dummy_entity = caf::typed_actor<caf::reacts_to<std::string>, caf::reacts_to<stop_atom>>;
using dummy_router = caf::typed_actor<
    caf::reacts_to<std::string, std::string>, caf::reacts_to<wake_atom, std::string>,
    caf::reacts_to<idle_atom, std::string, uint32_t>,
    caf::reacts_to<parked_atom, std::string, uint32_t>, caf::reacts_to<sweep_atom>>;

/// What the dummy router and its entities are given.
struct dummy_deps {
  router_deps routing;
};

struct dummy_state {
  static inline const char* name = "dummy";
  std::string key;
  std::shared_ptr<const dummy_deps> deps;
  dummy_router router;
  entity_work work;
  journal* log = nullptr;
};

dummy_entity::behavior_type dummy_fn(dummy_entity::stateful_pointer<dummy_state> self,
                                     std::string key, std::shared_ptr<const dummy_deps> deps,
                                     dummy_router router, journal* log) {
  self->state.key = std::move(key);
  self->state.deps = std::move(deps);
  self->state.router = std::move(router);
  self->state.log = log;
  return {
      [=](std::string& msg) {
        if (msg == "self-release") { // from the entity itself, not routed
          release(self);
          return;
        }
        from_router(self);
        self->state.log->seen.emplace_back(self->state.key, msg, self->id());
        if (msg == "hold") {
          hold(self); // busy outside the queue until "release"
        } else if (msg == "stale") {
          // An idle report sent just before this message arrived, overtaken by it.
          hold(self);
          self->send(self->state.router, idle_atom::value, self->state.key,
                     self->state.work.routed - 1);
        } else if (msg == "release") {
          release(self);
        } else if (msg == "woken") {
          if (self->state.work.holds == 0)
            hold(self); // its work runs until "release"
        } else if (msg == "park then idle") {
          park(self);
          self->send(self, std::string{"self-release"}); // idle on its own, while parked
        } else if (msg == "park") {
          park(self); // its one hold is a wait
        } else if (msg == "park twice") {
          park(self);
          park(self); // told once per wait
        } else if (msg == "nothing") {
          // routed to it, nothing done: working again until it parks or idles
        } else {
          enqueue(self, [=] { finish(self); });
        }
      },
      [=](stop_atom) { stop_when_idle(self); },
  };
}

dummy_router::behavior_type
router_fn(dummy_router::stateful_pointer<keyed_router_state<dummy_entity, dummy_deps>> self,
          std::shared_ptr<const dummy_deps> deps, journal* log) {
  self->state.deps = std::move(deps);
  self->state.kind = "dummy";
  watch_entities(self);
  auto entity = [=](const std::string& key) -> dummy_entity& {
    return route_to(self, key, [=](const std::string& k) {
      return self->spawn<caf::monitored>(dummy_fn, k, self->state.deps, dummy_router{self}, log);
    });
  };
  return {
      [=](std::string& key, std::string& msg) { self->send(entity(key), std::move(msg)); },
      [=](wake_atom, const std::string& key) {
        // A wake-up admitted starts the entity's work (a hold until "release").
        if (admit_wake(self, key))
          self->send(entity(key), std::string{"woken"});
        else
          log->seen.emplace_back(key, "refused", 0);
      },
      [=](idle_atom, const std::string& key, uint32_t seen) { mark_idle(self, key, seen); },
      [=](parked_atom, const std::string& key, uint32_t seen) { mark_parked(self, key, seen); },
      [=](sweep_atom) { sweep_idle(self); },
  };
}

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<dummy_deps> deps = std::make_shared<dummy_deps>();
  journal log;
  dummy_router router;

  fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    deps->routing.stats = std::make_shared<metrics>();
    deps->routing.idle_passivate = std::chrono::seconds{10};
    router = sys->spawn(router_fn, std::shared_ptr<const dummy_deps>{deps}, &log);
    sched->run();
  }

  ~fixture() {
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    sched->run();
  }

  void send(const std::string& key, const std::string& msg) {
    caf::anon_send(router, key, msg);
    sched->run();
  }

  /// Whether a wake-up for `key` was admitted (the entity then works until "release").
  bool wake(const std::string& key) {
    auto before = log.seen.size();
    caf::anon_send(router, wake_atom::value, key);
    sched->run();
    REQUIRE(log.seen.size() == before + 1);
    return std::get<1>(log.seen.back()) == "woken";
  }

  std::size_t live() {
    return deps->routing.stats->render().find("switchboard_live_actors{kind=\"dummy\"} 0")
                   != std::string::npos
               ? 0
               : 1;
  }
};

} // namespace

TEST_CASE("one actor per key, spawned on demand, messages in order", "[router]") {
  fixture f;
  f.send("+1", "a");
  f.send("+2", "b");
  f.send("+1", "c");
  REQUIRE(f.log.seen.size() == 3);
  CHECK(std::get<0>(f.log.seen[0]) == "+1");
  CHECK(std::get<1>(f.log.seen[2]) == "c");
  CHECK(std::get<2>(f.log.seen[0]) == std::get<2>(f.log.seen[2])); // same incarnation for +1
  CHECK(std::get<2>(f.log.seen[0]) != std::get<2>(f.log.seen[1]));
}

TEST_CASE("idle entities are passivated; the next message starts a new incarnation", "[router]") {
  fixture f;
  f.send("+1", "a");
  auto first = std::get<2>(f.log.seen[0]);
  // Half the idle period: still active, the sweep re-arms.
  f.sched->advance_time(std::chrono::seconds{5});
  f.sched->run();
  f.send("+1", "b");
  CHECK(std::get<2>(f.log.seen[1]) == first);
  // Quiet for longer than the idle period: the router's sweep passivates it and it stops.
  for (int i = 0; i < 4; ++i) {
    f.sched->advance_time(std::chrono::seconds{5});
    f.sched->run();
  }
  CHECK(f.live() == 0);
  f.send("+1", "c");
  REQUIRE(f.log.seen.size() == 3);
  CHECK(std::get<2>(f.log.seen[2]) != first);
}

TEST_CASE("a message racing with passivation is neither lost nor handled twice", "[router]") {
  fixture f;
  f.send("+1", "a");
  // The entity's idle check fires and a new message for it arrives at the router in the same
  // instant: whichever incarnation handles it, it is handled exactly once.
  f.sched->advance_time(std::chrono::seconds{11});
  caf::anon_send(f.router, std::string{"+1"}, std::string{"b"});
  f.sched->run();
  f.sched->advance_time(std::chrono::seconds{11});
  f.sched->run();
  caf::anon_send(f.router, std::string{"+1"}, std::string{"c"});
  f.sched->run();
  std::map<std::string, int> counts;
  for (auto& [key, msg, id] : f.log.seen)
    ++counts[msg];
  CHECK(counts == std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}});
}

TEST_CASE("a busy entity is never passivated, however long it stays busy", "[router]") {
  fixture f;
  f.send("+1", "hold");
  auto first = std::get<2>(f.log.seen[0]);
  for (int i = 0; i < 6; ++i) {
    f.sched->advance_time(std::chrono::seconds{5});
    f.sched->run();
  }
  CHECK(f.live() == 1);
  f.send("+1", "release");
  f.send("+1", "x");
  CHECK(std::get<2>(f.log.seen[2]) == first);
  // Now idle: passivated after the idle period.
  for (int i = 0; i < 6; ++i) {
    f.sched->advance_time(std::chrono::seconds{5});
    f.sched->run();
  }
  CHECK(f.live() == 0);
}

TEST_CASE("an idle report overtaken by a routed message does not passivate the entity",
          "[router]") {
  fixture f;
  f.send("+1", "a");
  auto first = std::get<2>(f.log.seen[0]);
  // The entity is busy again, but its report from before arrives after the router routed.
  f.send("+1", "stale");
  for (int i = 0; i < 6; ++i) {
    f.sched->advance_time(std::chrono::seconds{5});
    f.sched->run();
  }
  CHECK(f.live() == 1);
  f.send("+1", "release");
  f.send("+1", "b");
  CHECK(std::get<2>(f.log.seen.back()) == first);
}

TEST_CASE("slow acknowledgements make processing yield; fast ones and a stray slow one do not",
          "[router]") {
  actors::ingest_load load;
  load.latency_target_ms = 10;
  CHECK_FALSE(load.busy(1000000, 1000000));
  for (int i = 0; i < 5; ++i)
    load.acked(10); // at the target: fine
  CHECK_FALSE(load.busy(1000000, 1000000));
  load.acked(11); // one slow one at a low rate: not yet
  CHECK_FALSE(load.busy(1000000, 1000000));
  load.acked(11); // slow_min of them in the second
  CHECK(load.busy(1000000, 1000000));

  // At 1,000 webhooks a second, 2 % of them must be slow: 19 slow ones are strays, the 20th is
  // a trend.
  actors::ingest_load busy;
  busy.latency_target_ms = 10;
  for (int i = 0; i < 1000; ++i)
    busy.submitted();
  busy.backlog = 0;
  for (int i = 0; i < 19; ++i)
    busy.acked(50);
  CHECK_FALSE(busy.busy(1000000, 1000000));
  busy.acked(50);
  CHECK(busy.busy(1000000, 1000000));

  actors::ingest_load off; // yield_latency_ms = 0: never on latency
  off.acked(100000);
  off.acked(100000);
  CHECK_FALSE(off.busy(1000000, 1000000));
}

TEST_CASE("while acknowledgements are slow, entities that only wait do not count against "
          "min_active; under overload, and against max_active, every live one counts",
          "[router]") {
  fixture f;
  f.deps->routing.inbox.min_active = 2;
  f.deps->routing.inbox.max_active = 4;
  f.deps->routing.inbox.yield_backlog = 0;
  f.deps->routing.inbox.yield_rate = 1000000;
  f.deps->routing.load = std::make_shared<actors::ingest_load>();
  auto& load = *f.deps->routing.load;
  auto slow = [&](bool on) { load.slow_until_ms = on ? ingest_load::now_ms() + 3600000 : 0; };
  slow(true); // slow acknowledgements, the load not high
  REQUIRE(load.busy(1000000, 0));
  REQUIRE_FALSE(load.overloaded(1000000, 0));

  CHECK(f.wake("+1"));
  CHECK(f.wake("+2"));
  CHECK_FALSE(f.wake("+3")); // two working: min_active
  CHECK(f.wake("+1"));       // a live entity is always woken
  f.send("+1", "park twice");
  CHECK(f.wake("+3")); // +1 only waits: two working again (+2, +3)
  CHECK_FALSE(f.wake("+4"));
  f.send("+2", "park");
  f.send("+3", "park");
  CHECK(f.wake("+4"));       // one working (+4), four live
  CHECK_FALSE(f.wake("+5")); // max_active counts the parked ones too
  f.send("+4", "release");   // +4 idle: three live, none working
  CHECK(f.wake("+5"));
  f.send("+1", "nothing"); // routed to: +1 counts as working again (+1, +5)
  CHECK_FALSE(f.wake("+4"));
  f.send("+1", "release"); // a working entity turns idle: one working, three live
  CHECK(f.wake("+4"));
  f.send("+2", "release"); // a parked one turns idle: two working (+4, +5), three live
  CHECK_FALSE(f.wake("+6"));
  f.send("+5", "park");
  CHECK(f.wake("+6"));

  slow(false);               // not yielding: only max_active counts
  CHECK_FALSE(f.wake("+7")); // +3, +4, +5, +6 live
  f.send("+3", "release");
  CHECK(f.wake("+7")); // working: +4, +6, +7

  slow(true);
  f.send("+7", "park then idle"); // parked, then idle without a routed message in between
  CHECK_FALSE(f.wake("+8"));      // it was uncounted once: +4, +6 working
  f.send("+6", "park");
  CHECK(f.wake("+8")); // live: +4, +5 and +6 parked, +8; working: +4, +8

  // Overloaded (a backlog to store): the parked ones count against min_active too.
  f.deps->routing.inbox.max_active = 10;
  f.deps->routing.inbox.min_active = 5;
  slow(false);
  load.backlog = 1;
  REQUIRE(load.overloaded(1000000, 0));
  CHECK(f.wake("+9"));        // five live
  CHECK_FALSE(f.wake("+10")); // three working, but five live
  load.backlog = 0;
  slow(true);
  CHECK(f.wake("+10")); // only slow: three working
}
