// Which ingest worker an inbox entry goes to: one shard's entries stay together while any is
// queued (their ids follow their arrival order), and a busy shard (a flooding sender) holds one
// worker while the others' entries go to the rest.

#include <catch2/catch.hpp>

#include "actors/ingest.hpp"

using switchboard::actors::ingest_routes;

TEST_CASE("ingest routes: a shard's entries stay on one worker while any is queued", "[ingest]") {
  ingest_routes r{2};
  auto first = r.route(7);
  CHECK(r.route(7) == first);
  CHECK(r.route(7) == first);
  r.done(7);
  r.done(7);
  CHECK(r.route(7) == first); // one still queued: joins it
  r.done(7);
  r.done(7);
  // None queued: the shard may go anywhere (the emptiest worker, here the first).
  CHECK(r.route(7) == 0);
  r.done(7);
}

TEST_CASE("ingest routes: a flooding shard holds one worker; the others go to the rest",
          "[ingest]") {
  ingest_routes r{2};
  auto flood = r.route(42);
  for (int i = 0; i < 100; ++i)
    CHECK(r.route(42) == flood);
  // Every other shard, arriving while the flood is queued, goes to the other worker, even the
  // ones that a fixed shard % workers would have put with the flood.
  for (uint32_t shard = 0; shard < 64; ++shard) {
    if (shard == 42)
      continue;
    CHECK(r.route(shard) != flood);
    r.done(shard);
  }
  // Under load on both, a new shard goes to the less loaded one.
  ingest_routes three{3};
  for (int i = 0; i < 10; ++i)
    three.route(1); // worker 0
  for (int i = 0; i < 3; ++i)
    three.route(2); // worker 1
  CHECK(three.route(3) == 2);
  CHECK(three.route(4) == 2);
  three.route(3);
  three.route(3); // worker 2 now has 4
  CHECK(three.route(5) == 1);
}
