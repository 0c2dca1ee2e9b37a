// providers/twilio/send.cpp: the Messages API request a row becomes and what Twilio's answers
// (tests/fixtures/providers/twilio/messages_api_examples.json) mean for the channel.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/delivery.hpp"
#include "core/form.hpp"
#include "providers/provider.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/unit/providers/common.hpp"

using namespace switchboard;
using namespace switchboard::providers;
using json = nlohmann::json;

namespace {

config::settings twilio_cfg() {
  config::settings cfg;
  cfg.server.public_url = "https://sb.example.com";
  cfg.sms.twilio.base_url = "https://api.twilio.example";
  cfg.sms.twilio.account_sid = "AC00000000000000000000000000000001";
  cfg.sms.twilio.auth_token = "tw-token";
  cfg.sms.twilio.from_number = "+14155550199";
  cfg.sms.twilio.rate_per_s = 5;
  return cfg;
}

send_request row(const json& form) {
  return test::send_of(7, form["To"].get<std::string>(), form["Body"].get<std::string>(), "corr-7");
}

} // namespace

TEST_CASE("Twilio provider: the send is the Messages API example, with our status callback",
          "[providers][twilio]") {
  auto doc = test::fixture_json("twilio/messages_api_examples.json");
  auto p = make_provider("twilio", twilio_cfg());
  REQUIRE(p);
  CHECK(p->service() == "twilio");
  CHECK(p->limits().rate_per_s == 5);
  CHECK(p->counts_sms_segments());
  auto call = p->build_send(row(doc["create_message_request_form"]));
  REQUIRE(call);
  const auto& http = std::get<core::http_call>(*call);
  CHECK(http.service == "twilio");
  CHECK(http.url
        == "https://api.twilio.example/2010-04-01/Accounts/AC00000000000000000000000000000001/"
           "Messages.json");
  CHECK(http.basic_auth == "AC00000000000000000000000000000001:tw-token");
  CHECK(http.headers
        == std::vector<std::pair<std::string, std::string>>{
            {"Content-Type", "application/x-www-form-urlencoded"}});
  // The example's parameters in its order (its body encodes spaces as "+", ours as "%20"), then
  // the status callback on server.public_url.
  auto expected = core::parse_form(doc["create_message_request_body"].get<std::string>());
  expected.emplace_back("StatusCallback", "https://sb.example.com/webhooks/sms/twilio/status");
  CHECK(core::parse_form(http.body) == expected);
}

TEST_CASE("Twilio provider: answers and a row it cannot send", "[providers][twilio]") {
  auto doc = test::fixture_json("twilio/messages_api_examples.json");
  auto p = make_provider("twilio", twilio_cfg());
  REQUIRE(p);
  auto id = p->parse_send_answer(
      core::http_reply{201, {}, doc["create_message_response_201"].dump(), 1000});
  REQUIRE(id);
  CHECK(*id == "SM99999999999999999999999999999999");
  auto invalid_to = p->parse_send_answer(
      core::http_reply{400, {}, doc["error_response_21211_reconstructed"].dump(), 1000});
  REQUIRE_FALSE(invalid_to);
  CHECK(core::code_of(invalid_to.error()) == core::sb_error::provider_rejected);
  CHECK(core::provider_error_code(invalid_to.error()) == 21211);
  CHECK(p->error_action(invalid_to.error()) == core::whatsapp_error_action::none);
  auto limited = p->parse_send_answer(core::http_reply{429, {}, "", 1000});
  REQUIRE_FALSE(limited);
  CHECK(core::code_of(limited.error()) == core::sb_error::provider_transient);

  // Neither a sender number nor a messaging service: nothing to send from.
  auto cfg = twilio_cfg();
  cfg.sms.twilio.from_number.clear();
  auto bad = make_provider("twilio", cfg)->build_send(row(doc["create_message_request_form"]));
  REQUIRE_FALSE(bad);
  CHECK(core::code_of(bad.error()) == core::sb_error::invalid_argument);
}
