#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "providers/twilio/codec.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/unit/providers/common.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;
using switchboard::test::error_of;
using switchboard::test::fixture_json;
using json = nlohmann::json;

// The provider fixtures hold no Twilio inbound/status webhooks, so those inputs below are written
// from twilio.com/docs/messaging/guides/webhook-request (the form parameters). Twilio's send
// request and responses come from twilio/messages_api_examples.json.

TEST_CASE("Twilio inbound SMS and WhatsApp form parameters", "[sms_codecs][twilio]") {
  form_params sms{{"ToCountry", "US"},      {"SmsMessageSid", "SM1"},
                  {"NumMedia", "0"},        {"SmsSid", "SM1"},
                  {"Body", "Hello there!"}, {"To", "+14155550199"},
                  {"MessageSid", "SM1"},    {"AccountSid", "AC00000000000000000000000000000001"},
                  {"From", "+14155550123"}, {"ApiVersion", "2010-04-01"}};
  auto in = parse_twilio_inbound(sms);
  REQUIRE(in);
  CHECK(in->message_sid == "SM1");
  CHECK(in->account_sid == "AC00000000000000000000000000000001");
  CHECK(in->from == "+14155550123");
  CHECK(in->to == "+14155550199");
  CHECK(in->body == "Hello there!");
  CHECK(in->num_media == 0);
  CHECK_FALSE(in->whatsapp);

  // The same through a raw body, as the HTTP layer receives it (+ is a space, %2B a plus).
  auto parsed
      = parse_form("MessageSid=SM2&From=whatsapp%3A%2B250788123456&To=whatsapp%3A%2B14155238886"
                   "&Body=Muraho+neza&NumMedia=1&AccountSid=AC1");
  in = parse_twilio_inbound(parsed);
  REQUIRE(in);
  CHECK(in->whatsapp);
  CHECK(in->from == "+250788123456");
  CHECK(in->to == "+14155238886");
  CHECK(in->body == "Muraho neza");
  CHECK(in->num_media == 1);

  // Old accounts only send SmsSid; short codes are kept as the To address.
  in = parse_twilio_inbound({{"SmsSid", "SM3"}, {"From", "+14155550123"}, {"To", "22395"}});
  REQUIRE(in);
  CHECK(in->message_sid == "SM3");
  CHECK(in->to == "22395");
  CHECK(in->body.empty());

  const std::pair<form_params, const char*> bad[] = {
      {{{"From", "+14155550123"}, {"To", "+14155550199"}}, "MessageSid"},
      {{{"MessageSid", "SM1"}, {"To", "+14155550199"}}, "missing From"},
      {{{"MessageSid", "SM1"}, {"From", "+14155550123"}}, "missing To"},
      {{{"MessageSid", "SM1"}, {"From", "Alice"}, {"To", "+14155550199"}}, "From:"},
      {{{"MessageSid", "SM1"}, {"From", "+14155550123"}, {"To", "+14155550199"}, {"NumMedia", "x"}},
       "NumMedia"},
  };
  for (const auto& [params, fragment] : bad) {
    INFO(fragment);
    auto err = error_of(parse_twilio_inbound(params));
    CHECK(code_of(err) == sb_error::malformed);
    CHECK_THAT(reason_of(err), Catch::Contains(fragment));
  }
}

TEST_CASE("Twilio status callbacks", "[sms_codecs][twilio]") {
  auto st = parse_twilio_status({{"MessageSid", "SM99999999999999999999999999999999"},
                                 {"MessageStatus", "delivered"},
                                 {"To", "+14155550123"},
                                 {"AccountSid", "AC1"}});
  REQUIRE(st);
  CHECK(st->message_sid == "SM99999999999999999999999999999999");
  CHECK(st->status == delivery_status::delivered);
  CHECK(st->error_code == 0);

  st = parse_twilio_status(
      parse_form("SmsSid=SM1&SmsStatus=undelivered&MessageStatus=undelivered"
                 "&ErrorCode=30003&ErrorMessage=Unreachable+destination+handset"));
  REQUIRE(st);
  CHECK(st->status == delivery_status::failed);
  CHECK(st->error_code == 30003);
  CHECK(st->error_message == "Unreachable destination handset");

  // Unknown statuses are kept raw, not mapped and not an error.
  st = parse_twilio_status({{"MessageSid", "SM1"}, {"MessageStatus", "brand_new_status"}});
  REQUIRE(st);
  CHECK_FALSE(st->status);
  CHECK(st->message_status == "brand_new_status");

  CHECK(code_of(error_of(parse_twilio_status({{"MessageStatus", "sent"}}))) == sb_error::malformed);
  CHECK(code_of(error_of(parse_twilio_status({{"MessageSid", "SM1"}}))) == sb_error::malformed);
  auto err = error_of(parse_twilio_status(
      {{"MessageSid", "SM1"}, {"MessageStatus", "failed"}, {"ErrorCode", "3000x"}}));
  CHECK_THAT(reason_of(err), Catch::Contains("ErrorCode"));
}

