#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include "storage/chatwoot.hpp"
#include "storage/db.hpp"
#include "storage/inbox.hpp"
#include "storage/migrator.hpp"
#include "tests/support/pg.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace std::chrono_literals;

namespace {

struct bot_db : test::migrated_db {
  void provider(int64_t account, const std::string& via) {
    *sql << "INSERT INTO providers (name) VALUES ('P')";
    long long id = 0;
    *sql << "SELECT max(id) FROM providers", soci::into(id);
    long long a = account;
    *sql << "INSERT INTO provider_notification_config (provider_id, chatwoot_account_id, "
            "chatwoot_portal_slug, notify_via, telegram_chat_id, notify_phone, notify_email) "
            "VALUES (:id, :a, 'help', :v, 4242, '+250788000999', 'desk@example.com')",
        soci::use(id), soci::use(a), soci::use(via);
  }
};

core::chatwoot_inbound event(int64_t conv, const std::string& status,
                             const std::string& delivery = "", bool customer = false,
                             const std::string& content = "") {
  core::chatwoot_inbound in;
  in.account_id = 7;
  in.conversation_id = conv;
  in.event = customer ? "message_created" : "conversation_status_changed";
  in.status = status;
  in.delivery_id = delivery;
  in.customer_message = customer;
  in.content = content;
  in.contact_name = "Jean";
  return in;
}

handoff_input handoff(int64_t conv, const std::string& reason) {
  handoff_input h;
  h.account_id = 7;
  h.conversation_id = conv;
  h.reason = reason;
  h.conversation_url
      = "https://chat.example.com/app/accounts/7/conversations/" + std::to_string(conv);
  h.correlation_id = "corr";
  h.token = "tok";
  h.now = std::chrono::system_clock::now();
  return h;
}

} // namespace

TEST_CASE("webhooks record the status as last seen; a signed event is processed once",
          "[chatwoot]") {
  bot_db b;
  b.provider(7, "telegram");
  // The inbox stores an event once per dedupe key; only stored events are accepted.
  auto hello = event(1, "pending", "d-1", true, "hello");
  auto entry = core::make_inbox_entry(hello, "message_created:11", 256);
  CHECK(b.tx([&](soci::session& sql) { return insert_inbox(sql, {&entry}).at(0).inserted; }));
  auto taken = b.tx([&](soci::session& sql) { return take_inbox(sql, "chatwoot", {"7:1"}, 10); });
  REQUIRE(taken.size() == 1);
  auto first = b.tx([&](soci::session& sql) {
    return accept_chatwoot_event(sql, *core::decode_chatwoot_inbound(taken[0].payload));
  });
  CHECK(first.conversation.status == "pending");
  CHECK(first.conversation.last_customer_message == "hello");
  REQUIRE(first.provider);
  CHECK(first.provider->portal_slug == "help");
  // The same signed event again (whatever its X-Chatwoot-Delivery): nothing new to take.
  auto replay = core::make_inbox_entry(event(1, "pending", "d-2", true, "hello"),
                                       "message_created:11", 256);
  CHECK_FALSE(
      b.tx([&](soci::session& sql) { return insert_inbox(sql, {&replay}).at(0).inserted; }));
  CHECK(b.tx([&](soci::session& sql) { return take_inbox(sql, "chatwoot", {"7:1"}, 10); }).empty());
  // The status change to open is a hand-off, once: the same status again is none.
  auto opened
      = b.tx([&](soci::session& sql) { return accept_chatwoot_event(sql, event(1, "open")); });
  CHECK(opened.became_open);
  CHECK(opened.previous_status == "pending");
  auto still_open
      = b.tx([&](soci::session& sql) { return accept_chatwoot_event(sql, event(1, "open")); });
  CHECK_FALSE(still_open.became_open);
}

