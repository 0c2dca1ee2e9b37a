#include <catch2/catch.hpp>

#include "core/signatures.hpp"
#include "tests/e2e/sim_support.hpp"

using nlohmann::json;
using namespace switchboard;
using namespace std::chrono_literals;

using namespace e2e;

TEST_CASE("sim: starts on port 0, reports ready once and exits 0 on SIGTERM", "[sim]") {
  sim_process sim;
  CHECK(sim.proc.ready().at("event") == "ready");
  CHECK(sim.proc.ready().at("http_port").get<int>() > 0);
  CHECK(sim.smtp_port > 0);
  auto health = test::http_get(sim.url("/_sim/health"));
  REQUIRE(health.status == 200);
  CHECK(health.json().at("status") == "ok");
  CHECK(test::http_get(sim.url("/_sim/help")).body.find("LLM rules") != std::string::npos);
  CHECK(sim.proc.stop() == 0);
  auto out = sim.proc.stdout_output();
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
}

TEST_CASE("sim: the process helper reports a child that exits before it is ready", "[sim]") {
  test::process_options o;
  o.program = test::binary_path("sim/switchboard-sim");
  o.args = {"--no-such-flag"};
  o.capture_stderr = true;
  try {
    test::child_process p{o};
    FAIL("the child should not have become ready");
  } catch (const std::runtime_error& e) {
    CHECK(std::string{e.what()}.find("unknown option") != std::string::npos);
  }
}

TEST_CASE("sim: WhatsApp Cloud API sends, auth failures and recording", "[sim]") {
  sim_process sim;
  auto fixture = test::fixture_json("whatsapp/cloud_api_responses.json");
  auto ok = test::http_post_json(sim.url(graph_path), fixture["send_text_request"],
                                 {test::bearer_auth(wa_token)});
  REQUIRE(ok.status == 200);
  auto body = ok.json();
  require_same_shape(fixture["send_success_response"], body);
  CHECK(body["contacts"][0]["input"] == "+16505551234");
  CHECK(body["contacts"][0]["wa_id"] == "16505551234");
  CHECK(body["messages"][0]["id"].get<std::string>().rfind("wamid.", 0) == 0);

  json tmpl = {{"messaging_product", "whatsapp"},
               {"to", "16505551234"},
               {"type", "template"},
               {"template", {{"name", "hello_world"}, {"language", {{"code", "en_US"}}}}}};
  auto t = test::http_post_json(sim.url(graph_path), tmpl, {test::bearer_auth(wa_token)});
  REQUIRE(t.status == 200);
  require_same_shape(fixture["send_template_success_response"], t.json());
  CHECK(t.json()["messages"][0]["message_status"] == "accepted");

  auto wrong = test::http_post_json(sim.url(graph_path), fixture["send_text_request"],
                                    {test::bearer_auth("nope")});
  REQUIRE(wrong.status == 401);
  CHECK(wrong.json()["error"]["code"] == 190);
  CHECK(wrong.json()["error"]["type"] == "OAuthException");
  CHECK(wrong.json()["error"].contains("fbtrace_id"));

  auto bad = test::http_post_json(sim.url(graph_path), {{"messaging_product", "whatsapp"}},
                                  {test::bearer_auth(wa_token)});
  REQUIRE(bad.status == 400);
  CHECK(bad.json()["error"]["code"] == 100);

  auto rec = sim.recorded("whatsapp");
  REQUIRE(rec.size() == 4);
  CHECK(rec[0]["method"] == "POST");
  CHECK(rec[0]["path"] == graph_path);
  CHECK(rec[0]["headers"]["authorization"] == "Bearer " + wa_token);
  CHECK(rec[0]["json"] == fixture["send_text_request"]);
  CHECK(rec[0]["status"] == 200);
  CHECK(rec[0]["response"]["messages"][0]["id"] == body["messages"][0]["id"]);
  CHECK(rec[2]["status"] == 401);
  auto since = sim.recorded("whatsapp", rec[2]["seq"].get<uint64_t>());
  CHECK(since.size() == 1);
}

