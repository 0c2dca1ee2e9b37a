#include "storage/outbox.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "core/whatsapp_errors.hpp"
#include "storage/chatwoot.hpp"
#include "storage/db.hpp"
#include "storage/flows.hpp"
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

// The fence of a batch of delivery rows (their ids in $1): the lease rows of the batch's shards
// among the fence's (N: the shard count, NODE, SHARDS and EPOCHS: the fence's leases), read FOR
// SHARE, and `stale`: those whose owner or epoch moved on. A statement that starts with it
// leaves out the rows of stale shards and answers the stale shards after its own rows.
#define SB_OUTBOX_FENCE_OF(TABLE, N, NODE, SHARDS, EPOCHS)                                         \
  "WITH rel AS MATERIALIZED (SELECT DISTINCT CAST(shard_key % " N "::int AS int) AS shard "        \
  "  FROM " TABLE " WHERE id = ANY($1::bigint[]) AND shard_key IS NOT NULL), "                     \
  "locked AS MATERIALIZED (SELECT shard, owner, epoch FROM shard_leases WHERE shard = "            \
  "  ANY(" SHARDS "::int[]) AND shard IN (SELECT shard FROM rel) FOR SHARE), "                     \
  "stale AS MATERIALIZED (SELECT f.shard FROM unnest(" SHARDS "::int[], " EPOCHS "::bigint[]) "    \
  "  AS f(shard, epoch) LEFT JOIN locked l ON l.shard = f.shard WHERE f.shard IN (SELECT shard "   \
  "  FROM rel) AND (l.owner IS DISTINCT FROM " NODE "::text OR l.epoch IS DISTINCT FROM "          \
  "  f.epoch)), "
#define SB_OUTBOX_FENCE(N, NODE, SHARDS, EPOCHS)                                                   \
  SB_OUTBOX_FENCE_OF("message_delivery_log", N, NODE, SHARDS, EPOCHS)
#define SB_OUTBOX_NOT_STALE(N)                                                                     \
  " AND (m.shard_key IS NULL OR CAST(m.shard_key % " N "::int AS int) NOT IN (SELECT shard FROM "  \
  "stale)) "

// begin_deliveries_sql fenced: $4 shard count, $5 node, $6 shards, $7 epochs.
constexpr pg_statement begin_deliveries_fenced_sql{
    "sb_outbox_begin_fenced",
    SB_OUTBOX_FENCE(
        "$4", "$5", "$6",
        "$7") "upd AS (UPDATE message_delivery_log m SET attempts = "
              "m.attempts + 1, claim_token = v.tok, next_attempt_at = now() + make_interval(secs "
              "=> "
              "$3::bigint / 1000.0), updated_at = now() FROM unnest($1::bigint[], $2::text[]) AS "
              "v(id, tok) "
              "WHERE m.id = v.id AND m.status = 'queued' AND (m.claim_token IS NULL OR "
              "m.claim_token = "
              "v.tok)" SB_OUTBOX_NOT_STALE(
                  "$4") "RETURNING m.id) "
                        "SELECT id, NULL::int FROM upd UNION ALL SELECT NULL, shard FROM stale"};

constexpr pg_statement begin_notifications_sql{
    "sb_outbox_begin_notifications",
    "UPDATE provider_notifications m SET attempts = m.attempts + 1, claim_token = v.tok, "
    "next_attempt_at = now() + make_interval(secs => $3::bigint / 1000.0), updated_at = now() "
    "FROM unnest($1::bigint[], $2::text[]) AS v(id, tok) WHERE m.id = v.id AND "
    "m.status = 'queued' AND (m.claim_token IS NULL OR m.claim_token = v.tok) RETURNING m.id"};

