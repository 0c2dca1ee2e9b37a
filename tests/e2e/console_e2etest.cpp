#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>

#include "core/phone.hpp"
#include "tests/support/process.hpp"
#include "tests/support/stack.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* customer = "+250788123456";
const std::string browser_dir = std::string{SB_SOURCE_DIR} + "/tests/console";
const std::string artefacts = std::string{SB_BINARY_DIR} + "/test-artifacts";

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void sim(test::stack& s, const std::string& path, const json& body) {
  test::sim_control(s, path, body);
}

void call_ended(test::stack& s, const std::string& call_id) {
  json body{{"call_id", call_id},
            {"phone_number", customer},
            {"summary", "Quoted 200k for the roof repair."},
            {"outcome", "quote sent"},
            {"action_items", {"Confirm the quote"}},
            {"has_whatsapp", false}};
  auto r = test::http_post_json(s.url("/webhooks/voice/call-ended"), body,
                                {test::bearer_auth(s.env("SWITCHBOARD_VOICE_TOKEN"))});
  REQUIRE(r.status == 202);
}

/// Waits until the console API lists a delivery matching `query`.
void listed(test::stack& s, const std::string& query) {
  REQUIRE(test::eventually(
      [&] {
        auto r = test::http_get(s.admin_url("/admin/v1/deliveries?" + query),
                                {test::bearer_auth(s.env("SWITCHBOARD_ADMIN_TOKEN"))});
        return r.status == 200 && !r.json()["items"].empty();
      },
      15s));
}

constexpr long long cw_account = 7;
constexpr long long provider_chat = 555001;

/// A customer message in Chatwoot conversation `conv`, delivered by the simulator's webhook.
void customer_asks(test::stack& s, int64_t conv, const std::string& text) {
  sim(s, "/_sim/chatwoot/webhook",
      {{"path", "/webhooks/chatwoot?account_id=" + std::to_string(cw_account)},
       {"event", "message_created"},
       {"account_id", cw_account},
       {"conversation_id", conv},
       {"content", text},
       {"message_type", "incoming"},
       {"sender_name", "Aline"},
       {"status", "pending"}});
}

/// The bot's traffic: an answer, a hand-off the provider answers on Telegram, a question no
/// article matches.
void bot_traffic(test::stack& s) {
  test::load_help_center(s, "help");
  test::configure_bot_provider(s, cw_account, "help", "telegram", provider_chat);
  customer_asks(s, 201, "How long does a refund take to arrive?");
  customer_asks(s, 202, "I want to talk to a HUMAN please");
  customer_asks(s, 203, "Do you sell purple giraffes on Mars?");
  REQUIRE(test::eventually(
      [&] {
        return test::count(s, "SELECT count(*) FROM provider_notifications WHERE conversation_id "
                              "= 202 AND status = 'sent'")
               == 1;
      },
      15s));
  auto message_id = test::count(s, "SELECT external_id::bigint FROM provider_notifications WHERE "
                                   "conversation_id = 202");
  sim(s, "/_sim/telegram/update",
      {{"chat_id", provider_chat},
       {"first_name", "Jo"},
       {"text", "Hi Aline, I am on it."},
       {"reply_to_message_id", message_id}});
  REQUIRE(test::eventually(
      [&] {
        return test::count(s, "SELECT count(*) FROM provider_notifications WHERE replied_at IS "
                              "NOT NULL")
                   == 1
               && test::count(s, "SELECT count(*) FROM bot_answers") == 3;
      },
      15s));
}

} // namespace

