#pragma once

// A per-provider circuit breaker: after a run of provider-side failures the provider is left
// alone for a cool-down, then one probe decides whether it is back. Pure logic over an injected
// clock (every call takes `now`), so it is tested without waiting.

#include <chrono>
#include <cstdint>

namespace switchboard::core {

/// The breaker's states, in the order of their gauge values (0, 1, 2).
enum class circuit_state : int { closed = 0, half_open = 1, open = 2 };

/// "closed", "half_open" or "open".
const char* to_string(circuit_state s);

/// When the breaker opens and for how long.
struct circuit_settings {
  int failure_threshold = 5;                         ///< consecutive failures that open it
  std::chrono::milliseconds cooldown{30000};         ///< first open period
  std::chrono::milliseconds max_cooldown{5 * 60000}; ///< it doubles on each failed probe, to this
};

/// How a call through the breaker ended, as far as the provider's health goes.
enum class call_outcome {
  success,  ///< the provider answered (2xx, or a 4xx refusing this one message)
  failure,  ///< provider-side: 5xx, 408, 429, a timeout or a connection error
  abandoned ///< the call was not made after all (its row was claimed elsewhere)
};

/// A provider's HTTP answer as the breaker sees it: 5xx, 408 and 429 (and no status at all) are
/// the provider's failures; any other answer shows it up, even one refusing the message.
call_outcome provider_call_outcome(int http_status);

/// Leave to make one call; pass it back with the call's outcome.
struct circuit_permit {
  bool allowed = false;
  bool probe = false;      ///< the single call of a half-open breaker
  uint64_t generation = 0; ///< outcomes of calls let through before the last change are ignored
  std::chrono::milliseconds wait{0}; ///< when refused: how long until calls may be tried again
};

/// One provider's breaker: closed, open after `failure_threshold` consecutive failures, half-open
/// once the cool-down has passed (one probe call; its success closes it, its failure opens it
/// again for twice as long, up to max_cooldown). Not thread-safe: one owner (the adapter actor).
class circuit_breaker {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit circuit_breaker(circuit_settings settings = {});

  /// Whether a call may go now; a half-open breaker lets exactly one through (the probe).
  circuit_permit acquire(time_point now);

  /// Whether acquire would let a call through now, without taking the probe.
  bool would_allow(time_point now) const;

  /// Records how a permitted call ended.
  void record(const circuit_permit& permit, call_outcome outcome, time_point now);

  /// The state at `now` (an open breaker whose cool-down has passed is half-open).
  circuit_state state(time_point now) const;

  /// How long an open breaker stays open from `now` (0 when it is not open).
  std::chrono::milliseconds open_for(time_point now) const;

  /// How many times it has opened (counting re-opens after a failed probe).
  uint64_t opens() const { return opens_; }

  /// Consecutive failures counted while closed.
  int failures() const { return failures_; }

private:
  void open(time_point now);
  /// Turns an open breaker half-open once its cool-down has passed.
  void advance(time_point now);

  circuit_settings settings_;
  circuit_state state_ = circuit_state::closed;
  int failures_ = 0;
  uint64_t generation_ = 0;
  uint64_t opens_ = 0;
  bool probing_ = false;
  std::chrono::milliseconds cooldown_{0}; ///< of the current (or last) open period
  time_point open_until_{};
};

} // namespace switchboard::core
