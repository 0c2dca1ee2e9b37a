#include <catch2/catch.hpp>

#include <map>

#include <soci/soci.h>

#include "storage/console.hpp"
#include "storage/db.hpp"
#include "storage/flows.hpp"
#include "storage/omnichannel.hpp"
#include "storage/outbox.hpp"
#include "storage/sets.hpp"
#include "tests/support/pg.hpp"

using namespace switchboard;
using namespace switchboard::storage;

namespace {

/// A call-ended for +250788123456: a follow-up session with two queued summaries (WhatsApp, SMS).
int64_t seed(test::omni_db& m, const std::string& call_id) {
  m.policy.template_name = "call_summary";
  call_ended_input in;
  in.summary.call_id = call_id;
  in.summary.summary = "Quoted 200k for the repair.";
  in.summary.outcome = "quote sent";
  in.phone = "+250788123456";
  in.correlation_id = "corr-" + call_id;
  in.token = "tok-" + call_id;
  in.now = m.now;
  auto r = m.tx(
      [&](soci::session& sql) { return accept_calls(sql, m.machine, m.policy, {&in}).at(0); });
  return r.result.at("session_id").get<int64_t>();
}

core::sb_error code_of_flow(test::omni_db& m, const std::function<void(soci::session&)>& f) {
  try {
    m.tx([&](soci::session& sql) {
      f(sql);
      return 0;
    });
  } catch (const domain_error& e) {
    return e.code();
  }
  return core::sb_error::none;
}

} // namespace

TEST_CASE("console flows: filters, keyset paging, masking, reveal audited", "[console]") {
  test::omni_db m;
  seed(m, "c1");
  core::delivery_filter f;
  auto all = m.tx([&](soci::session& sql) { return console_deliveries(sql, f); });
  REQUIRE(all["items"].size() == 2);
  CHECK(all["items"][0]["id"].get<int64_t>() > all["items"][1]["id"].get<int64_t>());
  CHECK(all["items"][0]["recipient"] == "+250***456");
  CHECK(all["next_before_id"].is_null());

  f.page.limit = 1;
  auto first = m.tx([&](soci::session& sql) { return console_deliveries(sql, f); });
  REQUIRE(first["items"].size() == 1);
  REQUIRE(first["next_before_id"] == first["items"][0]["id"]);
  f.page.before_id = first["next_before_id"].get<int64_t>();
  auto second = m.tx([&](soci::session& sql) { return console_deliveries(sql, f); });
  REQUIRE(second["items"].size() == 1);
  CHECK(second["items"][0]["id"] == all["items"][1]["id"]);

  core::delivery_filter sms;
  sms.channel = "sms";
  sms.phone = "+250788123456";
  sms.reveal = true;
  CHECK(m.count("SELECT count(*) FROM console_audit") == 0);
  auto revealed = m.tx([&](soci::session& sql) { return console_deliveries(sql, sms); });
  REQUIRE(revealed["items"].size() == 1);
  CHECK(revealed["items"][0]["recipient"] == "+250788123456");
  CHECK(revealed["items"][0]["body"].get<std::string>().find("200k") != std::string::npos);
  CHECK(m.count("SELECT count(*) FROM console_audit WHERE action = 'reveal' AND detail->>'phone' "
                "= '+250***456'")
        == 1);
  sms.phone = "+250788000000";
  CHECK(m.tx([&](soci::session& sql) { return console_deliveries(sql, sms); })["items"].empty());
}

