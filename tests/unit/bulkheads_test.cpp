#include <catch2/catch.hpp>

#include <algorithm>

#include "core/bulkheads.hpp"

using namespace switchboard::core;
using namespace std::chrono_literals;
using clock_type = bulkheads::clock;

namespace {

const clock_type::time_point t0{};

bulkhead_limits limits(std::size_t total, std::size_t per_provider,
                       std::map<std::string, std::size_t> overrides = {}) {
  bulkhead_limits l;
  l.total = total;
  l.per_provider = per_provider;
  l.overrides = std::move(overrides);
  return l;
}

} // namespace

TEST_CASE("bulkhead_of: a provider's token endpoint shares its bulkhead", "[bulkheads]") {
  CHECK(bulkhead_of("mtn_oauth") == "mtn");
  CHECK(bulkhead_of("mtn") == "mtn");
  CHECK(bulkhead_of("whatsapp") == "whatsapp");
  CHECK(bulkhead_of("llm") == "llm");
}

TEST_CASE("bulkheads: a provider's calls beyond its budget wait in its own queue, in order",
          "[bulkheads]") {
  bulkheads b{limits(100, 2, {{"whatsapp", 3}})};
  for (uint64_t id = 1; id <= 5; ++id)
    b.push("whatsapp", id, t0 + 10s);
  CHECK(b.take_startable() == std::vector<uint64_t>{1, 2, 3});
  CHECK(b.in_flight("whatsapp") == 3);
  CHECK(b.queued("whatsapp") == 2);
  CHECK(b.take_startable().empty()); // the budget is spent until a call ends
  b.done("whatsapp");
  CHECK(b.take_startable() == std::vector<uint64_t>{4});
  b.done("whatsapp");
  b.done("whatsapp");
  CHECK(b.take_startable() == std::vector<uint64_t>{5});
  CHECK(b.queued("whatsapp") == 0);
}

TEST_CASE("bulkheads: a provider holding its whole budget does not hold back another",
          "[bulkheads]") {
  bulkheads b{limits(8, 4)};
  // WhatsApp hangs: its 4 calls never end, 6 more wait.
  for (uint64_t id = 1; id <= 10; ++id)
    b.push("whatsapp", id, t0 + 30s);
  CHECK(b.take_startable().size() == 4);
  // SMS calls still start at once, up to their own budget.
  for (uint64_t id = 11; id <= 14; ++id)
    b.push("mtn", id, t0 + 30s);
  CHECK(b.take_startable() == std::vector<uint64_t>{11, 12, 13, 14});
  CHECK(b.in_flight("whatsapp") == 4);
  CHECK(b.queued("whatsapp") == 6);
  CHECK(b.in_flight("mtn") == 4);
  CHECK(b.budget("whatsapp") == 4);
  CHECK(b.budget("mtn") == 4);
}

TEST_CASE("bulkheads: when the total binds, queued providers take turns", "[bulkheads]") {
  bulkheads b{limits(4, 4)};
  for (uint64_t id = 1; id <= 4; ++id)
    b.push("a", id, t0 + 10s);
  for (uint64_t id = 11; id <= 14; ++id)
    b.push("b", id, t0 + 10s);
  auto first = b.take_startable();
  REQUIRE(first.size() == 4);
  CHECK(std::count_if(first.begin(), first.end(), [](uint64_t id) { return id < 10; }) == 2);
  CHECK(b.total_in_flight() == 4);
  // One of each ends: the next turn again gives one each, not two to whoever queued first.
  b.done("a");
  b.done("b");
  auto next = b.take_startable();
  REQUIRE(next.size() == 2);
  CHECK(std::count_if(next.begin(), next.end(), [](uint64_t id) { return id < 10; }) == 1);
}

TEST_CASE("bulkheads: a budget is capped by the total and is at least one", "[bulkheads]") {
  bulkheads b{limits(4, 0, {{"llm", 100}, {"smtp", 0}})};
  CHECK(b.budget("llm") == 4);
  CHECK(b.budget("smtp") == 1); // 0 = the default, itself 0 here: at least one
  CHECK(b.budget("unknown") == 1);
  // Configured providers are listed before any call (their gauges show 0).
  CHECK(b.providers() == std::vector<std::string>{"llm", "smtp"});
}

TEST_CASE("bulkheads: a queued call past its deadline expires; its turn goes to the next",
          "[bulkheads]") {
  bulkheads b{limits(10, 1)};
  b.push("whatsapp", 1, t0 + 30s); // in flight, hung
  b.push("whatsapp", 2, t0 + 5s);  // a typing indicator: short deadline
  b.push("whatsapp", 3, t0 + 30s);
  CHECK(b.take_startable() == std::vector<uint64_t>{1});
  CHECK(b.next_deadline() == t0 + 5s);
  CHECK(b.take_expired(t0 + 4s).empty());
  CHECK(b.take_expired(t0 + 5s) == std::vector<uint64_t>{2});
  CHECK(b.queued("whatsapp") == 1);
  CHECK(b.next_deadline() == t0 + 30s);
  b.done("whatsapp");
  CHECK(b.take_startable() == std::vector<uint64_t>{3});
  CHECK(!b.next_deadline());
  CHECK(b.take_expired(t0 + 60s).empty()); // started calls are curl's to time out
}