constexpr pg_statement sent_sql{
    "sb_outbox_sent",
    "UPDATE message_delivery_log m SET status = 'sent', external_id = nullif(v.ext, ''), "
    "sms_segments = coalesce(nullif(v.seg, 0), m.sms_segments), "
    "sms_encoding = coalesce(nullif(v.enc, ''), m.sms_encoding), "
    "last_latency_ms = coalesce(nullif(v.lat, -1), m.last_latency_ms), "
    "last_error = NULL, next_attempt_at = NULL, claim_token = NULL, updated_at = now() "
    "FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::int[]) "
    "AS v(id, ext, seg, enc, lat) "
    "WHERE m.id = v.id AND "
    "m.status IN ('queued', 'failed') "
    "RETURNING m.id, coalesce(m.session_id, 0), m.message_type, m.channel, m.provider, "
    "coalesce(m.external_id, '')"};

// sent_sql fenced: $6 shard count, $7 node, $8 shards, $9 epochs.
constexpr pg_statement sent_fenced_sql{
    "sb_outbox_sent_fenced",
    SB_OUTBOX_FENCE(
        "$6", "$7", "$8",
        "$9") "upd AS (UPDATE message_delivery_log m SET status = "
              "'sent', external_id = nullif(v.ext, ''), "
              "sms_segments = coalesce(nullif(v.seg, 0), m.sms_segments), "
              "sms_encoding = coalesce(nullif(v.enc, ''), m.sms_encoding), "
              "last_latency_ms = coalesce(nullif(v.lat, -1), m.last_latency_ms), "
              "last_error = NULL, next_attempt_at = NULL, claim_token = NULL, updated_at = now() "
              "FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::int[]) "
              "AS v(id, ext, seg, enc, lat) WHERE m.id = v.id AND m.status IN ('queued', "
              "'failed')" SB_OUTBOX_NOT_STALE(
                  "$6") "RETURNING m.id, coalesce(m.session_id, 0) AS sid, m.message_type, "
                        "m.channel, m.provider, coalesce(m.external_id, '') AS ext) "
                        "SELECT id, sid, message_type, channel, provider, ext, NULL::int FROM upd "
                        "UNION ALL "
                        "SELECT NULL, NULL, NULL, NULL, NULL, NULL, shard FROM stale"};

// The fence of one row's failure-path write (row_fenced_out): $1 {id}, then the fence as above;
// answers the row's shard when it is stale, no row otherwise (x: the fence's CTE list ends in a
// comma).
constexpr pg_statement row_fence_sql[] = {
    {"sb_outbox_row_fence",
     SB_OUTBOX_FENCE_OF("message_delivery_log", "$2", "$3", "$4", "$5") "x AS (SELECT 1) "
                                                                        "SELECT shard FROM stale"},
    {"sb_outbox_row_fence_notifications", SB_OUTBOX_FENCE_OF("provider_notifications", "$2", "$3",
                                                             "$4", "$5") "x AS (SELECT 1) "
                                                                         "SELECT shard FROM stale"},
};

#undef SB_OUTBOX_FENCE_OF
#undef SB_OUTBOX_FENCE
#undef SB_OUTBOX_NOT_STALE

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
    "RETURNING e.provider, e.external_id, e.status, coalesce(e.error, ''), "
    "coalesce(e.error_code, 0), coalesce(e.pricing::text, '')"};

// $1 provider, $2 external id.
constexpr pg_statement find_status_sql{
    "sb_status_find",
    "SELECT id, status, channel FROM message_delivery_log WHERE provider = $1 AND "
    "direction = 'outbound' AND external_id = $2 FOR NO KEY UPDATE"};

constexpr pg_statement park_status_sql{
    "sb_status_park",
    "INSERT INTO delivery_status_early (provider, external_id, status, error, error_code, pricing) "
    "VALUES ($1, $2, $3, nullif($4, ''), nullif($5::bigint, 0), $6::jsonb) ON CONFLICT DO NOTHING"};

// Recorded once: the first status that carries pricing.
constexpr pg_statement pricing_sql{
    "sb_status_pricing",
    "UPDATE message_delivery_log SET pricing_billable = $2::boolean, "
    "pricing_model = nullif($3, ''), pricing_category = nullif($4, ''), "
    "pricing_type = nullif($5, ''), updated_at = now() WHERE id = $1::bigint AND "
    "pricing_billable IS NULL AND pricing_model IS NULL AND pricing_category IS NULL AND "
    "pricing_type IS NULL"};

