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

/// The provider's own numeric error code carried by a send error (e.g. WhatsApp 131047,
/// Twilio 21211), when the codec that produced the error knew it.
std::optional<int64_t> provider_error_code(const caf::error& err);

} // namespace switchboard::core
