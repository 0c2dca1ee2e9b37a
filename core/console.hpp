#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::core {

/// Keyset paging of the console's lists: `limit` rows (1..500, default 50) with id < before_id
/// (0: from the newest).
struct console_page {
  int limit = 50;
  int64_t before_id = 0;
};

/// GET /admin/v1/deliveries filters (empty: any).
struct delivery_filter {
  std::string phone;          ///< recipient (E.164 once normalised, or a raw user id)
  std::string correlation_id; ///< exact
  std::string channel;        ///< whatsapp | sms
  std::string status;         ///< queued, sent, ...
  std::string direction;      ///< inbound | outbound
  bool reveal = false;        ///< phones and bodies unmasked (audited)
  console_page page;
};

/// GET /admin/v1/queues: the outbound rows still to settle, oldest first.
struct queue_filter {
  std::string status; ///< queued | retrying | failed (empty: all three)
  console_page page;  ///< before_id pages backwards by id, like the other lists
};

/// GET /admin/v1/sessions filters.
struct session_filter {
  std::string status; ///< active | follow_up | closed
  std::string phone;
  bool reveal = false;
  console_page page;
};

/// GET /admin/v1/bot: how far back the bot's answers are counted (rates.bot_answers,
/// answer_rate, top_articles, knowledge_gaps), and whether the gaps' questions are revealed.
struct bot_filter {
  int hours = 168; ///< 1..8760 (default a week)
  bool reveal = false;
};

/// Parses the query string of a console list; nullopt and `why` when a value is invalid.
std::optional<delivery_filter> parse_delivery_filter(std::string_view query, std::string& why);
std::optional<queue_filter> parse_queue_filter(std::string_view query, std::string& why);
std::optional<session_filter> parse_session_filter(std::string_view query, std::string& why);
std::optional<console_page> parse_console_page(std::string_view query, std::string& why);
std::optional<bot_filter> parse_bot_filter(std::string_view query, std::string& why);

/// Whether the query says reveal=1 (or true).
bool console_reveal(std::string_view query);

/// A message body as the console shows it unrevealed: its length only, e.g. "[42 chars]".
std::string console_body(std::string_view body, bool reveal);

/// A phone as the console shows it unrevealed (mask_phone), or as is.
std::string console_phone(std::string_view phone, bool reveal);

} // namespace switchboard::core
