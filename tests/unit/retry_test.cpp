#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "core/retry.hpp"

using namespace switchboard::core;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::seconds;
using time_point = std::chrono::system_clock::time_point;

namespace {

jitter_source constant(double x) {
  return [x] { return x; };
}

time_point at_unix(int64_t s) {
  return time_point{seconds{s}};
}

// RFC 9110's example date, Sun, 06 Nov 1994 08:49:37 GMT, as a unix time.
constexpr int64_t rfc_example = 784111777;

} // namespace

TEST_CASE("is_transient_http_status", "[retry]") {
  for (int s = 100; s < 600; ++s) {
    bool expected = s == 408 || s == 425 || s == 429 || s >= 500;
    INFO(s);
    CHECK(is_transient_http_status(s) == expected);
  }
  CHECK_FALSE(is_transient_http_status(0));
  CHECK_FALSE(is_transient_http_status(600));
}

TEST_CASE("next_retry_delay: exponential caps with full jitter", "[retry]") {
  backoff_policy p{1s, 60s, 24h, 10};
  // With the jitter at its top the delay is the cap: 1, 2, 4, ... then max_delay.
  const int64_t caps[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
  for (int attempt = 1; attempt <= 9; ++attempt) {
    INFO(attempt);
    CHECK(next_retry_delay(p, attempt, 0ms, std::nullopt, constant(1.0))
          == milliseconds{caps[attempt - 1]});
    CHECK(next_retry_delay(p, attempt, 0ms, std::nullopt, constant(0.5))
          == milliseconds{caps[attempt - 1] / 2});
    CHECK(next_retry_delay(p, attempt, 0ms, std::nullopt, constant(0.0)) == 0ms);
  }
  // A 0 or negative attempt count is treated as the first retry.
  CHECK(next_retry_delay(p, 0, 0ms, std::nullopt, constant(1.0)) == 1000ms);
  // Out-of-range jitter values are clamped; NaN counts as 0.
  CHECK(next_retry_delay(p, 3, 0ms, std::nullopt, constant(7.0)) == 4000ms);
  CHECK(next_retry_delay(p, 3, 0ms, std::nullopt, constant(-1.0)) == 0ms);
  CHECK(next_retry_delay(p, 3, 0ms, std::nullopt, constant(std::nan(""))) == 0ms);
  // Huge attempt counts saturate at max_delay instead of overflowing.
  backoff_policy many{1s, 60s, 24h, 1 << 30};
  CHECK(next_retry_delay(many, 5000, 0ms, std::nullopt, constant(1.0)) == 60000ms);
}

TEST_CASE("next_retry_delay: jitter stays within [0, cap] and is spread out", "[retry]") {
  backoff_policy p{500ms, 30s, 24h, 100};
  uint64_t state = 1;
  jitter_source lcg = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / static_cast<double>(1ULL << 53);
  };
  for (int attempt = 1; attempt < 12; ++attempt) {
    auto cap = std::min<int64_t>(500LL << (attempt - 1), 30000);
    double sum = 0;
    const int n = 2000;
    for (int i = 0; i < n; ++i) {
      auto d = next_retry_delay(p, attempt, 0ms, std::nullopt, lcg);
      REQUIRE(d);
      CHECK(d->count() >= 0);
      CHECK(d->count() <= cap);
      sum += static_cast<double>(d->count());
    }
    INFO(attempt);
    CHECK(std::abs(sum / n - cap / 2.0) < cap * 0.05);
  }
  auto real = default_jitter();
  for (int i = 0; i < 1000; ++i) {
    auto x = real();
    CHECK(x >= 0.0);
    CHECK(x < 1.0);
  }
}

TEST_CASE("next_retry_delay: Retry-After is a floor", "[retry]") {
  backoff_policy p{1s, 60s, 24h, 10};
  CHECK(next_retry_delay(p, 1, 0ms, milliseconds{30s}, constant(1.0)) == 30000ms);
  CHECK(next_retry_delay(p, 1, 0ms, milliseconds{30s}, constant(0.0)) == 30000ms);
  // Longer than max_delay: still honoured, never retry sooner than the provider asked.
  CHECK(next_retry_delay(p, 1, 0ms, milliseconds{10min}, constant(0.2)) == milliseconds{10min});
  // Shorter than the jittered delay: the jittered delay wins.
  CHECK(next_retry_delay(p, 7, 0ms, milliseconds{1s}, constant(1.0)) == 60000ms);
}

TEST_CASE("next_retry_delay: attempt budget and horizon", "[retry]") {
  backoff_policy p{1s, 60s, 1h, 5};
  CHECK(next_retry_delay(p, 4, 0ms, std::nullopt, constant(1.0)));
  CHECK_FALSE(next_retry_delay(p, 5, 0ms, std::nullopt, constant(0.0)));
  CHECK_FALSE(next_retry_delay(p, 6, 0ms, std::nullopt, constant(0.0)));
  // Ending exactly at the horizon is allowed, one millisecond past it is not.
  CHECK(next_retry_delay(p, 3, milliseconds{1h} - 4000ms, std::nullopt, constant(1.0)) == 4000ms);
  CHECK_FALSE(next_retry_delay(p, 3, milliseconds{1h} - 3999ms, std::nullopt, constant(1.0)));
  // A Retry-After that lands beyond the horizon ends the retries.
  CHECK_FALSE(next_retry_delay(p, 1, 30min, milliseconds{31min}, constant(0.0)));
  CHECK_FALSE(next_retry_delay(p, 1, 2h, std::nullopt, constant(0.0)));
}

