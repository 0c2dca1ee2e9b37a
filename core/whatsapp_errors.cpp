#include "core/whatsapp_errors.hpp"

#include "core/delivery.hpp"

namespace switchboard::core {

bool is_whatsapp_reengagement_error(const caf::error& err) {
  return provider_error_code(err) == whatsapp_reengagement_error;
}

whatsapp_error_action whatsapp_error_action_for(int64_t code) {
  switch (code) {
  case whatsapp_reengagement_error:
    return whatsapp_error_action::reengage;
  case whatsapp_undeliverable_error:
    return whatsapp_error_action::undeliverable;
  case whatsapp_marketing_limit_error:
  case whatsapp_pair_rate_limit_error:
    return whatsapp_error_action::user_backoff;
  case whatsapp_throughput_error:
    return whatsapp_error_action::retry;
  default:
    return whatsapp_error_action::none;
  }
}

std::chrono::milliseconds whatsapp_user_backoff(int64_t code) {
  using namespace std::chrono;
  // The pair limit lets about one message through every 6 seconds; the marketing limit is
  // per user and day, so retrying before an hour is pointless.
  if (code == whatsapp_marketing_limit_error)
    return duration_cast<milliseconds>(hours{1});
  if (code == whatsapp_pair_rate_limit_error)
    return duration_cast<milliseconds>(seconds{6});
  return duration_cast<milliseconds>(seconds{1});
}

} // namespace switchboard::core
