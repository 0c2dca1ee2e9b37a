#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace switchboard::core {

/// Chatwoot's Message#message_type (webhooks send the name, push data the integer 0..3).
enum class chatwoot_message_type : uint8_t {
  incoming = 0,
  outgoing = 1,
  activity = 2,
  template_message = 3,
};

/// Who wrote a message: webhook `sender.type` ("contact", "user", "agent_bot").
enum class chatwoot_sender_type : uint8_t { unknown, contact, user, agent_bot };

/// Stable lower-case name ("incoming", ..., "template").
std::string to_string(chatwoot_message_type x);

/// Stable lower-case name ("unknown", "contact", "user", "agent_bot").
std::string to_string(chatwoot_sender_type x);

/// The customer of a conversation (empty strings when Chatwoot sent null).
struct chatwoot_contact {
  int64_t id = 0;
  std::string name;
  std::string phone_number;
  std::string email;
};

/// The message of a message_created / message_updated event.
struct chatwoot_message {
  int64_t id = 0;
  std::string content;
  chatwoot_message_type type = chatwoot_message_type::incoming;
  bool is_private = false;
  chatwoot_sender_type sender_type = chatwoot_sender_type::unknown;
  std::optional<int64_t> sender_id;
  std::string content_type; ///< "text", "input_select", ...; empty when null
  std::string created_at;   ///< as sent: ISO-8601 text in webhooks, digits for unix seconds
  std::optional<int64_t> created_at_unix; ///< created_at in unix seconds when it parsed
};

/// A `status` entry of `changed_attributes` (previous empty when Chatwoot did not send it).
struct chatwoot_status_change {
  std::string previous;
  std::string current;
};

/// A parsed Chatwoot webhook (account webhook, API-inbox callback or agent-bot webhook).
struct chatwoot_event {
  std::string event; ///< "message_created", "conversation_status_changed", ...
  std::optional<int64_t> account_id;
  std::optional<int64_t> conversation_id; ///< display id, the one used in API paths
  std::string conversation_status;        ///< "open", "pending", "resolved", "snoozed" or empty
  std::optional<int64_t> inbox_id;
  std::optional<chatwoot_contact> contact;
  std::optional<chatwoot_message> message; ///< message events only
  std::optional<chatwoot_status_change> status_change;
};

/// Parses a webhook body. Message events (message_created/updated) need a message id,
/// message_type and a conversation object; conversation events (conversation_*) need the
/// conversation id at the top level; other events keep what is present. Wrong types, invalid JSON
/// or invalid UTF-8 yield sb_error::malformed with a reason naming the field.
expected<chatwoot_event> parse_chatwoot_webhook(std::string_view body);

/// The dedupe key of a webhook, from what its signature covers (X-Chatwoot-Delivery does not, and
/// is no stable key across redeliveries): "message_created:<message id>"; for other message
/// events (message_updated) "<event>:<message id>:<body digest>", since a message may be updated
/// more than once; else the hex SHA-256 of the raw body. A replay of a signed body is recognised
/// whatever delivery header it carries.
std::string chatwoot_dedupe_key(const chatwoot_event& ev, std::string_view raw_body);

/// True when the bot should answer: message_created, incoming, not a private note, written by a
/// contact, in a conversation that is still pending (i.e. not yet handed to a human).
bool should_bot_answer(const chatwoot_event& ev);

/// A conversation as last stored (see chatwoot_status_transition).
struct chatwoot_seen {
  std::string status;      ///< open | pending | resolved | snoozed
  bool handed_off = false; ///< the bot handed it to a human and stays silent
};

/// What a webhook's status means for the conversation.
struct chatwoot_transition {
  std::string status;       ///< the status to store
  bool became_open = false; ///< a new hand-off: announce it to the provider
  bool resumed = false;     ///< back to pending after a hand-off: the bot answers again
};

/// The hand-off rule. `stored`: the conversation as last seen (nullopt: this event is the first
/// stored for it); `status`: the status the event shows; `previous`: the previous status from
/// changed_attributes (empty when Chatwoot sent null or no status change). The previous status
/// is `previous` when it is a known status, else the stored one. A hand-off is a move to open
/// from a known other status, and never when the stored row is already open (Chatwoot echoing
/// our own toggle, or a second event for the same change). So a conversation first seen as
/// pending -> open (an earlier webhook lost to an outage, out-of-order delivery) is a hand-off,
/// while one first seen open with no previous status, or open -> open, is none: nothing says a
/// human just took it, and inventing one would notify the provider about old conversations.
/// An unknown `status` changes nothing.
chatwoot_transition chatwoot_status_transition(const std::optional<chatwoot_seen>& stored,
                                               std::string_view status, std::string_view previous);

/// Body for POST /api/v1/accounts/{account_id}/conversations/{conversation_id}/messages:
/// {"content", "message_type": "outgoing", "private", "content_type"}.
std::string chatwoot_message_body(std::string_view content, bool is_private = false,
                                  std::string_view content_type = "text");

/// The id of the message a POST .../messages created, as text, read from Chatwoot's answer
/// ({"id": 123, ...}); empty when the body is not JSON or has no numeric or string id.
std::string chatwoot_posted_message_id(std::string_view body);

/// Body for POST .../conversations/{conversation_id}/toggle_status; `status` must be one of open,
/// resolved, pending, snoozed (sb_error::invalid_argument otherwise).
expected<std::string> chatwoot_toggle_status_body(std::string_view status);

/// A published help-center article, as the bot needs it.
struct help_article {
  int64_t id = 0;
  std::string title;
  std::string description;
  std::string content; ///< Markdown as stored by Chatwoot
  std::string slug;
  std::string url;    ///< public link, filled by the caller (see chatwoot_article_url)
  std::string locale; ///< "en", "fr", "pt_BR"... (the article's or its category's); may be empty
};

/// Parses the response of GET /api/v1/accounts/{account_id}/portals/{portal_slug}/articles
/// ({"payload": [...], "meta": {...}}) and keeps published articles only; status may be the name
/// ("published") or Chatwoot's enum value (1).
expected<std::vector<help_article>> parse_chatwoot_articles(std::string_view body);

/// Why Chatwoot refused a Help Center read (GET .../portals/{slug}/articles), for the log: 401
/// (the token may not list articles: an agent-bot token never may, it needs a user's access
/// token), 403 (the token's user may not see this account) or 404 (no such account or portal).
/// Empty for any other status: that is no refusal.
std::string help_center_refusal(int status, bool user_token_set);

/// Agent-facing link to a conversation: {base}/app/accounts/{account}/conversations/{id}.
std::string chatwoot_conversation_url(std::string_view base_url, int64_t account_id,
                                      int64_t conversation_id);

/// Public help-center link: {base}/hc/{portal_slug}/articles/{article_slug}.
std::string chatwoot_article_url(std::string_view base_url, std::string_view portal_slug,
                                 std::string_view article_slug);

} // namespace switchboard::core