TEST_CASE("sim: WhatsApp refuses template parameters Meta refuses (132018, 132005)", "[sim]") {
  sim_process sim;
  auto errors = test::fixture_json("whatsapp/typing_indicator_and_template_errors.json");
  auto send = [&](const std::string& param) {
    json tmpl = {{"messaging_product", "whatsapp"},
                 {"to", "16505551234"},
                 {"type", "template"},
                 {"template",
                  {{"name", "call_summary"},
                   {"language", {{"code", "en"}}},
                   {"components",
                    {{{"type", "body"}, {"parameters", {{{"type", "text"}, {"text", param}}}}}}}}}};
    return test::http_post_json(sim.url(graph_path), tmpl, {test::bearer_auth(wa_token)});
  };
  for (std::string bad : {"Call summary\nKey points", "tab\there", "five     spaces"}) {
    auto r = send(bad);
    INFO(bad << " -> " << r.body);
    REQUIRE(r.status == 400);
    require_same_shape(errors["template_parameter_132018"], r.json());
    CHECK(r.json()["error"]["code"] == 132018);
    CHECK(r.json()["error"]["error_data"]["details"]
          == errors["template_parameter_132018"]["error"]["error_data"]["details"]);
  }
  CHECK(send("four    spaces are fine. One line, emoji \xE2\x9C\x85 too").status == 200);
  auto too_long = send(std::string(1025, 'a'));
  REQUIRE(too_long.status == 400);
  CHECK(too_long.json()["error"]["code"] == 132005);
  CHECK(send(std::string(1024, 'a')).status == 200);
}

TEST_CASE("sim: WhatsApp marks inbound messages read with the typing indicator", "[sim]") {
  sim_process sim;
  auto doc = test::fixture_json("whatsapp/typing_indicator_and_template_errors.json");
  auto request = doc["typing_indicator_request"];
  auto post = [&](const json& body) {
    return test::http_post_json(sim.url(graph_path), body, {test::bearer_auth(wa_token)});
  };
  // Unknown message ids are refused in Meta's error shape.
  auto unknown = post(request);
  REQUIRE(unknown.status == 400);
  CHECK(unknown.json()["error"]["code"] == 100);
  CHECK(unknown.json()["error"]["type"] == "OAuthException");
  CHECK(unknown.json()["error"]["error_data"]["messaging_product"] == "whatsapp");
  CHECK(unknown.json()["error"].contains("fbtrace_id"));
  // Once the simulator sent that message inbound, Meta's documented request succeeds.
  sim.control("/_sim/whatsapp/inbound",
              {{"async", true}, {"id", request["message_id"]}, {"text", "Hello"}});
  auto ok = post(request);
  REQUIRE(ok.status == 200);
  CHECK(ok.json() == doc["typing_indicator_success_response"]);
  auto plain_read = request;
  plain_read.erase("typing_indicator");
  CHECK(post(plain_read).status == 200);
  // Malformed: another indicator type, another status, stray keys, no message id.
  auto bad_type = request;
  bad_type["typing_indicator"]["type"] = "audio";
  CHECK(post(bad_type).status == 400);
  auto bad_status = request;
  bad_status["status"] = "delivered";
  CHECK(post(bad_status).status == 400);
  auto stray = request;
  stray["to"] = "16505551234";
  CHECK(post(stray).status == 400);
  auto no_id = request;
  no_id.erase("message_id");
  CHECK(post(no_id).status == 400);
}

