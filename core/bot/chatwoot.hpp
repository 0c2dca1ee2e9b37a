#pragma once

// What a Chatwoot conversation is to the bot: the parsed event, the rules (should the bot answer,
// what a status change means) and a Help Center article. The wire format (webhook parser, request
// bodies, answers, links) is providers/chatwoot/codec.hpp.

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

} // namespace switchboard::core
