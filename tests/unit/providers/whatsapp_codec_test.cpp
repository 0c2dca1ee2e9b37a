#include <catch2/catch.hpp>

#include "core/delivery.hpp"
#include "core/whatsapp_errors.hpp"
#include "providers/whatsapp/codec.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;
using switchboard::test::fixture_json;
using switchboard::test::read_fixture;
using json = nlohmann::json;

namespace {

whatsapp_webhook parse_ok(const std::string& raw) {
  auto res = parse_whatsapp_webhook(raw);
  INFO((res ? std::string{} : reason_of(res.error())));
  REQUIRE(res);
  return std::move(*res);
}

whatsapp_message single_message(const json& update) {
  auto hook = parse_ok(update.dump());
  REQUIRE(hook.messages.size() == 1);
  CHECK(hook.statuses.empty());
  return hook.messages.front();
}

} // namespace

TEST_CASE("WhatsApp: every pywa inbound message parses", "[whatsapp]") {
  auto doc = fixture_json("whatsapp/pywa_tests_data_updates_message.json");
  REQUIRE(doc.size() == 23);
  for (auto& [name, update] : doc.items()) {
    INFO(name);
    const auto& raw = update["entry"][0]["changes"][0]["value"]["messages"][0];
    auto m = single_message(update);
    // Independent expectations from the fixture itself.
    CHECK(m.id == raw["id"].get<std::string>());
    CHECK(m.from == "+" + raw["from"].get<std::string>());
    CHECK(m.type == raw["type"].get<std::string>());
    CHECK(m.timestamp == std::stoll(raw["timestamp"].get<std::string>()));
    CHECK(m.phone_number_id == "1122334455667");
    CHECK(m.profile_name == "Test Name");
    if (m.type == "text")
      CHECK(m.text == raw["text"]["body"].get<std::string>());
    else
      CHECK(m.text.empty());
    CHECK(m.context_id == raw.value("/context/id"_json_pointer, std::string{}));
  }
}

TEST_CASE("WhatsApp: specific inbound variants", "[whatsapp]") {
  auto doc = fixture_json("whatsapp/pywa_tests_data_updates_message.json");

  auto text = single_message(doc["text"]);
  CHECK(text.text == "Body Text");
  CHECK(text.from == "+972987654321");
  CHECK(text.timestamp == 1697043223);
  CHECK_FALSE(text.forwarded);

  auto reply = single_message(doc["reply"]);
  CHECK(reply.text == "replied text");
  CHECK(reply.context_id == "wamid.xyzxyz==");

  CHECK(single_message(doc["forwarded"]).forwarded);
  CHECK(single_message(doc["forwarded_many_times"]).forwarded);
  CHECK(single_message(doc["video"]).forwarded); // forwarded media, caption not used as text

  auto image = single_message(doc["image"]);
  CHECK(image.type == "image");
  CHECK(image.media_id == "65463453");

  auto reaction = single_message(doc["reaction"]);
  CHECK(reaction.type == "reaction");
  CHECK(reaction.reaction_to == "wamid.yzxyzx=");
  CHECK(reaction.reaction_emoji == "\xF0\x9F\x98\xAE"); // U+1F62E from the "\ud83d\ude2e" escape
  CHECK(single_message(doc["unreaction_empty"]).reaction_emoji.empty());
  CHECK(single_message(doc["unreaction_no_emoji"]).reaction_emoji.empty());

  auto unsupported = single_message(doc["unsupported"]);
  CHECK(unsupported.type == "unsupported");
  CHECK(unsupported.error_code == 131051);
  // The error is on the enclosing value for this one.
  CHECK(single_message(doc["interactive_message_with_err"]).error_code == 131000);

  auto referral = single_message(doc["referral"]);
  CHECK(referral.text == "BODY");
  CHECK(referral.id == "wamid.ID");
}

