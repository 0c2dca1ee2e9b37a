#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include <soci/soci.h>

#include "core/whatsapp_errors.hpp"
#include "storage/console.hpp"
#include "storage/db.hpp"
#include "storage/flows.hpp"
#include "storage/inbox.hpp"
#include "storage/migrator.hpp"
#include "storage/omnichannel.hpp"
#include "storage/outbox.hpp"
#include "storage/sets.hpp"
#include "tests/support/pg.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace std::chrono_literals;

namespace {

using migrated_db = test::omni_db;

call_ended_input call(const std::string& call_id, const std::string& phone, time_point now) {
  call_ended_input in;
  in.summary.call_id = call_id;
  in.summary.summary = "Quoted 200k for the repair. Customer will confirm by Friday.";
  in.summary.outcome = "quote sent";
  in.phone = phone;
  in.correlation_id = "corr-" + call_id;
  in.token = "tok-" + call_id;
  in.now = now;
  return in;
}

core::inbound_message sms_in(const std::string& id, const std::string& from,
                             const std::string& text, time_point now) {
  core::inbound_message in;
  in.channel = "sms";
  in.provider = "mtn";
  in.external_id = id;
  in.from = from;
  in.type = "text";
  in.text = text;
  in.received_at_ms = to_ms(now);
  in.correlation_id = "corr-" + id;
  return in;
}

/// One call-ended event through the batch flow.
accepted_call accept_call_ended(soci::session& sql, const core::session_machine& machine,
                                const channel_policy& policy, const call_ended_input& in) {
  return accept_calls(sql, machine, policy, {&in}).at(0);
}

/// Stores a message in the inbox (as the edge does); false when it was a duplicate.
bool ingest(soci::session& sql, const core::inbound_message& in) {
  auto e = core::make_inbox_entry(in, 256);
  return insert_inbox(sql, {&e}).at(0).inserted;
}

/// Accepts the pending inbox messages of one phone, claimed with `token`.
accepted_messages accept_pending(soci::session& sql, const core::session_machine& machine,
                                 const channel_policy& policy, const std::string& phone,
                                 const std::string& token, time_point now, int max_rows = 100) {
  accept_request req{phone, token};
  return accept_messages(sql, machine, policy, {&req}, now, max_rows).at(0);
}

/// A message delivered by the edge and accepted, as the session actor does it.
accepted_messages deliver(migrated_db& m, const core::inbound_message& in, time_point now) {
  m.tx([&](soci::session& sql) { return ingest(sql, in); });
  return m.tx([&](soci::session& sql) {
    return accept_pending(sql, m.machine, m.policy, in.from, "tok-" + in.external_id, now);
  });
}

} // namespace

TEST_CASE("call ended: profile, follow-up session, two queued summaries; retries change nothing",
          "[omnichannel]") {
  migrated_db m;
  m.policy.template_name = "call_summary";
  auto first = m.tx([&](soci::session& sql) {
    return accept_call_ended(sql, m.machine, m.policy, call("c1", "+250788123456", m.now));
  });
  CHECK_FALSE(first.duplicate);
  REQUIRE(first.sends.size() == 2);
  CHECK(first.sends[0].channel == "whatsapp");
  CHECK(first.sends[0].payload.at("template") == "call_summary"); // no inbound yet: window closed
  CHECK(first.sends[1].channel == "sms");
  CHECK(first.sends[1].provider == "mtn");
  CHECK(first.sends[1].body.find("200k") != std::string::npos);
  auto session_id = first.result.at("session_id").get<int64_t>();
  auto s = find_session(*m.sql, session_id);
  REQUIRE(s);
  CHECK(s->status == core::session_status::follow_up);
  CHECK(s->context.at("last_call").at("summary").get<std::string>().find("200k")
        != std::string::npos);
  CHECK(s->expires_at > m.now + 23h);

  auto again = m.tx([&](soci::session& sql) {
    return accept_call_ended(sql, m.machine, m.policy, call("c1", "+250788123456", m.now));
  });
  CHECK(again.duplicate);
  CHECK(again.result == first.result);
  CHECK(again.sends.empty());
  CHECK(m.count("SELECT count(*) FROM message_delivery_log") == 2);
}