TEST_CASE("console flows: requeue and cancel follow the row's state; close a session once",
          "[console]") {
  test::omni_db m;
  auto session_id = seed(m, "c2");
  auto sms_id = m.count("SELECT id FROM message_delivery_log WHERE channel = 'sms'");
  // Queued: not requeued (409), cancelled (failed, the reason recorded, audited).
  CHECK(code_of_flow(m, [&](soci::session& sql) { console_requeue(sql, sms_id); })
        == core::sb_error::conflict);
  auto cancelled = m.tx([&](soci::session& sql) { return console_cancel(sql, sms_id); });
  CHECK(cancelled["status"] == "failed");
  CHECK(cancelled["last_error"] == "cancelled by operator");
  // Failed: requeued, due now and unclaimed, so the outbox's claim picks it up.
  auto requeued = m.tx([&](soci::session& sql) { return console_requeue(sql, sms_id); });
  CHECK(requeued["status"] == "queued");
  CHECK(m.count("SELECT count(*) FROM message_delivery_log WHERE id = " + std::to_string(sms_id)
                + " AND claim_token IS NULL AND next_attempt_at <= now()")
        == 1);
  CHECK(m.count("SELECT count(*) FROM console_audit WHERE action IN ('cancel', 'requeue')") == 2);
  CHECK(code_of_flow(m, [&](soci::session& sql) { console_cancel(sql, 999999); })
        == core::sb_error::not_found);

  core::queue_filter q;
  auto queues = m.tx([&](soci::session& sql) { return console_queues(sql, q); });
  CHECK(queues["outbound"]["queued"] == 2);
  CHECK(queues["items"].size() == 2);
  CHECK(queues["items"][0]["id"].get<int64_t>() < queues["items"][1]["id"].get<int64_t>());

  auto story = m.tx([&](soci::session& sql) { return console_delivery(sql, sms_id, false); });
  CHECK(story["delivery"]["id"] == sms_id);
  CHECK(story["story"].size() == 2); // both summaries of the call, queued

  auto closed = m.tx([&](soci::session& sql) { return console_close_session(sql, session_id); });
  CHECK(closed["status"] == "closed");
  CHECK(code_of_flow(m, [&](soci::session& sql) { console_close_session(sql, session_id); })
        == core::sb_error::conflict);
  auto one = m.tx([&](soci::session& sql) { return console_session(sql, session_id, true); });
  CHECK(one["session"]["context"].is_object());
  CHECK(one["deliveries"].size() == 2);
}

TEST_CASE("console bot view: conversations, hand-offs with their notification", "[console]") {
  test::omni_db m;
  auto empty = m.tx([&](soci::session& sql) { return console_bot(sql); });
  CHECK(empty["rates"]["conversations"] == 0);
  CHECK(empty["rates"]["escalation_rate"].is_null());
  CHECK(empty["handed_off"].empty());
  *m.sql << "INSERT INTO chatwoot_conversations (account_id, conversation_id, status, bot_state, "
            "escalation_reason, handoff_seq) VALUES (1, 10, 'open', 'handed_off', "
            "'asked for a human', 1), (1, 11, 'pending', 'active', NULL, 0)";
  *m.sql << "INSERT INTO provider_notifications (account_id, conversation_id, handoff_seq, "
            "channel, recipient, body, status, attempts, last_error, correlation_id) VALUES "
            "(1, 10, 1, 'telegram', '42', 'hand-off', 'failed', 3, 'chat not found', 'c')";
  auto bot = m.tx([&](soci::session& sql) { return console_bot(sql); });
  CHECK(bot["rates"]["conversations"] == 2);
  CHECK(bot["rates"]["handed_off"] == 1);
  CHECK(bot["rates"]["escalation_rate"] == 0.5);
  REQUIRE(bot["handed_off"].size() == 1);
  auto h = bot["handed_off"][0];
  CHECK(h["conversation_id"] == 10);
  CHECK(h["reason"] == "asked for a human");
  CHECK(h["notification"]["channel"] == "telegram");
  CHECK(h["notification"]["status"] == "failed");
  CHECK(h["notification"]["last_error"] == "chat not found");
}

