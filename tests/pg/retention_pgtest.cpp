// Retention against a real PostgreSQL: rows past their horizon go in batches, rows still needed
// and recent rows stay.

#include <catch2/catch.hpp>

#include <soci/soci.h>

#include "storage/retention.hpp"
#include "tests/support/pg.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace std::chrono_literals;

namespace {

constexpr auto horizon = std::chrono::seconds{90 * 24 * 3600};

/// Batches purge_batch deletes until one comes back empty: the rows each batch took.
std::vector<int> purge_all(test::migrated_db& d, retained t, std::chrono::seconds h, int limit) {
  std::vector<int> batches;
  for (int i = 0; i < 100; ++i) {
    int n = d.tx([&](soci::session& sql) { return purge_batch(sql, t, h, limit); });
    batches.push_back(n);
    if (n == 0)
      break;
  }
  return batches;
}

/// Inserts a delivery-log row `age_days` old; returns its id.
long long delivery(test::migrated_db& d, long long profile, long long session,
                   const std::string& direction, const std::string& status, int age_days,
                   bool awaiting_reply = false) {
  long long id = 0;
  int await = awaiting_reply ? 1 : 0;
  *d.sql << "INSERT INTO message_delivery_log (session_id, profile_id, channel, provider, "
            "direction, message_type, status, recipient, correlation_id, next_attempt_at, "
            "created_at) VALUES (nullif(:s, 0), :p, 'sms', 'mtn', :dir, 'reply', :st, "
            "'+250788123456', 'corr', CASE WHEN :await = 1 THEN now() END, "
            "now() - make_interval(days => :age)) RETURNING id",
      soci::use(session), soci::use(profile), soci::use(direction), soci::use(status),
      soci::use(await), soci::use(age_days), soci::into(id);
  return id;
}

/// Inserts a session created `age_days` ago, closed then unless `open`; returns its id.
long long session(test::migrated_db& d, long long profile, int age_days, bool open) {
  long long id = 0;
  std::string status = open ? "active" : "closed";
  int closed = open ? 0 : 1;
  *d.sql << "INSERT INTO omnichannel_sessions (profile_id, status, expires_at, created_at, "
            "closed_at) VALUES (:p, :st, now() + interval '1 day', "
            "now() - make_interval(days => :age), CASE WHEN :closed = 1 THEN "
            "now() - make_interval(days => :age2) END) RETURNING id",
      soci::use(profile), soci::use(status), soci::use(age_days), soci::use(closed),
      soci::use(age_days), soci::into(id);
  return id;
}

long long profile(test::migrated_db& d, const std::string& phone) {
  long long id = 0;
  *d.sql << "INSERT INTO profiles (phone_number) VALUES (:p) RETURNING id", soci::use(phone),
      soci::into(id);
  return id;
}

} // namespace

TEST_CASE("retention purges final delivery-log rows past the horizon in batches and keeps what "
          "is still needed",
          "[retention]") {
  test::migrated_db d;
  auto p1 = profile(d, "+250788123456");
  auto p2 = profile(d, "+250788654321");
  auto p3 = profile(d, "+250788111222");
  // Oldest first, the way ids are handed out.
  auto closed_old = session(d, p1, 120, false);
  auto closed_kept = session(d, p3, 120, false); // keeps a queued row below
  auto open_old = session(d, p2, 120, true);     // a session still open
  for (int i = 0; i < 5; ++i)
    delivery(d, p1, closed_old, "outbound", i % 2 ? "delivered" : "sent", 100);
  auto answered = delivery(d, p1, closed_old, "inbound", "received", 100);
  auto failed = delivery(d, p1, 0, "outbound", "failed", 100);
  auto queued = delivery(d, p3, closed_kept, "outbound", "queued", 100);
  auto awaiting = delivery(d, p3, 0, "inbound", "received", 100, true);
  auto of_open = delivery(d, p2, open_old, "outbound", "delivered", 100);
  auto closed_recent = session(d, p1, 10, false);
  auto recent = delivery(d, p1, closed_recent, "outbound", "sent", 10);
  REQUIRE(d.count("SELECT count(*) FROM message_delivery_log") == 11);

  // Seven rows are past the horizon and final: batches of 3 take them oldest first.
  CHECK(purge_all(d, retained::message_delivery_log, horizon, 3) == std::vector<int>{3, 3, 1, 0});
  auto left = [&](long long id) {
    return d.count("SELECT count(*) FROM message_delivery_log WHERE id = " + std::to_string(id))
           == 1;
  };
  CHECK_FALSE(left(answered));
  CHECK_FALSE(left(failed));
  CHECK(left(queued));   // still retrying
  CHECK(left(awaiting)); // its reply is still to come
  CHECK(left(of_open));  // its session is open
  CHECK(left(recent));   // within the horizon
  CHECK(d.count("SELECT count(*) FROM message_delivery_log") == 4);

  // Closed sessions go once no row names them, open and recent ones stay.
  CHECK(purge_all(d, retained::omnichannel_sessions, horizon, 10) == std::vector<int>{1, 0});
  auto session_left = [&](long long id) {
    return d.count("SELECT count(*) FROM omnichannel_sessions WHERE id = " + std::to_string(id))
           == 1;
  };
  CHECK_FALSE(session_left(closed_old));
  CHECK(session_left(closed_kept));
  CHECK(session_left(open_old));
  CHECK(session_left(closed_recent));

  // A shorter horizon reaches the recent row, never the ones still needed.
  CHECK(purge_all(d, retained::message_delivery_log, 24h, 10) == std::vector<int>{1, 0});
  CHECK(d.count("SELECT count(*) FROM message_delivery_log") == 3);
}

