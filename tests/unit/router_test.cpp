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
using dummy_router = caf::typed_actor<caf::reacts_to<std::string, std::string>,
                                      caf::reacts_to<idle_atom, std::string, uint32_t>,
                                      caf::reacts_to<sweep_atom>>;

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
  return {
      [=](std::string& key, std::string& msg) {
        auto& e = route_to(self, key, [=](const std::string& k) {
          return self->spawn<caf::monitored>(dummy_fn, k, self->state.deps, dummy_router{self},
                                             log);
        });
        self->send(e, std::move(msg));
      },
      [=](idle_atom, const std::string& key, uint32_t seen) { mark_idle(self, key, seen); },
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
