#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "core/form.hpp"
#include "core/signatures.hpp"
#include "http/server.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

using nlohmann::json;
using namespace switchboard;
using namespace std::chrono_literals;

namespace {

// Obviously-test credentials, given to the simulator through its environment.
const std::string wa_token = "test-wa-token";
const std::string wa_secret = "test-wa-app-secret";
const std::string tw_sid = "AC00000000000000000000000000000001";
const std::string tw_token = "test-twilio-auth-token";
const std::string mtn_id = "test-mtn-client";
const std::string mtn_secret = "test-mtn-secret";
const std::string mtn_webhook = "test-mtn-webhook-secret";
const std::string tg_token = "123456789:TEST-telegram-token";
const std::string tg_secret = "test-tg-secret";
const std::string cw_token = "test-chatwoot-token";
const std::string cw_secret = "test-chatwoot-secret";
const std::string llm_key = "test-llm-key";

/// switchboard-sim started on ephemeral ports for one test.
struct sim_process {
  test::child_process proc;
  std::string base;
  int smtp_port = 0;

  explicit sim_process(std::vector<std::string> extra_args = {})
      : proc(options(std::move(extra_args))) {
    base = "http://127.0.0.1:" + std::to_string(proc.ready().at("http_port").get<int>());
    smtp_port = proc.ready().at("smtp_port").get<int>();
  }

  static test::process_options options(std::vector<std::string> extra_args) {
    test::process_options o;
    o.program = test::binary_path("sim/switchboard-sim");
    o.args = {"--listen", "127.0.0.1:0", "--smtp-listen", "127.0.0.1:0"};
    o.args.insert(o.args.end(), extra_args.begin(), extra_args.end());
    o.env = {{"SWITCHBOARD_WHATSAPP_ACCESS_TOKEN", wa_token},
             {"SWITCHBOARD_WHATSAPP_APP_SECRET", wa_secret},
             {"SWITCHBOARD_SMS_TWILIO_ACCOUNT_SID", tw_sid},
             {"SWITCHBOARD_SMS_TWILIO_AUTH_TOKEN", tw_token},
             {"SWITCHBOARD_SMS_MTN_CLIENT_ID", mtn_id},
             {"SWITCHBOARD_SMS_MTN_CLIENT_SECRET", mtn_secret},
             {"SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET", mtn_webhook},
             {"SWITCHBOARD_TELEGRAM_BOT_TOKEN", tg_token},
             {"SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET", ""},
             {"SWITCHBOARD_CHATWOOT_API_TOKEN", cw_token},
             {"SWITCHBOARD_CHATWOOT_WEBHOOK_SECRET", cw_secret},
             {"SWITCHBOARD_LLM_API_KEY", llm_key},
             {"SWITCHBOARD_SERVER_PUBLIC_URL", ""}};
    o.capture_stderr = true;
    return o;
  }

  std::string url(const std::string& path) const { return base + path; }

  json recorded(const std::string& service, uint64_t since = 0) const {
    auto r = test::http_get(
        url("/_sim/requests?service=" + service + "&since=" + std::to_string(since)));
    REQUIRE(r.status == 200);
    return r.json().at("requests");
  }

  json control(const std::string& path, const json& body) const {
    auto r = test::http_post_json(url(path), body);
    INFO(r.body);
    REQUIRE(r.status >= 200);
    REQUIRE(r.status < 300);
    return r.json();
  }
};

/// A tiny Switchboard stand-in: an sb_http_server that records what the simulator delivers.
struct receiver {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<http::request> got;
  http::server server;

  receiver()
      : server(http::server_options{}, [this](http::request&& req, http::responder respond) {
          {
            std::lock_guard<std::mutex> guard{mtx};
            got.push_back(req);
          }
          cv.notify_all();
          respond(http::response::make(200, R"({"received":true})"));
        }) {
    server.start();
  }
  ~receiver() { server.stop(std::chrono::milliseconds{500}); }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server.port()) + path;
  }

  /// Waits (bounded) until at least `n` requests arrived and returns them.
  std::vector<http::request> wait_for(std::size_t n, std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock<std::mutex> lock{mtx};
    cv.wait_for(lock, timeout, [&] { return got.size() >= n; });
    return got;
  }
};

