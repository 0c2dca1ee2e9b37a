// providers/whatsapp/send.cpp: the Cloud API request a row becomes, and what Meta's answers
// (tests/fixtures/providers/whatsapp/cloud_api_responses.json) mean for the channel.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/delivery.hpp"
#include "providers/provider.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/unit/providers/common.hpp"

using namespace switchboard;
using namespace switchboard::providers;
using json = nlohmann::json;

namespace {

std::shared_ptr<provider> whatsapp() {
  config::settings cfg;
  cfg.whatsapp.base_url = "https://graph.example";
  cfg.whatsapp.api_version = "v21.0";
  cfg.whatsapp.phone_number_id = "106540352242922";
  cfg.whatsapp.access_token = "EAAG-token";
  cfg.whatsapp.max_in_flight = 7;
  cfg.whatsapp.rate_per_s = 80;
  return test::provider_named("whatsapp", cfg);
}

send_request row(std::string body) {
  return test::send_of(42, "+16505551234", std::move(body), "corr-42");
}

core::http_reply reply(long status, const json& body) {
  return core::http_reply{status, {}, body.dump(), 1000};
}

} // namespace

TEST_CASE("WhatsApp provider: a text send is Meta's documented request", "[providers][whatsapp]") {
  auto p = whatsapp();
  CHECK(p->service() == "whatsapp");
  CHECK(p->limits().max_in_flight == 7);
  CHECK(p->limits().rate_per_s == 80);
  CHECK_FALSE(p->counts_sms_segments());
  auto call = p->build_send(row("Thanks, we received your message."));
  REQUIRE(call);
  const auto& http = std::get<core::http_call>(*call);
  CHECK(http.service == "whatsapp");
  CHECK(http.method == "POST");
  CHECK(http.url == "https://graph.example/v21.0/106540352242922/messages");
  CHECK(http.correlation_id == "corr-42");
  CHECK(http.headers
        == std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer EAAG-token"},
                                                            {"Content-Type", "application/json"}});
  auto expected = test::fixture_json("whatsapp/cloud_api_responses.json")["send_text_request"];
  expected["to"] = "16505551234"; // sent as international digits, the "+" dropped
  CHECK(json::parse(http.body) == expected);
}

TEST_CASE("WhatsApp provider: a row with a template goes as that template, the body its "
          "parameter",
          "[providers][whatsapp]") {
  auto s = row("Your call summary");
  s.template_name = "call_summary";
  s.template_language = "en_US";
  auto call = whatsapp()->build_send(s);
  REQUIRE(call);
  auto body = json::parse(std::get<core::http_call>(*call).body);
  CHECK(body["type"] == "template");
  CHECK(body["to"] == "16505551234");
  CHECK(body["template"]["name"] == "call_summary");
  CHECK(body["template"]["language"]["code"] == "en_US");
  CHECK(body["template"]["components"][0]["parameters"][0]["text"] == "Your call summary");
}

TEST_CASE("WhatsApp provider: answers, their health and the error codes' actions",
          "[providers][whatsapp]") {
  auto p = whatsapp();
  auto doc = test::fixture_json("whatsapp/cloud_api_responses.json");
  auto id = p->parse_send_answer(reply(200, doc["send_success_response"]));
  REQUIRE(id);
  CHECK(*id == "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA");
  CHECK(p->health_of(reply(200, doc["send_success_response"])) == core::call_outcome::success);

  const auto& errors = doc["error_responses_http_body"];
  auto reengage = p->parse_send_answer(reply(400, errors["re_engagement_131047"]));
  REQUIRE_FALSE(reengage);
  CHECK(core::code_of(reengage.error()) == core::sb_error::provider_rejected);
  CHECK(p->error_action(reengage.error()) == core::whatsapp_error_action::reengage);
  // A refusal of one message is not the provider failing.
  CHECK(p->health_of(reply(400, errors["re_engagement_131047"])) == core::call_outcome::success);

  auto pair_limit = p->parse_send_answer(
      core::http_reply{400, {}, R"({"error":{"code":131056,"message":"pair rate limit"}})", 0});
  REQUIRE_FALSE(pair_limit);
  CHECK(p->error_action(pair_limit.error()) == core::whatsapp_error_action::user_backoff);

  auto down = p->parse_send_answer(reply(503, errors["media_upload_131053"]));
  REQUIRE_FALSE(down);
  CHECK(core::code_of(down.error()) == core::sb_error::provider_transient);
  CHECK(p->error_action(down.error()) == core::whatsapp_error_action::none);
  CHECK(p->health_of(reply(503, errors["media_upload_131053"])) == core::call_outcome::failure);
  // No credential to fetch or refuse: the access token is a fixed secret.
  CHECK_FALSE(p->credential_call(std::chrono::steady_clock::now()));
  CHECK_FALSE(p->credential_refused(reply(401, errors["expired_access_token_401"])));
}
