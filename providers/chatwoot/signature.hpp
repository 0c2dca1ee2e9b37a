#pragma once

// providers/chatwoot/: Chatwoot's webhook signature. Chatwoot is not a channel (the conversation
// actor posts to it), and its wire codec is still core/bot/chatwoot.hpp, which the bot rules share.

// Chatwoot's webhook signature (X-Chatwoot-Signature over X-Chatwoot-Timestamp and the body).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "providers/common.hpp"

namespace switchboard::providers {

/// X-Chatwoot-Signature: "sha256=" + hex HMAC-SHA256(secret, "{timestamp}.{raw body}").
std::string chatwoot_signature(std::string_view secret, std::string_view timestamp,
                               std::string_view raw_body);

/// Verifies X-Chatwoot-Signature and that X-Chatwoot-Timestamp is within `tolerance_s` of `now`.
bool verify_chatwoot_signature(std::string_view secret, std::string_view timestamp,
                               std::string_view raw_body, std::string_view header, int64_t now_unix,
                               int64_t tolerance_s = 300);

/// Verifies X-Chatwoot-Signature against each of `secrets` (account, API-inbox and agent-bot
/// webhooks have their own; an old and a new one during a rotation): every secret is checked in
/// constant time, without stopping at the first match. An empty list never verifies.
bool verify_chatwoot_signature(const std::vector<std::string>& secrets, std::string_view timestamp,
                               std::string_view raw_body, std::string_view header, int64_t now_unix,
                               int64_t tolerance_s = 300);

/// The Chatwoot webhook secrets configured: `single` (chatwoot.webhook_secret) and the
/// comma-separated `comma_separated` (chatwoot.webhook_secrets), trimmed, without empty entries
/// or repeats.
std::vector<std::string> chatwoot_webhook_secrets(std::string_view single,
                                                  std::string_view comma_separated);

} // namespace switchboard::providers
