// The durable inbox end to end: acknowledgement after the row commits and nothing later, bursts
// answered once, concurrent duplicates, a crash between the acknowledgement and the processing.

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <set>
#include <thread>

#include <soci/soci.h>

#include "tests/support/stack.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* customer = "+250788123456";

test::stack_options with_env(std::vector<std::pair<std::string, std::string>> env) {
  test::stack_options o;
  o.env = std::move(env);
  return o;
}

json sim(test::stack& s, const std::string& path, const json& body) {
  auto r = test::http_post_json(s.sim_url(path), body);
  INFO(path << " -> " << r.status << " " << r.body);
  REQUIRE(r.status < 300);
  return r.json();
}

/// The user messages of an LLM request, in order.
std::vector<std::string> user_messages(const json& llm_request) {
  std::vector<std::string> out;
  for (auto& m : llm_request["json"]["messages"])
    if (m.value("role", std::string{}) == "user")
      out.push_back(m.value("content", std::string{}));
  return out;
}

} // namespace

TEST_CASE("a burst of three messages gets one answer from one LLM call", "[inbox]") {
  test::stack s{with_env({{"SWITCHBOARD_SESSION_COALESCE_MS", "1500"}})};
  for (auto* text : {"hi", "I need", "to move my booking to Friday"})
    REQUIRE(test::mtn_inbound(s, std::string{"burst-"} + text, customer, text).status == 200);
  REQUIRE(test::eventually([&] { return test::sim_sent(s, "mtn", "/v3/sms").size() == 1; }));
  // Nothing more comes: the three messages had one answer.
  std::this_thread::sleep_for(2500ms);
  CHECK(test::sim_sent(s, "mtn", "/v3/sms").size() == 1);
  auto llm = test::sim_sent(s, "openai", "/chat/completions");
  REQUIRE(llm.size() == 1);
  auto users = user_messages(llm[0]);
  REQUIRE(users.size() >= 3);
  CHECK(users[users.size() - 3] == "hi");
  CHECK(users[users.size() - 2] == "I need");
  CHECK(users[users.size() - 1] == "to move my booking to Friday");
  // All three inbound rows are linked to the one reply.
  CHECK(test::count(s,
                    "SELECT count(DISTINCT reply_id) FROM message_delivery_log WHERE direction = "
                    "'inbound' AND reply_id IS NOT NULL")
        == 1);
  CHECK(test::count(s, "SELECT count(*) FROM message_delivery_log WHERE direction = 'inbound' AND "
                       "reply_id IS NULL")
        == 0);
}

TEST_CASE("a sender's next message is acknowledged while the LLM is still answering the first; "
          "the answer covers both",
          "[inbox]") {
  test::stack s{with_env({{"SWITCHBOARD_SESSION_COALESCE_MS", "50"}})};
  sim(s, "/_sim/faults", {{"service", "openai"}, {"latency_ms", 3000}});
  REQUIRE(test::mtn_inbound(s, "slow-1", customer, "hello").status == 200);
  // The first message is with the LLM now (the simulator holds its answer for 3 s).
  REQUIRE(test::eventually(
      [&] { return test::sim_sent(s, "openai", "/chat/completions").size() >= 1; }, 5s));
  auto second = test::mtn_inbound(s, "slow-2", customer, "are you there?");
  CHECK(second.status == 200);
  // Acknowledged after its own commit, not after the LLM: far less than the LLM's 3 s.
  CHECK(second.elapsed < 1500ms);
  CHECK(test::sim_sent(s, "mtn", "/v3/sms").empty());
  // The answer in flight is regenerated with both messages: one reply for the two.
  REQUIRE(test::eventually([&] { return test::sim_sent(s, "mtn", "/v3/sms").size() == 1; }, 20s));
  auto llm = test::sim_sent(s, "openai", "/chat/completions");
  auto last = user_messages(llm.back());
  REQUIRE(last.size() >= 2);
  CHECK(last[last.size() - 2] == "hello");
  CHECK(last.back() == "are you there?");
  std::this_thread::sleep_for(1s);
  CHECK(test::sim_sent(s, "mtn", "/v3/sms").size() == 1);
  CHECK(test::count(s, "SELECT count(*) FROM message_delivery_log WHERE direction = 'inbound' AND "
                       "reply_id IS NULL")
        == 0);
}

TEST_CASE("ten concurrent deliveries of one webhook: one row, one effect, ten 200s", "[inbox]") {
  test::stack s;
  std::vector<std::thread> pool;
  std::atomic<int> ok{0};
  for (int i = 0; i < 10; ++i)
    pool.emplace_back([&] {
      if (test::mtn_inbound(s, "same-id", customer, "hello").status == 200)
        ++ok;
    });
  for (auto& t : pool)
    t.join();
  CHECK(ok == 10);
  CHECK(test::count(s, "SELECT count(*) FROM inbox WHERE source = 'mtn'") == 1);
  REQUIRE(test::eventually([&] { return test::sim_sent(s, "mtn", "/v3/sms").size() == 1; }));
  std::this_thread::sleep_for(2s);
  CHECK(test::sim_sent(s, "mtn", "/v3/sms").size() == 1);
  CHECK(test::count(s, "SELECT count(*) FROM message_delivery_log WHERE direction = 'inbound'")
        == 1);
  auto metrics = test::http_get(s.url("/metrics")).body;
  CHECK(metrics.find(R"(switchboard_dedupe_hits_total{source="mtn"} 9)") != std::string::npos);
}

