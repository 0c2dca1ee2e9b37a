#pragma once

// Telegram Bot API wire format: Updates (the webhook), sendMessage and setWebhook bodies and
// their answers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/omni/format.hpp"
#include "providers/common.hpp"

namespace switchboard::providers {

/// Which field of an Update carried the message (other kinds carry none).
enum class telegram_update_kind : uint8_t {
  message,
  edited_message,
  channel_post,
  edited_channel_post,
  other,
};

/// Stable name of an update kind ("message", ..., "other").
std::string to_string(telegram_update_kind x);

/// The parts of a Bot API Message the bridge uses.
struct telegram_message {
  int64_t message_id = 0;
  int64_t chat_id = 0;
  std::string chat_type; ///< "private", "group", "supergroup", "channel"
  int64_t date = 0;
  std::optional<int64_t> from_id; ///< absent for channel posts
  std::string from_name;          ///< first_name and last_name, space-separated
  std::string from_username;
  bool from_is_bot = false;
  std::string text;        ///< text, or else caption; empty for e.g. a voice note
  bool is_caption = false; ///< text came from `caption`
  std::optional<int64_t> reply_to_message_id;
  std::optional<int64_t> reply_to_chat_id;
  std::optional<int64_t> message_thread_id;
  bool is_start = false;     ///< the text is the /start command (optionally /start@bot)
  std::string start_payload; ///< deep-link parameter after "/start "
};

/// A Bot API Update.
struct telegram_update {
  int64_t update_id = 0;
  telegram_update_kind kind = telegram_update_kind::other;
  std::optional<telegram_message> message; ///< set unless kind is other
};

/// Reads one Message object (e.g. an Update's `message` or a sendMessage `result`).
expected<telegram_message> parse_telegram_message(const nlohmann::json& msg);

/// Parses a webhook body into an Update; sb_error::malformed (reason names the field) on invalid
/// JSON or UTF-8, a missing update_id or a message without message_id/chat.
expected<telegram_update> parse_telegram_update(std::string_view body);

/// sendMessage body: chat_id, text, parse_mode HTML, link previews disabled and, when given, a
/// reply to that message (reply_parameters, allowed to go out if the message was deleted). `text`
/// must already be HTML-escaped where needed; empty text or invalid UTF-8 -> invalid_argument.
expected<std::string> telegram_send_message_body(int64_t chat_id, std::string_view text,
                                                 std::optional<int64_t> reply_to_message_id = {});

/// setWebhook body: url (must be https://), secret_token (1-256 of A-Z a-z 0-9 _ -) and
/// allowed_updates (omitted when empty); invalid_argument naming the field otherwise.
expected<std::string> telegram_set_webhook_body(std::string_view url, std::string_view secret_token,
                                                const std::vector<std::string>& allowed_updates);

/// Interprets a Bot API response to sendMessage: the sent message_id, or an error:
/// provider_transient for 429 / `parameters.retry_after` / 5xx (see telegram_retry_after),
/// provider_rejected for other failures (403 blocked, 400 chat not found, 401...) with the
/// description as reason, malformed for a 2xx body that is not {"ok": true, "result": Message}.
/// Provider errors carry the Bot API error_code (or the HTTP status) as the context's second
/// element, the project's convention for provider codes.
expected<int64_t> parse_telegram_send_response(int http_status, std::string_view body);

/// Like parse_telegram_send_response for methods answering {"ok": true, "result": true}.
expected<void> parse_telegram_ok_response(int http_status, std::string_view body);

/// Seconds to wait before retrying, carried by errors of parse_telegram_*_response.
std::optional<int64_t> telegram_retry_after(const caf::error& err);

} // namespace switchboard::providers
