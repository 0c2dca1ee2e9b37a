#include <catch2/catch.hpp>

#include <soci/soci.h>

#include "tests/support/stack.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* customer = "+250788123456";
constexpr const char* summary = "Quoted 200k for the roof repair. Customer will confirm by Friday.";

test::header_pairs admin(test::stack& s) {
  return {test::bearer_auth(s.env("SWITCHBOARD_ADMIN_TOKEN"))};
}

test::http_result get(test::stack& s, const std::string& path) {
  return test::http_get(s.admin_url(path), admin(s));
}

test::http_result post(test::stack& s, const std::string& path) {
  return test::http_post(s.admin_url(path), "", "application/json", admin(s));
}

void sim(test::stack& s, const std::string& path, const json& body) {
  test::sim_control(s, path, body);
}

/// A call-ended webhook for `customer` without WhatsApp: its summary goes out by SMS (MTN).
void call_ended(test::stack& s, const std::string& call_id) {
  json body{{"call_id", call_id},
            {"phone_number", customer},
            {"summary", summary},
            {"outcome", "quote sent"},
            {"action_items", {"Confirm the 200k quote"}},
            {"has_whatsapp", false}};
  auto r = test::http_post_json(s.url("/webhooks/voice/call-ended"), body,
                                {test::bearer_auth(s.env("SWITCHBOARD_VOICE_TOKEN"))});
  REQUIRE(r.status == 202);
}

/// The one outbound SMS row as the console lists it (waits until its status is `status`).
json sms_row(test::stack& s, const std::string& status) {
  json row;
  std::string last;
  bool found = test::eventually(
      [&] {
        auto r = get(s, "/admin/v1/deliveries?channel=sms&direction=outbound&status=" + status);
        last = std::to_string(r.status) + " " + r.body;
        if (r.status != 200 || r.json()["items"].empty())
          return false;
        row = r.json()["items"][0];
        return true;
      },
      15s);
  INFO(last);
  REQUIRE(found);
  return row;
}

json audit_actions(test::stack& s) {
  auto r = get(s, "/admin/v1/audit");
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto body = r.json(); // keep it alive: the loop walks into it
  json out = json::array();
  for (auto& a : body["items"])
    out.push_back(a["action"].get<std::string>() + " " + a["target"].get<std::string>());
  return out;
}

bool has(const json& list, const std::string& v) {
  for (auto& x : list)
    if (x == v)
      return true;
  return false;
}

} // namespace