TEST_CASE("kill -9 between the acknowledgement and the processing: after a restart every "
          "acknowledged message is processed once",
          "[inbox]") {
  test::stack s{with_env({{"SWITCHBOARD_INBOX_POLL_GRACE_MS", "200"}})};
  {
    // Processing cannot commit (every inbound delivery-log row is refused), ingest can.
    auto sql = s.db().connect();
    *sql << "CREATE FUNCTION refuse_inbound() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'processing held by the test'; END $$";
    *sql << "CREATE TRIGGER hold_processing BEFORE INSERT ON message_delivery_log FOR EACH ROW "
            "WHEN (NEW.direction = 'inbound') EXECUTE FUNCTION refuse_inbound()";
  }
  std::set<std::string> senders;
  for (int i = 0; i < 5; ++i) {
    auto from = "+25078800010" + std::to_string(i);
    senders.insert(from);
    REQUIRE(test::mtn_inbound(s, "crash-" + std::to_string(i), from, "message " + std::to_string(i))
                .status
            == 200);
  }
  CHECK(test::count(s, "SELECT count(*) FROM inbox WHERE source = 'mtn' AND processed_at IS NULL")
        == 5);
  s.server().signal(SIGKILL);
  s.server().wait(10s);
  {
    auto sql = s.db().connect();
    *sql << "DROP TRIGGER hold_processing ON message_delivery_log";
  }
  CHECK(test::sim_sent(s, "mtn", "/v3/sms").empty());
  s.restart_server();
  REQUIRE(test::eventually([&] { return test::sim_sent(s, "mtn", "/v3/sms").size() == 5; }, 30s));
  std::this_thread::sleep_for(2s);
  auto replies = test::sim_sent(s, "mtn", "/v3/sms");
  CHECK(replies.size() == 5);
  std::set<std::string> answered;
  for (auto& r : replies)
    answered.insert(r["json"]["receiverAddress"][0].get<std::string>());
  CHECK(answered.size() == 5);
  CHECK(test::count(s, "SELECT count(*) FROM inbox WHERE processed_at IS NULL") == 0);
  CHECK(test::count(s, "SELECT count(*) FROM message_delivery_log WHERE direction = 'inbound'")
        == 5);
}

TEST_CASE("a message with a NUL character is refused with a 400, nothing stored or cut",
          "[inbox]") {
  test::stack s;
  auto r = test::mtn_inbound(s, "nul-1", customer, std::string{"before\0after", 12});
  CHECK(r.status == 400);
  CHECK(r.json()["reason"].get<std::string>().find("NUL") != std::string::npos);
  CHECK(test::count(s, "SELECT count(*) FROM inbox") == 0);
  // The rest of the traffic is unaffected.
  CHECK(test::mtn_inbound(s, "nul-2", customer, "fine").status == 200);
  CHECK(test::count(s, "SELECT count(*) FROM inbox") == 1);

  // The voice webhook too: each text field with a NUL is a 400 naming it (it used to reach the
  // database and come back as a 422).
  auto call = [&](const std::string& field, nlohmann::json value) {
    nlohmann::json body{{"call_id", "call-nul"}, {"phone_number", customer}, {"summary", "hi"}};
    body[field] = std::move(value);
    return test::http_post_json(s.url("/webhooks/voice/call-ended"), body,
                                {{"Authorization", "Bearer " + s.env("SWITCHBOARD_VOICE_TOKEN")}});
  };
  for (const char* field : {"call_id", "summary", "outcome", "transcript", "customer_name"}) {
    auto refused = call(field, std::string{"a\0b", 3});
    INFO(field << ": " << refused.status << " " << refused.body);
    CHECK(refused.status == 400);
    CHECK(refused.json()["reason"].get<std::string>()
          == std::string{field} + ": contains a NUL character");
  }
  auto items = call("action_items", nlohmann::json::array({"ok", std::string{"x\0y", 3}}));
  CHECK(items.status == 400);
  CHECK(items.json()["reason"] == "action_items: an item contains a NUL character");
  auto calls = "SELECT count(*) FROM omnichannel_sessions WHERE call_id IS NOT NULL";
  CHECK(test::count(s, calls) == 0);
  CHECK(call("outcome", "resolved").status == 202);
  CHECK(test::count(s, calls) == 1);
}

TEST_CASE("while webhooks flood in, processing yields; every message is answered afterwards",
          "[inbox]") {
  // Any rate above 1 webhook a second counts as a flood here, and only one session may work.
  test::stack s{with_env({{"SWITCHBOARD_INBOX_YIELD_RATE", "1"},
                          {"SWITCHBOARD_INBOX_MIN_ACTIVE", "1"},
                          {"SWITCHBOARD_INBOX_POLL_GRACE_MS", "200"},
                          {"SWITCHBOARD_SESSION_COALESCE_MS", "50"}})};
  for (int i = 0; i < 12; ++i)
    REQUIRE(test::mtn_inbound(s, "flood-" + std::to_string(i),
                              "+25078800020" + std::to_string(i % 10) + std::to_string(i / 10),
                              "message " + std::to_string(i))
                .status
            == 200);
  // Acknowledged and stored at once; most sessions were not started while the flood lasted.
  CHECK(test::count(s, "SELECT count(*) FROM inbox WHERE source = 'mtn'") == 12);
  REQUIRE(test::eventually(
      [&] {
        auto m = test::http_get(s.url("/metrics")).body;
        return m.find("switchboard_inbox_deferred_total") != std::string::npos;
      },
      5s));
  // The flood is over: the poller wakes the waiting sessions and all of them are answered.
  REQUIRE(test::eventually([&] { return test::sim_sent(s, "mtn", "/v3/sms").size() == 12; }, 30s));
  CHECK(test::count(s, "SELECT count(*) FROM inbox WHERE processed_at IS NULL") == 0);
  CHECK(test::count(s, "SELECT count(*) FROM message_delivery_log WHERE direction = 'inbound' AND "
                       "reply_id IS NULL")
        == 0);
}
