#include <catch2/catch.hpp>

#include "core/circuit.hpp"

using namespace switchboard::core;
using namespace std::chrono_literals;

namespace {

using time_point = circuit_breaker::time_point;

const time_point t0 = time_point{} + 1000s;

circuit_settings settings(int threshold = 3) {
  circuit_settings s;
  s.failure_threshold = threshold;
  s.cooldown = 10s;
  s.max_cooldown = 40s;
  return s;
}

/// One call at `now` that ends with `outcome` (when it is let through).
bool call(circuit_breaker& b, time_point now, call_outcome outcome) {
  auto p = b.acquire(now);
  if (p.allowed)
    b.record(p, outcome, now);
  return p.allowed;
}

} // namespace

TEST_CASE("circuit: closed until N consecutive provider failures, then open", "[circuit]") {
  circuit_breaker b{settings(3)};
  CHECK(b.state(t0) == circuit_state::closed);
  CHECK(call(b, t0, call_outcome::failure));
  CHECK(call(b, t0, call_outcome::failure));
  CHECK(call(b, t0, call_outcome::success)); // a success breaks the run
  CHECK(b.failures() == 0);
  CHECK(call(b, t0, call_outcome::failure));
  CHECK(call(b, t0, call_outcome::failure));
  CHECK(b.state(t0) == circuit_state::closed);
  CHECK(call(b, t0, call_outcome::failure));
  CHECK(b.state(t0) == circuit_state::open);
  CHECK(b.opens() == 1);
  auto p = b.acquire(t0 + 4s);
  CHECK_FALSE(p.allowed);
  CHECK(p.wait == 6s); // until the cool-down ends
  CHECK(b.open_for(t0 + 4s) == 6s);
  CHECK(b.open_for(t0 + 10s) == 0s);
  CHECK_FALSE(b.would_allow(t0 + 9999ms));
}

TEST_CASE("circuit: abandoned calls and 4xx-style successes do not open it", "[circuit]") {
  circuit_breaker b{settings(2)};
  CHECK(call(b, t0, call_outcome::failure));
  CHECK(call(b, t0, call_outcome::abandoned));
  CHECK(b.failures() == 1);
  CHECK(call(b, t0, call_outcome::success));
  CHECK(call(b, t0, call_outcome::failure));
  CHECK(b.state(t0) == circuit_state::closed);
}

TEST_CASE("circuit: half-open lets one probe through; success closes", "[circuit]") {
  circuit_breaker b{settings(1)};
  call(b, t0, call_outcome::failure);
  REQUIRE(b.state(t0) == circuit_state::open);
  auto later = t0 + 10s;
  CHECK(b.state(later) == circuit_state::half_open);
  CHECK(b.would_allow(later));
  auto probe = b.acquire(later);
  CHECK(probe.allowed);
  CHECK(probe.probe);
  // While the probe is out, everything else waits (briefly).
  CHECK_FALSE(b.would_allow(later));
  auto other = b.acquire(later);
  CHECK_FALSE(other.allowed);
  CHECK(other.wait == 1s);
  b.record(probe, call_outcome::success, later + 100ms);
  CHECK(b.state(later + 100ms) == circuit_state::closed);
  CHECK(b.acquire(later + 100ms).allowed);
  CHECK(b.opens() == 1);
}

TEST_CASE("circuit: a failed probe re-opens it for twice as long, up to the cap", "[circuit]") {
  circuit_breaker b{settings(1)};
  call(b, t0, call_outcome::failure); // open for 10 s
  auto t = t0 + 10s;
  CHECK(call(b, t, call_outcome::failure)); // the probe fails: open for 20 s
  CHECK(b.opens() == 2);
  CHECK(b.state(t + 19s) == circuit_state::open);
  CHECK(b.state(t + 20s) == circuit_state::half_open);
  t += 20s;
  CHECK(call(b, t, call_outcome::failure)); // 40 s
  CHECK(b.state(t + 39s) == circuit_state::open);
  t += 40s;
  CHECK(call(b, t, call_outcome::failure)); // capped at 40 s
  CHECK(b.state(t + 39s) == circuit_state::open);
  CHECK(b.state(t + 40s) == circuit_state::half_open);
  t += 40s;
  CHECK(call(b, t, call_outcome::success));
  CHECK(b.state(t) == circuit_state::closed);
  // Opening again after a recovery starts from the first cool-down.
  CHECK(call(b, t, call_outcome::failure));
  CHECK(b.state(t + 9s) == circuit_state::open);
  CHECK(b.state(t + 10s) == circuit_state::half_open);
}

TEST_CASE("circuit: an abandoned probe hands the probe to the next call", "[circuit]") {
  circuit_breaker b{settings(1)};
  call(b, t0, call_outcome::failure);
  auto t = t0 + 10s;
  auto probe = b.acquire(t);
  REQUIRE(probe.probe);
  b.record(probe, call_outcome::abandoned, t);
  CHECK(b.state(t) == circuit_state::half_open);
  auto next = b.acquire(t);
  CHECK(next.allowed);
  CHECK(next.probe);
}

TEST_CASE("circuit: late answers of calls made before a change are ignored", "[circuit]") {
  circuit_breaker b{settings(2)};
  auto a = b.acquire(t0);
  auto c = b.acquire(t0);
  auto d = b.acquire(t0);
  b.record(a, call_outcome::failure, t0);
  b.record(c, call_outcome::failure, t0); // opens
  REQUIRE(b.state(t0) == circuit_state::open);
  b.record(d, call_outcome::success, t0); // in flight before it opened: no effect
  CHECK(b.state(t0) == circuit_state::open);
  auto t = t0 + 10s;
  auto probe = b.acquire(t);
  b.record(d, call_outcome::success, t); // still not the probe
  CHECK(b.state(t) == circuit_state::half_open);
  b.record(probe, call_outcome::failure, t);
  CHECK(b.state(t) == circuit_state::open);
}

TEST_CASE("circuit: state names and gauge values", "[circuit]") {
  CHECK(std::string{to_string(circuit_state::closed)} == "closed");
  CHECK(std::string{to_string(circuit_state::half_open)} == "half_open");
  CHECK(std::string{to_string(circuit_state::open)} == "open");
  CHECK(static_cast<int>(circuit_state::closed) == 0);
  CHECK(static_cast<int>(circuit_state::half_open) == 1);
  CHECK(static_cast<int>(circuit_state::open) == 2);
}

TEST_CASE("circuit: which answers are the provider's failures", "[circuit]") {
  for (int st : {500, 502, 503, 504, 599, 408, 429, 0})
    CHECK(provider_call_outcome(st) == call_outcome::failure);
  for (int st : {200, 201, 400, 401, 403, 404, 422})
    CHECK(provider_call_outcome(st) == call_outcome::success);
}