TEST_CASE("the console API answers what happened to a call's summary: masked, revealed with "
          "reveal=1 and audited, its story; 401 without the token",
          "[console-api]") {
  test::stack s;
  call_ended(s, "console-1");
  auto row = sms_row(s, "sent");

  // Masked by default: the phone keeps its country code and last digits, the body its length.
  CHECK(row["recipient"] == "+250***456");
  CHECK(row["body"].get<std::string>().find("chars]") != std::string::npos);
  CHECK(row["body"].get<std::string>().find("roof") == std::string::npos);
  CHECK(row["provider"] == "mtn");
  CHECK(row["attempts"] == 1);
  CHECK(row["cost"]["sms_segments"].is_number());
  CHECK(row["session_id"].is_number());
  CHECK(row["created_at"].get<std::string>().back() == 'Z');
  // The phone filter finds the user's rows, E.164 or not.
  auto by_phone = get(s, "/admin/v1/deliveries?phone=250788123456");
  REQUIRE(by_phone.status == 200);
  CHECK(by_phone.json()["items"].size() >= 1);
  CHECK(get(s, "/admin/v1/deliveries?phone=%2B250788000000").json()["items"].empty());
  CHECK(get(s, "/admin/v1/deliveries?channel=fax").status == 400);
  CHECK(get(s, "/admin/v1/deliveries?limit=501").status == 400);

  // Nothing is revealed yet, so nothing is audited.
  CHECK(audit_actions(s).empty());
  auto revealed = get(s, "/admin/v1/deliveries?channel=sms&reveal=1");
  REQUIRE(revealed.status == 200);
  auto full = revealed.json()["items"][0];
  CHECK(full["recipient"] == customer);
  CHECK(full["body"].get<std::string>().find("roof repair") != std::string::npos);
  CHECK(has(audit_actions(s), "reveal deliveries"));

  // One message's story: queued, then how it ended; masked unless revealed.
  auto id = row["id"].get<int64_t>();
  auto story = get(s, "/admin/v1/deliveries/" + std::to_string(id));
  REQUIRE(story.status == 200);
  CHECK(story.json()["delivery"]["id"] == id);
  CHECK(story.json()["delivery"]["recipient"] == "+250***456");
  auto told = story.json(); // keep it alive: the loop walks into it
  bool queued = false, ended = false;
  for (auto& e : told["story"]) {
    if (e["detail"]["id"] == id && e["kind"] == "send_attempt")
      queued = true;
    if (e["detail"]["id"] == id && e["kind"] == "status" && e["detail"]["status"] == "sent")
      ended = true;
  }
  CHECK(queued);
  CHECK(ended);
  CHECK(get(s, "/admin/v1/deliveries/" + std::to_string(id) + "?reveal=1")
            .json()["delivery"]["recipient"]
        == customer);
  CHECK(has(audit_actions(s), "reveal delivery:" + std::to_string(id)));
  CHECK(get(s, "/admin/v1/deliveries/999999").status == 404);
  CHECK(get(s, "/admin/v1/deliveries/abc").status == 400);

  // The chart counts the SMS sent in its minute; the providers view the last hour.
  auto chart = get(s, "/admin/v1/charts/sends?minutes=5");
  REQUIRE(chart.status == 200);
  auto minutes = chart.json()["minutes"];
  REQUIRE(minutes.size() == 5);
  long long sms_sent = 0;
  for (auto& m : minutes)
    sms_sent += m["by"].value("sms:sent", 0LL);
  CHECK(sms_sent == 1);
  CHECK(get(s, "/admin/v1/charts/sends?minutes=0").status == 400);
  auto providers = get(s, "/admin/v1/providers");
  REQUIRE(providers.status == 200);
  auto listed = providers.json();
  bool mtn = false;
  for (auto& p : listed["items"])
    if (p["provider"] == "mtn" && p["channel"] == "sms") {
      mtn = true;
      CHECK(p["sent_1h"] == 1);
      CHECK(p["failed_1h"] == 0);
      CHECK(p["success_rate_1h"] == 1.0);
      CHECK(p["circuit"] == "closed");
      // The send's latency, recorded with its result: one send, so p50 = p99 = its latency.
      REQUIRE(p["p50_ms"].is_number());
      CHECK(p["p50_ms"].get<double>() >= 0);
      CHECK(p["p99_ms"] == p["p50_ms"]);
    }
  CHECK(mtn);
  auto bot = get(s, "/admin/v1/bot");
  REQUIRE(bot.status == 200);
  CHECK(bot.json()["rates"]["conversations"] == 0);
  CHECK(bot.json()["handed_off"].empty());
  CHECK(bot.json()["rates"]["bot_answers"] == 0);
  CHECK(bot.json()["rates"]["answer_rate"].is_null()); // no question yet
  CHECK(bot.json()["top_articles"].empty());
  CHECK(bot.json()["knowledge_gaps"].empty());
  CHECK(get(s, "/admin/v1/bot?hours=0").status == 400);
  CHECK(get(s, "/admin/v1/bot?hours=24&reveal=1").status == 200);
  CHECK(has(audit_actions(s), "reveal bot"));
  auto node = get(s, "/admin/v1/node");
  REQUIRE(node.status == 200);
  CHECK(node.json()["draining"] == false);
  CHECK(node.json()["version"].is_string());
  CHECK(node.json()["started_at"].get<std::string>().back() == 'Z');
  CHECK(node.json()["shards"].is_null());

  // Every console route needs the admin token.
  for (auto path : {"/admin/v1/deliveries", "/admin/v1/queues", "/admin/v1/audit",
                    "/admin/v1/sessions", "/admin/v1/deliveries/1", "/admin/v1/providers",
                    "/admin/v1/charts/sends", "/admin/v1/node", "/admin/v1/bot"}) {
    auto anonymous = test::http_get(s.admin_url(path));
    CHECK(anonymous.status == 401);
    CHECK(anonymous.header("WWW-Authenticate").rfind("Bearer", 0) == 0);
    CHECK(test::http_get(s.admin_url(path), {test::bearer_auth(s.env("SWITCHBOARD_API_TOKEN"))})
              .status
          == 401);
  }
  CHECK(test::http_post(s.admin_url("/admin/v1/deliveries/1/requeue"), "").status == 401);
  CHECK(test::http_post(s.admin_url("/admin/v1/sessions/1/close"), "").status == 401);
}

