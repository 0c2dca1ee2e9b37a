#pragma once

// What a delivery's story shows of the LLM conversation behind a reply: each round and each
// tool call, without the prompt or the tool arguments' values (they hold what customers said).

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/llm.hpp"

namespace switchboard::core {

/// An LLM round that answered: {round, model, latency_ms, prompt_tokens, completion_tokens,
/// finish_reason, tool_calls (how many it asked for)}; `model` is the one the answer names,
/// else the requested one.
nlohmann::json llm_round_detail(int round, const std::string& model, int64_t latency_ms,
                                const llm_response& res);

/// An LLM round that failed: {round, model, latency_ms, error} (error: sb_error's name or
/// "malformed" for an unreadable answer).
nlohmann::json llm_round_failed_detail(int round, const std::string& model, int64_t latency_ms,
                                       const std::string& error);

/// A tool call: {tool, ok, latency_ms, argument_keys (sorted names, no values), error (the
/// error's code name, when not ok)}. Arguments that are no JSON object give no keys.
nlohmann::json tool_call_detail(const llm_tool_call& call, bool ok, int64_t latency_ms,
                                const std::string& error = {});

/// The story's title of a step: "LLM round 1: gpt-4o-mini, stop (812 ms)", "LLM round 2 failed:
/// timeout", "Tool call get_session_context: ok (4 ms)", "Tool call send_message failed:
/// not_found".
std::string llm_step_title(const std::string& kind, const nlohmann::json& detail);

} // namespace switchboard::core