TEST_CASE("a hand-off numbers itself, silences the bot and queues one notification", "[chatwoot]") {
  bot_db b;
  b.provider(7, "telegram");
  b.tx([&](soci::session& sql) {
    return accept_chatwoot_event(sql, event(2, "pending", "", true, "I want a human"));
  });
  auto h = b.tx(
      [&](soci::session& sql) { return record_handoff(sql, handoff(2, "asked for a human")); });
  CHECK(h.conversation.handoff_seq == 1);
  CHECK(h.conversation.bot_state == "handed_off");
  CHECK(h.conversation.status == "open");
  REQUIRE(h.notification);
  CHECK(h.notification->channel == "telegram");
  CHECK(h.notification->recipient == "4242");
  CHECK(h.notification->body.find("I want a human") != std::string::npos);
  CHECK(h.notification->status == "queued");
  // Our own toggle echoes back as a status change: no second hand-off.
  auto echo
      = b.tx([&](soci::session& sql) { return accept_chatwoot_event(sql, event(2, "open")); });
  CHECK_FALSE(echo.became_open);
  // Back to pending: the bot answers again; the next hand-off is number 2.
  auto back
      = b.tx([&](soci::session& sql) { return accept_chatwoot_event(sql, event(2, "pending")); });
  CHECK(back.resumed);
  CHECK(back.conversation.bot_state == "active");
  auto h2
      = b.tx([&](soci::session& sql) { return record_handoff(sql, handoff(2, "low confidence")); });
  CHECK(h2.conversation.handoff_seq == 2);
  CHECK(b.count("SELECT count(*) FROM provider_notifications") == 2);
  // The database refuses a second notification for the same hand-off.
  CHECK_THROWS(b.tx([&](soci::session& sql) {
    sql << "INSERT INTO provider_notifications (account_id, conversation_id, handoff_seq, channel, "
           "recipient, body, status, correlation_id) VALUES (7, 2, 2, 'telegram', '4242', 'x', "
           "'queued', 'c')";
    return 0;
  }));
}

TEST_CASE("without a notification config a hand-off notifies nobody", "[chatwoot]") {
  bot_db b;
  auto h = b.tx([&](soci::session& sql) { return record_handoff(sql, handoff(3, "asked")); });
  CHECK(h.no_config);
  CHECK_FALSE(h.notification);
  CHECK(h.conversation.bot_state == "handed_off");
  CHECK(b.count("SELECT count(*) FROM provider_notifications") == 0);
}

TEST_CASE("notifications by SMS and email carry their channel's text", "[chatwoot]") {
  bot_db b;
  b.provider(7, "sms");
  auto sms = b.tx([&](soci::session& sql) { return record_handoff(sql, handoff(4, "asked")); });
  REQUIRE(sms.notification);
  CHECK(sms.notification->recipient == "+250788000999");
  CHECK(sms.notification->body.find("#4") != std::string::npos);
  *b.sql << "UPDATE provider_notification_config SET notify_via = 'email'";
  auto email = b.tx([&](soci::session& sql) { return record_handoff(sql, handoff(5, "asked")); });
  REQUIRE(email.notification);
  CHECK(email.notification->recipient == "desk@example.com");
  CHECK(email.notification->subject == "Conversation #5 needs a human");
}

TEST_CASE("a sent Telegram notification is found by (chat, message id); stalled ones are "
          "reclaimed",
          "[chatwoot]") {
  bot_db b;
  b.provider(7, "telegram");
  auto h = b.tx([&](soci::session& sql) { return record_handoff(sql, handoff(6, "asked")); });
  REQUIRE(h.notification);
  auto id = h.notification->id;
  CHECK(b.tx([&](soci::session& sql) {
    return test::begin_attempt(sql, id, "tok", 60s, outbox::notifications);
  }));
  b.tx([&](soci::session& sql) {
    record_notification_sent(sql, id, "987");
    return 0;
  });
  auto found
      = b.tx([&](soci::session& sql) { return notification_for_telegram(sql, "4242", "987"); });
  REQUIRE(found);
  CHECK(found->conversation_id == 6);
  CHECK(found->status == "sent");
  CHECK_FALSE(
      b.tx([&](soci::session& sql) { return notification_for_telegram(sql, "4242", "988"); }));
  CHECK_FALSE(b.tx([&](soci::session& sql) { return notification_for_telegram(sql, "1", "987"); }));
  auto chat = b.tx([&](soci::session& sql) { return provider_for_telegram_chat(sql, 4242); });
  CHECK(chat);

  auto h2 = b.tx([&](soci::session& sql) { return record_handoff(sql, handoff(7, "asked")); });
  REQUIRE(h2.notification);
  auto now = std::chrono::system_clock::now();
  CHECK(
      b.tx([&](soci::session& sql) { return claim_due_notifications(sql, now, 60s, 10); }).empty());
  auto due
      = b.tx([&](soci::session& sql) { return claim_due_notifications(sql, now + 61s, 60s, 10); });
  REQUIRE(due.size() == 1);
  CHECK(due[0].id == h2.notification->id);
  CHECK(due[0].claim_token != "tok");
}

