// providers/telegram/send.cpp: sendMessage for a hand-off notification and what the Bot API's
// answers (tests/fixtures/providers/telegram/bot_api_responses.json) mean for the channel.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "providers/provider.hpp"
#include "providers/telegram/send.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/unit/providers/common.hpp"

using namespace switchboard;
using namespace switchboard::providers;
using json = nlohmann::json;

namespace {

std::shared_ptr<provider> telegram() {
  config::settings cfg;
  cfg.telegram.base_url = "https://tg.example";
  cfg.telegram.bot_token = "123:ABC";
  return test::provider_named("telegram", cfg);
}

core::http_reply reply(long status, const json& body) {
  return core::http_reply{status, {}, body.dump(), 1000};
}

} // namespace

TEST_CASE("Telegram provider: sendMessage to the provider's chat", "[providers][telegram]") {
  auto sample = test::fixture_json(
      "telegram/bot_api_responses.json")["reconstructed"]
                                        ["sendMessage_request_reply_in_private_chat"];
  auto p = telegram();
  CHECK(p->service() == "telegram");
  CHECK(p->limits().max_in_flight == 64);
  auto s = test::send_of(0, std::to_string(sample["chat_id"].get<int64_t>()),
                         sample["text"].get<std::string>(), "corr-1");
  auto call = p->build_send(s);
  REQUIRE(call);
  const auto& http = std::get<core::http_call>(*call);
  CHECK(http.service == "telegram");
  CHECK(http.url == "https://tg.example/bot123:ABC/sendMessage");
  CHECK(http.correlation_id == "corr-1");
  auto body = json::parse(http.body);
  CHECK(body["chat_id"] == sample["chat_id"]);
  CHECK(body["text"] == sample["text"]);
  CHECK(body["parse_mode"] == "HTML");

  s.recipient = "not-a-chat";
  auto bad = p->build_send(s);
  REQUIRE_FALSE(bad);
  CHECK(core::code_of(bad.error()) == core::sb_error::invalid_argument);
  CHECK(core::reason_of(bad.error()) == "bad Telegram chat id");
}

TEST_CASE("Telegram provider: the sent message's id, throttling and refusals",
          "[providers][telegram]") {
  auto doc = test::fixture_json("telegram/bot_api_responses.json")["reconstructed"];
  auto p = telegram();
  auto id = p->parse_send_answer(reply(200, doc["sendMessage_success"]));
  REQUIRE(id);
  CHECK(*id == "11224");
  auto throttled = p->parse_send_answer(reply(429, doc["error_too_many_requests_with_error_code"]));
  REQUIRE_FALSE(throttled);
  CHECK(core::code_of(throttled.error()) == core::sb_error::provider_transient);
  CHECK(p->health_of(reply(429, doc["error_too_many_requests_with_error_code"]))
        == core::call_outcome::failure);
  auto blocked = p->parse_send_answer(reply(403, doc["error_bot_blocked_with_error_code"]));
  REQUIRE_FALSE(blocked);
  CHECK(core::code_of(blocked.error()) == core::sb_error::provider_rejected);
  CHECK(p->health_of(reply(403, doc["error_bot_blocked_with_error_code"]))
        == core::call_outcome::success);
}

TEST_CASE("the bridge's sendMessage call is the provider's", "[providers][telegram]") {
  config::telegram_settings cfg;
  cfg.base_url = "https://tg.example";
  cfg.bot_token = "123:ABC";
  auto c = telegram_send_message_call(cfg, R"({"chat_id":7,"text":"hi"})");
  CHECK(c.service == "telegram");
  CHECK(c.method == "POST");
  CHECK(c.url == "https://tg.example/bot123:ABC/sendMessage");
  CHECK(c.headers
        == std::vector<std::pair<std::string, std::string>>{{"Content-Type", "application/json"}});
  CHECK(c.body == R"({"chat_id":7,"text":"hi"})");
}
