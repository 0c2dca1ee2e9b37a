#pragma once

// The chat-completion vocabulary the session and the bot think in (messages, tool calls, the
// request and the answer); its OpenAI wire format is providers/openai/codec.hpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/error.hpp"

namespace switchboard::core {

/// A function call requested by the model; `arguments` is the JSON text the model produced.
struct llm_tool_call {
  std::string id;
  std::string name;
  std::string arguments;
};

/// One chat message. Roles: "system", "developer", "user", "assistant" (content and/or
/// tool_calls) and "tool" (content answering tool_call_id).
struct llm_message {
  std::string role;
  std::optional<std::string> content;
  std::vector<llm_tool_call> tool_calls;
  std::string tool_call_id;
};

/// Convenience constructors for the common roles.
llm_message system_message(std::string text);
/// A user turn.
llm_message user_message(std::string text);
/// An assistant turn that requested tool calls (echoed back before the tool results).
llm_message assistant_tool_calls(std::vector<llm_tool_call> calls,
                                 std::optional<std::string> content = {});
/// The result of one tool call.
llm_message tool_result(std::string tool_call_id, std::string content);

/// A POST /v1/chat/completions request (OpenAI-compatible servers accept the same body).
struct llm_request {
  std::string model;
  std::vector<llm_message> messages;
  std::optional<double> temperature;
  std::optional<int64_t> max_tokens;
  bool json_object = false; ///< response_format {"type": "json_object"}
};

/// Token counts reported by the server (0 when absent).
struct llm_usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
};

/// choices[0] of a chat completion.
struct llm_response {
  std::string id;
  std::string model;
  std::optional<std::string> content;
  std::optional<std::string> refusal;
  std::vector<llm_tool_call> tool_calls; ///< arguments checked to be a JSON object
  std::string finish_reason;             ///< "stop", "tool_calls", "length", "content_filter"
  llm_usage usage;
};

/// The parsed arguments object of a tool call (malformed when not a JSON object).
expected<nlohmann::json> tool_call_arguments(const llm_tool_call& call);

} // namespace switchboard::core