TEST_CASE("a conversation first seen as pending -> open is a hand-off; first seen open with no "
          "previous status, or open -> open, is none",
          "[chatwoot]") {
  bot_db b;
  b.provider(7, "telegram");
  auto with_previous = [](int64_t conv, const std::string& status, const std::string& previous) {
    auto in = event(conv, status);
    in.previous_status = previous;
    return in;
  };
  // The first webhook stored for conversation 10 (the earlier ones were lost to a 503).
  auto first = b.tx([&](soci::session& sql) {
    return accept_chatwoot_event(sql, with_previous(10, "open", "pending"));
  });
  CHECK(first.became_open);
  CHECK(first.conversation.status == "open");
  CHECK(first.conversation.contact_name == "Jean"); // from the event's meta.sender
  auto h = b.tx([&](soci::session& sql) {
    return record_handoff(sql, handoff(10, "The conversation was opened for a human agent."));
  });
  REQUIRE(h.notification);
  CHECK(h.notification->body.find("Jean") != std::string::npos);
  // conversation_updated carrying the same change: the stored row is open, no second hand-off.
  auto again = b.tx([&](soci::session& sql) {
    return accept_chatwoot_event(sql, with_previous(10, "open", "pending"));
  });
  CHECK_FALSE(again.became_open);

  // Conversation 11 first seen open, changed_attributes null: nothing says it was just opened.
  auto unknown
      = b.tx([&](soci::session& sql) { return accept_chatwoot_event(sql, event(11, "open")); });
  CHECK_FALSE(unknown.became_open);
  CHECK(unknown.conversation.status == "open");
  // Conversation 12 first seen open -> open (an attribute other than the status changed).
  auto same = b.tx([&](soci::session& sql) {
    return accept_chatwoot_event(sql, with_previous(12, "open", "open"));
  });
  CHECK_FALSE(same.became_open);
  // A stored pending row with changed_attributes null still falls back to the stored status.
  b.tx([&](soci::session& sql) { return accept_chatwoot_event(sql, event(13, "pending")); });
  auto fallback
      = b.tx([&](soci::session& sql) { return accept_chatwoot_event(sql, event(13, "open")); });
  CHECK(fallback.became_open);
  CHECK(b.count("SELECT count(*) FROM provider_notifications") == 1);
}

TEST_CASE("find_conversation reads a conversation and its last hand-off's notification, read-only",
          "[chatwoot]") {
  bot_db b;
  b.provider(7, "telegram");
  CHECK_FALSE(b.tx([&](soci::session& sql) { return find_conversation(sql, 7, 30); }));
  CHECK(b.count("SELECT count(*) FROM chatwoot_conversations") == 0); // not created by a read
  b.tx([&](soci::session& sql) {
    return accept_chatwoot_event(sql, event(30, "pending", "", true, "where is my order?"));
  });
  auto fresh = b.tx([&](soci::session& sql) { return find_conversation(sql, 7, 30); });
  REQUIRE(fresh);
  CHECK(fresh->conversation.status == "pending");
  CHECK(fresh->conversation.bot_state == "active");
  CHECK(fresh->conversation.last_customer_message == "where is my order?");
  CHECK(fresh->conversation.contact_name == "Jean");
  CHECK(fresh->notification_channel.empty());
  CHECK(fresh->updated_at.size() == 20); // 2026-12-01T18:00:00Z
  CHECK(fresh->updated_at.back() == 'Z');
  b.tx([&](soci::session& sql) { return record_handoff(sql, handoff(30, "asked for a human")); });
  b.tx([&](soci::session& sql) { return accept_chatwoot_event(sql, event(30, "pending")); });
  b.tx([&](soci::session& sql) { return record_handoff(sql, handoff(30, "low confidence")); });
  *b.sql << "UPDATE provider_notifications SET status = 'sent' WHERE handoff_seq = 2";
  auto st = b.tx([&](soci::session& sql) { return find_conversation(sql, 7, 30); });
  REQUIRE(st);
  CHECK(st->conversation.handoff_seq == 2);
  CHECK(st->conversation.bot_state == "handed_off");
  CHECK(st->conversation.escalation_reason == "low confidence");
  CHECK(st->notification_channel == "telegram");
  CHECK(st->notification_status == "sent"); // the last hand-off's, not the first's
  CHECK_FALSE(b.tx([&](soci::session& sql) { return find_conversation(sql, 8, 30); }));
}

