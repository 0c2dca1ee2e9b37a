#pragma once

// providers/telegram/: the Telegram Bot API. codec.hpp reads Updates (the provider's replies to a
// hand-off) and builds sendMessage / setWebhook bodies; this header is the provider the channel
// actor sends notifications through. Settings: config::telegram_settings; the bridge back into
// Chatwoot is actors/telegram.cpp; fake: sim/telegram.cpp.

// Telegram Bot API sends: sendMessage to a chat id (hand-off notifications to a provider).

#include <memory>

#include "providers/provider.hpp"

namespace switchboard::providers {

/// A sendMessage call with a body from telegram_send_message_body (the provider's sends and the
/// bridge's answers in a provider's chat).
core::http_call telegram_send_message_call(const config::telegram_settings& cfg, std::string body);

/// The Telegram provider over `cfg.telegram`.
std::shared_ptr<provider> make_telegram(const config::settings& cfg);

} // namespace switchboard::providers
