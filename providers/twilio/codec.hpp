#pragma once

// Twilio Messages API wire format: inbound message and status callback forms, the send form and
// its answer (or Twilio's error body).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/delivery.hpp"
#include "core/form.hpp"
#include "core/sms_codecs.hpp"
#include "providers/common.hpp"

namespace switchboard::providers {

using core::delivery_status;
using core::provider_send_result;

/// An inbound message webhook from Twilio (SMS or WhatsApp via Twilio).
struct twilio_inbound {
  std::string message_sid; ///< MessageSid (SmsSid on old accounts)
  std::string account_sid; ///< AccountSid, to check against the configured account
  std::string from;        ///< E.164 (the "whatsapp:" prefix removed)
  std::string to;          ///< E.164, or the short code as sent
  std::string body;        ///< Body; may be empty for media-only messages
  int num_media = 0;       ///< NumMedia
  bool whatsapp = false;   ///< From carried the "whatsapp:" prefix
};

/// Parses Twilio's inbound message form parameters.
expected<twilio_inbound> parse_twilio_inbound(const form_params& params);

/// A Twilio status callback for an outbound message.
struct twilio_status_update {
  std::string message_sid;               ///< MessageSid (SmsSid on old accounts)
  std::string message_status;            ///< MessageStatus as sent
  std::optional<delivery_status> status; ///< mapped status; nullopt for unknown values
  int64_t error_code = 0;                ///< ErrorCode, 0 when absent
  std::string error_message;             ///< ErrorMessage when Twilio sends it
  std::string to;                        ///< To as sent (may carry "whatsapp:")
};

/// Parses Twilio's status callback form parameters.
expected<twilio_status_update> parse_twilio_status(const form_params& params);

/// An outbound message through Twilio's Messages API.
struct twilio_send_request {
  std::string to;                    ///< E.164 (or "whatsapp:+...")
  std::string from;                  ///< sending number; or leave empty and use the service
  std::string messaging_service_sid; ///< MG... service; used when `from` is empty
  std::string body;                  ///< text
  std::string status_callback;       ///< URL for status callbacks; omitted when empty
};

/// Form parameters for POST /2010-04-01/Accounts/{sid}/Messages.json in Twilio's order (To,
/// From/MessagingServiceSid, Body, StatusCallback); invalid_argument without To, Body, or both
/// From and MessagingServiceSid.
expected<form_params> build_twilio_send_form(const twilio_send_request& req);

/// A Twilio REST error body (legacy {code, message, more_info, status} or RFC 9457).
struct twilio_api_error {
  int64_t code = 0;      ///< Twilio error code, e.g. 21211
  std::string message;   ///< message (or RFC 9457 detail/title)
  std::string more_info; ///< documentation URL
  int status = 0;        ///< HTTP status echoed in the body
};

/// Extracts a Twilio error body, if `body` is one.
std::optional<twilio_api_error> parse_twilio_error(std::string_view body);

/// Parses a Messages API create response: sid and status on 2xx; otherwise
/// provider_transient (408/425/429/5xx) or provider_rejected, with Twilio's code, message and
/// more_info in the reason and the code for provider_error_code().
expected<provider_send_result> parse_twilio_send_response(int http_status, std::string_view body);

} // namespace switchboard::providers
