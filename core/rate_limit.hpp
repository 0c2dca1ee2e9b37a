#pragma once

// Token buckets: a per-user budget of answers (the session actor's, one bucket in its state) and
// per-key budgets of API calls (one bounded, sharded, mutex-guarded map shared by the HTTP
// threads). Pure logic over an injected clock (every call takes `now`), so it is tested without
// waiting.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace switchboard::core {

/// A bucket's size and refill rate. A rate of 0 (or a capacity of 0) means no limit.
struct bucket_settings {
  double capacity = 0;   ///< tokens when full: how many may go in a row
  double rate_per_s = 0; ///< tokens added a second
};

/// Whether the settings limit anything.
bool limits(const bucket_settings& s);

/// One token bucket, full at first. Not thread-safe: one owner.
class token_bucket {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit token_bucket(bucket_settings settings = {});

  /// Takes a token when there is one (always true without a limit).
  bool try_take(time_point now);

  /// How long until a token is there: 0 when there is one now (nothing is taken).
  std::chrono::milliseconds wait(time_point now) const;

  /// Whether the bucket is full again (an idle bucket may be forgotten then: a new one is the
  /// same).
  bool full(time_point now) const;

  const bucket_settings& settings() const { return settings_; }

private:
  double level(time_point now) const;

  bucket_settings settings_;
  double tokens_;
  time_point stamp_{};
  bool started_ = false;
};

/// The answer of a keyed limiter.
struct limit_decision {
  bool allowed = true;
  std::chrono::seconds retry_after{0}; ///< when refused: whole seconds until a token (>= 1)
};

/// One token bucket per key (an API key's hash), thread-safe and cheap: 16 shards, each a map
/// behind its own mutex, no timer. At most `max_keys` buckets are kept: a shard that is full
/// forgets its buckets that have refilled (forgetting a full bucket changes nothing), and if
/// none has, the one used longest ago (so unknown keys cannot grow memory without bound).
class keyed_limiter {
public:
  using time_point = std::chrono::steady_clock::time_point;

  keyed_limiter(bucket_settings settings, std::size_t max_keys);

  /// Takes a token from the key's bucket.
  limit_decision take(std::string_view key, time_point now);

  /// Buckets held now (all shards).
  std::size_t size() const;

  bool enabled() const { return enabled_; }

private:
  struct entry {
    token_bucket bucket;
    time_point last_used;
  };
  struct shard {
    mutable std::mutex mtx;
    std::unordered_map<std::string, entry> buckets;
  };
  static constexpr std::size_t shard_count = 16;

  void make_room(shard& s, time_point now);

  bucket_settings settings_;
  std::size_t per_shard_;
  bool enabled_;
  std::array<shard, shard_count> shards_;
};

} // namespace switchboard::core