TEST_CASE("retention purges final hand-off notifications and keeps queued ones", "[retention]") {
  test::migrated_db d;
  auto notification = [&](int seq, const std::string& status, int age_days) {
    *d.sql << "INSERT INTO provider_notifications (account_id, conversation_id, handoff_seq, "
              "channel, recipient, body, status, correlation_id, created_at) VALUES (1, 7, :seq, "
              "'sms', '+250788123456', 'Hand-off', :st, 'corr', "
              "now() - make_interval(days => :age))",
        soci::use(seq), soci::use(status), soci::use(age_days);
  };
  notification(1, "sent", 100);
  notification(2, "failed", 100);
  notification(3, "queued", 100);
  notification(4, "skipped", 100);
  notification(5, "sent", 1);
  CHECK(purge_all(d, retained::provider_notifications, horizon, 2) == std::vector<int>{2, 1, 0});
  CHECK(d.count("SELECT count(*) FROM provider_notifications WHERE handoff_seq IN (3, 5)") == 2);
  CHECK(d.count("SELECT count(*) FROM provider_notifications") == 2);
}

TEST_CASE("retention purges processed inbox rows, old dedupe rows and parked statuses past the "
          "window, and never a pending inbox row",
          "[retention]") {
  test::migrated_db d;
  auto inbox = [&](const std::string& key, int age_hours, bool processed) {
    int p = processed ? 1 : 0;
    *d.sql << "INSERT INTO inbox (source, dedupe_key, shard, entity, kind, payload, "
              "correlation_id, received_at, processed_at) VALUES ('mtn', :k, 0, '+250788123456', "
              "'message', '{}', 'corr', now() - make_interval(hours => :age), "
              "CASE WHEN :p = 1 THEN now() END)",
        soci::use(key), soci::use(age_hours), soci::use(p);
  };
  for (int i = 0; i < 5; ++i)
    inbox("old-" + std::to_string(i), 200, true);
  inbox("pending", 200, false);
  inbox("recent", 1, true);
  auto week = std::chrono::seconds{7 * 24 * 3600};
  CHECK(purge_all(d, retained::inbox, week, 2) == std::vector<int>{2, 2, 1, 0});
  CHECK(d.count("SELECT count(*) FROM inbox WHERE dedupe_key IN ('pending', 'recent')") == 2);
  CHECK(d.count("SELECT count(*) FROM inbox") == 2);

  *d.sql << "INSERT INTO processed_webhooks (source, external_id, received_at) VALUES "
            "('whatsapp', 'old', now() - interval '8 days'), ('whatsapp', 'new', now())";
  CHECK(purge_all(d, retained::processed_webhooks, week, 10) == std::vector<int>{1, 0});
  CHECK(d.count("SELECT count(*) FROM processed_webhooks WHERE external_id = 'new'") == 1);

  *d.sql << "INSERT INTO delivery_status_early (provider, external_id, status, received_at) "
            "VALUES ('mtn', 'lost', 'delivered', now() - interval '8 days'), "
            "('mtn', 'racing', 'delivered', now())";
  CHECK(purge_all(d, retained::delivery_status_early, week, 10) == std::vector<int>{1, 0});
  CHECK(d.count("SELECT count(*) FROM delivery_status_early WHERE external_id = 'racing'") == 1);
}

TEST_CASE("the inbox purge finds its rows through an index, not by reading the table",
          "[retention]") {
  test::migrated_db d;
  // With sequential scans priced out, the plan names the index the purge needs; without that
  // index (before migration 0008) PostgreSQL could only scan the table.
  *d.sql << "SET enable_seqscan = off";
  std::string plan, line;
  soci::statement st
      = (d.sql->prepare << "EXPLAIN DELETE FROM inbox WHERE ctid = ANY(ARRAY(SELECT ctid FROM "
                           "inbox WHERE processed_at IS NOT NULL AND received_at < now() - "
                           "make_interval(secs => 604800) LIMIT 1000))",
         soci::into(line));
  st.execute();
  while (st.fetch())
    plan += line + "\n";
  *d.sql << "RESET enable_seqscan";
  INFO(plan);
  CHECK(plan.find("inbox_processed_received") != std::string::npos);
}

TEST_CASE("retention purges the bot's questions past the notifications' horizon", "[retention]") {
  test::migrated_db d;
  *d.sql << "INSERT INTO bot_answers (account_id, conversation_id, question, escalated, at) "
            "VALUES (1, 1, 'old', false, now() - interval '100 days'), "
            "(1, 2, 'old too', true, now() - interval '95 days'), "
            "(1, 3, 'recent', false, now() - interval '1 day')";
  CHECK(purge_all(d, retained::bot_answers, horizon, 1) == std::vector<int>{1, 1, 0});
  CHECK(d.count("SELECT count(*) FROM bot_answers WHERE question = 'recent'") == 1);
  CHECK(d.count("SELECT count(*) FROM bot_answers") == 1);
}
