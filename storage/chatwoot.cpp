#include "storage/chatwoot.hpp"

#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include "core/bot/chatwoot.hpp"
#include "core/bot/handoff.hpp"
#include "core/crypto.hpp"
#include "storage/db.hpp"

namespace switchboard::storage {

using core::sb_error;

namespace {

constexpr const char* route_columns = "c.provider_id, p.name, c.chatwoot_portal_slug, "
                                      "c.notify_via, coalesce(c.telegram_chat_id, 0), "
                                      "coalesce(c.notify_phone, ''), coalesce(c.notify_email, '')";

constexpr const char* insert_conversation_sql = "INSERT INTO chatwoot_conversations (account_id, "
                                                "conversation_id, status) VALUES (:a, :c, :s) "
                                                "ON CONFLICT DO NOTHING RETURNING 1";

constexpr const char* lock_conversation_sql
    = "SELECT status, bot_state, coalesce(escalation_reason, ''), handoff_seq, "
      "coalesce(last_customer_message, ''), coalesce(contact_name, '') FROM chatwoot_conversations "
      "WHERE account_id = :a AND conversation_id = :c FOR UPDATE";

constexpr const char* find_conversation_sql
    = "SELECT c.status, c.bot_state, coalesce(c.escalation_reason, ''), c.handoff_seq, "
      "coalesce(c.last_customer_message, ''), coalesce(c.contact_name, ''), "
      "to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
      "coalesce(n.channel, ''), coalesce(n.status, '') FROM chatwoot_conversations c "
      "LEFT JOIN provider_notifications n ON n.account_id = c.account_id "
      "AND n.conversation_id = c.conversation_id AND n.handoff_seq = c.handoff_seq "
      "AND c.handoff_seq > 0 WHERE c.account_id = :a AND c.conversation_id = :c LIMIT 1";

constexpr const char* save_conversation_sql
    = "UPDATE chatwoot_conversations SET status = :st, bot_state = :bs, "
      "escalation_reason = nullif(:er, ''), handoff_seq = :seq, "
      "last_customer_message = nullif(:lm, ''), contact_name = nullif(:cn, ''), updated_at = now() "
      "WHERE account_id = :a AND conversation_id = :c";

constexpr const char* notification_columns
    = "id, coalesce(provider_id, 0), account_id, conversation_id, handoff_seq, channel, recipient, "
      "subject, body, status, coalesce(external_id, ''), correlation_id, coalesce(claim_token, "
      "''), "
      "attempts, coalesce(last_error, '')";

constexpr const char* insert_notification_sql
    = "INSERT INTO provider_notifications (provider_id, account_id, conversation_id, handoff_seq, "
      "channel, recipient, subject, body, status, correlation_id, next_attempt_at, claim_token) "
      "VALUES (:p, :a, :c, :seq, :ch, :rc, :sub, :body, 'queued', :cid, "
      "now() + make_interval(secs => :lease / 1000.0), :tok) "
      "ON CONFLICT (account_id, conversation_id, handoff_seq) DO NOTHING RETURNING id";

constexpr const char* notification_sent_sql
    = "UPDATE provider_notifications SET status = 'sent', external_id = nullif(:ext, ''), "
      "last_error = NULL, next_attempt_at = NULL, claim_token = NULL, updated_at = now() "
      "WHERE id = :id AND status IN ('queued', 'failed')";

constexpr const char* claim_due_notifications_sql
    = "SELECT id FROM provider_notifications WHERE status = 'queued' AND "
      "next_attempt_at <= to_timestamp(:now / 1000.0) AND (CAST(:n AS int) = 0 OR shard_key IS "
      "NULL OR CAST(shard_key % CAST(:n2 AS int) AS int) = ANY(CAST(:owned AS int[]))) "
      "ORDER BY next_attempt_at LIMIT :lim FOR UPDATE SKIP LOCKED";

constexpr const char* reclaim_notification_sql
    = "UPDATE provider_notifications SET claim_token = :tok, "
      "next_attempt_at = now() + make_interval(secs => :lease / 1000.0), updated_at = now() "
      "WHERE id = :id";

constexpr const char* notification_by_telegram_sql
    = "SELECT id FROM provider_notifications WHERE channel = 'telegram' AND recipient = :chat AND "
      "external_id = :msg";

constexpr const char* insert_bot_answer_sql
    = "INSERT INTO bot_answers (account_id, conversation_id, correlation_id, question, sources, "
      "confidence, escalated, reason, posted_id) VALUES (:a, :c, :cid, :q, CAST(:src AS jsonb), "
      "CAST(nullif(:conf, '') AS double precision), :esc, nullif(:r, ''), nullif(:pid, ''))";

constexpr const char* notification_replied_sql
    = "UPDATE provider_notifications SET replied_at = coalesce(replied_at, now()) WHERE id = :id";

/// A claim lease for a notification's first attempt (the adapter renews it per attempt).
constexpr long long notification_lease_ms = 60000;

std::optional<provider_route> select_route(soci::session& sql, const std::string& where,
                                           long long key) {
  soci::rowset<soci::row> rows
      = (sql.prepare << std::string{"SELECT "} + route_columns
                            + " FROM provider_notification_config c JOIN providers p ON p.id = "
                              "c.provider_id WHERE "
                            + where,
         soci::use(key));
  for (auto& r : rows) {
    provider_route p;
    p.provider_id = r.get<long long>(0);
    p.provider_name = r.get<std::string>(1);
    p.portal_slug = r.get<std::string>(2);
    p.notify_via = r.get<std::string>(3);
    p.telegram_chat_id = r.get<long long>(4);
    p.notify_phone = r.get<std::string>(5);
    p.notify_email = r.get<std::string>(6);
    return p;
  }
  return std::nullopt;
}

notification_row read_notification(const soci::row& r) {
  notification_row n;
  n.id = r.get<long long>(0);
  n.provider_id = r.get<long long>(1);
  n.account_id = r.get<long long>(2);
  n.conversation_id = r.get<long long>(3);
  n.handoff_seq = r.get<int>(4);
  n.channel = r.get<std::string>(5);
  n.recipient = r.get<std::string>(6);
  n.subject = r.get<std::string>(7);
  n.body = r.get<std::string>(8);
  n.status = r.get<std::string>(9);
  n.external_id = r.get<std::string>(10);
  n.correlation_id = r.get<std::string>(11);
  n.claim_token = r.get<std::string>(12);
  n.attempts = r.get<int>(13);
  n.last_error = r.get<std::string>(14);
  return n;
}

bool known_status(const std::string& s) {
  return s == "open" || s == "pending" || s == "resolved" || s == "snoozed";
}

} // namespace

std::optional<provider_route> provider_for_account(soci::session& sql, int64_t account_id) {
  return select_route(sql, "c.chatwoot_account_id = :a", account_id);
}

std::optional<provider_route> provider_for_telegram_chat(soci::session& sql, int64_t chat_id) {
  return select_route(sql, "c.telegram_chat_id = :t", chat_id);
}

conversation_row lock_conversation(soci::session& sql, int64_t account_id, int64_t conversation_id,
                                   const std::string& initial_status, bool* created) {
  long long a = account_id, c = conversation_id;
  std::string st = known_status(initial_status) ? initial_status : std::string{"pending"};
  int inserted = 0;
  sql << insert_conversation_sql, soci::use(a), soci::use(c), soci::use(st), soci::into(inserted);
  if (created != nullptr)
    *created = sql.got_data();
  conversation_row row;
  row.account_id = account_id;
  row.conversation_id = conversation_id;
  sql << lock_conversation_sql, soci::use(a), soci::use(c), soci::into(row.status),
      soci::into(row.bot_state), soci::into(row.escalation_reason), soci::into(row.handoff_seq),
      soci::into(row.last_customer_message), soci::into(row.contact_name);
  if (!sql.got_data())
    throw domain_error(sb_error::internal, "conversation row vanished");
  return row;
}

std::optional<conversation_state> find_conversation(soci::session& sql, int64_t account_id,
                                                    int64_t conversation_id) {
  long long a = account_id, c = conversation_id;
  conversation_state st;
  st.conversation.account_id = account_id;
  st.conversation.conversation_id = conversation_id;
  auto& row = st.conversation;
  sql << find_conversation_sql, soci::use(a), soci::use(c), soci::into(row.status),
      soci::into(row.bot_state), soci::into(row.escalation_reason), soci::into(row.handoff_seq),
      soci::into(row.last_customer_message), soci::into(row.contact_name),
      soci::into(st.updated_at), soci::into(st.notification_channel),
      soci::into(st.notification_status);
  if (!sql.got_data())
    return std::nullopt;
  return st;
}

void save_conversation(soci::session& sql, const conversation_row& c) {
  long long a = c.account_id, conv = c.conversation_id;
  int seq = c.handoff_seq;
  sql << save_conversation_sql, soci::use(c.status), soci::use(c.bot_state),
      soci::use(c.escalation_reason), soci::use(seq), soci::use(c.last_customer_message),
      soci::use(c.contact_name), soci::use(a), soci::use(conv);
}

chatwoot_accepted accept_chatwoot_event(soci::session& sql, const core::chatwoot_inbound& in) {
  chatwoot_accepted out;
  bool created = false;
  auto c = lock_conversation(sql, in.account_id, in.conversation_id, in.status, &created);
  std::optional<core::chatwoot_seen> stored;
  if (!created)
    stored = core::chatwoot_seen{c.status, c.bot_state == "handed_off"};
  out.previous_status = c.status;
  auto t = core::chatwoot_status_transition(stored, in.status, in.previous_status);
  out.became_open = t.became_open;
  out.resumed = t.resumed;
  if (t.resumed)
    c.bot_state = "active";
  c.status = t.status;
  if (in.customer_message) {
    c.last_customer_message = in.content;
    if (!in.contact_name.empty())
      c.contact_name = in.contact_name;
  } else if (c.contact_name.empty() && !in.contact_name.empty()) {
    // A conversation first seen in a status event: its meta.sender names the customer.
    c.contact_name = in.contact_name;
  }
  save_conversation(sql, c);
  out.conversation = c;
  out.provider = provider_for_account(sql, in.account_id);
  return out;
}

void record_bot_answer(soci::session& sql, const bot_answer_record& a) {
  long long acc = a.account_id, conv = a.conversation_id;
  auto sources = nlohmann::json::array();
  for (const auto& s : a.sources)
    sources.push_back({{"article_id", s.article_id}, {"title", s.title}, {"url", s.url}});
  std::string src = sources.dump();
  std::string conf = a.confidence ? std::to_string(*a.confidence) : std::string{};
  int esc = a.escalated ? 1 : 0;
  sql << insert_bot_answer_sql, soci::use(acc), soci::use(conv), soci::use(a.correlation_id),
      soci::use(a.question), soci::use(src), soci::use(conf), soci::use(esc), soci::use(a.reason),
      soci::use(a.posted_id);
}

void mark_notification_replied(soci::session& sql, int64_t id) {
  long long i = id;
  sql << notification_replied_sql, soci::use(i);
}

handoff_result record_handoff(soci::session& sql, const handoff_input& in) {
  handoff_result out;
  if (in.answer)
    record_bot_answer(sql, *in.answer);
  auto c = lock_conversation(sql, in.account_id, in.conversation_id, "open");
  c.handoff_seq += 1;
  c.bot_state = "handed_off";
  c.status = "open";
  c.escalation_reason = in.reason;
  save_conversation(sql, c);
  out.conversation = c;
  auto route = provider_for_account(sql, in.account_id);
  if (!route) {
    out.no_config = true;
    return out;
  }
  core::handoff_notice notice;
  notice.account_id = in.account_id;
  notice.conversation_id = in.conversation_id;
  notice.conversation_url = in.conversation_url;
  notice.customer_name = c.contact_name;
  notice.last_message = c.last_customer_message;
  notice.reason = in.reason;
  notification_row n;
  n.provider_id = route->provider_id;
  n.account_id = in.account_id;
  n.conversation_id = in.conversation_id;
  n.handoff_seq = c.handoff_seq;
  n.channel = route->notify_via;
  n.correlation_id = in.correlation_id;
  n.claim_token = in.token;
  n.status = "queued";
  if (n.channel == "telegram") {
    n.recipient = std::to_string(route->telegram_chat_id);
    n.body = core::handoff_telegram_text(notice);
  } else if (n.channel == "sms") {
    n.recipient = route->notify_phone;
    n.body = core::handoff_sms_text(notice, in.sms_max_segments);
  } else {
    auto email = core::handoff_email(notice);
    n.recipient = route->notify_email;
    n.subject = email.subject;
    n.body = email.body;
  }
  long long p = n.provider_id, a = n.account_id, conv = n.conversation_id,
            lease = notification_lease_ms, id = 0;
  int seq = n.handoff_seq;
  sql << insert_notification_sql, soci::use(p), soci::use(a), soci::use(conv), soci::use(seq),
      soci::use(n.channel), soci::use(n.recipient), soci::use(n.subject), soci::use(n.body),
      soci::use(n.correlation_id), soci::use(lease), soci::use(n.claim_token), soci::into(id);
  if (sql.got_data()) {
    n.id = id;
    out.notification = n;
  }
  return out;
}

std::optional<notification_row> find_notification(soci::session& sql, int64_t id) {
  long long key = id;
  soci::rowset<soci::row> rows
      = (sql.prepare << std::string{"SELECT "} + notification_columns
                            + " FROM provider_notifications WHERE id = :id",
         soci::use(key));
  for (auto& r : rows)
    return read_notification(r);
  return std::nullopt;
}

void record_notification_sent(soci::session& sql, int64_t id, const std::string& external_id) {
  long long i = id;
  std::string ext = external_id;
  sql << notification_sent_sql, soci::use(ext), soci::use(i);
}

std::vector<notification_row> claim_due_notifications(soci::session& sql, time_point now,
                                                      std::chrono::milliseconds lease, int limit,
                                                      const owned_shards& only) {
  std::vector<notification_row> out;
  for (auto id : reclaim_due(sql, claim_due_notifications_sql, reclaim_notification_sql, now, lease,
                             limit, only))
    if (auto row = find_notification(sql, id))
      out.push_back(std::move(*row));
  return out;
}

std::optional<notification_row> notification_for_telegram(soci::session& sql,
                                                          const std::string& chat_id,
                                                          const std::string& message_id) {
  std::string chat = chat_id, msg = message_id;
  long long id = 0;
  sql << notification_by_telegram_sql, soci::use(chat), soci::use(msg), soci::into(id);
  if (!sql.got_data())
    return std::nullopt;
  return find_notification(sql, id);
}

} // namespace switchboard::storage