/// Every key of `expected` (recursively; arrays by their first element) exists in `actual` with
/// the same JSON type. Values are not compared.
void require_same_shape(const json& expected, const json& actual, const std::string& where = "$") {
  INFO("at " << where);
  if (expected.is_object()) {
    REQUIRE(actual.is_object());
    for (auto& [k, v] : expected.items()) {
      if (k == "user_id" || k == "parent_user_id") // business-scoped user ids: not simulated
        continue;
      INFO("key " << k);
      REQUIRE(actual.contains(k));
      require_same_shape(v, actual[k], where + "." + k);
    }
  } else if (expected.is_array()) {
    REQUIRE(actual.is_array());
    if (!expected.empty()) {
      REQUIRE(!actual.empty());
      require_same_shape(expected[0], actual[0], where + "[0]");
    }
  } else if (expected.is_number()) {
    REQUIRE(actual.is_number());
  } else {
    REQUIRE(expected.type() == actual.type());
  }
}

const std::string graph_path = "/v21.0/100000000000001/messages";
const std::string twilio_path = "/2010-04-01/Accounts/" + tw_sid + "/Messages.json";

std::string mtn_token(const sim_process& sim) {
  auto r = test::http_post(sim.url("/v1/oauth/access_token?grant_type=client_credentials"),
                           "client_id=" + mtn_id + "&client_secret=" + mtn_secret,
                           "application/x-www-form-urlencoded");
  REQUIRE(r.status == 200);
  return r.json().at("access_token").get<std::string>();
}

json chat(const sim_process& sim, const json& body) {
  auto r
      = test::http_post_json(sim.url("/v1/chat/completions"), body, {test::bearer_auth(llm_key)});
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json();
}

} // namespace

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

