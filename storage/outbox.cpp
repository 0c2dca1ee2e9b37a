#include "storage/outbox.hpp"

#include <set>

#include "storage/chatwoot.hpp"
#include "storage/pg.hpp"

namespace switchboard::storage {

namespace {

// $1 ids, $2 tokens, $3 lease in ms.
constexpr pg_statement begin_deliveries_sql{
    "sb_outbox_begin",
    "UPDATE message_delivery_log m SET attempts = m.attempts + 1, claim_token = v.tok, "
    "next_attempt_at = now() + make_interval(secs => $3::bigint / 1000.0), updated_at = now() "
    "FROM unnest($1::bigint[], $2::text[]) AS v(id, tok) WHERE m.id = v.id AND "
    "m.status = 'queued' AND (m.claim_token IS NULL OR m.claim_token = v.tok) RETURNING m.id"};

constexpr pg_statement begin_notifications_sql{
    "sb_outbox_begin_notifications",
    "UPDATE provider_notifications m SET attempts = m.attempts + 1, claim_token = v.tok, "
    "next_attempt_at = now() + make_interval(secs => $3::bigint / 1000.0), updated_at = now() "
    "FROM unnest($1::bigint[], $2::text[]) AS v(id, tok) WHERE m.id = v.id AND "
    "m.status = 'queued' AND (m.claim_token IS NULL OR m.claim_token = v.tok) RETURNING m.id"};

constexpr pg_statement sent_sql{
    "sb_outbox_sent",
    "UPDATE message_delivery_log m SET status = 'sent', external_id = nullif(v.ext, ''), "
    "last_error = NULL, next_attempt_at = NULL, claim_token = NULL, updated_at = now() "
    "FROM unnest($1::bigint[], $2::text[]) AS v(id, ext) WHERE m.id = v.id AND "
    "m.status IN ('queued', 'failed') "
    "RETURNING m.id, coalesce(m.session_id, 0), m.message_type, m.channel, m.provider, "
    "coalesce(m.external_id, '')"};

constexpr pg_statement summary_flags_sql{
    "sb_outbox_summary_flags",
    "UPDATE omnichannel_sessions s SET whatsapp_summary_sent = s.whatsapp_summary_sent OR v.wa, "
    "sms_summary_sent = s.sms_summary_sent OR v.sms, updated_at = now(), version = s.version + 1 "
    "FROM (SELECT sid, bool_or(wa) AS wa, bool_or(sms) AS sms FROM unnest($1::bigint[], "
    "$2::bool[], $3::bool[]) AS u(sid, wa, sms) GROUP BY sid) AS v WHERE s.id = v.sid"};

constexpr pg_statement early_sql{
    "sb_outbox_early",
    "DELETE FROM delivery_status_early e USING unnest($1::text[], $2::text[]) AS v(pr, ext) "
    "WHERE e.provider = v.pr AND e.external_id = v.ext "
    "RETURNING e.provider, e.external_id, e.status, coalesce(e.error, '')"};

} // namespace

std::vector<bool> begin_attempts(soci::session& sql, const std::vector<const attempt_claim*>& in,
                                 std::chrono::milliseconds lease) {
  std::vector<bool> out(in.size(), false);
  for (auto box : {outbox::deliveries, outbox::notifications}) {
    std::vector<int64_t> ids;
    std::vector<std::string> tokens;
    for (auto* c : in)
      if (c->box == box) {
        ids.push_back(c->id);
        tokens.push_back(c->token);
      }
    if (ids.empty())
      continue;
    auto rows
        = pg_exec(sql, box == outbox::deliveries ? begin_deliveries_sql : begin_notifications_sql,
                  {pg_int_array(ids), pg_text_array(tokens), std::to_string(lease.count())});
    std::set<int64_t> taken;
    for (int r = 0; r < rows.size(); ++r)
      taken.insert(rows.int64(r, 0));
    for (std::size_t i = 0; i < in.size(); ++i)
      if (in[i]->box == box && taken.count(in[i]->id)) {
        out[i] = true;
        taken.erase(in[i]->id); // the same claim twice in a batch counts once
      }
  }
  return out;
}

std::vector<bool> record_sends(soci::session& sql, const std::vector<const sent_record*>& in) {
  std::vector<bool> out(in.size(), false);
  std::vector<int64_t> ids;
  std::vector<std::string> exts;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i]->box == outbox::notifications) {
      record_notification_sent(sql, in[i]->id, in[i]->external_id);
      out[i] = true;
      continue;
    }
    ids.push_back(in[i]->id);
    exts.push_back(in[i]->external_id);
  }
  if (ids.empty())
    return out;
  auto rows = pg_exec(sql, sent_sql, {pg_int_array(ids), pg_text_array(exts)});
  std::set<int64_t> updated;
  std::vector<int64_t> sessions;
  std::vector<bool> wa, sms;
  std::vector<std::string> providers, external;
  for (int r = 0; r < rows.size(); ++r) {
    updated.insert(rows.int64(r, 0));
    auto session_id = rows.int64(r, 1);
    if (rows.text(r, 2) == "summary" && session_id != 0) {
      sessions.push_back(session_id);
      wa.push_back(rows.text(r, 3) == "whatsapp");
      sms.push_back(rows.text(r, 3) == "sms");
    }
    if (!rows.text(r, 5).empty()) {
      providers.emplace_back(rows.text(r, 4));
      external.emplace_back(rows.text(r, 5));
    }
  }
  if (!sessions.empty())
    pg_exec(sql, summary_flags_sql,
            {pg_int_array(sessions), pg_bool_array(wa), pg_bool_array(sms)});
  if (!providers.empty()) {
    // Status callbacks that raced ahead of these sends.
    auto early = pg_exec(sql, early_sql, {pg_text_array(providers), pg_text_array(external)});
    for (int r = 0; r < early.size(); ++r)
      apply_status(sql, std::string{early.text(r, 0)}, std::string{early.text(r, 1)},
                   std::string{early.text(r, 2)}, std::string{early.text(r, 3)});
  }
  for (std::size_t i = 0; i < in.size(); ++i)
    if (in[i]->box == outbox::deliveries && updated.count(in[i]->id))
      out[i] = true;
  return out;
}

} // namespace switchboard::storage
