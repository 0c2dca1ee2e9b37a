// Flow control end to end: one sender flooding SMS gets a bounded number of answers (the reply
// bucket, session.reply_burst + session.reply_rate_per_min) that cover every message it sent,
// while another user is answered as usual; the APIs answer 429 with Retry-After past their
// per-key budget (api.burst, api.rate_per_s) and recover after the wait.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <soci/soci.h>

#include "tests/support/stack.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* flooder = "+250788111111";
constexpr const char* neighbour = "+250788222222";

/// SMS the simulated MTN received for `phone`.
std::vector<json> sms_to(test::stack& s, const std::string& phone) {
  std::vector<json> out;
  auto all = s.sim_requests("mtn"); // MTN's receiverAddress has no '+'
  for (auto& r : all["requests"])
    if (r["path"].get<std::string>().find("/v3/sms") != std::string::npos
        && "+" + r["json"]["receiverAddress"][0].get<std::string>() == phone)
      out.push_back(r);
  return out;
}

/// LLM requests made for `phone` (its number is in the system prompt).
std::vector<json> llm_for(test::stack& s, const std::string& phone) {
  std::vector<json> out;
  auto all = s.sim_requests("openai");
  for (auto& r : all["requests"]) {
    if (r["path"].get<std::string>().find("/chat/completions") == std::string::npos)
      continue;
    auto& messages = r["json"]["messages"];
    if (!messages.empty()
        && messages[0].value("content", std::string{}).find("Customer phone number: " + phone)
               != std::string::npos)
      out.push_back(r);
  }
  return out;
}

long long unanswered(test::stack& s, const std::string& phone) {
  return test::count(s, "SELECT count(*) FROM message_delivery_log WHERE direction = 'inbound' AND "
                        "reply_id IS NULL AND recipient = '"
                            + phone + "'");
}

std::string metric_line(const std::string& metrics, const std::string& series) {
  auto at = metrics.find(series + " ");
  if (at == std::string::npos)
    return {};
  return metrics.substr(at, metrics.find('\n', at) - at);
}

} // namespace

TEST_CASE("one sender flooding 200 SMS in 2 s gets a bounded number of answers covering every "
          "message; another user is answered as usual",
          "[flood]") {
  constexpr int burst = 2;
  constexpr double per_min = 6; // one answer every 10 s once the burst is spent
  test::stack_options o;
  o.env = {{"SWITCHBOARD_SESSION_COALESCE_MS", "100"},
           {"SWITCHBOARD_SESSION_REPLY_BURST", std::to_string(burst)},
           {"SWITCHBOARD_SESSION_REPLY_RATE_PER_MIN", "6"}};
  test::stack s{o};
  {
    auto m = test::http_get(s.url("/metrics")).body;
    CHECK(metric_line(m, R"(switchboard_replies_deferred_total{kind="session"})")
          == R"(switchboard_replies_deferred_total{kind="session"} 0)");
  }
  auto start = std::chrono::steady_clock::now();
  std::atomic<int> acked{0};
  std::vector<std::thread> senders;
  struct joiner {
    std::vector<std::thread>& threads;
    ~joiner() {
      for (auto& t : threads)
        if (t.joinable())
          t.join();
    }
  } join_all{senders};
  for (int t = 0; t < 4; ++t)
    senders.emplace_back([&, t] {
      for (int i = t; i < 200; i += 4) {
        if (test::mtn_inbound(s, "flood-" + std::to_string(i), flooder,
                              "flood " + std::to_string(i))
                .status
            == 200)
          ++acked;
        std::this_thread::sleep_for(35ms); // 4 x ~28 a second: 200 in about 2 s
      }
    });
  // Meanwhile another user writes twice, a second apart, and is answered each time.
  std::this_thread::sleep_for(300ms);
  REQUIRE(test::mtn_inbound(s, "neighbour-1", neighbour, "hello").status == 200);
  bool first = test::eventually([&] { return sms_to(s, neighbour).size() == 1; }, 10s);
  if (!first) {
    auto all = s.sim_requests("mtn")["requests"];
    WARN("mtn requests: " << all.size() << " llm for neighbour: " << llm_for(s, neighbour).size()
                          << " llm for flooder: " << llm_for(s, flooder).size());
    if (!all.empty())
      WARN(all.back().dump());
    WARN("neighbour rows: " << test::count(s, "SELECT count(*) FROM message_delivery_log WHERE "
                                              "recipient = '"
                                                  + std::string{neighbour} + "'"));
    WARN("inbox pending: " << test::count(s,
                                          "SELECT count(*) FROM inbox WHERE processed_at IS NULL"));
  }
  REQUIRE(first);
  REQUIRE(test::mtn_inbound(s, "neighbour-2", neighbour, "are you open on Sunday?").status == 200);
  REQUIRE(test::eventually([&] { return sms_to(s, neighbour).size() == 2; }, 10s));
  for (auto& t : senders)
    t.join();
  auto flood_took = std::chrono::steady_clock::now() - start;
  INFO("flood took " << std::chrono::duration_cast<std::chrono::milliseconds>(flood_took).count()
                     << " ms");
  CHECK(acked == 200); // webhooks are never limited: every one is stored and acknowledged
  // What arrives while the answer is held waits in the inbox (stored), not in the session's
  // memory, until a token frees up (one every 10 s here, the burst spent in the first 0.3 s):
  // at the end of the 2 s flood most of it is still to be taken.
  auto held = test::count(s, "SELECT count(*) FROM inbox WHERE processed_at IS NULL AND entity = '"
                                 + std::string{flooder} + "'");
  INFO("flood messages still in the inbox at the end of the flood: " << held);
  if (flood_took < 8s)
    CHECK(held >= 50);
  CHECK(test::count(s, "SELECT count(*) FROM inbox WHERE source = 'mtn'") == 202);
  CHECK(unanswered(s, neighbour) == 0);
  CHECK(llm_for(s, neighbour).size() == 2);

  // Every flood message reaches a final state: answered (linked to a reply), none lost.
  REQUIRE(test::eventually([&] { return unanswered(s, flooder) == 0; }, 25s));
  std::this_thread::sleep_for(1s);
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(test::count(s, "SELECT count(*) FROM inbox WHERE processed_at IS NULL") == 0);
  CHECK(test::count(s, "SELECT count(*) FROM message_delivery_log WHERE direction = 'inbound' AND "
                       "recipient = '"
                           + std::string{flooder} + "'")
        == 200);
  // At most the burst plus what the rate refilled since the first answer (+1 for rounding).
  auto bound = static_cast<std::size_t>(burst + elapsed * per_min / 60.0 + 1);
  auto calls = llm_for(s, flooder);
  auto replies = sms_to(s, flooder);
  INFO("elapsed " << elapsed << " s, bound " << bound << ", LLM calls " << calls.size() << ", SMS "
                  << replies.size());
  CHECK(calls.size() <= bound);
  CHECK(replies.size() <= bound);
  CHECK(replies.size() >= 2);
  CHECK(
      test::count(s, "SELECT count(DISTINCT reply_id) FROM message_delivery_log WHERE direction = "
                     "'inbound' AND recipient = '"
                         + std::string{flooder} + "'")
      == static_cast<long long>(replies.size()));
  // The last answer covered what had waited: the newest flood messages are in its prompt.
  auto& last = calls.back()["json"]["messages"];
  bool saw_late = false;
  for (auto& m : last)
    saw_late = saw_late || m.value("content", std::string{}).find("flood 19") == 0;
  CHECK(saw_late);
  auto m = test::http_get(s.url("/metrics")).body;
  CHECK(metric_line(m, R"(switchboard_replies_deferred_total{kind="session"})")
        != R"(switchboard_replies_deferred_total{kind="session"} 0)");
  CHECK(metric_line(m, R"(switchboard_reply_coalesced_messages_total{kind="session"})")
        != R"(switchboard_reply_coalesced_messages_total{kind="session"} 0)");
}