TEST_CASE("sim: Chatwoot API, articles and signed webhooks", "[sim]") {
  receiver srv;
  sim_process sim{{"--server-url", srv.url("")}};
  test::header_pairs auth{{"api_access_token", cw_token}};
  sim.control("/_sim/chatwoot/articles",
              {{"portal", "help"},
               {"articles",
                {{{"id", 11}, {"title", "Refund policy"}, {"content", "Refunds take 5 days."}},
                 {{"id", 12},
                  {"title", "Opening hours"},
                  {"content", "We open at 9."},
                  {"status", "draft"}}}}});
  auto list = test::http_get(sim.url("/api/v1/accounts/1/portals/help/articles"), auth);
  REQUIRE(list.status == 200);
  auto arts = list.json();
  REQUIRE(arts["payload"].size() == 2);
  CHECK(arts["payload"][0]["id"] == 11);
  CHECK(arts["payload"][0]["title"] == "Refund policy");
  CHECK(arts["payload"][0]["content"] == "Refunds take 5 days.");
  CHECK(arts["payload"][0]["status"] == "published");
  CHECK(arts["payload"][0].contains("description"));
  CHECK(arts["payload"][0].contains("slug"));
  CHECK(arts["meta"]["articles_count"] == 2);
  auto published
      = test::http_get(sim.url("/api/v1/accounts/1/portals/help/articles?status=published"), auth);
  CHECK(published.json()["payload"].size() == 1);
  CHECK(test::http_get(sim.url("/api/v1/accounts/1/portals/nope/articles"), auth).status == 404);

  auto created = test::http_post_json(
      sim.url("/api/v1/accounts/1/conversations/42/messages"),
      {{"content", "Hi there"}, {"message_type", "outgoing"}, {"private", false}}, auth);
  REQUIRE(created.status == 200);
  CHECK(created.json()["content"] == "Hi there");
  CHECK(created.json()["message_type"] == 1);
  CHECK(created.json()["conversation_id"] == 42);
  CHECK(created.json()["id"].is_number());

  auto toggled = test::http_post_json(sim.url("/api/v1/accounts/1/conversations/42/toggle_status"),
                                      {{"status", "resolved"}}, auth);
  REQUIRE(toggled.status == 200);
  CHECK(toggled.json()
        == json{{"meta", json::object()},
                {"payload",
                 {{"success", true}, {"current_status", "resolved"}, {"conversation_id", 42}}}});
  auto convs = test::http_get(sim.url("/_sim/chatwoot/conversations")).json()["conversations"];
  REQUIRE(convs.size() == 1);
  CHECK(convs[0]["status"] == "resolved");

  auto unauthorized = test::http_get(sim.url("/api/v1/accounts/1/portals/help/articles"),
                                     {{"api_access_token", "wrong"}});
  REQUIRE(unauthorized.status == 401);
  CHECK(unauthorized.json() == json{{"error", "Invalid Access Token"}});

  auto d = sim.control("/_sim/chatwoot/webhook", {{"path", "/cw"},
                                                  {"event", "message_created"},
                                                  {"conversation_id", 42},
                                                  {"content", "Where is my refund?"},
                                                  {"sender_name", "Ada"}});
  CHECK(d["status"] == 200);
  sim.control("/_sim/chatwoot/webhook", {{"path", "/cw"},
                                         {"event", "conversation_status_changed"},
                                         {"conversation_id", 42},
                                         {"status", "open"}});
  auto got = srv.wait_for(2);
  REQUIRE(got.size() == 2);
  auto& req = got[0];
  CHECK(req.path == "/cw");
  auto ts = std::string{req.headers.get("X-Chatwoot-Timestamp")};
  CHECK(core::verify_chatwoot_signature(cw_secret, ts, req.body,
                                        req.headers.get("X-Chatwoot-Signature"), std::stoll(ts)));
  CHECK(!req.headers.get("X-Chatwoot-Delivery").empty());
  auto body = json::parse(req.body);
  CHECK(body["event"] == "message_created");
  CHECK(body["message_type"] == "incoming");
  CHECK(body["content"] == "Where is my refund?");
  CHECK(body["conversation"]["id"] == 42);
  CHECK(body["conversation"]["status"] == "resolved");
  CHECK(body["sender"]["type"] == "contact");
  CHECK(body["sender"]["name"] == "Ada");
  CHECK(body["account"]["id"] == 1);
  auto status = json::parse(got[1].body);
  CHECK(status["event"] == "conversation_status_changed");
  CHECK(status["status"] == "open");
  CHECK(status["changed_attributes"][0]["status"]["previous_value"] == "resolved");
}