TEST_CASE("sim: Twilio Messages API", "[sim]") {
  sim_process sim;
  auto fixture = test::fixture_json("twilio/messages_api_examples.json");
  auto form = fixture["create_message_request_body"].get<std::string>();
  auto r = test::http_post(sim.url(twilio_path), form, "application/x-www-form-urlencoded",
                           {test::basic_auth(tw_sid, tw_token)});
  REQUIRE(r.status == 201);
  auto msg = r.json();
  require_same_shape(fixture["create_message_response_201"], msg);
  CHECK(msg["sid"].get<std::string>().rfind("SM", 0) == 0);
  CHECK(msg["sid"].get<std::string>().size() == 34);
  CHECK(msg["status"] == "queued");
  CHECK(msg["to"] == "+14155550123");
  CHECK(msg["from"] == "+14155550199");
  CHECK(msg["body"] == "Thanks, we received your message.");
  CHECK(msg["account_sid"] == tw_sid);

  auto fetched = test::http_get(sim.url("/2010-04-01/Accounts/" + tw_sid + "/Messages/"
                                        + msg["sid"].get<std::string>() + ".json"),
                                {test::basic_auth(tw_sid, tw_token)});
  REQUIRE(fetched.status == 200);
  CHECK(fetched.json()["sid"] == msg["sid"]);

  auto wrong = test::http_post(sim.url(twilio_path), form, "application/x-www-form-urlencoded",
                               {test::basic_auth(tw_sid, "wrong")});
  REQUIRE(wrong.status == 401);
  CHECK(wrong.json()["code"] == 20003);
  CHECK(wrong.json()["status"] == 401);
  CHECK(wrong.json()["more_info"] == "https://www.twilio.com/docs/errors/20003");

  auto no_body
      = test::http_post(sim.url(twilio_path), "To=%2B14155550123&From=%2B14155550199",
                        "application/x-www-form-urlencoded", {test::basic_auth(tw_sid, tw_token)});
  REQUIRE(no_body.status == 400);
  CHECK(no_body.json()["code"] == 21602);

  auto rec = sim.recorded("twilio");
  REQUIRE(rec.size() == 4);
  CHECK(rec[0]["form"]["To"] == "+14155550123");
  CHECK(rec[0]["form"]["Body"] == "Thanks, we received your message.");
  CHECK(rec[0]["status"] == 201);
  CHECK(rec[2]["status"] == 401);
}

TEST_CASE("sim: MTN SMS v3 token and outbound", "[sim]") {
  sim_process sim;
  auto tok = test::http_post(sim.url("/v1/oauth/access_token?grant_type=client_credentials"),
                             "client_id=" + mtn_id + "&client_secret=" + mtn_secret,
                             "application/x-www-form-urlencoded");
  REQUIRE(tok.status == 200);
  auto t = tok.json();
  CHECK(t["token_type"] == "BearerToken");
  CHECK(t["expires_in"] == "3599");
  CHECK(t["client_id"] == mtn_id);
  auto token = t["access_token"].get<std::string>();
  CHECK(token.size() == 28);

  auto wrong = test::http_post(sim.url("/v1/oauth/access_token?grant_type=client_credentials"),
                               "client_id=" + mtn_id + "&client_secret=nope",
                               "application/x-www-form-urlencoded");
  REQUIRE(wrong.status == 401);
  CHECK(wrong.json()["ErrorCode"] == "invalid_client");

  json sms = {{"senderAddress", "SWITCHBRD"},
              {"receiverAddress", {"233240000001"}},
              {"message", "Your code is 1234"},
              {"clientCorrelatorId", "sb-1"}};
  auto sent = test::http_post_json(sim.url("/v3/sms/messages/sms/outbound"), sms,
                                   {test::bearer_auth(token)});
  REQUIRE(sent.status == 200);
  CHECK(sent.json()["statusCode"] == "0000");
  CHECK(!sent.json()["transactionId"].get<std::string>().empty());

  auto bad_token = test::http_post_json(sim.url("/v3/sms/messages/sms/outbound"), sms,
                                        {test::bearer_auth("not-issued")});
  REQUIRE(bad_token.status == 401);
  CHECK(bad_token.json().contains("statusCode"));
  CHECK(bad_token.json().contains("transactionId"));

  auto missing = test::http_post_json(sim.url("/v3/sms/messages/sms/outbound"), {{"message", "x"}},
                                      {test::bearer_auth(token)});
  CHECK(missing.status == 400);

  sim.control("/_sim/mtn/expire_tokens", json::object());
  auto expired = test::http_post_json(sim.url("/v3/sms/messages/sms/outbound"), sms,
                                      {test::bearer_auth(token)});
  CHECK(expired.status == 401);
  auto fresh = mtn_token(sim);
  CHECK(test::http_post_json(sim.url("/v3/sms/messages/sms/outbound"), sms,
                             {test::bearer_auth(fresh)})
            .status
        == 200);

  auto rec = sim.recorded("mtn");
  REQUIRE(rec.size() == 8);
  CHECK(rec[0]["query_params"]["grant_type"] == "client_credentials");
  CHECK(rec[0]["form"]["client_id"] == mtn_id);
  CHECK(rec[2]["json"]["receiverAddress"][0] == "233240000001");
}

