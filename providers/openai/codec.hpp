#pragma once

// providers/openai/: the OpenAI-compatible chat completions API (POST /v1/chat/completions):
// the request body, the answer and the error body. The llm actor (actors/llm.cpp) makes the call;
// the types are core/llm.hpp; the fake is sim/llm.cpp.

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/llm.hpp"
#include "providers/common.hpp"

namespace switchboard::providers {

using core::llm_request;
using core::llm_response;

/// Encodes a request without tools.
std::string encode_llm_request(const llm_request& req);

/// Encodes a request with a tools array (see tool_definitions); a non-empty array adds
/// "tool_choice": "auto".
std::string encode_llm_request(const llm_request& req, const nlohmann::json& tools);

/// Parses a 2xx chat completion body. sb_error::malformed when it is not JSON, has no choices or
/// message, or a tool call's `arguments` string is not a JSON object (the reason names the call).
expected<llm_response> parse_llm_response(std::string_view body);

/// Maps a failed call to an error: 429 and 5xx -> provider_transient, other statuses ->
/// provider_rejected; except 429 with code insufficient_quota (a billing state, not a rate
/// limit) -> provider_rejected. The reason is "<code>: <message>" from the {"error": {...}} body,
/// or "HTTP <status>" when the body has none.
caf::error llm_error(int http_status, std::string_view body);

} // namespace switchboard::providers
