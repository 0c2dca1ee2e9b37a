#include "core/rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace switchboard::core {

bool limits(const bucket_settings& s) {
  return s.capacity > 0 && s.rate_per_s > 0;
}

token_bucket::token_bucket(bucket_settings settings)
    : settings_(settings), tokens_(settings.capacity) {}

double token_bucket::level(time_point now) const {
  if (!started_ || now <= stamp_)
    return tokens_;
  auto elapsed = std::chrono::duration<double>(now - stamp_).count();
  return std::min(settings_.capacity, tokens_ + elapsed * settings_.rate_per_s);
}

bool token_bucket::try_take(time_point now) {
  if (!limits(settings_))
    return true;
  tokens_ = level(now);
  if (!started_ || now > stamp_)
    stamp_ = now;
  started_ = true;
  if (tokens_ < 1.0)
    return false;
  tokens_ -= 1.0;
  return true;
}

std::chrono::milliseconds token_bucket::wait(time_point now) const {
  if (!limits(settings_))
    return std::chrono::milliseconds{0};
  auto have = level(now);
  if (have >= 1.0)
    return std::chrono::milliseconds{0};
  auto ms = std::ceil((1.0 - have) / settings_.rate_per_s * 1000.0);
  return std::chrono::milliseconds{std::max<int64_t>(1, static_cast<int64_t>(ms))};
}

bool token_bucket::full(time_point now) const {
  return !limits(settings_) || level(now) >= settings_.capacity;
}

keyed_limiter::keyed_limiter(bucket_settings settings, std::size_t max_keys)
    : settings_(settings), per_shard_(std::max<std::size_t>(1, max_keys / shard_count)),
      enabled_(limits(settings)) {}

void keyed_limiter::make_room(shard& s, time_point now) {
  for (auto it = s.buckets.begin(); it != s.buckets.end();)
    it = it->second.bucket.full(now) ? s.buckets.erase(it) : std::next(it);
  if (s.buckets.size() < per_shard_)
    return;
  auto oldest = std::min_element(s.buckets.begin(), s.buckets.end(), [](auto& a, auto& b) {
    return a.second.last_used < b.second.last_used;
  });
  s.buckets.erase(oldest);
}

limit_decision keyed_limiter::take(std::string_view key, time_point now) {
  if (!enabled_)
    return {};
  auto& s = shards_[std::hash<std::string_view>{}(key) % shard_count];
  std::lock_guard<std::mutex> guard{s.mtx};
  auto it = s.buckets.find(std::string{key});
  if (it == s.buckets.end()) {
    if (s.buckets.size() >= per_shard_)
      make_room(s, now);
    it = s.buckets.emplace(std::string{key}, entry{token_bucket{settings_}, now}).first;
  }
  it->second.last_used = now;
  if (it->second.bucket.try_take(now))
    return {};
  auto wait = it->second.bucket.wait(now);
  auto secs
      = std::chrono::duration_cast<std::chrono::seconds>(wait + std::chrono::milliseconds{999});
  return {false, std::max(std::chrono::seconds{1}, secs)};
}

std::size_t keyed_limiter::size() const {
  std::size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s.mtx};
    n += s.buckets.size();
  }
  return n;
}

} // namespace switchboard::core