TEST_CASE("sim: OpenAI chat completions rules and script", "[sim]") {
  sim_process sim;
  auto text = chat(sim, test::fixture_json("openai/chat_completion_request_text.json"));
  require_same_shape(test::fixture_json("openai/chat_completion_response_text.json"), text);
  CHECK(text["object"] == "chat.completion");
  CHECK(text["choices"][0]["finish_reason"] == "stop");
  auto user = test::fixture_json("openai/chat_completion_request_text.json")["messages"]
                  .back()["content"];
  CHECK(text["choices"][0]["message"]["content"].get<std::string>().find(user.get<std::string>())
        != std::string::npos);
  CHECK(text["usage"]["total_tokens"].get<int>()
        == text["usage"]["prompt_tokens"].get<int>()
               + text["usage"]["completion_tokens"].get<int>());

  json tools = json::array(
      {{{"type", "function"},
        {"function", {{"name", "session_update_status"}, {"parameters", {{"type", "object"}}}}}},
       {{"type", "function"},
        {"function", {{"name", "session_add_context"}, {"parameters", {{"type", "object"}}}}}}});
  json convo
      = {{"model", "sim-gpt"},
         {"tools", tools},
         {"messages",
          {{{"role", "system"}, {"content", "Follow-up for the customer at +233 24 000 0001."}},
           {{"role", "user"}, {"content", "Please change the delivery date to Friday."}}}}};
  auto call = chat(sim, convo);
  require_same_shape(test::fixture_json("openai/chat_completion_response_tool_calls.json"), call);
  auto& choice = call["choices"][0];
  CHECK(choice["finish_reason"] == "tool_calls");
  CHECK(choice["message"]["content"].is_null());
  auto fn = choice["message"]["tool_calls"][0]["function"];
  CHECK(fn["name"] == "session_add_context");
  REQUIRE(fn["arguments"].is_string());
  auto args = json::parse(fn["arguments"].get<std::string>());
  CHECK(args["context"]["delivery_date"] == "Friday");
  CHECK(args["phone_number"] == "+233240000001");

  convo["messages"].push_back(choice["message"]);
  convo["messages"].push_back({{"role", "tool"},
                               {"tool_call_id", choice["message"]["tool_calls"][0]["id"]},
                               {"content", R"({"ok":true})"}});
  auto confirm = chat(sim, convo);
  CHECK(confirm["choices"][0]["finish_reason"] == "stop");
  CHECK(!confirm["choices"][0]["message"]["content"].get<std::string>().empty());

  std::string articles = "Help Center articles:\n"
                         "[7] Opening hours\nWe are open from 9 to 5 on weekdays.\n"
                         "[8] Refund policy\nRefunds are paid back to your card within 5 days. "
                         "Contact us to start a refund.\n";
  auto grounded = [&](const std::string& question) {
    auto r
        = chat(sim, {{"model", "sim-gpt"},
                     {"response_format", {{"type", "json_object"}}},
                     {"messages",
                      {{{"role", "system"}, {"content", "Answer from the articles.\n" + articles}},
                       {{"role", "user"}, {"content", question}}}}});
    return json::parse(r["choices"][0]["message"]["content"].get<std::string>());
  };
  auto good = grounded("How long does a refund take?");
  CHECK(good["sources"] == json::array({8}));
  CHECK(good["confidence"].get<double>() > 0.55);
  CHECK(good["answer"].get<std::string>().find("5 days") != std::string::npos);
  auto poor = grounded("Can I bring my dog to the office party?");
  CHECK(poor["confidence"].get<double>() < 0.55);

  sim.control("/_sim/openai/script",
              {{"responses", {{{"status", 500}}, {{"content", "scripted answer"}}}}});
  auto failed = test::http_post_json(sim.url("/v1/chat/completions"),
                                     test::fixture_json("openai/chat_completion_request_text.json"),
                                     {test::bearer_auth(llm_key)});
  REQUIRE(failed.status == 500);
  CHECK(failed.json()["error"]["type"] == "server_error");
  CHECK(
      chat(sim, test::fixture_json(
                    "openai/chat_completion_request_text.json"))["choices"][0]["message"]["content"]
      == "scripted answer");
  CHECK(
      chat(sim, test::fixture_json(
                    "openai/chat_completion_request_text.json"))["choices"][0]["message"]["content"]
      != "scripted answer");

  auto wrong = test::http_post_json(sim.url("/v1/chat/completions"), convo,
                                    {test::bearer_auth("sk-wrong")});
  REQUIRE(wrong.status == 401);
  CHECK(wrong.json()["error"]["code"] == "invalid_api_key");
}

