// Omnichannel e2e tests, continued: SMS caps, WhatsApp read receipts, and what each of Meta's error
// codes does to a send.
#include <catch2/catch.hpp>

#include "tests/e2e/omnichannel_support.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
using nlohmann::json;

using namespace e2e;

namespace {

/// A summary far longer than any SMS cap.
json long_summary() {
  std::string text;
  for (int i = 0; i < 60; ++i)
    text += "Point " + std::to_string(i) + " of the roof repair was discussed. ";
  return {{"summary", text}};
}

/// Segments of the summary SMS the simulator received (after it arrived).
std::size_t summary_sms_segments(test::stack& s) {
  REQUIRE(test::eventually([&] { return sent(s, "mtn", "/v3/sms").size() == 1; }));
  auto sms = sent(s, "mtn", "/v3/sms")[0];
  CHECK(sms["status"].get<int>() < 300);
  auto text = sms["json"]["message"].get<std::string>();
  INFO(text);
  CHECK(text.find("Outcome: quote sent") != std::string::npos);
  return core::analyze_sms(text).segments;
}

} // namespace

TEST_CASE("sms.max_segments caps the summary SMS: 1 segment", "[omnichannel]") {
  test::stack s{with_env({{"SWITCHBOARD_SMS_MAX_SEGMENTS", "1"}})};
  REQUIRE(call_ended(s, "call-seg-1", long_summary()).status == 202);
  CHECK(summary_sms_segments(s) == 1);
}

TEST_CASE("sms.max_segments caps the summary SMS: a long one uses all 5", "[omnichannel]") {
  test::stack s{with_env({{"SWITCHBOARD_SMS_MAX_SEGMENTS", "5"}})};
  REQUIRE(call_ended(s, "call-seg-5", long_summary()).status == 202);
  CHECK(summary_sms_segments(s) == 5); // not the 3 it was always cut to
}

TEST_CASE("an inbound WhatsApp text answered by the LLM is first marked read with the typing "
          "indicator",
          "[omnichannel]") {
  test::stack s;
  auto wamid = std::string{"wamid.HBgMMjUwNzg4MTIzNDU2FQIAEhggVFlQSU5HMQA="};
  sim(s, "/_sim/whatsapp/inbound",
      {{"from", "250788123456"}, {"text", "When do you come?"}, {"id", wamid}});
  REQUIRE(test::eventually([&] { return sent(s, "whatsapp", "/messages").size() == 1; }));
  auto reads = read_receipts(s);
  REQUIRE(reads.size() == 1);
  auto& r = reads[0];
  CHECK(r["json"]
        == json{{"messaging_product", "whatsapp"},
                {"status", "read"},
                {"message_id", wamid},
                {"typing_indicator", {{"type", "text"}}}});
  CHECK(r["status"] == 200);
  CHECK(r["response"] == json{{"success", true}});
  CHECK(r["path"].get<std::string>().find("/messages") != std::string::npos);
  CHECK(r["headers"]["authorization"] == "Bearer " + s.env("SWITCHBOARD_WHATSAPP_ACCESS_TOKEN"));
  auto reply = sent(s, "whatsapp", "/messages")[0];
  CHECK(reply["json"]["type"] == "text");
  CHECK(r["seq"].get<uint64_t>() < reply["seq"].get<uint64_t>()); // before the reply
  // The read receipt is no message of the delivery log: one inbound row, one reply.
  CHECK(test::count(s, "SELECT count(*) FROM message_delivery_log") == 2);
  REQUIRE(test::eventually([&] {
    return test::http_get(s.url("/metrics"))
               .body.find(R"(switchboard_typing_indicators_total{result="sent"} 1)")
           != std::string::npos;
  }));

  // A non-text message gets the fixed notice, not the LLM: no typing indicator.
  sim(s, "/_sim/whatsapp/inbound", {{"from", "250788123456"}, {"type", "image"}});
  REQUIRE(test::eventually([&] { return sent(s, "whatsapp", "/messages").size() == 2; }));
  CHECK(read_receipts(s).size() == 1);
  // An SMS is answered by SMS: no typing indicator either.
  sim(s, "/_sim/mtn/inbound", {{"from", customer}, {"message", "Are you there?"}});
  REQUIRE(test::eventually([&] { return sent(s, "mtn", "/v3/sms").size() == 1; }));
  CHECK(read_receipts(s).size() == 1);
}