TEST_CASE("the operator console in headless Chromium shows real traffic: masked phones, "
          "reveal, a failed row with Requeue, the chart's bars, no console error or CSP "
          "violation",
          "[console]") {
  if (!exists(browser_dir + "/node_modules/puppeteer-core/package.json")
      || !exists("/usr/bin/chromium"))
    FAIL("the console test needs Debian's chromium and `npm ci` in "
         << browser_dir << " (scripts/bootstrap does both)");
  ::mkdir(artefacts.c_str(), 0755);

  test::stack s;
  // A call-ended fan-out sent by SMS, an inbound SMS, then a send MTN refuses (its own 400).
  call_ended(s, "console-ui-1");
  listed(s, "channel=sms&direction=outbound&status=sent");
  // The inbound SMS is answered by the LLM after a tool call (its story shows both).
  sim(s, "/_sim/mtn/inbound",
      {{"from", customer},
       {"to", "SWITCHBRD"},
       {"message", "Thanks! Please change the price to 250k"}});
  REQUIRE(test::eventually(
      [&] {
        return test::count(s, "SELECT count(*) FROM llm_steps WHERE kind = 'tool_call'") == 1;
      },
      15s));
  sim(s, "/_sim/faults",
      {{"service", "mtn"},
       {"path_contains", "/v3/sms"},
       {"error_rate", 1.0},
       {"error_status", 400}});
  call_ended(s, "console-ui-2");
  listed(s, "channel=sms&direction=outbound&status=failed");
  bot_traffic(s);

  test::process_options po;
  po.program = "node";
  po.args = {browser_dir + "/console.mjs", json{{"url", s.admin_url("")},
                                                {"token", s.env("SWITCHBOARD_ADMIN_TOKEN")},
                                                {"out", artefacts},
                                                {"phone", customer},
                                                {"masked", core::mask_phone(customer)}}
                                               .dump()};
  po.ready_event = "";
  po.capture_stderr = true;
  test::child_process node{po};
  auto status = node.wait(120s);
  INFO("browser stderr: " << node.stderr_output());
  REQUIRE(status);
  REQUIRE(*status == 0);
  auto text = node.stdout_output();
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  auto out = json::parse(
      text.substr(text.find_last_of('\n') == std::string::npos ? 0 : text.find_last_of('\n') + 1));
  INFO(out.dump(2));

  CHECK_FALSE(out.contains("failure"));
  CHECK(out["csp_header"].get<std::string>().rfind("default-src 'self'", 0) == 0);
  CHECK(out["login_shown"] == true);
  CHECK(out["token_in_session_storage"] == true);
  CHECK(out["masked_seen"] == true);
  CHECK(out["full_phone_hidden"] == true);
  CHECK(out["revealed_seen"] == true);
  CHECK(out["story_kinds"].size() >= 1);
  CHECK(out["failed_rows"].get<int>() >= 1);
  CHECK(out["requeue_buttons"] == out["failed_rows"]);
  CHECK(out["sessions"].get<int>() >= 1);
  CHECK(out["close_button"] == 1);
  CHECK(out["bars"].get<int>() >= 1);
  // The chart's series are channel:outcome, the sent and the refused SMS among them.
  auto series = out["series"];
  CHECK(std::find(series.begin(), series.end(), "sms:sent") != series.end());
  CHECK(std::find(series.begin(), series.end(), "sms:failed") != series.end());
  CHECK(std::find(out["providers"].begin(), out["providers"].end(), "mtn")
        != out["providers"].end());
  // The Bot page: rates, the article cited, the gap (masked, then revealed), the hand-off the
  // provider replied to.
  CHECK(out["bot_questions"] == "3");
  CHECK(out["bot_answers"] == "1");
  CHECK(out["bot_answer_rate"] == "33.3%");
  CHECK(out["handoff_replied"].size() == 2);
  CHECK(std::count(out["handoff_replied"].begin(), out["handoff_replied"].end(), "true") == 1);
  CHECK(out["replied_cells"].dump().find("yes") != std::string::npos);
  REQUIRE(out["top_articles"].size() >= 1);
  CHECK(out["top_article_cited"][0] == "1");
  REQUIRE(out["gaps"].size() == 1);
  CHECK(out["gaps"][0] == "[36 chars]");
  CHECK(out["gap_revealed"] == "Do you sell purple giraffes on Mars?");
  // The reply's story shows the LLM rounds and the tool call.
  auto kinds = out["reply_story_kinds"];
  CHECK(std::count(kinds.begin(), kinds.end(), "llm_round") == 2);
  CHECK(std::count(kinds.begin(), kinds.end(), "tool_call") == 1);
  // The providers page shows mtn's measured latency.
  CHECK(out["mtn_p50"].get<std::string>().find(" ms") != std::string::npos);
  CHECK(out["mtn_p99"].get<std::string>().find(" ms") != std::string::npos);
  CHECK(out["console_errors"] == json::array());
  CHECK(out["csp_violations"] == json::array());
  for (auto name : {"deliveries", "queues", "sessions", "bot", "providers"})
    CHECK(exists(artefacts + "/console-" + name + ".png"));
}
