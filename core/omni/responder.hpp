#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace switchboard::core {

/// The built-in deterministic responder, used when no LLM is configured or it fails: it
/// acknowledges the message and restates the open items of the session context
/// (context.last_call.action_items, else its outcome and summary). French when the context's
/// language starts with "fr", English otherwise.
std::string fallback_reply(const nlohmann::json& context, std::string_view message);

/// The short text-only notice answering a message type we cannot read (image, audio, ...).
std::string unsupported_type_notice(std::string_view type, const nlohmann::json& context);

} // namespace switchboard::core