TEST_CASE("whatsapp.typing_indicator = false: the LLM answers without a read receipt",
          "[omnichannel]") {
  test::stack s{with_env({{"SWITCHBOARD_WHATSAPP_TYPING_INDICATOR", "false"}})};
  sim(s, "/_sim/whatsapp/inbound", {{"from", "250788123456"}, {"text", "When do you come?"}});
  REQUIRE(test::eventually([&] { return sent(s, "whatsapp", "/messages").size() == 1; }));
  std::this_thread::sleep_for(200ms);
  CHECK(read_receipts(s).empty());
  CHECK(s.sim_requests("whatsapp")["requests"].size() == 1);
}

namespace {

constexpr const char* other_customer = "+250788654321";

/// WhatsApp sends recorded by the simulator to one number (E.164).
json whatsapp_to(test::stack& s, const std::string& phone) {
  json out = json::array();
  for (auto& r : sent(s, "whatsapp", "/messages"))
    if ("+" + r["json"].value("to", std::string{}) == phone)
      out.push_back(r);
  return out;
}

/// The simulator answers sends to `phone` with Meta's error `code` (its own default mode).
void refuse(test::stack& s, const std::string& phone, int64_t code, json extra = json::object()) {
  json body{{"recipient", phone}, {"error_code", code}};
  for (auto& [k, v] : extra.items())
    body[k] = v;
  sim(s, "/_sim/whatsapp/rules", body);
}

/// A WhatsApp message from `phone` (its reply then goes out on WhatsApp, inside the window).
void whatsapp_from(test::stack& s, const std::string& phone, const std::string& text) {
  auto answer = sim(s, "/_sim/whatsapp/inbound", {{"from", phone.substr(1)}, {"text", text}});
  REQUIRE(answer["status"] == 200);
}

/// The one counter line of /metrics with every one of these label pairs, or "".
std::string metric_line(test::stack& s, const std::string& name,
                        const std::vector<std::string>& labels) {
  auto text = test::http_get(s.url("/metrics")).body;
  std::size_t pos = 0;
  while ((pos = text.find(name + "{", pos)) != std::string::npos) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end - pos);
    bool all = true;
    for (auto& l : labels)
      all = all && line.find(l) != std::string::npos;
    if (all)
      return line;
    pos = end;
  }
  return {};
}

} // namespace

TEST_CASE("131047 in a failed status, no template: the reply reaches the user once by SMS",
          "[omnichannel][whatsapp_errors]") {
  test::stack s;
  refuse(s, customer, 131047);
  whatsapp_from(s, customer, "Is Friday still fine?");
  REQUIRE(test::eventually([&] { return whatsapp_to(s, customer).size() == 1; }));
  REQUIRE(test::eventually([&] { return sent(s, "mtn", "/v3/sms").size() == 1; }));
  CHECK(sms_to_customer_contains(s, "Is Friday still fine?"));
  CHECK(test::count(s, "SELECT count(*) FROM message_delivery_log WHERE channel = 'whatsapp' AND "
                       "direction = 'outbound' AND status = 'failed'")
        == 1);
  CHECK(test::count(
            s, "SELECT count(*) FROM message_delivery_log WHERE channel = 'sms' AND "
               "payload->>'fallback_for' IS NOT NULL AND (payload->>'after_error')::int = 131047")
        == 1);
  std::this_thread::sleep_for(1500ms); // a sweep or two later: still once, nothing retried
  CHECK(sent(s, "mtn", "/v3/sms").size() == 1);
  CHECK(whatsapp_to(s, customer).size() == 1);
  CHECK(text_of(s, "SELECT has_whatsapp::text FROM profiles") == "true");
}

TEST_CASE("131047 with a template configured: the template goes out instead, no SMS",
          "[omnichannel][whatsapp_errors]") {
  test::stack s{with_env({{"SWITCHBOARD_WHATSAPP_TEMPLATE_NAME", "call_summary"}})};
  refuse(s, customer, 131047);
  whatsapp_from(s, customer, "Is Friday still fine?");
  REQUIRE(test::eventually([&] { return whatsapp_to(s, customer).size() == 2; }));
  auto sends = whatsapp_to(s, customer);
  CHECK(sends[0]["json"]["type"] == "text");
  CHECK(sends[1]["json"]["type"] == "template");
  CHECK(sends[1]["json"]["template"]["name"] == "call_summary");
  REQUIRE(test::eventually([&] {
    return test::count(s,
                       "SELECT count(*) FROM message_delivery_log WHERE channel = 'whatsapp' AND "
                       "status = 'sent' AND payload->>'template' = 'call_summary'")
           == 1;
  }));
  std::this_thread::sleep_for(1000ms);
  CHECK(sent(s, "mtn", "/v3/sms").empty());
}