TEST_CASE("sim: fault injection", "[sim]") {
  sim_process sim;
  auto twilio_send = [&] {
    return test::http_post(sim.url(twilio_path), "To=%2B15550001&From=%2B15550002&Body=hi",
                           "application/x-www-form-urlencoded",
                           {test::basic_auth(tw_sid, tw_token)});
  };

  SECTION("an error rate fails a deterministic share of requests in the provider's format") {
    sim.control("/_sim/faults",
                {{"service", "twilio"}, {"error_rate", 0.5}, {"error_status", 503}});
    std::vector<long> statuses;
    for (int i = 0; i < 6; ++i)
      statuses.push_back(twilio_send().status);
    CHECK(statuses == std::vector<long>{201, 503, 201, 503, 201, 503});
    auto rec = sim.recorded("twilio");
    REQUIRE(rec.size() == 6);
    CHECK(rec[1]["status"] == 503);
    CHECK(rec[1]["fault"] == "error");
    CHECK(rec[1]["response"]["code"] == 20500);
    CHECK(rec[0]["fault"].is_null());
  }

  SECTION("the next N requests answer 429 with Retry-After") {
    sim.control("/_sim/faults", {{"service", "telegram"}, {"fail_next", 2}, {"retry_after", 3}});
    auto url = sim.url("/bot" + tg_token + "/sendMessage");
    for (int i = 0; i < 2; ++i) {
      auto r = test::http_post_json(url, {{"chat_id", 1}, {"text", "x"}});
      REQUIRE(r.status == 429);
      CHECK(r.header("Retry-After") == "3");
      CHECK(r.json()["parameters"]["retry_after"] == 3);
      CHECK(r.json()["ok"] == false);
    }
    CHECK(test::http_post_json(url, {{"chat_id", 1}, {"text", "x"}}).status == 200);
  }

  SECTION("latency delays the answer") {
    sim.control("/_sim/faults", {{"service", "openai"}, {"latency_ms", 300}});
    auto t0 = std::chrono::steady_clock::now();
    chat(sim, test::fixture_json("openai/chat_completion_request_text.json"));
    CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
    CHECK(sim.recorded("openai")[0]["fault"] == "latency");
  }

  SECTION("hang never answers until the client gives up") {
    sim.control("/_sim/faults", {{"service", "whatsapp"}, {"hang", true}});
    test::http_request req{
        "POST",
        sim.url(graph_path),
        {test::bearer_auth(wa_token), {"Content-Type", "application/json"}},
        test::fixture_json("whatsapp/cloud_api_responses.json")["send_text_request"].dump()};
    req.timeout = 500ms;
    auto r = test::http_call(req);
    CHECK(r.status == 0);
    CHECK(r.timed_out);
    auto rec = sim.recorded("whatsapp");
    REQUIRE(rec.size() == 1);
    CHECK(rec[0]["fault"] == "hang");
    CHECK(rec[0]["status"] == 0);
    REQUIRE(test::http_delete(sim.url("/_sim/faults")).status == 200);
    req.timeout = 5000ms;
    CHECK(test::http_call(req).status == 200);
  }

  SECTION("faults can target a path") {
    sim.control("/_sim/faults", {{"service", "mtn"}, {"path_contains", "/v3/"}, {"fail_next", 1}});
    auto token = mtn_token(sim);
    auto r = test::http_post_json(sim.url("/v3/sms/messages/sms/outbound"),
                                  {{"receiverAddress", {"233240000001"}}, {"message", "x"}},
                                  {test::bearer_auth(token)});
    CHECK(r.status == 500);
    CHECK(r.json().contains("statusCode"));
  }
}

namespace {

struct smtp_upload {
  std::string data;
  std::size_t pos = 0;
};

std::size_t smtp_read(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* u = static_cast<smtp_upload*>(user);
  auto len = std::min(size * n, u->data.size() - u->pos);
  std::memcpy(buf, u->data.data() + u->pos, len);
  u->pos += len;
  return len;
}

CURLcode send_mail(int port, const std::string& message) {
  CURL* h = curl_easy_init();
  smtp_upload up{message};
  curl_slist* rcpt = nullptr;
  rcpt = curl_slist_append(rcpt, "<alice@example.com>");
  rcpt = curl_slist_append(rcpt, "<bob@example.com>");
  auto url = "smtp://127.0.0.1:" + std::to_string(port) + "/switchboard.test";
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, "mailer");
  curl_easy_setopt(h, CURLOPT_PASSWORD, "test-password");
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, "<switchboard@localhost>");
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, smtp_read);
  curl_easy_setopt(h, CURLOPT_READDATA, &up);
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  auto rc = curl_easy_perform(h);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(h);
  return rc;
}

} // namespace

