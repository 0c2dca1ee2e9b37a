// Simulator e2e tests, continued: Chatwoot, OpenAI, fault injection, SMTP and the signed webhooks.
#include <catch2/catch.hpp>

#include "providers/chatwoot/signature.hpp"
#include "providers/mtn/signature.hpp"
#include "providers/twilio/signature.hpp"
#include "providers/whatsapp/signature.hpp"
#include "tests/e2e/sim_support.hpp"

using nlohmann::json;
using namespace switchboard;
using namespace std::chrono_literals;

using namespace e2e;

TEST_CASE("sim: Chatwoot API, articles and signed webhooks", "[sim]") {
  receiver srv;
  sim_process sim{{"--server-url", srv.url("")}};
  test::header_pairs auth{{"api_access_token", cw_token}};
  test::header_pairs user_auth{{"api_access_token", cw_user_token}};
  sim.control("/_sim/chatwoot/articles",
              {{"portal", "help"},
               {"articles",
                {{{"id", 11}, {"title", "Refund policy"}, {"content", "Refunds take 5 days."}},
                 {{"id", 12},
                  {"title", "Opening hours"},
                  {"content", "We open at 9."},
                  {"status", "draft"}}}}});
  auto list = test::http_get(sim.url("/api/v1/accounts/1/portals/help/articles"), user_auth);
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
  auto published = test::http_get(
      sim.url("/api/v1/accounts/1/portals/help/articles?status=published"), user_auth);
  CHECK(published.json()["payload"].size() == 1);
  CHECK(test::http_get(sim.url("/api/v1/accounts/1/portals/nope/articles"), user_auth).status
        == 404);

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

  // An agent-bot token may call only Chatwoot's BOT_ACCESSIBLE_ENDPOINTS (messages create,
  // toggle_status, ...): reading the Help Center or a conversation's messages needs a user.
  auto bot_json = json{{"error", "Access to this endpoint is not authorized for bots"}};
  auto bot_articles = test::http_get(sim.url("/api/v1/accounts/1/portals/help/articles"), auth);
  REQUIRE(bot_articles.status == 401);
  CHECK(bot_articles.json() == bot_json);
  auto bot_messages = test::http_get(sim.url("/api/v1/accounts/1/conversations/42/messages"), auth);
  REQUIRE(bot_messages.status == 401);
  CHECK(bot_messages.json() == bot_json);
  CHECK(test::http_get(sim.url("/api/v1/accounts/1/conversations/42/messages"), user_auth).status
        == 200);
  auto by_user = test::http_post_json(sim.url("/api/v1/accounts/1/conversations/42/messages"),
                                      {{"content", "From an agent"}}, user_auth);
  CHECK(by_user.status == 200);

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
  CHECK(providers::verify_chatwoot_signature(
      cw_secret, ts, req.body, req.headers.get("X-Chatwoot-Signature"), std::stoll(ts)));
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
      CHECK(
          providers::verify_hub_signature(wa_secret, r.body, r.headers.get("X-Hub-Signature-256")));
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
      CHECK(
          providers::verify_hub_signature(wa_secret, r.body, r.headers.get("X-Hub-Signature-256")));
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
    CHECK(providers::verify_twilio_signature(tw_token, srv.url("/tw?x=1"), form,
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
      CHECK(providers::verify_twilio_signature(tw_token, srv.url("/tw-status"), cb,
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
    CHECK(providers::verify_twilio_signature(tw_token, "https://switchboard.example.com/tw", form,
                                             got[0].headers.get("X-Twilio-Signature")));
  }

  SECTION("MTN inbound SMS") {
    auto d = sim.control("/_sim/mtn/inbound",
                         {{"path", "/mtn"}, {"from", "233240000001"}, {"message", "STOP"}});
    CHECK(d["status"] == 200);
    auto got = srv.wait_for(1);
    REQUIRE(got.size() == 1);
    CHECK(providers::verify_mtn_signature(mtn_webhook, got[0].body,
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