constexpr pg_statement set_status_sql{
    "sb_status_set",
    "UPDATE message_delivery_log SET status = $2, last_error = coalesce(nullif($3, ''), "
    "last_error), updated_at = now() WHERE id = $1::bigint RETURNING attempts"};

// $1 id, $2 error, $3 delay in ms, $4 attempts allowed: back to queued, due later, unclaimed.
constexpr pg_statement requeue_sql{
    "sb_status_requeue",
    "UPDATE message_delivery_log SET status = 'queued', last_error = nullif($2, ''), "
    "claim_token = NULL, next_attempt_at = now() + make_interval(secs => $3::bigint / 1000.0), "
    "updated_at = now() WHERE id = $1::bigint AND attempts < $4::int RETURNING id"};

constexpr pg_statement fail_queued_sql{
    "sb_outbox_fail_queued",
    "UPDATE message_delivery_log SET status = 'failed', last_error = $2, next_attempt_at = NULL, "
    "claim_token = NULL, updated_at = now() WHERE id = $1::bigint AND status = 'queued' "
    "RETURNING id"};

constexpr pg_statement lock_retry_sql[] = {
    {"sb_outbox_lock_retry",
     "SELECT attempts, message_type, channel, "
     "(extract(epoch FROM now() - created_at) * 1000)::bigint FROM message_delivery_log "
     "WHERE id = $1::bigint AND status = 'queued' FOR NO KEY UPDATE"},
    {"sb_outbox_lock_retry_notifications",
     "SELECT attempts, 'notification', channel, "
     "(extract(epoch FROM now() - created_at) * 1000)::bigint FROM provider_notifications "
     "WHERE id = $1::bigint AND status = 'queued' FOR NO KEY UPDATE"},
};

// $1 id, $2 error, $3 delay in ms, $4 the attempt's latency in ms (-1: unknown).
constexpr pg_statement reschedule_sql[] = {
    {"sb_outbox_reschedule",
     "UPDATE message_delivery_log SET last_error = nullif($2, ''), claim_token = NULL, "
     "next_attempt_at = now() + make_interval(secs => $3::bigint / 1000.0), updated_at = now(), "
     "last_latency_ms = coalesce(nullif($4::int, -1), last_latency_ms) "
     "WHERE id = $1::bigint AND status = 'queued' RETURNING id"},
    {"sb_outbox_reschedule_notifications",
     "UPDATE provider_notifications SET last_error = nullif($2, ''), claim_token = NULL, "
     "next_attempt_at = now() + make_interval(secs => $3::bigint / 1000.0), updated_at = now() "
     "WHERE id = $1::bigint AND status = 'queued' AND $4::int IS NOT NULL RETURNING id"},
};

// $1 id, $2 claim token, $3 delay in ms, $4 attempts to give back (0 or 1).
constexpr pg_statement postpone_sql[] = {
    {"sb_outbox_postpone",
     "UPDATE message_delivery_log SET attempts = greatest(attempts - $4::int, 0), "
     "claim_token = NULL, next_attempt_at = now() + make_interval(secs => $3::bigint / 1000.0), "
     "updated_at = now() WHERE id = $1::bigint AND status = 'queued' AND "
     "(claim_token IS NULL OR claim_token = $2) RETURNING id"},
    {"sb_outbox_postpone_notifications",
     "UPDATE provider_notifications SET attempts = greatest(attempts - $4::int, 0), "
     "claim_token = NULL, next_attempt_at = now() + make_interval(secs => $3::bigint / 1000.0), "
     "updated_at = now() WHERE id = $1::bigint AND status = 'queued' AND "
     "(claim_token IS NULL OR claim_token = $2) RETURNING id"},
};