TEST_CASE("the tools API answers 429 with Retry-After past the per-key budget and recovers after "
          "the wait; other keys and webhooks are not limited",
          "[flood]") {
  test::stack_options o;
  o.env = {{"SWITCHBOARD_API_BURST", "3"}, {"SWITCHBOARD_API_RATE_PER_S", "0.5"}};
  test::stack s{o};
  auto m0 = test::http_get(s.url("/metrics")).body;
  CHECK(metric_line(m0, R"(switchboard_api_rate_limited_total{route="tools_call"})")
        == R"(switchboard_api_rate_limited_total{route="tools_call"} 0)");
  auto auth = test::bearer_auth(s.env("SWITCHBOARD_API_TOKEN"));
  auto url = s.url("/api/v1/tools/session_get_or_create");
  json args{{"phone_number", neighbour}};
  for (int i = 0; i < 3; ++i)
    REQUIRE(test::http_post_json(url, args, {auth}).status == 200);
  auto limited = test::http_post_json(url, args, {auth});
  REQUIRE(limited.status == 429);
  auto retry_after = limited.header("Retry-After");
  REQUIRE(!retry_after.empty());
  auto wait = std::stoi(retry_after);
  CHECK(wait >= 1);
  CHECK(wait <= 2); // one token every 2 s
  CHECK(limited.json()["error"] == "rate_limited");
  CHECK(limited.json()["reason"].get<std::string>().find("retry after") != std::string::npos);
  // A wrong key is still 401, not 429: authentication comes first.
  CHECK(test::http_post_json(url, args, {test::bearer_auth("not-the-token")}).status == 401);
  // The voice API's key has its own budget.
  json call{{"call_id", "flood-call-1"},
            {"phone_number", neighbour},
            {"summary", "Booked a table for two."},
            {"allows_sms", true}};
  auto voice = test::http_post_json(s.url("/webhooks/voice/call-ended"), call,
                                    {test::bearer_auth(s.env("SWITCHBOARD_VOICE_TOKEN"))});
  CHECK(voice.status == 202);
  // Webhooks are not limited.
  for (int i = 0; i < 10; ++i)
    CHECK(test::mtn_inbound(s, "api-flood-" + std::to_string(i), flooder, "hi " + std::to_string(i))
              .status
          == 200);
  auto m = test::http_get(s.url("/metrics")).body;
  CHECK(metric_line(m, R"(switchboard_api_rate_limited_total{route="tools_call"})")
        == R"(switchboard_api_rate_limited_total{route="tools_call"} 1)");
  // The provider API is limited per key before the database looks the key up: a well-formed key
  // the database does not know is 401 within its budget, then 429 (no round trip).
  auto provider_key = test::bearer_auth("sbk_0123abcd_" + std::string(56, 'e'));
  auto config_url = s.url("/api/v1/providers/me/notification-config");
  for (int i = 0; i < 3; ++i)
    CHECK(test::http_get(config_url, {provider_key}).status == 401);
  auto provider_limited = test::http_get(config_url, {provider_key});
  CHECK(provider_limited.status == 429);
  CHECK(!provider_limited.header("Retry-After").empty());
  // After Retry-After seconds a token is back.
  std::this_thread::sleep_for(std::chrono::seconds{wait} + 50ms);
  CHECK(test::http_post_json(url, args, {auth}).status == 200);
  CHECK(test::http_post_json(url, args, {auth}).status == 429);
}
