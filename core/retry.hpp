#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

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

/// True for statuses worth retrying: 408, 425, 429 and every 5xx.
bool is_transient_http_status(int status);

} // namespace switchboard::core