TEST_CASE("131026 (async and sync): marked not on WhatsApp, SMS once, never retried",
          "[omnichannel][whatsapp_errors]") {
  auto mode = GENERATE(std::string{"async"}, std::string{"sync"});
  INFO(mode);
  test::stack s;
  refuse(s, customer, 131026, {{"mode", mode}});
  whatsapp_from(s, customer, "Where is my order?");
  REQUIRE(test::eventually([&] { return sent(s, "mtn", "/v3/sms").size() == 1; }));
  CHECK(sms_to_customer_contains(s, "Where is my order?"));
  REQUIRE(test::eventually(
      [&] { return text_of(s, "SELECT has_whatsapp::text FROM profiles") == "false"; }));
  std::this_thread::sleep_for(2000ms);
  CHECK(whatsapp_to(s, customer).size() == 1); // no retry
  CHECK(sent(s, "mtn", "/v3/sms").size() == 1);
  CHECK(test::count(s, "SELECT attempts FROM message_delivery_log WHERE channel = 'whatsapp' AND "
                       "direction = 'outbound' AND status = 'failed'")
        == 1);
  CHECK(text_of(s, "SELECT last_error FROM message_delivery_log WHERE channel = 'whatsapp' AND "
                   "direction = 'outbound'")
            .find("131026")
        != std::string::npos);
}

TEST_CASE("131056 pair rate limit: that user's reply waits, another user's does not",
          "[omnichannel][whatsapp_errors]") {
  test::stack s;
  refuse(s, customer, 131056, {{"count", 1}}); // refused once, synchronously (HTTP 400)
  whatsapp_from(s, customer, "First question");
  whatsapp_from(s, other_customer, "Second question");
  REQUIRE(test::eventually([&] { return whatsapp_to(s, customer).size() == 1; }));
  CHECK(whatsapp_to(s, customer)[0]["status"] == 400);
  // The other user is answered at once, while the first still waits out the back-off.
  REQUIRE(test::eventually([&] {
    return test::count(s, "SELECT count(*) FROM message_delivery_log WHERE recipient = '"
                              + std::string{other_customer} + "' AND status = 'sent'")
           == 1;
  }));
  INFO(text_of(s, "SELECT string_agg(direction || ' ' || status || ' ' || attempts || ' ' || "
                  "coalesce(last_error, '-'), ' | ') FROM message_delivery_log WHERE recipient = '"
                      + std::string{customer} + "'"));
  CHECK(test::count(s, "SELECT count(*) FROM message_delivery_log WHERE recipient = '"
                           + std::string{customer}
                           + "' AND direction = 'outbound' AND status = 'queued'")
        == 1);
  CHECK(whatsapp_to(s, customer).size() == 1);
  // ... and it goes out after the back-off.
  REQUIRE(test::eventually(
      [&] {
        return test::count(s, "SELECT count(*) FROM message_delivery_log WHERE recipient = '"
                                  + std::string{customer}
                                  + "' AND direction = 'outbound' AND status = 'sent'")
               == 1;
      },
      30s));
  auto sends = whatsapp_to(s, customer);
  REQUIRE(sends.size() == 2);
  CHECK(sends[1]["status"] == 200);
  CHECK(sent(s, "mtn", "/v3/sms").empty());
  CHECK_FALSE(metric_line(s, "switchboard_whatsapp_user_backoffs_total", {"send"}).empty());
}

TEST_CASE("131049 in a failed status: that row is requeued for later, others go on",
          "[omnichannel][whatsapp_errors]") {
  test::stack s;
  refuse(s, customer, 131049, {{"count", 1}});
  whatsapp_from(s, customer, "First question");
  whatsapp_from(s, other_customer, "Second question");
  REQUIRE(test::eventually([&] {
    return test::count(s, "SELECT count(*) FROM message_delivery_log WHERE recipient = '"
                              + std::string{customer}
                              + "' AND direction = 'outbound' AND status = 'queued' AND "
                                "next_attempt_at > now() + interval '50 minutes'")
           == 1;
  }));
  REQUIRE(test::eventually([&] {
    return test::count(s, "SELECT count(*) FROM message_delivery_log WHERE recipient = '"
                              + std::string{other_customer} + "' AND status = 'sent'")
           == 1;
  }));
  CHECK(whatsapp_to(s, customer).size() == 1);
  CHECK(sent(s, "mtn", "/v3/sms").empty());
}

