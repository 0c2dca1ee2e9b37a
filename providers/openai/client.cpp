#include "providers/openai/client.hpp"

namespace switchboard::providers {

core::http_call llm_completion_call(const config::llm_settings& cfg, std::string body,
                                    std::string correlation_id) {
  core::http_call call;
  call.service = "llm";
  call.url = cfg.base_url + "/v1/chat/completions";
  call.headers = {{"Authorization", "Bearer " + cfg.api_key}, {"Content-Type", "application/json"}};
  call.body = std::move(body);
  call.timeout_ms = cfg.timeout.count();
  call.correlation_id = std::move(correlation_id);
  return call;
}

} // namespace switchboard::providers
