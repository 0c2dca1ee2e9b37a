// What a repeated send looks like to the provider: a send whose answer is lost (the provider may
// or may not have taken it) is counted before the call, and tried again with the same request id.

#include <catch2/catch.hpp>

#include <csignal>

#include <soci/soci.h>

#include "tests/support/stack.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// A call-ended webhook whose one summary goes by SMS.
void call_ended(test::stack& s, const std::string& call_id) {
  json call{{"call_id", call_id},
            {"phone_number", "+250788123456"},
            {"has_whatsapp", false},
            {"summary", "Quoted 200k for the roof repair."},
            {"outcome", "quote sent"}};
  auto r = test::http_post_json(s.url("/webhooks/voice/call-ended"), call,
                                {test::bearer_auth(s.env("SWITCHBOARD_VOICE_TOKEN"))});
  INFO(r.body);
  REQUIRE(r.status == 202);
}

void mtn_faults(test::stack& s, const json& settings) {
  json body{{"service", "mtn"}, {"path_contains", "/v3/sms"}};
  body.update(settings);
  auto r = test::http_post_json(s.sim_url("/_sim/faults"), body);
  REQUIRE(r.status == 200);
}

/// MTN send requests the simulator received.
json mtn_sends(test::stack& s) {
  json out = json::array();
  auto all = s.sim_requests("mtn"); // kept alive while the loop walks it
  for (auto& r : all["requests"])
    if (r["path"].get<std::string>().find("/v3/sms") != std::string::npos)
      out.push_back(r);
  return out;
}

/// The SMS summary row: {id, attempts, status} (id 0 while there is none).
struct sms_row {
  long long id = 0;
  int attempts = 0;
  std::string status;
};

sms_row summary_row(test::stack& s) {
  auto sql = s.db().connect();
  sms_row r;
  soci::indicator ind = soci::i_ok;
  *sql << "SELECT id, attempts, status FROM message_delivery_log WHERE channel = 'sms' AND "
          "direction = 'outbound' ORDER BY id LIMIT 1",
      soci::into(r.id, ind), soci::into(r.attempts), soci::into(r.status);
  if (!sql->got_data())
    return sms_row{};
  return r;
}

/// The summary row was sent on its second attempt, and both requests MTN received carried the
/// row's own clientCorrelatorId.
void check_sent_twice_with_one_id(test::stack& s, long long row_id) {
  auto sends = mtn_sends(s);
  REQUIRE(sends.size() == 2);
  auto expected = "sb-" + std::to_string(row_id);
  CHECK(sends[0]["json"]["clientCorrelatorId"] == expected);
  CHECK(sends[1]["json"]["clientCorrelatorId"] == expected);
  CHECK(summary_row(s).attempts == 2);
}

} // namespace

TEST_CASE("an MTN send whose answer is lost was counted before the call and is retried with the "
          "same clientCorrelatorId",
          "[omnichannel][fault][idempotency]") {
  test::stack_options o;
  o.env = {{"SWITCHBOARD_HTTP_CLIENT_TOTAL_TIMEOUT_MS", "1500"}};
  test::stack s{o};
  // The first send is never answered: MTN may have taken it, the server cannot tell.
  mtn_faults(s, {{"hang_next", 1}});
  call_ended(s, "lost-answer-1");

  // While MTN holds the first request, its attempt is already recorded (claimed and counted).
  REQUIRE(test::eventually([&] { return mtn_sends(s).size() == 1; }));
  auto during = summary_row(s);
  CHECK(during.attempts == 1);
  CHECK(during.status == "queued");

  // The call times out; the outbox tries again, and the second request is accepted.
  REQUIRE(test::eventually([&] { return summary_row(s).status == "sent"; }, 20s));
  CHECK(mtn_sends(s)[0]["fault"] == "hang");
  check_sent_twice_with_one_id(s, during.id);
}

TEST_CASE("kill -9 while a send is in flight: after the restart that one send is repeated, with "
          "the same clientCorrelatorId",
          "[omnichannel][fault][idempotency]") {
  test::stack s;
  mtn_faults(s, {{"hang", true}});
  call_ended(s, "crash-during-send-1");
  REQUIRE(test::eventually([&] { return mtn_sends(s).size() == 1; }));
  auto during = summary_row(s);
  CHECK(during.attempts == 1);
  s.server().signal(SIGKILL);
  s.server().wait(10s);
  mtn_faults(s, {{"hang", false}});
  {
    // The dead node's claim lease runs out (30 s at least) without the test waiting for it.
    auto sql = s.db().connect();
    *sql << "UPDATE message_delivery_log SET next_attempt_at = now() WHERE id = :id",
        soci::use(during.id);
  }
  s.restart_server();
  REQUIRE(test::eventually([&] { return summary_row(s).status == "sent"; }, 20s));
  check_sent_twice_with_one_id(s, during.id);
}

TEST_CASE("the sweeper purges old final rows in batches and /metrics counts them per table, "
          "from 0",
          "[retention]") {
  test::stack_options o;
  o.env
      = {{"SWITCHBOARD_SESSION_SWEEP_INTERVAL_S", "1"}, {"SWITCHBOARD_RETENTION_BATCH_ROWS", "2"}};
  test::stack s{o};
  auto shows = [&](const std::string& table, int n) {
    return test::http_get(s.url("/metrics"))
               .body.find("switchboard_retention_purged_rows_total{table=\"" + table + "\"} "
                          + std::to_string(n) + "\n")
           != std::string::npos;
  };
  REQUIRE(test::eventually([&] {
    for (auto table : {"inbox", "processed_webhooks", "delivery_status_early",
                       "message_delivery_log", "omnichannel_sessions", "provider_notifications"})
      if (!shows(table, 0))
        return false;
    return true;
  }));
  {
    auto sql = s.db().connect();
    *sql << "INSERT INTO profiles (phone_number) VALUES ('+250788123456')";
    *sql << "INSERT INTO message_delivery_log (profile_id, channel, provider, direction, "
            "message_type, status, recipient, correlation_id, created_at) SELECT p.id, 'sms', "
            "'mtn', 'outbound', 'reply', st, p.phone_number, 'corr', now() - interval '100 days' "
            "FROM profiles p, unnest(ARRAY['sent', 'sent', 'delivered', 'failed', 'read', "
            "'queued']) AS st";
  }
  // Five final rows go (batches of 2, 2, 1 in one sweep); the queued one stays.
  CHECK(test::eventually([&] { return shows("message_delivery_log", 5); }));
  auto sql = s.db().connect();
  int left = -1;
  *sql << "SELECT count(*) FROM message_delivery_log WHERE status = 'queued'", soci::into(left);
  CHECK(left == 1);
  *sql << "SELECT count(*) FROM message_delivery_log", soci::into(left);
  CHECK(left == 1);
}