TEST_CASE("parse_retry_after: delta-seconds", "[retry]") {
  auto now = at_unix(rfc_example);
  CHECK(parse_retry_after("120", now) == seconds{120});
  CHECK(parse_retry_after("0", now) == seconds{0});
  CHECK(parse_retry_after(" 5\t", now) == seconds{5});
  CHECK(parse_retry_after("99999999999999999999999", now) == seconds{1'000'000'000});
  for (auto bad : {"", "  ", "-1", "1.5", "+3", "12s", "0x10", "1 2"}) {
    INFO(bad);
    CHECK_FALSE(parse_retry_after(bad, now));
  }
}

TEST_CASE("parse_retry_after: HTTP-date forms", "[retry]") {
  auto now = at_unix(rfc_example - 10);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == seconds{10});
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now) == seconds{10});
  CHECK(parse_retry_after("Sun Nov  6 08:49:37 1994", now) == seconds{10});
  // A sub-second "now" rounds up: never earlier than the date.
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now + 500ms) == seconds{10});
  // Dates in the past (or now) mean "retry now".
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at_unix(rfc_example)) == seconds{0});
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at_unix(rfc_example + 3600))
        == seconds{0});
  // Known instants: 2000-02-29 (leap day) and 2038-01-19 03:14:08 (past 32-bit time_t).
  CHECK(parse_retry_after("Tue, 29 Feb 2000 00:00:00 GMT", at_unix(951782400 - 1)) == seconds{1});
  CHECK(parse_retry_after("Tue, 19 Jan 2038 03:14:08 GMT", at_unix(2147483648LL - 60))
        == seconds{60});
  CHECK(parse_retry_after("Friday, 31-Dec-99 23:59:59 GMT", at_unix(946684799 - 2)) == seconds{2});
  CHECK(parse_retry_after("Thursday, 01-Jan-15 00:00:00 GMT", at_unix(1420070400 - 2))
        == seconds{2});

  for (auto bad : {"Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 PST",
                   "Sun, 31 Nov 1994 08:49:37 GMT", "Mon, 29 Feb 1999 00:00:00 GMT",
                   "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                   "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT extra",
                   "1994-11-06T08:49:37Z", "Sun Nov  6 08:49:37", "soon"}) {
    INFO(bad);
    CHECK_FALSE(parse_retry_after(bad, now));
  }
}

TEST_CASE("outbox schedule: the default follows Svix and spans the summary horizon", "[retry]") {
  outbox_schedule s;
  REQUIRE(s.delays.size() == 6);
  CHECK(s.delays[0] == 5s);
  CHECK(s.delays[1] == 5min);
  CHECK(s.delays[5] == 10h);
  CHECK(horizon_for(s, "summary") == 24h);
  CHECK(horizon_for(s, "reply") == 10min);
  CHECK(horizon_for(s, "text") == 6h);
  // Without jitter, attempt after attempt until the horizon: the last try falls on it.
  auto horizon = horizon_for(s, "summary");
  milliseconds age{0};
  int attempts = 1;
  std::vector<milliseconds> delays;
  while (auto d = next_outbox_attempt(s, horizon, attempts, age, std::nullopt, 0.0)) {
    delays.push_back(*d);
    age += *d;
    ++attempts;
  }
  CHECK(age == horizon);
  REQUIRE(delays.size() == 7);
  CHECK(delays[0] == 5s);
  CHECK(delays[4] == 5h);
  CHECK(delays[5] == 10h);
  CHECK(delays[6] == 24h - (5s + 5min + 30min + 2h + 5h + 10h)); // clamped to the horizon
}

TEST_CASE("outbox schedule: jitter shortens a step by at most a quarter, the span holds",
          "[retry]") {
  outbox_schedule s;
  s.delays = {200ms, 500ms, 1000ms};
  CHECK(next_outbox_attempt(s, 10s, 1, 0ms, std::nullopt, 1.0) == 150ms);
  CHECK(next_outbox_attempt(s, 10s, 2, 0ms, std::nullopt, 0.5) == 437ms);
  CHECK(next_outbox_attempt(s, 10s, 9, 0ms, std::nullopt, 0.0) == 1000ms); // the last repeats
  CHECK(next_outbox_attempt(s, 10s, 1, 0ms, std::nullopt, std::nan("")) == 200ms);
  CHECK(next_outbox_attempt(s, 10s, 1, 0ms, std::nullopt, -3.0) == 200ms);
  for (double r : {0.0, 0.3, 0.99, 1.0}) {
    milliseconds age{0};
    int attempts = 1;
    while (auto d = next_outbox_attempt(s, 5s, attempts, age, std::nullopt, r)) {
      CHECK(d->count() > 0);
      age += *d;
      ++attempts;
    }
    INFO(r);
    CHECK(age == 5s); // whatever the jitter, the retries reach the horizon
  }
}

TEST_CASE("outbox schedule: Retry-After and the horizon", "[retry]") {
  outbox_schedule s;
  s.delays = {1s};
  CHECK(next_outbox_attempt(s, 60s, 1, 0ms, milliseconds{30s}, 0.0) == 30s);
  CHECK(next_outbox_attempt(s, 60s, 1, 0ms, milliseconds{200ms}, 0.0) == 1s);
  // A Retry-After past the horizon gives up now rather than sending late.
  CHECK_FALSE(next_outbox_attempt(s, 60s, 1, 40s, milliseconds{30s}, 0.0));
  CHECK(next_outbox_attempt(s, 60s, 1, 59500ms, std::nullopt, 0.0) == 500ms);
  CHECK_FALSE(next_outbox_attempt(s, 60s, 1, 60s, std::nullopt, 0.0));
  CHECK_FALSE(next_outbox_attempt(s, 60s, 1, 61s, std::nullopt, 0.0));
  s.delays.clear(); // a misconfigured empty schedule still retries (every second)
  CHECK(next_outbox_attempt(s, 60s, 3, 0ms, std::nullopt, 0.0) == 1s);
}