TEST_CASE("sim: Telegram Bot API and signed updates", "[sim]") {
  sim_process sim;
  receiver srv;
  auto bot = [&](const std::string& method) { return sim.url("/bot" + tg_token + "/" + method); };

  auto me = test::http_get(bot("getMe"));
  REQUIRE(me.status == 200);
  CHECK(me.json()["ok"] == true);
  CHECK(me.json()["result"]["is_bot"] == true);
  CHECK(me.json()["result"]["id"] == 123456789);

  auto unauthorized = test::http_get(sim.url("/bot1:wrong/getMe"));
  REQUIRE(unauthorized.status == 401);
  CHECK(unauthorized.json()
        == json{{"ok", false}, {"error_code", 401}, {"description", "Unauthorized"}});

  auto hook = test::http_post_json(bot("setWebhook"),
                                   {{"url", srv.url("/tg")}, {"secret_token", tg_secret}});
  REQUIRE(hook.status == 200);
  CHECK(hook.json()["result"] == true);
  CHECK(hook.json()["description"] == "Webhook was set");

  auto fixture = test::fixture_json("telegram/bot_api_responses.json");
  auto send = [&](const json& body) { return test::http_post_json(bot("sendMessage"), body); };
  auto first = send({{"chat_id", 12345678}, {"text", "one"}});
  REQUIRE(first.status == 200);
  CHECK(first.json()["result"]["message_id"] == 1);
  CHECK(first.json()["result"]["chat"]["id"] == 12345678);
  CHECK(first.json()["result"]["chat"]["type"] == "private");
  CHECK(first.json()["result"].contains("date"));
  CHECK(first.json()["result"]["from"]["is_bot"] == true);
  CHECK(first.json()["result"]["text"] == "one");
  auto second = test::http_post(bot("sendMessage"), "chat_id=12345678&text=two",
                                "application/x-www-form-urlencoded");
  REQUIRE(second.status == 200);
  CHECK(second.json()["result"]["message_id"] == 2);
  CHECK(send({{"chat_id", 999}, {"text", "other chat"}}).json()["result"]["message_id"] == 1);

  auto empty = send({{"chat_id", 12345678}, {"text", ""}});
  REQUIRE(empty.status == 400);
  CHECK(empty.json()["description"] == "Bad Request: message text is empty");

  auto upd = sim.control("/_sim/telegram/update", {{"chat_id", 12345678},
                                                   {"first_name", "FirstName"},
                                                   {"last_name", "LastName"},
                                                   {"username", "username"},
                                                   {"text", "Reply to quoted message"},
                                                   {"reply_to_message_id", 2}});
  CHECK(upd["status"] == 200);
  sim.control("/_sim/telegram/update", {{"chat_id", 12345678}, {"text", "again"}});
  auto got = srv.wait_for(2);
  REQUIRE(got.size() == 2);
  CHECK(got[0].path == "/tg");
  CHECK(got[0].headers.get("X-Telegram-Bot-Api-Secret-Token") == tg_secret);
  CHECK(
      core::verify_secret_token(tg_secret, got[0].headers.get("X-Telegram-Bot-Api-Secret-Token")));
  auto u1 = json::parse(got[0].body);
  auto u2 = json::parse(got[1].body);
  // The fixture quotes the user's own message; here the user quotes the bot's, so the quoted
  // message's sender has the bot's fields.
  auto expected
      = test::fixture_json("telegram/update_private_reply_to_message__aiogram_wrapped.json");
  expected["message"]["reply_to_message"].erase("from");
  require_same_shape(expected, u1);
  CHECK(u1["message"]["message_id"] == 3);
  CHECK(u1["message"]["reply_to_message"]["message_id"] == 2);
  CHECK(u1["message"]["reply_to_message"]["from"]["is_bot"] == true);
  CHECK(u1["message"]["chat"]["type"] == "private");
  CHECK(u1["message"]["text"] == "Reply to quoted message");
  CHECK(u2["update_id"].get<int64_t>() == u1["update_id"].get<int64_t>() + 1);
  CHECK(u2["message"]["message_id"] == 4);

  sim.control("/_sim/telegram/block", {{"chat_id", 12345678}});
  auto blocked = send({{"chat_id", 12345678}, {"text", "hello?"}});
  REQUIRE(blocked.status == 403);
  CHECK(blocked.json()["description"] == "Forbidden: bot was blocked by the user");

  auto del = test::http_post(bot("deleteWebhook"), "", "application/json");
  CHECK(del.json()["description"] == "Webhook was deleted");
}