TEST_CASE("WhatsApp: single-entry inbound fixtures", "[whatsapp]") {
  struct expectation {
    const char* file;
    const char* type;
    const char* text;
    const char* context;
  };
  const expectation cases[] = {
      {"whatsapp/inbound_text.json", "text", "Body Text", ""},
      {"whatsapp/inbound_text_reply_with_context.json", "text", "replied text", "wamid.xyzxyz=="},
      {"whatsapp/inbound_image.json", "image", "", ""},
      {"whatsapp/inbound_reaction.json", "reaction", "", ""},
      {"whatsapp/inbound_unsupported.json", "unsupported", "", ""},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    auto hook = parse_ok(read_fixture(c.file)); // the raw bytes, as the HTTP layer has them
    REQUIRE(hook.messages.size() == 1);
    CHECK(hook.messages[0].type == c.type);
    CHECK(hook.messages[0].text == c.text);
    CHECK(hook.messages[0].context_id == c.context);
    CHECK(hook.messages[0].from == "+972987654321");
  }
}

TEST_CASE("WhatsApp: the signed real delivery parses", "[whatsapp]") {
  auto hook = parse_ok(read_fixture("whatsapp/signed_body_pywa_real_delivery.json"));
  REQUIRE(hook.messages.size() == 1);
  CHECK(hook.messages[0].text == "Hey there! I am using PyWa.");
  CHECK(hook.messages[0].from == "+972544401243");
  CHECK(hook.messages[0].profile_name == "PyWa Tests");
  CHECK(hook.messages[0].phone_number_id == "277321005464405");
}

TEST_CASE("WhatsApp: every pywa status update parses", "[whatsapp]") {
  auto doc = fixture_json("whatsapp/pywa_tests_data_updates_message_status.json");
  REQUIRE(doc.size() == 7);
  for (auto& [name, update] : doc.items()) {
    INFO(name);
    const auto& raw = update["entry"][0]["changes"][0]["value"]["statuses"][0];
    auto hook = parse_ok(update.dump());
    REQUIRE(hook.statuses.size() == 1);
    CHECK(hook.messages.empty());
    const auto& s = hook.statuses[0];
    CHECK(s.message_id == raw["id"].get<std::string>());
    CHECK(s.status == raw["status"].get<std::string>());
    CHECK(s.recipient_id == raw["recipient_id"].get<std::string>());
    CHECK(s.timestamp == std::stoll(raw["timestamp"].get<std::string>()));
    CHECK(from_whatsapp_status(s.status).has_value());
  }
  auto sent = parse_ok(doc["sent"].dump()).statuses.at(0);
  CHECK(sent.status == "sent");
  CHECK(sent.recipient == "+972987654321");
  CHECK(sent.error_code == 0);
  auto failed = parse_ok(doc["failed"].dump()).statuses.at(0);
  CHECK(failed.error_code == 130472);
  CHECK(failed.error_title == "User's number is part of an experiment");
  CHECK_THAT(failed.error_details, Catch::Contains("part of an experiment"));
  auto group = parse_ok(doc["group"].dump()).statuses.at(0);
  CHECK(group.recipient_id == "fowefinoewcnw");
  CHECK(group.recipient.empty()); // a group id is not a phone number
}

TEST_CASE("WhatsApp: single-entry status fixtures", "[whatsapp]") {
  for (std::string status : {"sent", "delivered", "read", "failed"}) {
    INFO(status);
    auto hook = parse_ok(read_fixture("whatsapp/status_" + status + ".json"));
    REQUIRE(hook.statuses.size() == 1);
    CHECK(hook.statuses[0].status == status);
    CHECK(hook.statuses[0].message_id == "wamid.xyzxyz");
    CHECK(hook.statuses[0].recipient == "+972987654321");
    CHECK((hook.statuses[0].error_code != 0) == (status == "failed"));
  }
}