TEST_CASE("a send the provider refused is requeued after the provider is fixed and ends sent; "
          "requeue and cancel answer 409 on the wrong state",
          "[console-api]") {
  test::stack s;
  // MTN refuses every send (a 400 in its own error shape): the summary fails for good.
  sim(s, "/_sim/faults",
      {{"service", "mtn"},
       {"path_contains", "/v3/sms"},
       {"error_rate", 1.0},
       {"error_status", 400}});
  call_ended(s, "console-2");
  auto row = sms_row(s, "failed");
  auto id = std::to_string(row["id"].get<int64_t>());
  CHECK_FALSE(row["last_error"].is_null());

  auto providers = get(s, "/admin/v1/providers").json(); // keep it alive: the loop walks into it
  bool mtn_failed = false;
  for (auto& p : providers["items"])
    mtn_failed = mtn_failed || (p["provider"] == "mtn" && p["failed_1h"] == 1);
  CHECK(mtn_failed);

  auto queues = get(s, "/admin/v1/queues");
  REQUIRE(queues.status == 200);
  CHECK(queues.json()["outbound"]["failed"] == 1);
  REQUIRE(queues.json()["items"].size() == 1);
  CHECK(queues.json()["items"][0]["id"] == row["id"]);
  CHECK(queues.json()["items"][0]["age_s"].is_number());
  CHECK(get(s, "/admin/v1/queues?status=queued").json()["items"].empty());
  CHECK(get(s, "/admin/v1/queues?status=failed").json()["items"].size() == 1);

  // The provider is fixed; the operator requeues the row and the outbox sends it.
  sim(s, "/_sim/faults", {{"service", "mtn"}, {"error_rate", 0.0}});
  auto requeued = post(s, "/admin/v1/deliveries/" + id + "/requeue");
  INFO(requeued.body);
  REQUIRE(requeued.status == 200);
  CHECK(requeued.json()["id"] == row["id"]);
  CHECK((requeued.json()["status"] == "queued" || requeued.json()["status"] == "sent"));
  auto sent = sms_row(s, "sent");
  CHECK(sent["id"] == row["id"]);
  CHECK(sent["attempts"].get<int>() >= 2);
  CHECK(sent["external_id"].is_string());
  CHECK(has(audit_actions(s), "requeue delivery:" + id));

  // A sent row is neither requeued nor cancelled.
  auto again = post(s, "/admin/v1/deliveries/" + id + "/requeue");
  CHECK(again.status == 409);
  CHECK(again.json()["error"] == "conflict");
  CHECK(post(s, "/admin/v1/deliveries/" + id + "/cancel").status == 409);
  CHECK(post(s, "/admin/v1/deliveries/999999/cancel").status == 404);

  // A failed row can be cancelled (it then says why), and is no longer in the failed count.
  sim(s, "/_sim/faults",
      {{"service", "mtn"},
       {"path_contains", "/v3/sms"},
       {"error_rate", 1.0},
       {"error_status", 400}});
  call_ended(s, "console-3");
  json second;
  REQUIRE(test::eventually(
      [&] {
        auto items = get(s, "/admin/v1/queues?status=failed").json()["items"];
        if (items.empty())
          return false;
        second = items[0];
        return true;
      },
      15s));
  auto second_id = std::to_string(second["id"].get<int64_t>());
  auto cancelled = post(s, "/admin/v1/deliveries/" + second_id + "/cancel");
  REQUIRE(cancelled.status == 200);
  CHECK(cancelled.json()["status"] == "failed");
  CHECK(cancelled.json()["last_error"] == "cancelled by operator");
  CHECK(has(audit_actions(s), "cancel delivery:" + second_id));
}

TEST_CASE("the console lists sessions masked, shows one with its deliveries, and closes it "
          "(audited; 409 when closed already)",
          "[console-api]") {
  test::stack s;
  call_ended(s, "console-4");
  sms_row(s, "sent");
  auto list = get(s, "/admin/v1/sessions");
  REQUIRE(list.status == 200);
  REQUIRE(list.json()["items"].size() == 1);
  auto session = list.json()["items"][0];
  CHECK(session["phone"] == "+250***456");
  CHECK(session["messages"].get<int>() >= 1);
  CHECK(session["status"] != "closed");
  auto id = std::to_string(session["id"].get<int64_t>());

  auto one = get(s, "/admin/v1/sessions/" + id);
  REQUIRE(one.status == 200);
  CHECK(one.json()["session"]["id"] == session["id"]);
  CHECK(one.json()["deliveries"].size() >= 1);
  CHECK(one.json()["session"]["context"].is_string()); // masked: its length only
  auto revealed = get(s, "/admin/v1/sessions/" + id + "?reveal=1");
  CHECK(revealed.json()["session"]["phone"] == customer);
  CHECK(revealed.json()["session"]["context"].is_object());
  CHECK(has(audit_actions(s), "reveal session:" + id));

  auto closed = post(s, "/admin/v1/sessions/" + id + "/close");
  REQUIRE(closed.status == 200);
  CHECK(closed.json()["status"] == "closed");
  CHECK(closed.json()["closed_reason"] == "operator");
  CHECK(post(s, "/admin/v1/sessions/" + id + "/close").status == 409);
  CHECK(post(s, "/admin/v1/sessions/999999/close").status == 404);
  CHECK(has(audit_actions(s), "close_session session:" + id));
  CHECK(get(s, "/admin/v1/sessions?status=active").json()["items"].empty());
  CHECK(get(s, "/admin/v1/sessions?status=follow_up").json()["items"].empty());
  CHECK(get(s, "/admin/v1/sessions?status=closed").json()["items"].size() == 1);
}