TEST_CASE("WhatsApp outside the window without a template is skipped with the reason",
          "[omnichannel]") {
  migrated_db m;
  auto r = m.tx([&](soci::session& sql) {
    return accept_call_ended(sql, m.machine, m.policy, call("c2", "+250788000111", m.now));
  });
  REQUIRE(r.sends.size() == 1);
  CHECK(r.sends[0].channel == "sms");
  REQUIRE(r.skipped.size() == 1);
  CHECK(r.skipped[0].status == "skipped");
  CHECK(r.skipped[0].last_error.find("24 h") != std::string::npos);

  // After the user writes on WhatsApp, free-form text goes out there.
  auto wa = sms_in("wamid.1", "+250788000111", "hello", m.now + 1min);
  wa.channel = "whatsapp";
  wa.provider = "whatsapp_cloud";
  deliver(m, wa, m.now + 1min);
  auto r2 = m.tx([&](soci::session& sql) {
    return accept_call_ended(sql, m.machine, m.policy, call("c3", "+250788000111", m.now + 2min));
  });
  REQUIRE(r2.sends.size() == 2);
  CHECK(r2.sends[0].payload.is_null());
}

TEST_CASE("inbound SMS from an unknown number creates an SMS-only profile; duplicates are one row",
          "[omnichannel]") {
  migrated_db m;
  auto a = deliver(m, sms_in("m1", "+250788999000", "hi", m.now), m.now);
  REQUIRE(a.inbound.size() == 1);
  CHECK(a.profile.allows_sms);
  CHECK_FALSE(a.profile.has_whatsapp);
  CHECK(a.profile.last_active_channel == "sms");
  CHECK(a.session.status == core::session_status::active);
  for (int i = 0; i < 5; ++i) {
    CHECK_FALSE(m.tx([&](soci::session& sql) {
      return ingest(sql, sms_in("m1", "+250788999000", "hi", m.now));
    }));
    auto again = m.tx([&](soci::session& sql) {
      return accept_pending(sql, m.machine, m.policy, "+250788999000", "tok-again", m.now);
    });
    CHECK(again.inbound.empty());
  }
  CHECK(m.count("SELECT count(*) FROM message_delivery_log WHERE direction = 'inbound'") == 1);
  CHECK(m.count("SELECT count(*) FROM inbox WHERE processed_at IS NOT NULL") == 1);

  std::vector<claimed_inbound> burst{{a.inbound[0].id, "tok-m1"}};
  auto reply = m.tx([&](soci::session& sql) {
    return queue_reply(sql, m.policy, burst, "sms", "Thanks!", "reply", m.now);
  });
  REQUIRE(reply);
  CHECK(reply->channel == "sms");
  CHECK(reply->status == "queued");
  // A second reply with a stale claim is refused.
  auto stale = m.tx([&](soci::session& sql) {
    return queue_reply(sql, m.policy, burst, "sms", "Again", "reply", m.now);
  });
  CHECK_FALSE(stale);
}

TEST_CASE("an expired session is closed and the next event opens a new one", "[omnichannel]") {
  migrated_db m;
  auto a = deliver(m, sms_in("e1", "+250788555000", "hi", m.now), m.now);
  auto later = m.now + 25h;
  auto b = deliver(m, sms_in("e2", "+250788555000", "back", later), later);
  CHECK(b.session.id != a.session.id);
  auto old = find_session(*m.sql, a.session.id);
  REQUIRE(old);
  CHECK(old->status == core::session_status::closed);
  CHECK(m.count("SELECT count(*) FROM omnichannel_sessions WHERE closed_reason = 'expired'") == 1);
}

TEST_CASE("the sweeper closes expired sessions in the database", "[omnichannel]") {
  migrated_db m;
  for (int i = 0; i < 3; ++i)
    deliver(m, sms_in("s" + std::to_string(i), "+25078866600" + std::to_string(i), "hi", m.now),
            m.now);
  CHECK(m.tx([&](soci::session& sql) { return close_expired_sessions(sql, m.now + 1h); }) == 0);
  CHECK(m.tx([&](soci::session& sql) { return close_expired_sessions(sql, m.now + 25h); }) == 3);
  CHECK(m.count("SELECT count(*) FROM omnichannel_sessions WHERE status <> 'closed'") == 0);
}

