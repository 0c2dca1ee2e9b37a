#pragma once

// The chat-completion call to an OpenAI-compatible API, built from the LLM settings (pure: the
// llm actor sends it and reads the answer with codec.hpp).

#include <string>

#include "config/settings.hpp"
#include "core/http_call.hpp"

namespace switchboard::providers {

/// POST /v1/chat/completions with a request body (encode_llm_request), the API key as a bearer
/// token and the settings' timeout.
core::http_call llm_completion_call(const config::llm_settings& cfg, std::string body,
                                    std::string correlation_id);

} // namespace switchboard::providers
