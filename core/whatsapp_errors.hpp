#pragma once

// What the outbox does about WhatsApp Cloud API error codes: a decision the send path (the channel
// actor) and the status path (storage's status flow) share, so it lives in core; the wire codec is
// in providers/whatsapp/.

#include <chrono>
#include <cstdint>

#include "core/error.hpp"

namespace switchboard::core {

/// Error code for a free-form message sent more than 24 hours after the customer's last
/// message; a template has to be used instead.
constexpr int64_t whatsapp_reengagement_error = 131047;

/// True when a send failed because the 24-hour re-engagement window is closed (131047).
bool is_whatsapp_reengagement_error(const caf::error& err);

/// "Message undeliverable": the number is not on WhatsApp (or cannot receive from us).
constexpr int64_t whatsapp_undeliverable_error = 131026;
/// Not a Meta code: a WhatsApp reply whose retries reached its horizon with the provider still
/// failing goes by SMS (queue_whatsapp_fallback), the profile left as it is.
constexpr int64_t whatsapp_outage_fallback = 0;
/// Per-user marketing message limit ("healthy ecosystem engagement").
constexpr int64_t whatsapp_marketing_limit_error = 131049;
/// Too many messages from our number to the same user in a short time.
constexpr int64_t whatsapp_pair_rate_limit_error = 131056;
/// Cloud API throughput of our number reached.
constexpr int64_t whatsapp_throughput_error = 130429;

/// What the outbox does about a WhatsApp error code, synchronous (the send's answer) or
/// asynchronous (a failed status webhook) alike.
enum class whatsapp_error_action {
  none,          ///< the send's ordinary handling (retry when transient, else failed)
  retry,         ///< 130429: retry the send with backoff
  user_backoff,  ///< 131049, 131056: retry this row later; other users are not held back
  reengage,      ///< 131047: the template when one is configured, else SMS
  undeliverable, ///< 131026: the profile is not on WhatsApp; SMS, never a retry
};

/// The action for a Graph API error code.
whatsapp_error_action whatsapp_error_action_for(int64_t code);

/// Shortest wait before a row hit by a per-user limit is tried again (6 s for the pair rate
/// limit, an hour for the marketing limit).
std::chrono::milliseconds whatsapp_user_backoff(int64_t code);

/// How many attempts a row hit by per-user limits gets before it fails for good.
constexpr int whatsapp_user_backoff_attempts = 5;

} // namespace switchboard::core