// $1 the SMS provider's service name. Uses the partial indexes on queued rows.
constexpr pg_statement queued_sql{
    "sb_outbox_queued",
    "SELECT service, count(*), count(*) FILTER (WHERE due) FROM ("
    "  SELECT CASE provider WHEN 'whatsapp_cloud' THEN 'whatsapp' ELSE provider END AS service, "
    "         next_attempt_at <= now() AS due "
    "  FROM message_delivery_log WHERE status = 'queued' "
    "  UNION ALL "
    "  SELECT CASE channel WHEN 'sms' THEN $1::text WHEN 'email' THEN 'smtp' ELSE channel END, "
    "         next_attempt_at <= now() "
    "  FROM provider_notifications WHERE status = 'queued') q GROUP BY service ORDER BY service"};

pg_param pricing_json(const core::message_pricing& p) {
  if (!core::has_pricing(p))
    return std::nullopt;
  nlohmann::json j = nlohmann::json::object();
  if (p.billable)
    j["billable"] = *p.billable;
  if (!p.model.empty())
    j["pricing_model"] = p.model;
  if (!p.category.empty())
    j["category"] = p.category;
  if (!p.type.empty())
    j["type"] = p.type;
  return j.dump();
}

core::message_pricing pricing_from_json(std::string_view text) {
  core::message_pricing p;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object())
    return p;
  if (j.contains("billable") && j["billable"].is_boolean())
    p.billable = j["billable"].get<bool>();
  p.model = j.value("pricing_model", std::string{});
  p.category = j.value("category", std::string{});
  p.type = j.value("type", std::string{});
  return p;
}

/// The fence's parameters after a statement's own: shard count, node, shards, epochs.
void add_fence_params(std::vector<pg_param>& params, const shard_fence& f) {
  std::vector<int64_t> shards, epochs;
  for (auto& l : f.leases) {
    shards.push_back(l.shard);
    epochs.push_back(l.epoch);
  }
  params.emplace_back(std::to_string(f.shards));
  params.emplace_back(f.node);
  params.emplace_back(pg_int_array(shards));
  params.emplace_back(pg_int_array(epochs));
}

/// Whether a result row of a fenced statement is a stale shard (all but its last column NULL);
/// such a shard is added to the fence's stale list.
bool stale_row(const pg_rows& rows, int r, int shard_col, const outbox_fence& fence) {
  if (!rows.null(r, 0))
    return false;
  if (fence.stale)
    fence.stale->push_back(static_cast<int32_t>(rows.int64(r, shard_col)));
  return true;
}

} // namespace

status_outcome apply_status_update(soci::session& sql, const core::channel_policy& policy,
                                   const core::status_update& s) {
  auto incoming = core::parse_delivery_status(s.status);
  if (!incoming)
    throw domain_error(core::sb_error::invalid_argument,
                       "unknown delivery status '" + s.status + "'");
  auto pricing = core::pricing_of(s);
  status_outcome out;
  auto found = pg_exec(sql, find_status_sql, {s.provider, s.external_id});
  if (found.size() == 0) {
    pg_exec(sql, park_status_sql,
            {s.provider, s.external_id, s.status, s.error, std::to_string(s.error_code),
             pricing_json(pricing)});
    return out;
  }
  auto id = found.int64(0, 0);
  out.status = std::string{found.text(0, 1)};
  out.channel = std::string{found.text(0, 2)};
  auto id_text = std::to_string(id);
  if (core::has_pricing(pricing)) {
    pg_param billable;
    if (pricing.billable)
      billable = *pricing.billable ? "true" : "false";
    auto r = pg_exec(sql, pricing_sql,
                     {id_text, billable, pricing.model, pricing.category, pricing.type});
    if (r.affected() > 0)
      out.pricing = pricing;
  }
  auto current = core::parse_delivery_status(out.status);
  if (!current || !core::status_may_advance(*current, *incoming))
    return out;
  auto action = core::whatsapp_error_action::none;
  if (s.provider == "whatsapp_cloud" && *incoming == core::delivery_status::failed)
    action = core::whatsapp_error_action_for(s.error_code);
  if (action == core::whatsapp_error_action::user_backoff
      || action == core::whatsapp_error_action::retry) {
    if (back_off_row(sql, id, s.error, core::whatsapp_user_backoff(s.error_code))) {
      out.status = "queued";
      out.backed_off = true;
      return out;
    }
    // Out of attempts: failed for good, below.
  }
  out.status = core::to_string(*incoming);
  pg_exec(sql, set_status_sql, {id_text, out.status, s.error});
  if (action == core::whatsapp_error_action::reengage
      || action == core::whatsapp_error_action::undeliverable) {
    auto row = find_delivery(sql, id);
    if (row) {
      auto fallback = queue_whatsapp_fallback(sql, policy, *row, s.error_code,
                                              std::chrono::system_clock::now());
      if (fallback && fallback->status == "queued")
        out.fallback_channel = fallback->channel;
    }
  }
  return out;
}

