#pragma once

// The Chatwoot API wire format: webhooks, message and toggle_status bodies, the articles list
// and the links the bot writes.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/bot/chatwoot.hpp"
#include "providers/common.hpp"

namespace switchboard::providers {

using core::chatwoot_event;
using core::help_article;

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

} // namespace switchboard::providers
