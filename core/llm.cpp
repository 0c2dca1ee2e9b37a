#include "core/llm.hpp"

#include "core/json_fields.hpp"

#include <nlohmann/json.hpp>

namespace switchboard::core {

llm_message system_message(std::string text) {
  return llm_message{"system", std::move(text), {}, {}};
}

llm_message user_message(std::string text) {
  return llm_message{"user", std::move(text), {}, {}};
}

llm_message assistant_tool_calls(std::vector<llm_tool_call> calls,
                                 std::optional<std::string> content) {
  return llm_message{"assistant", std::move(content), std::move(calls), {}};
}

llm_message tool_result(std::string tool_call_id, std::string content) {
  return llm_message{"tool", std::move(content), {}, std::move(tool_call_id)};
}

expected<nlohmann::json> tool_call_arguments(const llm_tool_call& call) {
  auto parsed = parse_untrusted_json(call.arguments);
  if (parsed.is_discarded() || !parsed.is_object())
    return caf::make_error(sb_error::malformed,
                           "arguments: not a JSON object (tool " + call.name + ")");
  return parsed;
}

} // namespace switchboard::core