bool back_off_row(soci::session& sql, int64_t id, const std::string& error,
                  std::chrono::milliseconds delay) {
  auto r = pg_exec(sql, requeue_sql,
                   {std::to_string(id), error, std::to_string(delay.count()),
                    std::to_string(core::whatsapp_user_backoff_attempts)});
  return r.size() > 0;
}

std::optional<delivery_row> fail_with_fallback(soci::session& sql,
                                               const core::channel_policy& policy, int64_t id,
                                               int64_t code, const std::string& reason) {
  auto failed = pg_exec(sql, fail_queued_sql, {std::to_string(id), reason});
  if (failed.size() == 0)
    return std::nullopt;
  auto row = find_delivery(sql, id);
  if (!row)
    return std::nullopt;
  return queue_whatsapp_fallback(sql, policy, *row, code, std::chrono::system_clock::now());
}

std::optional<retry_facts> lock_for_retry(soci::session& sql, int64_t id, outbox box) {
  auto r = pg_exec(sql, lock_retry_sql[static_cast<int>(box)], {std::to_string(id)});
  if (r.size() == 0)
    return std::nullopt;
  retry_facts f;
  f.attempts = static_cast<int>(r.int64(0, 0));
  f.message_type = std::string{r.text(0, 1)};
  f.channel = std::string{r.text(0, 2)};
  f.age = std::chrono::milliseconds{r.int64(0, 3)};
  return f;
}

bool reschedule_row(soci::session& sql, int64_t id, outbox box, const std::string& error,
                    std::chrono::milliseconds delay, int64_t latency_ms) {
  auto r = pg_exec(
      sql, reschedule_sql[static_cast<int>(box)],
      {std::to_string(id), error, std::to_string(delay.count()), std::to_string(latency_ms)});
  return r.size() > 0;
}

bool postpone_row(soci::session& sql, int64_t id, outbox box, const std::string& token,
                  std::chrono::milliseconds delay, bool refund) {
  auto r = pg_exec(sql, postpone_sql[static_cast<int>(box)],
                   {std::to_string(id), token, std::to_string(delay.count()), refund ? "1" : "0"});
  return r.size() > 0;
}

std::vector<queued_count> queued_by_service(soci::session& sql, const std::string& sms_service) {
  auto r = pg_exec(sql, queued_sql, {sms_service});
  std::vector<queued_count> out;
  for (int i = 0; i < r.size(); ++i)
    out.push_back({std::string{r.text(i, 0)}, r.int64(i, 1), r.int64(i, 2)});
  return out;
}

std::optional<int32_t> row_fenced_out(soci::session& sql, int64_t id, outbox box,
                                      const shard_fence& fence) {
  if (fence.leases.empty() || fence.shards == 0)
    return std::nullopt;
  std::vector<pg_param> params{pg_int_array({id})};
  add_fence_params(params, fence);
  auto rows = pg_exec(sql, row_fence_sql[box == outbox::deliveries ? 0 : 1], params);
  if (rows.size() == 0)
    return std::nullopt;
  return static_cast<int32_t>(rows.int64(0, 0));
}

namespace {

/// A notification of a stale shard (row_fenced_out, +1 round trip): its shard added to the
/// fence's stale list.
bool notification_fenced_out(soci::session& sql, int64_t id, const outbox_fence& fence) {
  auto stale = row_fenced_out(sql, id, outbox::notifications, *fence.fence);
  if (stale && fence.stale)
    fence.stale->push_back(*stale);
  return stale.has_value();
}

} // namespace