TEST_CASE("Twilio send form matches the Messages API example", "[sms_codecs][twilio]") {
  auto doc = fixture_json("twilio/messages_api_examples.json");
  const auto& form = doc["create_message_request_form"];
  twilio_send_request req{form["To"].get<std::string>(), form["From"].get<std::string>(), "",
                          form["Body"].get<std::string>(), ""};
  auto params = build_twilio_send_form(req);
  REQUIRE(params);
  // Same pairs, same order, as the documented raw request body.
  CHECK(*params == parse_form(doc["create_message_request_body"].get<std::string>()));

  req.from.clear();
  req.messaging_service_sid = "MG00000000000000000000000000000001";
  req.status_callback = "https://example.com/twilio/status";
  params = build_twilio_send_form(req);
  REQUIRE(params);
  CHECK(*params
        == form_params{{"To", "+14155550123"},
                       {"MessagingServiceSid", "MG00000000000000000000000000000001"},
                       {"Body", "Thanks, we received your message."},
                       {"StatusCallback", "https://example.com/twilio/status"}});

  CHECK(code_of(error_of(build_twilio_send_form({"", "+1415", "", "x", ""})))
        == sb_error::invalid_argument);
  CHECK(code_of(error_of(build_twilio_send_form({"+1415", "", "", "x", ""})))
        == sb_error::invalid_argument);
  CHECK(code_of(error_of(build_twilio_send_form({"+1415", "+1416", "", "", ""})))
        == sb_error::invalid_argument);
}

TEST_CASE("Twilio send responses", "[sms_codecs][twilio]") {
  auto doc = fixture_json("twilio/messages_api_examples.json");
  auto ok = parse_twilio_send_response(201, doc["create_message_response_201"].dump());
  REQUIRE(ok);
  CHECK(ok->message_id == "SM99999999999999999999999999999999");
  CHECK(ok->status == "queued");

  auto invalid_to
      = error_of(parse_twilio_send_response(400, doc["error_response_21211_reconstructed"].dump()));
  CHECK(code_of(invalid_to) == sb_error::provider_rejected);
  CHECK(provider_error_code(invalid_to) == 21211);
  CHECK_THAT(reason_of(invalid_to), Catch::Contains("Invalid 'To' Phone Number"));
  CHECK_THAT(reason_of(invalid_to), Catch::Contains("https://www.twilio.com/docs/errors/21211"));

  auto legacy = doc["error_response_legacy_verbatim"].dump();
  auto parsed = parse_twilio_error(legacy);
  REQUIRE(parsed);
  CHECK(parsed->code == 20001);
  CHECK(parsed->message == "Bad request");
  CHECK(parsed->more_info == "https://www.twilio.com/docs/errors/20001");
  CHECK(parsed->status == 400);
  CHECK(code_of(error_of(parse_twilio_send_response(400, legacy))) == sb_error::provider_rejected);
  for (int status : {429, 500, 503}) {
    auto err = error_of(parse_twilio_send_response(status, legacy));
    CHECK(code_of(err) == sb_error::provider_transient);
    CHECK(provider_error_code(err) == 20001);
  }
  // RFC 9457 problem details (newer Twilio APIs).
  auto problem = parse_twilio_error(
      R"({"type":"https://www.twilio.com/docs/errors/20429","title":"Too Many Requests","status":429,"code":20429,"detail":"Rate limit exceeded"})");
  REQUIRE(problem);
  CHECK(problem->code == 20429);
  CHECK(problem->message == "Rate limit exceeded");
  CHECK(problem->more_info == "https://www.twilio.com/docs/errors/20429");

  CHECK_FALSE(parse_twilio_error("{}"));
  CHECK_FALSE(parse_twilio_error("<html/>"));
  CHECK(code_of(error_of(parse_twilio_send_response(502, "<html/>")))
        == sb_error::provider_transient);
  CHECK(code_of(error_of(parse_twilio_send_response(201, R"({"status":"queued"})")))
        == sb_error::malformed);
  CHECK(code_of(error_of(parse_twilio_send_response(201, ""))) == sb_error::malformed);
}
