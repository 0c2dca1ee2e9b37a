#pragma once

// The Chatwoot API calls the bot makes, built from its settings (pure: the conversation and
// articles actors send them through the patient HTTP actor and read the answers with codec.hpp).

#include <cstdint>
#include <string>
#include <string_view>

#include "config/settings.hpp"
#include "core/http_call.hpp"

namespace switchboard::providers {

/// A POST to one conversation's API path plus `suffix` ("/messages", "/toggle_status") with a
/// JSON `body`, authenticated by the agent bot's token (both paths are on Chatwoot's
/// BOT_ACCESSIBLE_ENDPOINTS).
core::http_call chatwoot_conversation_call(const config::chatwoot_settings& cfg, int64_t account,
                                           int64_t conversation, std::string_view suffix,
                                           std::string body, std::string correlation_id);

/// One page of a portal's published articles. Listing portal articles needs a user's token
/// (Chatwoot refuses agent-bot tokens here): cfg.help_center_token().
core::http_call chatwoot_articles_call(const config::chatwoot_settings& cfg, int64_t account,
                                       std::string_view portal_slug, int64_t page);

} // namespace switchboard::providers