std::vector<bool> begin_attempts(soci::session& sql, const std::vector<const attempt_claim*>& in,
                                 std::chrono::milliseconds lease, const outbox_fence& fence) {
  std::vector<bool> out(in.size(), false);
  for (auto box : {outbox::deliveries, outbox::notifications}) {
    std::vector<int64_t> ids;
    std::vector<std::string> tokens;
    for (auto* c : in)
      if (c->box == box) {
        ids.push_back(c->id);
        tokens.push_back(c->token);
      }
    if (box == outbox::notifications && fence.fence != nullptr) {
      // Notifications (hand-offs: a few a minute) are fenced row by row, +1 round trip each.
      std::vector<int64_t> kept_ids;
      std::vector<std::string> kept_tokens;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (notification_fenced_out(sql, ids[i], fence))
          continue;
        kept_ids.push_back(ids[i]);
        kept_tokens.push_back(tokens[i]);
      }
      ids = std::move(kept_ids);
      tokens = std::move(kept_tokens);
    }
    if (ids.empty())
      continue;
    std::vector<pg_param> params{pg_int_array(ids), pg_text_array(tokens),
                                 std::to_string(lease.count())};
    bool fenced = box == outbox::deliveries && fence.fence != nullptr;
    if (fenced)
      add_fence_params(params, *fence.fence);
    auto rows = pg_exec(sql,
                        fenced                      ? begin_deliveries_fenced_sql
                        : box == outbox::deliveries ? begin_deliveries_sql
                                                    : begin_notifications_sql,
                        params);
    std::set<int64_t> taken;
    for (int r = 0; r < rows.size(); ++r)
      if (!stale_row(rows, r, 1, fence))
        taken.insert(rows.int64(r, 0));
    for (std::size_t i = 0; i < in.size(); ++i)
      if (in[i]->box == box && taken.count(in[i]->id)) {
        out[i] = true;
        taken.erase(in[i]->id); // the same claim twice in a batch counts once
      }
  }
  return out;
}

std::vector<bool> record_sends(soci::session& sql, const core::channel_policy& policy,
                               const std::vector<const sent_record*>& in,
                               const outbox_fence& fence) {
  std::vector<bool> out(in.size(), false);
  std::vector<int64_t> ids, segments, latencies;
  std::vector<std::string> exts, encodings;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i]->box == outbox::notifications) {
      if (fence.fence != nullptr && notification_fenced_out(sql, in[i]->id, fence))
        continue;
      record_notification_sent(sql, in[i]->id, in[i]->external_id);
      out[i] = true;
      continue;
    }
    ids.push_back(in[i]->id);
    exts.push_back(in[i]->external_id);
    segments.push_back(in[i]->sms_segments);
    encodings.push_back(in[i]->sms_encoding);
    latencies.push_back(in[i]->latency_ms);
  }
  if (ids.empty())
    return out;
  std::vector<pg_param> params{pg_int_array(ids), pg_text_array(exts), pg_int_array(segments),
                               pg_text_array(encodings), pg_int_array(latencies)};
  if (fence.fence)
    add_fence_params(params, *fence.fence);
  auto rows = pg_exec(sql, fence.fence ? sent_fenced_sql : sent_sql, params);
  std::set<int64_t> updated;
  std::vector<int64_t> sessions;
  std::vector<bool> wa, sms;
  std::vector<std::string> providers, external;
  for (int r = 0; r < rows.size(); ++r) {
    if (stale_row(rows, r, 6, fence))
      continue;
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
    for (int r = 0; r < early.size(); ++r) {
      core::status_update st;
      st.provider = early.text(r, 0);
      st.external_id = early.text(r, 1);
      st.status = early.text(r, 2);
      st.error = early.text(r, 3);
      st.error_code = early.int64(r, 4);
      core::set_pricing(st, pricing_from_json(early.text(r, 5)));
      apply_status_update(sql, policy, st);
    }
  }
  for (std::size_t i = 0; i < in.size(); ++i)
    if (in[i]->box == outbox::deliveries && updated.count(in[i]->id))
      out[i] = true;
  return out;
}

} // namespace switchboard::storage
