#include "providers/chatwoot/client.hpp"

namespace switchboard::providers {

core::http_call chatwoot_conversation_call(const config::chatwoot_settings& cfg, int64_t account,
                                           int64_t conversation, std::string_view suffix,
                                           std::string body, std::string correlation_id) {
  core::http_call call;
  call.service = "chatwoot";
  call.url = cfg.base_url + "/api/v1/accounts/" + std::to_string(account) + "/conversations/"
             + std::to_string(conversation) + std::string{suffix};
  call.headers = {{"api_access_token", cfg.bot_token}, {"Content-Type", "application/json"}};
  call.body = std::move(body);
  call.correlation_id = std::move(correlation_id);
  return call;
}

core::http_call chatwoot_articles_call(const config::chatwoot_settings& cfg, int64_t account,
                                       std::string_view portal_slug, int64_t page) {
  core::http_call call;
  call.service = "chatwoot";
  call.method = "GET";
  call.url = cfg.base_url + "/api/v1/accounts/" + std::to_string(account) + "/portals/"
             + std::string{portal_slug} + "/articles?status=published&page=" + std::to_string(page);
  call.headers = {{"api_access_token", cfg.help_center_token()}};
  return call;
}

} // namespace switchboard::providers
