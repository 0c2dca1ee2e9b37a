#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/rate_limit.hpp"

using namespace switchboard::core;
using namespace std::chrono_literals;

namespace {

using time_point = token_bucket::time_point;

const time_point t0 = time_point{} + 1000s;

} // namespace

TEST_CASE("token bucket: a burst in a row, then one token per 1/rate", "[rate_limit]") {
  token_bucket b{{3, 0.5}}; // 3 in a row, then one every 2 s
  CHECK(b.full(t0));
  CHECK(b.try_take(t0));
  CHECK(b.try_take(t0));
  CHECK(b.try_take(t0));
  CHECK_FALSE(b.try_take(t0));
  CHECK(b.wait(t0) == 2000ms);
  CHECK(b.wait(t0 + 500ms) == 1500ms);
  CHECK_FALSE(b.try_take(t0 + 1999ms));
  CHECK(b.try_take(t0 + 2000ms));
  CHECK_FALSE(b.try_take(t0 + 2000ms));
  CHECK(b.wait(t0 + 2000ms) == 2000ms);
  CHECK_FALSE(b.full(t0 + 7000ms));
  CHECK(b.full(t0 + 8000ms));
}

TEST_CASE("token bucket: refill is capped at the capacity", "[rate_limit]") {
  token_bucket b{{2, 1}};
  CHECK(b.try_take(t0));
  CHECK(b.try_take(t0));
  // An hour idle refills two tokens, not 3,600.
  auto later = t0 + 3600s;
  CHECK(b.try_take(later));
  CHECK(b.try_take(later));
  CHECK_FALSE(b.try_take(later));
  CHECK(b.wait(later) == 1000ms);
}

TEST_CASE("token bucket: over any window the takes stay within capacity + rate x window",
          "[rate_limit]") {
  token_bucket b{{5, 10.0 / 60.0}}; // 5, then 10 a minute
  int taken = 0;
  for (auto t = t0; t < t0 + 60s; t += 10ms)
    taken += b.try_take(t) ? 1 : 0;
  CHECK(taken >= 14);
  CHECK(taken <= 15);
}

TEST_CASE("token bucket: a clock going backwards neither refills nor breaks it", "[rate_limit]") {
  token_bucket b{{1, 1}};
  CHECK(b.try_take(t0));
  CHECK_FALSE(b.try_take(t0 - 10s));
  CHECK(b.try_take(t0 + 1s));
}

TEST_CASE("token bucket: no limit when the rate or the capacity is 0", "[rate_limit]") {
  for (auto s : {bucket_settings{0, 1}, bucket_settings{5, 0}, bucket_settings{}}) {
    token_bucket b{s};
    for (int i = 0; i < 1000; ++i)
      REQUIRE(b.try_take(t0));
    CHECK(b.wait(t0) == 0ms);
    CHECK(b.full(t0));
  }
}

TEST_CASE("keyed limiter: one bucket per key; a refusal says when to retry, in whole seconds",
          "[rate_limit]") {
  keyed_limiter l{{2, 0.25}, 1000}; // 2 in a row, then one every 4 s
  CHECK(l.take("a", t0).allowed);
  CHECK(l.take("a", t0).allowed);
  auto refused = l.take("a", t0 + 500ms);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 4s); // 3.5 s rounded up
  // Another key has its own budget.
  CHECK(l.take("b", t0).allowed);
  CHECK(l.take("a", t0 + 4s).allowed);
  CHECK_FALSE(l.take("a", t0 + 4s).allowed);
  // A tiny wait is still "retry after 1 s", never 0.
  CHECK(l.take("a", t0 + 7999ms).retry_after == 1s);
}

TEST_CASE("keyed limiter: hostile keys cannot grow it past max_keys; refilled buckets go first",
          "[rate_limit]") {
  keyed_limiter l{{1, 1}, 160}; // 10 a shard
  CHECK(l.take("busy", t0).allowed);
  for (int i = 0; i < 10000; ++i)
    l.take("k" + std::to_string(i), t0 + std::chrono::milliseconds{i / 100});
  CHECK(l.size() <= 160);
  // Keys whose buckets refilled are forgotten without losing anything: a new bucket is full too.
  CHECK(l.take("k1", t0 + 1h).allowed);
}

TEST_CASE("keyed limiter: a key that is being limited stays limited while others churn",
          "[rate_limit]") {
  // Evicting a drained bucket would hand its key a fresh budget; only full buckets (and, when a
  // shard holds nothing else, the least recently used) are dropped.
  keyed_limiter l{{1, 0.001}, 16 * 4};
  CHECK(l.take("flooder", t0).allowed);
  for (int i = 0; i < 50; ++i) {
    CHECK_FALSE(l.take("flooder", t0 + std::chrono::milliseconds{i}).allowed);
    l.take("other" + std::to_string(i), t0 + std::chrono::milliseconds{i});
  }
}

TEST_CASE("keyed limiter: disabled with rate 0; thread-safe under concurrent takes",
          "[rate_limit]") {
  keyed_limiter off{{10, 0}, 100};
  CHECK_FALSE(off.enabled());
  for (int i = 0; i < 100; ++i)
    REQUIRE(off.take("x", t0).allowed);
  CHECK(off.size() == 0);

  keyed_limiter l{{100, 0.001}, 1000};
  std::vector<std::thread> pool;
  std::atomic<int> allowed{0};
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (l.take("shared", t0).allowed)
          ++allowed;
    });
  for (auto& t : pool)
    t.join();
  CHECK(allowed == 100);
}
