#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace switchboard::core {

/// How long to keep retrying a provider call and how far apart.
struct backoff_policy {
  std::chrono::milliseconds base{1000};                         ///< cap of the first delay
  std::chrono::milliseconds max_delay{std::chrono::minutes{5}}; ///< cap of any jittered delay
  std::chrono::milliseconds horizon{
      std::chrono::hours{24}}; ///< give up this long after the 1st try
  int max_attempts = 10;       ///< total attempts, the first included
};

/// Source of uniform random numbers in [0, 1); injected so tests are deterministic.
using jitter_source = std::function<double()>;

/// A jitter source backed by a per-thread std::mt19937_64 seeded from std::random_device.
jitter_source default_jitter();

/// Delay before the next attempt after `attempts` failed ones, `elapsed` after the first
/// started: exponential backoff with full jitter (uniform in [0, min(max_delay,
/// base * 2^(attempts-1))]), never shorter than `retry_after`. nullopt when the attempt budget
/// is spent or the retry would start after the horizon.
std::optional<std::chrono::milliseconds>
next_retry_delay(const backoff_policy& policy, int attempts, std::chrono::milliseconds elapsed,
                 std::optional<std::chrono::milliseconds> retry_after, const jitter_source& jitter);

/// Parses a Retry-After header: delta-seconds ("120") or an HTTP-date (IMF-fixdate, RFC 850 or
/// asctime form), relative to `now`. A date in the past gives 0; nullopt when unparseable.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view header,
                                                      std::chrono::system_clock::time_point now);

/// The durable retry schedule of outbox rows: the delay after each failed attempt (the last one
/// repeats) and how long a row of each kind is worth trying (Svix's schedule by default).
struct outbox_schedule {
  std::vector<std::chrono::milliseconds> delays{std::chrono::seconds{5},  std::chrono::minutes{5},
                                                std::chrono::minutes{30}, std::chrono::hours{2},
                                                std::chrono::hours{5},    std::chrono::hours{10}};
  std::chrono::milliseconds summary_horizon{std::chrono::hours{24}}; ///< post-call summaries
  std::chrono::milliseconds reply_horizon{std::chrono::minutes{10}}; ///< replies to a live chat
  std::chrono::milliseconds default_horizon{std::chrono::hours{6}};  ///< everything else
};

/// The horizon of a row of `message_type` ("summary", "reply"; anything else: the default).
std::chrono::milliseconds horizon_for(const outbox_schedule& schedule,
                                      std::string_view message_type);

/// When a row whose `attempts`-th attempt just failed is tried next, `age` after it was queued:
/// the schedule's delay for that attempt (the last repeats), shortened by up to a quarter by the
/// jitter `r` in [0, 1], never shorter than `retry_after`, and clamped so that the last try falls
/// on the horizon itself (the retries span the whole horizon). nullopt once the horizon has
/// passed, or when `retry_after` points past it.
std::optional<std::chrono::milliseconds>
next_outbox_attempt(const outbox_schedule& schedule, std::chrono::milliseconds horizon,
                    int attempts, std::chrono::milliseconds age,
                    std::optional<std::chrono::milliseconds> retry_after, double r);

/// True for statuses worth retrying: 408, 425, 429 and every 5xx.
bool is_transient_http_status(int status);

} // namespace switchboard::core