TEST_CASE("concurrent creators end with exactly one open session per profile", "[omnichannel]") {
  migrated_db m;
  constexpr int threads = 8;
  std::atomic<int> ok{0};
  std::atomic<int> conflicts{0};
  for (int t = 0; t < threads; ++t)
    m.tx([&](soci::session& sql) {
      return ingest(sql, sms_in("race" + std::to_string(t), "+250788777000", "hi", m.now));
    });
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      auto sql = m.db.connect();
      // Every accept races on the same new profile, taking one message each; a loser retries,
      // as the storage actor's caller would.
      for (int attempt = 0; attempt < 5; ++attempt) {
        try {
          exec_script(*sql, "BEGIN");
          auto a = accept_pending(*sql, m.machine, m.policy, "+250788777000",
                                  "tok-race" + std::to_string(t), m.now, 1);
          exec_script(*sql, "COMMIT");
          if (a.inbound.size() == 1)
            ++ok;
          return;
        } catch (const std::exception& e) {
          exec_script(*sql, "ROLLBACK");
          ++conflicts;
        }
      }
    });
  for (auto& th : pool)
    th.join();
  CHECK(ok == threads);
  CHECK(m.count("SELECT count(*) FROM omnichannel_sessions WHERE status <> 'closed'") == 1);
  CHECK(m.count("SELECT count(*) FROM message_delivery_log WHERE direction = 'inbound'")
        == threads);
  // The database refuses a second open session outright.
  auto pid = find_profile(*m.sql, "+250788777000")->id;
  core::session_record extra = m.machine.open(pid, m.now);
  CHECK_THROWS(insert_session(*m.sql, extra));
}

TEST_CASE("sends: claims, retries, sent with summary flag, forward-only statuses, early callbacks",
          "[omnichannel]") {
  migrated_db m;
  m.policy.claim_lease = 60s;
  auto r = m.tx([&](soci::session& sql) {
    return accept_call_ended(sql, m.machine, m.policy, call("c9", "+250788123000", m.now));
  });
  REQUIRE(r.sends.size() == 1);
  auto sms = r.sends[0];
  CHECK(m.tx([&](soci::session& sql) { return test::begin_attempt(sql, sms.id, "tok-c9", 60s); }));
  CHECK_FALSE(
      m.tx([&](soci::session& sql) { return test::begin_attempt(sql, sms.id, "thief", 60s); }));
  m.tx([&](soci::session& sql) {
    test::record_retry(sql, sms.id, "HTTP 503", m.now + 1s);
    return 0;
  });
  // A status callback racing ahead of the send's own answer is parked, then applied.
  CHECK(m.tx([&](soci::session& sql) {
           return test::apply_status(sql, "mtn", "MTN-1", "delivered", "");
         }).empty());
  auto sent = m.tx([&](soci::session& sql) { return test::record_sent(sql, sms.id, "MTN-1"); });
  CHECK(sent.status == "delivered");
  CHECK(sent.attempts == 1);
  auto session = find_session(*m.sql, r.result.at("session_id").get<int64_t>());
  CHECK(session->sms_summary_sent);
  CHECK_FALSE(session->whatsapp_summary_sent);
  // delivered after read is ignored; read after delivered advances.
  CHECK(m.tx([&](soci::session& sql) {
    return test::apply_status(sql, "mtn", "MTN-1", "read", "");
  }) == "read");
  CHECK(m.tx([&](soci::session& sql) {
    return test::apply_status(sql, "mtn", "MTN-1", "delivered", "");
  }) == "read");
  CHECK(m.count("SELECT count(*) FROM delivery_status_early") == 0);
}

TEST_CASE("stalled sends and unanswered messages are reclaimed after their lease",
          "[omnichannel]") {
  migrated_db m;
  m.policy.claim_lease = 30s;
  m.tx([&](soci::session& sql) {
    return accept_call_ended(sql, m.machine, m.policy, call("c10", "+250788123999", m.now));
  });
  auto in = deliver(m, sms_in("u1", "+250788123999", "?", m.now), m.now);
  REQUIRE(in.inbound.size() == 1);
  CHECK(m.tx([&](soci::session& sql) {
           return claim_due_deliveries(sql, m.now + 10s, 30s, 10);
         }).empty());
  auto due
      = m.tx([&](soci::session& sql) { return claim_due_deliveries(sql, m.now + 31s, 30s, 10); });
  REQUIRE(due.size() == 1);
  CHECK(due[0].claim_token != "tok-c10");
  // The old claimant's attempt is now refused.
  CHECK_FALSE(m.tx(
      [&](soci::session& sql) { return test::begin_attempt(sql, due[0].id, "tok-c10", 30s); }));
  CHECK(m.tx([&](soci::session& sql) {
    return test::begin_attempt(sql, due[0].id, due[0].claim_token, 30s);
  }));

  auto lost = m.tx(
      [&](soci::session& sql) { return claim_unanswered_inbound(sql, m.now + 31s, 30s, 10); });
  REQUIRE(lost.size() == 1);
  auto id = in.inbound[0].id;
  CHECK(lost[0].id == id);
  auto replay
      = m.tx([&](soci::session& sql) { return load_for_replay(sql, id, lost[0].claim_token); });
  REQUIRE(replay);
  REQUIRE(replay->inbound.size() == 1);
  CHECK(replay->inbound[0].body == "?");
  CHECK(
      m.tx([&](soci::session& sql) { return session_history(sql, replay->session.id, 10); }).size()
      >= 1);
  CHECK_FALSE(m.tx([&](soci::session& sql) {
    return queue_reply(sql, m.policy, {{id, "tok-u1"}}, "sms", "late", "reply", m.now);
  }));
  CHECK(m.tx([&](soci::session& sql) {
    return queue_reply(sql, m.policy, {{id, lost[0].claim_token}}, "sms", "ok", "reply", m.now);
  }));
}