TEST_CASE("130429 throughput limit: retried with backoff, then sent",
          "[omnichannel][whatsapp_errors]") {
  test::stack s;
  refuse(s, customer, 130429, {{"count", 2}});
  whatsapp_from(s, customer, "Hello");
  REQUIRE(test::eventually(
      [&] {
        return test::count(s,
                           "SELECT count(*) FROM message_delivery_log WHERE channel = 'whatsapp' "
                           "AND direction = 'outbound' AND status = 'sent'")
               == 1;
      },
      20s));
  auto sends = whatsapp_to(s, customer);
  REQUIRE(sends.size() == 3);
  CHECK(sends[0]["status"] == 400);
  CHECK(sends[0]["response"]["error"]["code"] == 130429);
  CHECK(sends[2]["status"] == 200);
  CHECK(test::count(s, "SELECT attempts FROM message_delivery_log WHERE channel = 'whatsapp' AND "
                       "direction = 'outbound'")
        == 3);
  CHECK(sent(s, "mtn", "/v3/sms").empty());
}

TEST_CASE("cost: a status's pricing lands on the row and in /metrics; SMS segments recorded",
          "[omnichannel][cost]") {
  test::stack s;
  whatsapp_from(s, customer, "Hello");
  REQUIRE(test::eventually([&] {
    return test::count(s,
                       "SELECT count(*) FROM message_delivery_log WHERE channel = 'whatsapp' AND "
                       "direction = 'outbound' AND status = 'sent'")
           == 1;
  }));
  auto wamid = text_of(s, "SELECT external_id FROM message_delivery_log WHERE channel = "
                          "'whatsapp' AND direction = 'outbound'");
  // Meta reports the reply billed as utility (sent, then delivered: counted once).
  sim(s, "/_sim/whatsapp/status",
      {{"id", wamid},
       {"statuses", {"sent", "delivered"}},
       {"category", "utility"},
       {"pricing_type", "regular"}});
  REQUIRE(test::eventually([&] {
    return test::count(s,
                       "SELECT count(*) FROM message_delivery_log WHERE status = 'delivered' AND "
                       "pricing_category = 'utility' AND pricing_type = 'regular' AND "
                       "pricing_model = 'PMP' AND pricing_billable")
           == 1;
  }));
  auto line = metric_line(s, "switchboard_cost_units_total",
                          {R"(channel="whatsapp")", R"(category="utility")"});
  CHECK(line.substr(line.rfind(' ') + 1) == "1");
  CHECK_FALSE(metric_line(s, "switchboard_priced_messages_total",
                          {R"(channel="whatsapp")", R"(type="regular")"})
                  .empty());

  // An SMS: its segments and encoding on the row, its segments in the cost units.
  auto call = call_ended(s, "call-cost", {{"has_whatsapp", false}});
  REQUIRE(call.status == 202);
  REQUIRE(test::eventually([&] {
    return test::count(s, "SELECT count(*) FROM message_delivery_log WHERE channel = 'sms' AND "
                          "status = 'sent' AND sms_segments >= 1 AND sms_encoding = 'GSM-7'")
           == 1;
  }));
  auto segments
      = test::count(s, "SELECT sms_segments FROM message_delivery_log WHERE channel = 'sms'");
  auto sms_line
      = metric_line(s, "switchboard_cost_units_total", {R"(channel="sms")", R"(category="GSM-7")"});
  CHECK(sms_line.substr(sms_line.rfind(' ') + 1) == std::to_string(segments));

  // The delivery log shows both costs.
  auto path = "/api/v1/sessions/" + call.json().at("session_id").dump() + "/deliveries";
  CHECK(test::http_get(s.url(path)).status == 401);
  auto log = test::http_get(s.url(path), {test::bearer_auth(s.env("SWITCHBOARD_API_TOKEN"))});
  REQUIRE(log.status == 200);
  int priced = 0, segmented = 0;
  auto doc = log.json(); // keep it alive: the loop walks into it
  for (auto& d : doc.at("deliveries")) {
    if (d["external_id"] == wamid) { // the reply (the call's WhatsApp summary was skipped)
      CHECK(d["pricing"]["category"] == "utility");
      CHECK(d["pricing"]["type"] == "regular");
      CHECK(d["pricing"]["cost_units"] == 1);
      ++priced;
    }
    if (d["channel"] == "sms" && d["status"] == "sent") {
      CHECK(d["sms"]["segments"] == segments);
      CHECK(d["sms"]["encoding"] == "GSM-7");
      ++segmented;
    }
  }
  CHECK(priced == 1);
  CHECK(segmented == 1);
}
