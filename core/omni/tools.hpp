#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/error.hpp"

namespace switchboard::core {

/// E.164 phone number pattern shared by every tool that takes a phone_number.
inline constexpr std::string_view e164_pattern = "^\\+[1-9][0-9]{7,14}$";

/// The tools offered to the LLM, in OpenAI tools format
/// ([{"type": "function", "function": {"name", "description", "parameters"}}]):
/// messaging_send_dual_channel, messaging_send_whatsapp, messaging_send_sms,
/// session_get_or_create, session_update_status, session_add_context, session_get_context.
/// Every parameters schema is an object schema with additionalProperties false.
const nlohmann::json& tool_definitions();

/// Tool names in definition order.
std::vector<std::string> tool_names();

/// The support bot's read-only tools, in the same format (not offered to the LLM of the
/// omnichannel sessions, and not on /api/v1/tools; served over MCP): help_center_search (the
/// Help Center of a Chatwoot account's provider, ranked as the bot ranks it) and
/// conversation_get_state (a Chatwoot conversation as the bot saw it last).
const nlohmann::json& read_only_tool_definitions();

/// Validates a tool call's arguments against that tool's parameters schema (the JSON Schema
/// subset the definitions use: type, required, properties, additionalProperties false, enum,
/// minLength/maxLength in code points, pattern, minimum/maximum), in tool_definitions or
/// read_only_tool_definitions. Unknown tool -> sb_error::not_found; invalid
/// arguments -> sb_error::invalid_argument with a reason starting with the argument's name, e.g.
/// "phone_number: must match ^\+[1-9][0-9]{7,14}$".
expected<void> validate_tool_arguments(std::string_view name, const nlohmann::json& args);

} // namespace switchboard::core