TEST_CASE("sim: SMTP sink records mail sent with libcurl", "[sim]") {
  sim_process sim;
  std::string message = "From: Switchboard <switchboard@localhost>\r\n"
                        "To: alice@example.com, bob@example.com\r\n"
                        "Subject: Your follow-up\r\n"
                        " continued\r\n"
                        "\r\n"
                        "Hello Alice,\r\n"
                        ".hidden line starting with a dot\r\n"
                        "Bye\r\n";
  REQUIRE(send_mail(sim.smtp_port, message) == CURLE_OK);
  auto rec = sim.recorded("smtp");
  REQUIRE(rec.size() == 1);
  auto& m = rec[0];
  CHECK(m["smtp"]["mail_from"] == "switchboard@localhost");
  CHECK(m["smtp"]["rcpt_to"] == json::array({"alice@example.com", "bob@example.com"}));
  CHECK(m["smtp"]["auth_user"] == "mailer");
  CHECK(m["smtp"]["helo"] == "switchboard.test");
  CHECK(m["headers"]["subject"] == "Your follow-up continued");
  CHECK(m["body"] == message);
  CHECK(m["status"] == 250);

  sim.control("/_sim/faults", {{"service", "smtp"}, {"fail_next", 1}, {"error_status", 451}});
  CHECK(send_mail(sim.smtp_port, message) != CURLE_OK);
  auto after = sim.recorded("smtp");
  REQUIRE(after.size() == 2);
  CHECK(after[1]["status"] == 451);
  CHECK(send_mail(sim.smtp_port, message) == CURLE_OK);
}

