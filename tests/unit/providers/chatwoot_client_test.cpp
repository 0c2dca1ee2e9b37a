// The Chatwoot API calls the bot makes (providers/chatwoot/client.hpp): paths, tokens and bodies
// as Chatwoot's v4 API wants them.

#include <catch2/catch.hpp>

#include <algorithm>

#include "providers/chatwoot/client.hpp"

using namespace switchboard;

namespace {

std::string header(const core::http_call& c, const std::string& name) {
  auto it = std::find_if(c.headers.begin(), c.headers.end(),
                         [&](const auto& h) { return h.first == name; });
  return it == c.headers.end() ? std::string{"<none>"} : it->second;
}

/// A bot token and a user token, so the tests see which one a call carries.
config::chatwoot_settings settings() {
  config::chatwoot_settings cfg;
  cfg.base_url = "https://chat.example";
  cfg.bot_token = "bot-tok";
  cfg.user_token = "user-tok";
  return cfg;
}

} // namespace

TEST_CASE("a conversation call posts JSON to the conversation's path with the bot's token",
          "[chatwoot]") {
  auto cfg = settings();
  auto c = providers::chatwoot_conversation_call(cfg, 3, 117, "/toggle_status",
                                                 R"({"status":"open"})", "corr-1");
  CHECK(c.service == "chatwoot");
  CHECK(c.method == "POST");
  CHECK(c.url == "https://chat.example/api/v1/accounts/3/conversations/117/toggle_status");
  CHECK(header(c, "api_access_token") == "bot-tok"); // agent-bot accessible, not the user's
  CHECK(header(c, "Content-Type") == "application/json");
  CHECK(c.body == R"({"status":"open"})");
  CHECK(c.correlation_id == "corr-1");
}

TEST_CASE("an articles call reads one page of published articles with the Help Center token",
          "[chatwoot]") {
  auto cfg = settings();
  auto c = providers::chatwoot_articles_call(cfg, 3, "acme-help", 2);
  CHECK(c.method == "GET");
  CHECK(c.url
        == "https://chat.example/api/v1/accounts/3/portals/acme-help/articles?status=published&"
           "page=2");
  CHECK(header(c, "api_access_token") == "user-tok");
  CHECK(c.body.empty());
  // Without a user token the bot's is tried (Chatwoot may refuse it: the reader says why).
  cfg.user_token.clear();
  CHECK(header(providers::chatwoot_articles_call(cfg, 3, "acme-help", 1), "api_access_token")
        == "bot-tok");
}