TEST_CASE("outbox retries: rescheduled durably, held back without burning attempts, a WhatsApp "
          "outage past the horizon falls back to SMS",
          "[omnichannel][outbox]") {
  migrated_db m;
  m.policy.template_name = "call_summary"; // outside the window: the summary is a template
  auto r = m.tx([&](soci::session& sql) {
    return accept_call_ended(sql, m.machine, m.policy, call("c20", "+250788120000", m.now));
  });
  delivery_row wa;
  for (auto& row : r.sends)
    if (row.channel == "whatsapp")
      wa = row;
  REQUIRE(wa.id != 0);
  auto box = outbox::deliveries;
  auto attempts = [&] {
    return m.count("SELECT attempts FROM message_delivery_log WHERE id = " + std::to_string(wa.id));
  };
  REQUIRE(m.tx(
      [&](soci::session& sql) { return test::begin_attempt(sql, wa.id, wa.claim_token, 60s); }));

  // The retry decision's facts: attempts so far, age, kind.
  auto facts = m.tx([&](soci::session& sql) { return lock_for_retry(sql, wa.id, box); });
  REQUIRE(facts);
  CHECK(facts->attempts == 1);
  CHECK(facts->message_type == "summary");
  CHECK(facts->channel == "whatsapp");
  CHECK(facts->age >= 0ms);
  CHECK(facts->age < 60s);

  // Rescheduled: unclaimed, due after the delay, for the sweeper (not before).
  CHECK(m.tx([&](soci::session& sql) { return reschedule_row(sql, wa.id, box, "HTTP 503", 2s); }));
  CHECK(m.count("SELECT count(*) FROM message_delivery_log WHERE id = " + std::to_string(wa.id)
                + " AND claim_token IS NULL AND last_error = 'HTTP 503' AND status = 'queued'")
        == 1);
  auto now = std::chrono::system_clock::now();
  auto early = m.tx([&](soci::session& sql) { return claim_due_deliveries(sql, now, 30s, 10); });
  CHECK(std::none_of(early.begin(), early.end(), [&](auto& d) { return d.id == wa.id; }));
  auto due = m.tx([&](soci::session& sql) { return claim_due_deliveries(sql, now + 3s, 30s, 10); });
  auto it = std::find_if(due.begin(), due.end(), [&](auto& d) { return d.id == wa.id; });
  REQUIRE(it != due.end());
  auto token = it->claim_token;

  // Claimed and counted, then held back by an open breaker: the attempt is given back.
  REQUIRE(m.tx([&](soci::session& sql) { return test::begin_attempt(sql, wa.id, token, 60s); }));
  CHECK(attempts() == 2);
  CHECK_FALSE(
      m.tx([&](soci::session& sql) { return postpone_row(sql, wa.id, box, "thief", 5s, true); }));
  CHECK(m.tx([&](soci::session& sql) { return postpone_row(sql, wa.id, box, token, 5s, true); }));
  CHECK(attempts() == 1);
  // Held back before its claim was counted: nothing to give back.
  CHECK(m.tx([&](soci::session& sql) { return postpone_row(sql, wa.id, box, "", 5s, false); }));
  CHECK(attempts() == 1);
  CHECK(m.count("SELECT count(*) FROM message_delivery_log WHERE id = " + std::to_string(wa.id)
                + " AND claim_token IS NULL AND next_attempt_at > now() + interval '4 s'")
        == 1);

  // Rows waiting, per provider service.
  auto queued = m.tx([&](soci::session& sql) { return queued_by_service(sql, "mtn"); });
  std::map<std::string, int64_t> by;
  for (auto& q : queued)
    by[q.service] = q.queued;
  CHECK(by["whatsapp"] == 1);
  CHECK(by["mtn"] == 1);

  // The summary past its horizon: failed; its SMS twin is already going, so no second SMS, and
  // the profile is still on WhatsApp (this was an outage, not Meta's 131026).
  CHECK_FALSE(m.tx([&](soci::session& sql) {
    return fail_with_fallback(sql, m.policy, wa.id, core::whatsapp_outage_fallback, "down");
  }));
  CHECK(m.count("SELECT count(*) FROM message_delivery_log WHERE channel = 'sms'") == 1);
  CHECK(m.count("SELECT count(*) FROM profiles WHERE has_whatsapp") == 1);

  // A WhatsApp reply past its horizon goes by SMS.
  auto profile = *find_profile(*m.sql, "+250788120000");
  auto session_id = r.result.at("session_id").get<int64_t>();
  auto reply = m.tx([&](soci::session& sql) {
    return plan_outbound(sql, m.policy, profile, session_id, "whatsapp", "reply",
                         "See you on Friday", "corr-reply", "tok-reply", m.now);
  });
  REQUIRE(reply.status == "queued");
  auto fb = m.tx([&](soci::session& sql) {
    return fail_with_fallback(sql, m.policy, reply.id, core::whatsapp_outage_fallback,
                              "horizon passed");
  });
  REQUIRE(fb);
  CHECK(fb->channel == "sms");
  CHECK(fb->status == "queued");
  CHECK(fb->message_type == "reply");
  CHECK(fb->body.find("See you on Friday") != std::string::npos);
  CHECK(m.count("SELECT count(*) FROM message_delivery_log WHERE id = " + std::to_string(reply.id)
                + " AND status = 'failed'")
        == 1);
  CHECK(m.count("SELECT count(*) FROM profiles WHERE has_whatsapp") == 1);
}