TEST_CASE("WhatsApp: malformed webhooks give clear reasons", "[whatsapp]") {
  auto check_error = [](const std::string& body, sb_error code, const std::string& fragment) {
    INFO(body);
    auto res = parse_whatsapp_webhook(body);
    REQUIRE_FALSE(res);
    CHECK(code_of(res.error()) == code);
    CHECK_THAT(reason_of(res.error()), Catch::Contains(fragment));
  };
  check_error("", sb_error::malformed, "not valid JSON");
  check_error("{", sb_error::malformed, "not valid JSON");
  check_error("[]", sb_error::malformed, "not a JSON object");
  check_error("{\"object\":\"whatsapp_business_account\"}", sb_error::malformed, "'entry'");
  check_error("{\"object\":\"page\",\"entry\":[]}", sb_error::unsupported,
              "whatsapp_business_account");
  check_error("{\"entry\":[{\"id\":\"1\"}]}", sb_error::malformed, "entry[0]: missing 'changes'");

  auto base = fixture_json("whatsapp/inbound_text.json");
  auto with = [&](const std::string& pointer, const json& value) {
    auto doc = base;
    doc[json::json_pointer{pointer}] = value;
    return doc.dump();
  };
  auto without = [&](const std::string& field) {
    auto doc = base;
    doc["entry"][0]["changes"][0]["value"]["messages"][0].erase(field);
    return doc.dump();
  };
  const std::string msg = "/entry/0/changes/0/value/messages/0";
  check_error(without("id"), sb_error::malformed, "messages[0]: missing 'id'");
  check_error(without("from"), sb_error::malformed, "missing 'from'");
  check_error(without("timestamp"), sb_error::malformed, "timestamp");
  check_error(without("type"), sb_error::malformed, "missing 'type'");
  check_error(without("text"), sb_error::malformed, "text.body");
  check_error(with(msg + "/timestamp", "12:00"), sb_error::malformed, "timestamp");
  check_error(with(msg + "/id", 12.5), sb_error::malformed, "missing 'id'");
  check_error(with("/entry/0/changes/0/value", "x"), sb_error::malformed, "'value'");

  // A sender that is no phone number (a business-scoped user id) does not spoil the webhook: the
  // message parses with an empty E.164 `from` (the edge skips it) and its raw id kept.
  auto odd_sender = parse_whatsapp_webhook(with(msg + "/from", "US.13491208655302741918"));
  REQUIRE(odd_sender);
  REQUIRE(odd_sender->messages.size() == 1);
  CHECK(odd_sender->messages[0].from.empty());
  CHECK(odd_sender->messages[0].from_raw == "US.13491208655302741918");

  // Changes for other fields (account updates, template reviews) are skipped, not errors.
  auto other = with("/entry/0/changes/0/field", "message_template_status_update");
  auto res = parse_whatsapp_webhook(other);
  REQUIRE(res);
  CHECK(res->messages.empty());
  // An empty entry list is a valid, empty delivery.
  res = parse_whatsapp_webhook("{\"object\":\"whatsapp_business_account\",\"entry\":[]}");
  REQUIRE(res);
  CHECK(res->messages.empty());
  // Invalid UTF-8 inside a string is rejected by the JSON parser, not passed on.
  check_error("{\"entry\":[],\"x\":\"\xFF\"}", sb_error::malformed, "not valid JSON");
}

TEST_CASE("WhatsApp: GET subscription verification", "[whatsapp]") {
  auto doc = fixture_json("whatsapp/signature_vectors.json");
  const auto& gv = doc["get_verification"];
  auto to_query = [](const json& obj) {
    form_params out;
    for (auto& [k, v] : obj.items())
      out.emplace_back(k, v.get<std::string>());
    return out;
  };
  auto ok = whatsapp_verify_challenge(to_query(gv["query"]), "meatyhamhock");
  REQUIRE(ok);
  CHECK(*ok == "1158201444");
  // The same request as the documented raw query string.
  auto raw = gv["request"].get<std::string>();
  auto parsed = parse_form(raw.substr(raw.find('?') + 1));
  CHECK(whatsapp_verify_challenge(parsed, "meatyhamhock").value() == "1158201444");

  const auto& neg = gv["negative_cases_collector_defined"];
  REQUIRE(neg.size() == 3);
  auto wrong_token = whatsapp_verify_challenge(to_query(neg[0]["query"]), "meatyhamhock");
  REQUIRE_FALSE(wrong_token);
  CHECK(code_of(wrong_token.error()) == sb_error::bad_signature);
  auto unsubscribe = whatsapp_verify_challenge(to_query(neg[1]["query"]), "meatyhamhock");
  REQUIRE_FALSE(unsubscribe);
  CHECK(code_of(unsubscribe.error()) == sb_error::invalid_argument);
  auto no_challenge = whatsapp_verify_challenge(to_query(neg[2]["query"]), "meatyhamhock");
  REQUIRE_FALSE(no_challenge);
  CHECK(code_of(no_challenge.error()) == sb_error::malformed);
  // An unconfigured (empty) verify token never verifies.
  CHECK_FALSE(whatsapp_verify_challenge(to_query(gv["query"]), ""));
}

