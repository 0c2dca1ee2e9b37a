#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace switchboard::core {

/// Provider-neutral state of an outbound message, in the order it normally advances.
enum class delivery_status { queued, sent, delivered, read, failed };

/// "queued", "sent", "delivered", "read" or "failed" (the stored form).
std::string to_string(delivery_status x);

/// Parses the stored form; invalid_argument for anything else.
expected<delivery_status> parse_delivery_status(std::string_view text);

/// Maps a Twilio MessageStatus (queued, accepted, scheduled, sending, sent, delivered,
/// undelivered, failed, read, canceled, partially_delivered); nullopt for inbound-only
/// (receiving, received) and unknown values.
std::optional<delivery_status> from_twilio_status(std::string_view status);

/// Maps a WhatsApp Cloud API status (sent, delivered, read, played = read for voice notes,
/// failed); nullopt for others (e.g. deleted, warning).
std::optional<delivery_status> from_whatsapp_status(std::string_view status);

/// Whether a stored status may be replaced by an incoming one. Statuses only move forward
/// (queued < sent < delivered < read, so "delivered" after "read" is ignored); "failed" is
/// accepted only from queued or sent and is terminal unless a retry of the send succeeded.
bool status_may_advance(delivery_status current, delivery_status incoming,
                        bool retry_succeeded = false);

/// What a provider says a message costs: WhatsApp's `pricing` object of status webhooks.
struct message_pricing {
  std::optional<bool> billable; ///< pricing.billable (Meta deprecates it in favour of type)
  std::string model;            ///< pricing.pricing_model: PMP (CBP before July 2025)
  std::string category; ///< pricing.category: marketing, utility, authentication, service, ...
  std::string type;     ///< pricing.type (2025+): regular, free_customer_service, free_entry_point
};

/// Whether the provider reported any pricing at all.
bool has_pricing(const message_pricing& p);

/// Whether the message is charged: pricing.type "regular" when the type is given (Meta's advice
/// since per-message pricing), else pricing.billable.
bool is_billable(const message_pricing& p);

/// Cost units a message counts for: 1 for a billable WhatsApp message, 0 for a free one.
double cost_units(const message_pricing& p);

/// The provider's own numeric error code carried by a send error (e.g. WhatsApp 131047,
/// Twilio 21211), when the codec that produced the error knew it.
std::optional<int64_t> provider_error_code(const caf::error& err);

} // namespace switchboard::core