TEST_CASE("bot answers are recorded; an escalated question rides in its hand-off's transaction",
          "[chatwoot][console]") {
  bot_db b;
  b.provider(7, "telegram");
  bot_answer_record answered;
  answered.account_id = 7;
  answered.conversation_id = 40;
  answered.correlation_id = "c-1";
  answered.question = "How do I get a refund?";
  answered.sources = {{11, "Refunds", "https://help.example.com/refunds"}};
  answered.confidence = 0.82;
  answered.posted_id = "4711";
  b.tx([&](soci::session& sql) {
    record_bot_answer(sql, answered);
    return 0;
  });
  auto h = handoff(41, "No article matched the question.");
  h.answer = answered;
  h.answer->conversation_id = 41;
  h.answer->question = "Where is my parcel?";
  h.answer->sources.clear();
  h.answer->confidence.reset();
  h.answer->escalated = true;
  h.answer->reason = "no_match";
  h.answer->posted_id.clear();
  b.tx([&](soci::session& sql) { return record_handoff(sql, h); });
  soci::rowset<soci::row> rows
      = (b.sql->prepare << "SELECT conversation_id, question, sources::text, "
                           "coalesce(confidence, -1), escalated::int, coalesce(reason, ''), "
                           "coalesce(posted_id, '') FROM bot_answers ORDER BY id");
  std::vector<std::string> seen;
  for (auto& r : rows)
    seen.push_back(std::to_string(r.get<long long>(0)) + "|" + r.get<std::string>(1) + "|"
                   + nlohmann::json::parse(r.get<std::string>(2)).dump() + "|"
                   + std::to_string(r.get<double>(3)).substr(0, 4) + "|"
                   + std::to_string(r.get<int>(4)) + "|" + r.get<std::string>(5) + "|"
                   + r.get<std::string>(6));
  REQUIRE(seen.size() == 2);
  CHECK(seen[0]
        == "40|How do I get a refund?|[{\"article_id\":11,\"title\":\"Refunds\",\"url\":"
           "\"https://help.example.com/refunds\"}]|0.82|0||4711");
  CHECK(seen[1] == "41|Where is my parcel?|[]|-1.0|1|no_match|");
}

TEST_CASE("a provider's Telegram reply marks its notification replied", "[chatwoot][console]") {
  bot_db b;
  b.provider(7, "telegram");
  auto h = b.tx([&](soci::session& sql) { return record_handoff(sql, handoff(42, "asked")); });
  REQUIRE(h.notification);
  long long id = h.notification->id;
  int replied = 0;
  *b.sql << "SELECT (replied_at IS NOT NULL)::int FROM provider_notifications WHERE id = :id",
      soci::use(id), soci::into(replied);
  CHECK(replied == 0);
  b.tx([&](soci::session& sql) {
    mark_notification_replied(sql, id);
    return 0;
  });
  std::string first;
  *b.sql << "SELECT replied_at::text FROM provider_notifications WHERE id = :id", soci::use(id),
      soci::into(first);
  CHECK_FALSE(first.empty());
  b.tx([&](soci::session& sql) {
    mark_notification_replied(sql, id); // a second reply keeps the first time
    return 0;
  });
  std::string again;
  *b.sql << "SELECT replied_at::text FROM provider_notifications WHERE id = :id", soci::use(id),
      soci::into(again);
  CHECK(again == first);
}