TEST_CASE("WhatsApp: send bodies match Meta's documented shape", "[whatsapp]") {
  auto doc = fixture_json("whatsapp/cloud_api_responses.json");
  CHECK(build_whatsapp_text("+16505551234", "Thanks, we received your message.")
        == doc["send_text_request"]);
  CHECK(build_whatsapp_text("+16505551234", "Replying to your message.",
                            "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA")
        == doc["send_text_reply_request"]);

  whatsapp_template tpl{"call_summary", "en_US", {"Alice", "resolved"}};
  auto body = build_whatsapp_template("+250788123456", tpl);
  auto expected = R"({
    "messaging_product": "whatsapp", "recipient_type": "individual", "to": "+250788123456",
    "type": "template",
    "template": {"name": "call_summary", "language": {"code": "en_US"},
                 "components": [{"type": "body", "parameters": [
                   {"type": "text", "text": "Alice"}, {"type": "text", "text": "resolved"}]}]}
  })"_json;
  CHECK(body == expected);
  // Without parameters there is no components array (Meta rejects an empty one).
  auto bare = build_whatsapp_template("+250788123456", {"hello_world", "en_US", {}});
  CHECK_FALSE(bare["template"].contains("components"));
  CHECK(bare["template"]["language"]["code"] == "en_US");
  // Text with characters JSON must escape survives a round trip.
  auto tricky = build_whatsapp_text("+1", "quote \" backslash \\ newline \n <b>");
  CHECK(json::parse(tricky.dump())["text"]["body"] == "quote \" backslash \\ newline \n <b>");
}

TEST_CASE("WhatsApp: the read receipt with typing indicator matches Meta's documented shape",
          "[whatsapp]") {
  auto doc = fixture_json("whatsapp/typing_indicator_and_template_errors.json");
  auto& expected = doc["typing_indicator_request"];
  CHECK(build_whatsapp_typing_indicator(expected["message_id"].get<std::string>()) == expected);
}

TEST_CASE("WhatsApp: send responses", "[whatsapp]") {
  auto doc = fixture_json("whatsapp/cloud_api_responses.json");
  auto ok = parse_whatsapp_send_response(200, doc["send_success_response"].dump());
  REQUIRE(ok);
  CHECK(*ok == "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA");
  CHECK(parse_whatsapp_send_response(200, doc["send_template_success_response"].dump()).value()
        == "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA");

  const auto& errors = doc["error_responses_http_body"];
  auto reengage = parse_whatsapp_send_response(400, errors["re_engagement_131047"].dump());
  REQUIRE_FALSE(reengage);
  CHECK(code_of(reengage.error()) == sb_error::provider_rejected);
  CHECK(is_whatsapp_reengagement_error(reengage.error()));
  CHECK(provider_error_code(reengage.error()) == whatsapp_reengagement_error);
  CHECK_THAT(reason_of(reengage.error()), Catch::Contains("131047"));
  CHECK_THAT(reason_of(reengage.error()), Catch::Contains("more than 24 hours"));

  auto expired = parse_whatsapp_send_response(401, errors["expired_access_token_401"].dump());
  REQUIRE_FALSE(expired);
  CHECK(code_of(expired.error()) == sb_error::provider_rejected);
  CHECK_FALSE(is_whatsapp_reengagement_error(expired.error()));
  CHECK_THAT(reason_of(expired.error()), Catch::Contains("190/463"));
  CHECK_THAT(reason_of(expired.error()), Catch::Contains("Session has expired"));

  auto generic = parse_whatsapp_send_response(400, errors["generic_400"].dump());
  REQUIRE_FALSE(generic);
  CHECK(code_of(generic.error()) == sb_error::provider_rejected);
  CHECK(provider_error_code(generic.error()) == 1);

  // The same bodies with 429 / 5xx are transient.
  for (int status : {429, 500, 502, 503}) {
    auto res = parse_whatsapp_send_response(status, errors["media_upload_131053"].dump());
    REQUIRE_FALSE(res);
    CHECK(code_of(res.error()) == sb_error::provider_transient);
    CHECK(provider_error_code(res.error()) == 131053);
  }
  // Meta's throttling codes are transient even on HTTP 400.
  auto throttled = parse_whatsapp_send_response(
      400, R"({"error":{"code":130429,"message":"Rate limit hit"}})");
  REQUIRE_FALSE(throttled);
  CHECK(code_of(throttled.error()) == sb_error::provider_transient);
  // Bodies that are not Graph errors still produce a classified error.
  auto html = parse_whatsapp_send_response(502, "<html>Bad Gateway</html>");
  REQUIRE_FALSE(html);
  CHECK(code_of(html.error()) == sb_error::provider_transient);
  CHECK_FALSE(provider_error_code(html.error()));
  // A 2xx without a message id is malformed, not success.
  for (std::string body : {"", "{}", R"({"messages":[]})", R"({"messages":[{"id":""}]})", "[1]"}) {
    auto res = parse_whatsapp_send_response(200, body);
    REQUIRE_FALSE(res);
    CHECK(code_of(res.error()) == sb_error::malformed);
  }
}

