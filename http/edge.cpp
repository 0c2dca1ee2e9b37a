#include "http/edge.hpp"

#include <chrono>

#include "actors/metrics.hpp"
#include "core/bot/provider_config.hpp"
#include "core/rate_limit.hpp"

namespace switchboard::http {

response to_response(const actors::edge_reply& r) {
  return response::make(r.status, r.body, r.content_type);
}

actors::edge_callback reply_to(responder respond) {
  return [respond = std::move(respond)](actors::edge_reply r) { respond(to_response(r)); };
}

std::string bearer_of(const request& req) {
  auto h = req.headers.get("Authorization");
  if (h.size() > 7 && (h.substr(0, 7) == "Bearer " || h.substr(0, 7) == "bearer "))
    return std::string{h.substr(7)};
  return {};
}

api_rate_limit::api_rate_limit(const config::api_settings& s, actors::metrics& stats)
    : buckets_(std::make_unique<core::keyed_limiter>(
        core::bucket_settings{static_cast<double>(s.burst), s.rate_per_s}, s.max_keys)),
      stats_(stats) {}

api_rate_limit::~api_rate_limit() = default;

bool api_rate_limit::admit(std::string_view route, std::string_view token,
                           const responder& respond) {
  if (!buckets_->enabled())
    return true;
  auto d = buckets_->take(core::api_key_hash(token), std::chrono::steady_clock::now());
  if (d.allowed)
    return true;
  stats_.api_rate_limited(route);
  auto secs = std::to_string(d.retry_after.count());
  auto r = response::error(429, "rate_limited",
                           "too many calls with this API key; retry after " + secs + " s");
  r.headers.add("Retry-After", secs);
  respond(std::move(r));
  return false;
}

} // namespace switchboard::http
