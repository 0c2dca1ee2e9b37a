#include "storage/retention.hpp"

#include <string>

#include "storage/inbox.hpp"
#include "storage/pg.hpp"

namespace switchboard::storage {

namespace {

// Every statement: $1 the horizon in seconds, $2 the batch size. Rows are chosen by a subselect
// (LIMIT, FOR UPDATE SKIP LOCKED: a row another transaction holds is left for the next sweep)
// and deleted by ctid (a TID scan).
//
// The id-ordered tables have no index on their timestamps (each would cost every insert on a hot
// table one more entry). Their ids grow with created_at, so the candidates are the rows below the
// first id created within the horizon, found through the primary key: the scan reads the old rows
// left (the few still needed) and stops at the first young one instead of reading the table.

constexpr pg_statement processed_webhooks_sql{
    "sb_retention_processed_webhooks",
    "DELETE FROM processed_webhooks WHERE ctid = ANY(ARRAY("
    "  SELECT ctid FROM processed_webhooks "
    "  WHERE received_at < now() - make_interval(secs => $1::bigint) "
    "  ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED))"};

// Parked statuses are normally deleted when their send is recorded; these are the ones whose send
// never was (a crash between the provider's acceptance and the recording). The table stays small.
constexpr pg_statement early_sql{"sb_retention_early",
                                 "DELETE FROM delivery_status_early WHERE ctid = ANY(ARRAY("
                                 "  SELECT ctid FROM delivery_status_early "
                                 "  WHERE received_at < now() - make_interval(secs => $1::bigint) "
                                 "  LIMIT $2 FOR UPDATE SKIP LOCKED))"};

// Kept: queued sends (retrying), inbound rows still claimed for their reply (next_attempt_at set
// while unanswered), and every row of a session that is not closed.
constexpr pg_statement delivery_log_sql{
    "sb_retention_delivery_log",
    "DELETE FROM message_delivery_log WHERE ctid = ANY(ARRAY("
    "  SELECT m.ctid FROM message_delivery_log m "
    "  WHERE m.id < coalesce((SELECT y.id FROM message_delivery_log y "
    "                         WHERE y.created_at >= now() - make_interval(secs => $1::bigint) "
    "                         ORDER BY y.id LIMIT 1), 9223372036854775807) "
    "    AND m.created_at < now() - make_interval(secs => $1::bigint) "
    "    AND m.status <> 'queued' "
    "    AND (m.direction = 'outbound' OR m.next_attempt_at IS NULL) "
    "    AND NOT EXISTS (SELECT 1 FROM omnichannel_sessions s "
    "                    WHERE s.id = m.session_id AND s.status <> 'closed') "
    "  ORDER BY m.id LIMIT $2 FOR UPDATE OF m SKIP LOCKED))"};

// A closed session goes once its delivery-log rows are gone (they name it; the log's own purge
// runs first with the same horizon). closed_at >= created_at, so the id bound holds.
constexpr pg_statement sessions_sql{
    "sb_retention_sessions",
    "DELETE FROM omnichannel_sessions WHERE ctid = ANY(ARRAY("
    "  SELECT s.ctid FROM omnichannel_sessions s "
    "  WHERE s.id < coalesce((SELECT y.id FROM omnichannel_sessions y "
    "                         WHERE y.created_at >= now() - make_interval(secs => $1::bigint) "
    "                         ORDER BY y.id LIMIT 1), 9223372036854775807) "
    "    AND s.status = 'closed' "
    "    AND s.closed_at < now() - make_interval(secs => $1::bigint) "
    "    AND NOT EXISTS (SELECT 1 FROM message_delivery_log m WHERE m.session_id = s.id) "
    "  ORDER BY s.id LIMIT $2 FOR UPDATE OF s SKIP LOCKED))"};

// Kept: queued notifications (retrying). The hand-off numbering lives in chatwoot_conversations,
// which is not purged, so a purged notification's number is never handed out again.
constexpr pg_statement notifications_sql{
    "sb_retention_notifications",
    "DELETE FROM provider_notifications WHERE ctid = ANY(ARRAY("
    "  SELECT n.ctid FROM provider_notifications n "
    "  WHERE n.id < coalesce((SELECT y.id FROM provider_notifications y "
    "                         WHERE y.created_at >= now() - make_interval(secs => $1::bigint) "
    "                         ORDER BY y.id LIMIT 1), 9223372036854775807) "
    "    AND n.status <> 'queued' "
    "    AND n.created_at < now() - make_interval(secs => $1::bigint) "
    "  ORDER BY n.id LIMIT $2 FOR UPDATE OF n SKIP LOCKED))"};

// The bot's questions: nothing else names them; at is indexed.
constexpr pg_statement bot_answers_sql{
    "sb_retention_bot_answers",
    "DELETE FROM bot_answers WHERE ctid = ANY(ARRAY("
    "  SELECT ctid FROM bot_answers WHERE at < now() - make_interval(secs => $1::bigint) "
    "  ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED))"};

/// A retained table: its name and its purge statement (the inbox's is purge_inbox).
struct purge_of {
  retained table;
  const char* name;
  const pg_statement* statement;
};

// In purge order: a session goes after its delivery-log rows.
const purge_of purges[] = {
    {retained::inbox, "inbox", nullptr},
    {retained::processed_webhooks, "processed_webhooks", &processed_webhooks_sql},
    {retained::delivery_status_early, "delivery_status_early", &early_sql},
    {retained::message_delivery_log, "message_delivery_log", &delivery_log_sql},
    {retained::omnichannel_sessions, "omnichannel_sessions", &sessions_sql},
    {retained::provider_notifications, "provider_notifications", &notifications_sql},
    {retained::bot_answers, "bot_answers", &bot_answers_sql},
};

const purge_of& purge_for(retained t) {
  for (auto& p : purges)
    if (p.table == t)
      return p;
  return purges[0];
}

} // namespace

const std::vector<retained>& retained_tables() {
  static const std::vector<retained> all = [] {
    std::vector<retained> v;
    for (auto& p : purges)
      v.push_back(p.table);
    return v;
  }();
  return all;
}

const char* table_name(retained t) {
  return purge_for(t).name;
}

int purge_batch(soci::session& sql, retained t, std::chrono::seconds horizon, int limit) {
  if (limit <= 0)
    return 0;
  auto& p = purge_for(t);
  if (p.statement == nullptr)
    return purge_inbox(sql, horizon, limit);
  auto rows = pg_exec(sql, *p.statement, {std::to_string(horizon.count()), std::to_string(limit)});
  return static_cast<int>(rows.affected());
}

} // namespace switchboard::storage