TEST_CASE("WhatsApp: the pricing object of status webhooks", "[whatsapp][cost]") {
  // Per-message pricing with pricing.type (v24+), from Meta's own example.
  auto pmp = parse_ok(read_fixture("whatsapp/status_delivered_pricing_pmp.json")).statuses.at(0);
  CHECK(pmp.pricing.billable == true);
  CHECK(pmp.pricing.model == "PMP");
  CHECK(pmp.pricing.category == "marketing");
  CHECK(pmp.pricing.type == "regular");
  CHECK(has_pricing(pmp.pricing));
  CHECK(is_billable(pmp.pricing));
  CHECK(cost_units(pmp.pricing) == 1.0);

  // The older conversation-based shape (no type): billable decides.
  auto cbp = parse_ok(read_fixture("whatsapp/status_sent.json")).statuses.at(0);
  CHECK(cbp.pricing.model == "CBP");
  CHECK(cbp.pricing.category == "service");
  CHECK(cbp.pricing.type.empty());
  CHECK(is_billable(cbp.pricing));

  // A failed status carries no pricing.
  auto failed = parse_ok(read_fixture("whatsapp/status_failed.json")).statuses.at(0);
  CHECK_FALSE(has_pricing(failed.pricing));
  CHECK(cost_units(failed.pricing) == 0.0);

  // A free service message: the type wins over a stale billable flag.
  message_pricing free_service;
  free_service.billable = true;
  free_service.model = "PMP";
  free_service.category = "service";
  free_service.type = "free_customer_service";
  CHECK_FALSE(is_billable(free_service));
  CHECK(cost_units(free_service) == 0.0);

  // Meta's placeholder docs show billable as a string; it still parses.
  auto doc = fixture_json("whatsapp/status_delivered_pricing_pmp.json");
  auto& pricing = doc["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"];
  pricing["billable"] = "false";
  pricing["type"] = "free_entry_point";
  auto st = parse_ok(doc.dump()).statuses.at(0);
  CHECK(st.pricing.billable == false);
  CHECK_FALSE(is_billable(st.pricing));
}

TEST_CASE("WhatsApp: what each per-user error code calls for", "[whatsapp]") {
  CHECK(whatsapp_error_action_for(131047) == whatsapp_error_action::reengage);
  CHECK(whatsapp_error_action_for(131026) == whatsapp_error_action::undeliverable);
  CHECK(whatsapp_error_action_for(131049) == whatsapp_error_action::user_backoff);
  CHECK(whatsapp_error_action_for(131056) == whatsapp_error_action::user_backoff);
  CHECK(whatsapp_error_action_for(130429) == whatsapp_error_action::retry);
  CHECK(whatsapp_error_action_for(130472) == whatsapp_error_action::none);
  CHECK(whatsapp_error_action_for(0) == whatsapp_error_action::none);
  CHECK(whatsapp_user_backoff(131056) >= std::chrono::seconds{6});
  CHECK(whatsapp_user_backoff(131049) >= std::chrono::hours{1});

  // The codes as Meta sends them, synchronously (Graph error body on HTTP 400).
  auto pair = parse_whatsapp_send_response(
      400, R"({"error":{"message":"(#131056) (Business Account, Consumer Account) pair rate limit )"
           R"(hit","type":"OAuthException","code":131056,"error_data":{"messaging_product":)"
           R"("whatsapp","details":"Message failed to send because there were too many messages )"
           R"(sent from this phone number to the same phone number in a short period of time."},)"
           R"("fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}})");
  REQUIRE_FALSE(pair);
  CHECK(provider_error_code(pair.error()) == 131056);
  CHECK(whatsapp_error_action_for(*provider_error_code(pair.error()))
        == whatsapp_error_action::user_backoff);

  // And asynchronously, in a failed status (the failed fixture with the code swapped).
  auto doc = fixture_json("whatsapp/status_failed.json");
  auto& err = doc["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0];
  err["code"] = 131026;
  err["title"] = "Message undeliverable";
  auto st = parse_ok(doc.dump()).statuses.at(0);
  CHECK(st.error_code == 131026);
  CHECK(whatsapp_error_action_for(st.error_code) == whatsapp_error_action::undeliverable);
}

