#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/delivery.hpp"
#include "core/error.hpp"
#include "core/form.hpp"

namespace switchboard::core {

/// An inbound SMS, whichever provider delivered it.
struct inbound_sms {
  std::string id;          ///< provider message id, or a derived dedupe id (see id_derived)
  bool id_derived = false; ///< true when the provider sent no id and `id` is a content hash
  std::string from;        ///< sender, E.164
  std::string to;          ///< our number in E.164, or a short code as sent (e.g. "8080")
  std::string body;        ///< message text (UTF-8)
  std::string timestamp;   ///< provider timestamp as sent; empty when absent
};

/// Parses an MTN SMS v3 inbound (MO) notification {from, to, message, id?, timestamp?}. Without
/// an id, the dedupe id is hex SHA-256 of "from|to|message|timestamp" (normalised numbers), so
/// a redelivered notification gets the same id.
expected<inbound_sms> parse_mtn_inbound(std::string_view raw_body);

/// An outbound SMS through MTN SMS v3 (POST /v3/sms/messages/sms/outbound).
struct mtn_send_request {
  std::string sender_address;         ///< approved sender id or short code
  std::vector<std::string> receivers; ///< E.164 numbers
  std::string message;                ///< text (already fitted to the segment budget)
  std::string client_correlator;      ///< our idempotency key for the request
};

/// {senderAddress, receiverAddress: [...], message, clientCorrelatorId} (MTN SMS v3 names the
/// request's own id clientCorrelatorId, at most 36 characters); receivers are sent as
/// international digits without "+", the form MTN's examples use.
nlohmann::json build_mtn_send(const mtn_send_request& req);

/// An OAuth2 client-credentials token (RFC 6749 section 5.1).
struct oauth_token {
  std::string access_token;                       ///< bearer token
  std::string token_type;                         ///< usually "Bearer" (may be absent)
  std::optional<std::chrono::seconds> expires_in; ///< lifetime; nullopt when not given
};

/// Parses a token endpoint response; expires_in may be a number or a numeric string (Apigee,
/// which fronts MTN's APIs, sends strings). Non-2xx: provider_transient for 408/425/429/5xx,
/// else provider_rejected with error/error_description in the reason.
expected<oauth_token> parse_oauth_token_response(int http_status, std::string_view body);

/// What a provider said when it accepted an outbound message.
struct provider_send_result {
  std::string message_id; ///< provider's id for later status callbacks (may be empty for MTN)
  std::string status;     ///< provider's initial status, e.g. "queued"
};

/// Parses an MTN SMS v3 send response. MADAPI answers {statusCode: "0000", statusMessage,
/// transactionId, data: {status}}; the id is transactionId, else data.requestId, requestId or
/// data.transactionId (empty when none: use the clientCorrelatorId). A 2xx with a non-zero
/// statusCode is provider_rejected; 408/425/429/5xx are provider_transient.
expected<provider_send_result> parse_mtn_send_response(int http_status, std::string_view body);

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

} // namespace switchboard::core
