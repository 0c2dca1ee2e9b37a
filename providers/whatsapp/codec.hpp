#pragma once

// WhatsApp Cloud API wire format: the webhook (messages, statuses, the GET handshake), the send
// bodies (text, template, typing indicator) and the send answer. Error-code policy is
// core/whatsapp_errors.hpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/delivery.hpp"
#include "core/whatsapp_errors.hpp"
#include "providers/common.hpp"

namespace switchboard::providers {

using core::message_pricing;

/// One inbound message from a WhatsApp Cloud API "messages" webhook.
struct whatsapp_message {
  std::string id;              ///< wamid
  std::string from;            ///< sender in E.164; empty when withheld or not a phone number
  std::string from_raw;        ///< sender as sent (empty when withheld)
  std::string user_id;         ///< the sender's business-scoped user id (BSUID), when sent
  std::string type;            ///< text, image, audio, reaction, location, unsupported, ...
  std::string text;            ///< text.body for type "text"; empty for every other type
  int64_t timestamp = 0;       ///< unix seconds
  std::string profile_name;    ///< contacts[].profile.name of the sender (may be empty)
  std::string phone_number_id; ///< business number that received it (metadata.phone_number_id)
  std::string context_id;      ///< id of the message this one replies to (empty when none)
  bool forwarded = false;      ///< context.forwarded or context.frequently_forwarded
  std::string media_id;        ///< {image,audio,video,document,sticker}.id when present
  std::string reaction_to;     ///< reaction.message_id for type "reaction"
  std::string reaction_emoji;  ///< reaction.emoji; empty when a reaction is removed
  int64_t error_code = 0;      ///< errors[0].code (e.g. 131051 for unsupported types), else 0
};

/// One status update for a message the business sent.
struct whatsapp_status {
  std::string message_id;        ///< wamid of the outbound message
  std::string status;            ///< sent, delivered, read, played, failed (as sent by Meta)
  std::string recipient_id;      ///< recipient_id as sent (a wa_id, or a group id)
  std::string recipient;         ///< recipient_id normalised to E.164, empty when not a number
  std::string recipient_user_id; ///< the recipient's BSUID (recipient_user_id), when sent
  int64_t timestamp = 0;         ///< unix seconds
  std::string phone_number_id;   ///< business number that sent the message
  int64_t error_code = 0;        ///< errors[0].code for failed messages, else 0
  std::string error_title;       ///< errors[0].title
  std::string error_details;     ///< errors[0].error_data.details
  message_pricing pricing;       ///< the `pricing` object (all fields empty when absent)
};

/// Everything a webhook delivery carried; changes other than field "messages" are skipped.
struct whatsapp_webhook {
  std::vector<whatsapp_message> messages; ///< inbound messages, in delivery order
  std::vector<whatsapp_status> statuses;  ///< status updates, in delivery order
};

/// Parses a Cloud API webhook body. malformed (with the JSON path in the reason) when it is not
/// JSON or a message/status lacks id, from/recipient, type/status or timestamp; unsupported
/// when "object" is not "whatsapp_business_account".
expected<whatsapp_webhook> parse_whatsapp_webhook(std::string_view raw_body);

/// Same, over an already parsed document (a separate name: json converts from strings).
expected<whatsapp_webhook> parse_whatsapp_webhook_json(const nlohmann::json& doc);

/// Answers Meta's GET subscription check: returns hub.challenge when hub.mode is "subscribe"
/// and hub.verify_token equals `verify_token` (constant time); bad_signature on a token
/// mismatch, invalid_argument for another mode, malformed without a challenge.
expected<std::string> whatsapp_verify_challenge(const form_params& query,
                                                std::string_view verify_token);

/// Whether `id` has the form of a business-scoped user id: a two-letter ISO country code, a
/// period, optionally "ENT." (a parent BSUID), then 1-128 letters and digits.
bool is_whatsapp_user_id(std::string_view id);

/// The recipient fields of a send: {"recipient": BSUID} for a business-scoped user id (Cloud
/// API, 2026), else {"to": number} (E.164 or digits, as given).
nlohmann::json whatsapp_recipient(std::string_view to);

/// Body of POST /{phone-number-id}/messages for a text message; `to` is E.164 (or a BSUID, see
/// whatsapp_recipient), `reply_to` a wamid to quote (omitted when empty).
nlohmann::json build_whatsapp_text(std::string_view to, std::string_view body,
                                   std::string_view reply_to = {}, bool preview_url = false);

/// A pre-approved message template, usable outside the 24-hour customer service window.
struct whatsapp_template {
  std::string name;                         ///< template name as approved by Meta
  std::string language_code;                ///< e.g. "en_US"
  std::vector<std::string> body_parameters; ///< values for {{1}}, {{2}}, ... in the body
};

/// Body of POST /{phone-number-id}/messages for a template message.
nlohmann::json build_whatsapp_template(std::string_view to, const whatsapp_template& tpl);

/// Body of POST /{phone-number-id}/messages that marks an inbound message (its wamid) read and
/// shows the typing indicator until the reply is sent or 25 s pass (Meta's "Typing indicators").
nlohmann::json build_whatsapp_typing_indicator(std::string_view message_id);

/// A Graph API error object ({"error": {...}}).
struct whatsapp_api_error {
  int64_t code = 0;    ///< error.code (131047 = outside the 24-hour window)
  int64_t subcode = 0; ///< error.error_subcode, 0 when absent
  std::string type;    ///< error.type, e.g. OAuthException
  std::string title;   ///< error.title
  std::string message; ///< error.message
  std::string details; ///< error.error_data.details
};

/// Extracts the error object of a Graph API response body, if there is one.
std::optional<whatsapp_api_error> parse_whatsapp_error(std::string_view body);

/// Interprets a send response: the message id (messages[0].id) on 2xx; provider_transient for
/// 429, 5xx and Meta's throttling/unavailable codes; provider_rejected for other 4xx. Errors
/// carry Meta's message in the reason and its code for provider_error_code().
expected<std::string> parse_whatsapp_send_response(int http_status, std::string_view body);

} // namespace switchboard::providers