TEST_CASE("sim: WhatsApp, Twilio and MTN webhooks are signed and shaped like the real ones",
          "[sim]") {
  receiver srv;
  sim_process sim{{"--server-url", srv.url("")}};

  SECTION("WhatsApp inbound and status webhooks") {
    auto d = sim.control(
        "/_sim/whatsapp/inbound",
        {{"path", "/wa"}, {"from", "972987654321"}, {"name", "Test Name"}, {"text", "Body Text"}});
    CHECK(d["status"] == 200);
    CHECK(d["response_body"] == R"({"received":true})");
    sim.control("/_sim/whatsapp/status",
                {{"path", "/wa"}, {"id", "wamid.abc"}, {"statuses", {"sent", "failed"}}});
    auto got = srv.wait_for(3);
    REQUIRE(got.size() == 3);
    for (auto& r : got)
      CHECK(core::verify_hub_signature(wa_secret, r.body, r.headers.get("X-Hub-Signature-256")));
    auto inbound = json::parse(got[0].body);
    require_same_shape(test::fixture_json("whatsapp/inbound_text.json"), inbound);
    auto& value = inbound["entry"][0]["changes"][0]["value"];
    CHECK(value["messages"][0]["text"]["body"] == "Body Text");
    CHECK(value["messages"][0]["from"] == "972987654321");
    CHECK(value["contacts"][0]["profile"]["name"] == "Test Name");
    require_same_shape(test::fixture_json("whatsapp/status_sent.json"), json::parse(got[1].body));
    require_same_shape(test::fixture_json("whatsapp/status_failed.json"), json::parse(got[2].body));
    CHECK(json::parse(got[2].body)["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
          == "wamid.abc");
  }

  SECTION("WhatsApp auto-status after a send") {
    sim.control("/_sim/whatsapp/auto_status", {{"path", "/wa-status"}});
    auto sent = test::http_post_json(
        sim.url(graph_path),
        test::fixture_json("whatsapp/cloud_api_responses.json")["send_text_request"],
        {test::bearer_auth(wa_token)});
    REQUIRE(sent.status == 200);
    auto wamid = sent.json()["messages"][0]["id"];
    auto got = srv.wait_for(2);
    REQUIRE(got.size() == 2);
    std::vector<std::string> statuses;
    for (auto& r : got) {
      CHECK(r.path == "/wa-status");
      CHECK(core::verify_hub_signature(wa_secret, r.body, r.headers.get("X-Hub-Signature-256")));
      auto st = json::parse(r.body)["entry"][0]["changes"][0]["value"]["statuses"][0];
      CHECK(st["id"] == wamid);
      CHECK(st["recipient_id"] == "16505551234");
      statuses.push_back(st["status"].get<std::string>());
    }
    CHECK(statuses == std::vector<std::string>{"sent", "delivered"});
  }

  SECTION("Twilio inbound SMS and status callbacks") {
    auto d = sim.control("/_sim/twilio/inbound",
                         {{"path", "/tw?x=1"}, {"from", "+15551230000"}, {"body", "Hi there"}});
    CHECK(d["status"] == 200);
    auto sent = test::http_post(sim.url(twilio_path),
                                "To=%2B15551230000&From=%2B15005550006&Body=Reply&StatusCallback="
                                    + core::url_encode(srv.url("/tw-status")),
                                "application/x-www-form-urlencoded",
                                {test::basic_auth(tw_sid, tw_token)});
    REQUIRE(sent.status == 201);
    auto got = srv.wait_for(3);
    REQUIRE(got.size() == 3);
    auto& in = got[0];
    auto form = core::parse_form(in.body);
    CHECK(core::verify_twilio_signature(tw_token, srv.url("/tw?x=1"), form,
                                        in.headers.get("X-Twilio-Signature")));
    CHECK(core::form_value(form, "Body") == "Hi there");
    CHECK(core::form_value(form, "From") == "+15551230000");
    CHECK(core::form_value(form, "AccountSid") == tw_sid);
    CHECK(core::form_value(form, "NumMedia") == "0");
    CHECK(core::form_value(form, "MessageSid").substr(0, 2) == "SM");
    CHECK(core::form_value(form, "SmsSid") == core::form_value(form, "MessageSid"));
    std::vector<std::string> statuses;
    for (std::size_t i = 1; i < 3; ++i) {
      auto cb = core::parse_form(got[i].body);
      CHECK(got[i].path == "/tw-status");
      CHECK(core::verify_twilio_signature(tw_token, srv.url("/tw-status"), cb,
                                          got[i].headers.get("X-Twilio-Signature")));
      CHECK(core::form_value(cb, "MessageSid") == sent.json()["sid"].get<std::string>());
      statuses.emplace_back(core::form_value(cb, "MessageStatus"));
    }
    CHECK(statuses == std::vector<std::string>{"sent", "delivered"});
  }

  SECTION("Twilio signs over the server's public URL; the target can be set at run time") {
    sim_process pub{{"--public-url", "https://switchboard.example.com"}};
    auto cfg = pub.control("/_sim/config", {{"server_url", srv.url("/")}});
    CHECK(cfg["server_url"] == srv.url(""));
    CHECK(cfg["public_url"] == "https://switchboard.example.com");
    pub.control("/_sim/twilio/inbound", {{"path", "/tw"}, {"body", "via proxy"}});
    auto got = srv.wait_for(1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].path == "/tw");
    auto form = core::parse_form(got[0].body);
    CHECK(core::verify_twilio_signature(tw_token, "https://switchboard.example.com/tw", form,
                                        got[0].headers.get("X-Twilio-Signature")));
  }

  SECTION("MTN inbound SMS") {
    auto d = sim.control("/_sim/mtn/inbound",
                         {{"path", "/mtn"}, {"from", "233240000001"}, {"message", "STOP"}});
    CHECK(d["status"] == 200);
    auto got = srv.wait_for(1);
    REQUIRE(got.size() == 1);
    CHECK(core::verify_mtn_signature(mtn_webhook, got[0].body,
                                     got[0].headers.get("X-MTN-Signature")));
    auto body = json::parse(got[0].body);
    CHECK(body["from"] == "233240000001");
    CHECK(body["message"] == "STOP");
    for (auto key : {"from", "to", "message", "id", "timestamp"})
      CHECK(body.contains(key));
    auto deliveries = test::http_get(sim.url("/_sim/deliveries?service=mtn")).json()["deliveries"];
    REQUIRE(deliveries.size() == 1);
    CHECK(deliveries[0]["status"] == 200);
    CHECK(deliveries[0]["kind"] == "inbound");
  }
}