TEST_CASE("a reply's LLM rounds and tool calls are stored with it and told in its story",
          "[omnichannel][console]") {
  migrated_db m;
  auto a = deliver(m, sms_in("m-llm", "+250788999001", "where is my order?", m.now), m.now);
  REQUIRE(a.inbound.size() == 1);
  reply_request req;
  req.inbound = {{a.inbound[0].id, "tok-m-llm"}};
  req.channel = "sms";
  req.text = "It ships tomorrow.";
  req.message_type = "reply";
  req.now = m.now;
  // The steps happen after the message arrived and before the reply is queued.
  auto t = std::chrono::system_clock::now();
  req.steps = {
      {"llm_round", t,
       R"({"round":1,"model":"gpt-4o-mini","latency_ms":120,"prompt_tokens":300,)"
       R"("completion_tokens":12,"finish_reason":"tool_calls","tool_calls":1})"},
      {"tool_call", t + 1ms,
       R"({"tool":"get_session_context","ok":true,"latency_ms":3,"argument_keys":["phone_number"]})"},
      {"llm_round", t + 2ms,
       R"({"round":2,"model":"gpt-4o-mini","latency_ms":90,"prompt_tokens":340,)"
       R"("completion_tokens":9,"finish_reason":"stop","tool_calls":0})"},
  };
  std::this_thread::sleep_for(20ms);
  auto reply = m.tx([&](soci::session& sql) { return queue_replies(sql, m.policy, {&req}).at(0); });
  REQUIRE(reply);
  CHECK(m.count("SELECT count(*) FROM llm_steps WHERE reply_id = " + std::to_string(reply->id))
        == 3);
  auto story = m.tx([&](soci::session& sql) { return console_delivery(sql, reply->id, false); });
  std::vector<std::string> kinds;
  for (auto& e : story["story"])
    kinds.push_back(e["kind"].get<std::string>());
  // In time order: the inbound, the LLM's rounds and tool call, then the reply queued.
  CHECK(kinds
        == std::vector<std::string>{"inbound", "llm_round", "tool_call", "llm_round", "reply"});
  auto tool = story["story"][2];
  CHECK(tool["title"] == "Tool call get_session_context: ok (3 ms)");
  CHECK(tool["detail"]["reply_id"] == reply->id);
  CHECK(story["story"][1]["detail"]["prompt_tokens"] == 300);
  // The same story from the inbound row.
  auto from_inbound
      = m.tx([&](soci::session& sql) { return console_delivery(sql, a.inbound[0].id, false); });
  CHECK(from_inbound["story"].size() == 5);
}