TEST_CASE("WhatsApp: business-scoped user ids (2026) in webhooks and sends", "[whatsapp]") {
  // A real delivery carrying both the number and the BSUID.
  auto both = parse_ok(read_fixture("whatsapp/inbound_text_bsuid.json"));
  REQUIRE(both.messages.size() == 1);
  CHECK(both.messages[0].from == "+919810218674");
  CHECK(both.messages[0].user_id == "IN.1410018717833190");
  CHECK(both.messages[0].phone_number_id == "1088451004357858");
  CHECK(both.messages[0].profile_name == "Krish Thakur");
  CHECK(both.messages[0].text == "Hey");

  // A user with a username: the number is withheld, the BSUID is all there is.
  auto withheld = parse_ok(read_fixture("whatsapp/inbound_text_username.json"));
  REQUIRE(withheld.messages.size() == 1);
  CHECK(withheld.messages[0].from.empty());
  CHECK(withheld.messages[0].from_raw.empty());
  CHECK(withheld.messages[0].user_id == "IN.1410018717833190");
  CHECK(withheld.messages[0].profile_name == "Krish Thakur");

  // The BSUID only in contacts[] (the first 2026 deliveries): taken from the sender's contact.
  auto doc = fixture_json("whatsapp/inbound_text_bsuid.json");
  doc["entry"][0]["changes"][0]["value"]["messages"][0].erase("from_user_id");
  auto from_contact = parse_ok(doc.dump());
  CHECK(from_contact.messages[0].user_id == "IN.1410018717833190");
  // Neither a number nor a BSUID on the message: malformed, with the reason.
  doc = fixture_json("whatsapp/inbound_text_username.json");
  doc["entry"][0]["changes"][0]["value"]["messages"][0].erase("from_user_id");
  auto none = parse_whatsapp_webhook(doc.dump());
  REQUIRE_FALSE(none);
  CHECK_THAT(reason_of(none.error()), Catch::Contains("'from_user_id'"));

  // A status for a message sent to a BSUID has no recipient_id.
  auto status = parse_ok(read_fixture("whatsapp/status_delivered_username.json"));
  REQUIRE(status.statuses.size() == 1);
  CHECK(status.statuses[0].recipient_id.empty());
  CHECK(status.statuses[0].recipient_user_id == "IN.1410018717833190");
  CHECK(status.statuses[0].status == "delivered");

  // The form: country code, period, optional ENT., 1-128 letters and digits.
  CHECK(is_whatsapp_user_id("US.13491208655302741918"));
  CHECK(is_whatsapp_user_id("US.ENT.11815799212886844830"));
  CHECK(is_whatsapp_user_id("BR.1502576394655843"));
  CHECK_FALSE(is_whatsapp_user_id("+14155550123"));
  CHECK_FALSE(is_whatsapp_user_id("14155550123"));
  CHECK_FALSE(is_whatsapp_user_id("US."));
  CHECK_FALSE(is_whatsapp_user_id("USA.123"));
  CHECK_FALSE(is_whatsapp_user_id("US.12-3"));
  CHECK_FALSE(is_whatsapp_user_id("US." + std::string(129, '1')));

  // Sends address a BSUID with "recipient" instead of "to".
  auto text = build_whatsapp_text("US.13491208655302741918", "Hello");
  CHECK(text["recipient"] == "US.13491208655302741918");
  CHECK_FALSE(text.contains("to"));
  CHECK(text["text"]["body"] == "Hello");
  auto tpl = build_whatsapp_template("US.13491208655302741918", {"call_summary", "en", {"x"}});
  CHECK(tpl["recipient"] == "US.13491208655302741918");
  CHECK_FALSE(tpl.contains("to"));
  CHECK(build_whatsapp_text("+16505551234", "Hi")["to"] == "+16505551234");
}