TEST_CASE("console bot view: answers, the articles cited, knowledge gaps, provider replied",
          "[console]") {
  test::omni_db m;
  *m.sql << "INSERT INTO chatwoot_conversations (account_id, conversation_id, status, bot_state, "
            "escalation_reason, handoff_seq) VALUES (1, 10, 'open', 'handed_off', "
            "'No article matched the question.', 1), (1, 11, 'open', 'handed_off', 'asked', 1)";
  *m.sql << "INSERT INTO provider_notifications (account_id, conversation_id, handoff_seq, "
            "channel, recipient, body, status, correlation_id, replied_at) VALUES "
            "(1, 10, 1, 'telegram', '42', 'hand-off', 'sent', 'c', now()), "
            "(1, 11, 1, 'telegram', '42', 'hand-off', 'sent', 'c', NULL)";
  auto cites = [](const char* titles) { return std::string{titles}; };
  *m.sql
      << "INSERT INTO bot_answers (account_id, conversation_id, question, sources, "
         "confidence, escalated, reason, posted_id, at) VALUES "
         "(1, 12, 'How do refunds work?', '"
             + cites(R"([{"article_id":1,"title":"Refunds","url":"u1"}])")
             + "', 0.9, false, NULL, '5', now()), "
               "(1, 13, 'Refund time?', '"
             + cites(
                 R"([{"article_id":1,"title":"Refunds","url":"u1"},{"article_id":2,"title":"Shipping","url":"u2"}])")
             + "', 0.8, false, NULL, '6', now()), "
               "(1, 10, 'Purple giraffes?', '[]', NULL, true, 'no_match', NULL, now() - interval "
               "'2 minutes'), "
               "(1, 14, 'purple giraffes? ', '[]', NULL, true, 'no_match', NULL, now() - interval "
               "'1 minute'), "
               "(1, 15, 'Is it safe?', '[]', 0.2, true, 'low_confidence', NULL, now()), "
               "(1, 11, 'A HUMAN please', '[]', NULL, true, 'asked_for_human', NULL, now()), "
               "(1, 16, 'Old question', '[]', NULL, true, 'no_match', NULL, now() - interval '30 "
               "days')";
  auto bot = m.tx([&](soci::session& sql) { return console_bot(sql); });
  INFO(bot.dump(2));
  CHECK(bot["hours"] == 168);
  // The week's answers: 6 questions (the old one is out of the window), 2 answered.
  CHECK(bot["rates"]["questions"] == 6);
  CHECK(bot["rates"]["bot_answers"] == 2);
  CHECK(bot["rates"]["answer_rate"].get<double>() == Approx(2.0 / 6));
  REQUIRE(bot["top_articles"].size() == 2);
  CHECK(bot["top_articles"][0]
        == nlohmann::json{{"title", "Refunds"}, {"url", "u1"}, {"article_id", 1}, {"cited", 2}});
  CHECK(bot["top_articles"][1]["title"] == "Shipping");
  CHECK(bot["top_articles"][1]["cited"] == 1);
  // Gaps: no match or low confidence (not "asked for a human"), the same question once, masked.
  REQUIRE(bot["knowledge_gaps"].size() == 2);
  CHECK(bot["knowledge_gaps"][0]["count"] == 2);
  CHECK(bot["knowledge_gaps"][0]["reason"] == "no_match");
  CHECK(bot["knowledge_gaps"][0]["question"] == "[16 chars]");
  CHECK(bot["knowledge_gaps"][1]["reason"] == "low_confidence");
  std::map<int64_t, bool> replied;
  for (auto& h : bot["handed_off"])
    replied[h["conversation_id"].get<int64_t>()] = h["provider_replied"].get<bool>();
  CHECK(replied == std::map<int64_t, bool>{{10, true}, {11, false}});
  CHECK(m.count("SELECT count(*) FROM console_audit") == 0);

  core::bot_filter f;
  f.hours = 24 * 60;
  f.reveal = true;
  auto revealed = m.tx([&](soci::session& sql) { return console_bot(sql, f); });
  CHECK(revealed["rates"]["questions"] == 7);
  REQUIRE(revealed["knowledge_gaps"].size() == 3);
  CHECK(revealed["knowledge_gaps"][0]["question"].get<std::string>().rfind("urple giraffes?")
        != std::string::npos);
  CHECK(m.count("SELECT count(*) FROM console_audit WHERE action = 'reveal' AND target = 'bot'")
        == 1);
}

TEST_CASE("console providers: p50 and p99 of the last hour's send latencies", "[console]") {
  test::omni_db m;
  seed(m, "lat");
  CHECK(m.tx([&](soci::session& sql) { return console_provider_counts(sql); })["items"][0]["p50_ms"]
            .is_null());
  std::vector<int64_t> ids;
  soci::rowset<long long> rows
      = (m.sql->prepare << "SELECT id FROM message_delivery_log WHERE channel = 'sms'");
  for (auto id : rows)
    ids.push_back(id);
  REQUIRE(ids.size() == 1);
  // The attempt's latency is written by the UPDATE that records it sent.
  sent_record rec{ids[0], "mtn-1", outbox::deliveries, 1, "GSM-7", 120};
  m.tx([&](soci::session& sql) { return record_sends(sql, m.policy, {&rec}).at(0); });
  for (int ms : {10, 20, 30, 40}) // older sends of the hour
    *m.sql << "INSERT INTO message_delivery_log (profile_id, direction, channel, provider, "
              "message_type, status, recipient, body, correlation_id, last_latency_ms) SELECT "
              "profile_id, 'outbound', 'sms', provider, 'text', 'sent', recipient, 'x', 'c', "
           << ms << " FROM message_delivery_log WHERE id = " << ids[0];
  auto items = m.tx([&](soci::session& sql) { return console_provider_counts(sql); })["items"];
  nlohmann::json mtn;
  for (auto& i : items)
    if (i["channel"] == "sms")
      mtn = i;
  INFO(items.dump());
  CHECK(mtn["p50_ms"] == 30.0);
  CHECK(mtn["p99_ms"].get<double>() == Approx(116.8));
  CHECK(m.count("SELECT last_latency_ms FROM message_delivery_log WHERE id = "
                + std::to_string(ids[0]))
        == 120);
}
