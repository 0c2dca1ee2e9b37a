#include "storage/omnichannel.hpp"

#include <ctime>
#include <map>

#include <soci/soci.h>

#include "core/crypto.hpp"
#include "core/delivery.hpp"
#include "core/events.hpp"
#include "core/log.hpp"
#include "storage/db.hpp"
#include "storage/outbox.hpp"
#include "storage/pg.hpp"
#include "storage/sets.hpp"

namespace switchboard::storage {

using core::sb_error;
using std::chrono::milliseconds;

namespace {

// -- SQL -----------------------------------------------------------------------------------------

constexpr const char* profile_columns
    = "id, coalesce(phone_number, ''), coalesce(whatsapp_jid, ''), has_whatsapp::int, "
      "allows_sms::int, coalesce(last_active_channel, ''), "
      "coalesce((extract(epoch FROM last_whatsapp_inbound_at) * 1000)::bigint, -1), "
      "coalesce(name, ''), coalesce(locale, ''), coalesce(whatsapp_user_id, '')";

constexpr const char* insert_profile_sql
    = "INSERT INTO profiles (phone_number, has_whatsapp, allows_sms) VALUES (:p, :w, :s) "
      "ON CONFLICT (phone_number) DO NOTHING";

// Each value is bound once (SOCI numbers every placeholder occurrence): one used twice comes
// in through the one-row `v`. Booleans travel as 0/1.
constexpr const char* update_profile_sql
    = "UPDATE profiles SET has_whatsapp = (v.w = 1), allows_sms = (v.s = 1), "
      "whatsapp_jid = nullif(:jid, ''), last_active_channel = nullif(:ch, ''), "
      "last_whatsapp_inbound_at = CASE WHEN v.wi < 0 THEN last_whatsapp_inbound_at "
      "  ELSE greatest(coalesce(last_whatsapp_inbound_at, to_timestamp(0)), "
      "to_timestamp(v.wi / 1000.0)) END, "
      "name = nullif(:n, ''), locale = nullif(:l, ''), whatsapp_user_id = nullif(:u, ''), "
      "updated_at = now() FROM (SELECT :w::int AS w, :s::int AS s, :wi::bigint AS wi) v "
      "WHERE id = :id";

constexpr const char* session_columns
    = "id, profile_id, status, context::text, (extract(epoch FROM created_at) * 1000)::bigint, "
      "(extract(epoch FROM last_activity_at) * 1000)::bigint, "
      "(extract(epoch FROM expires_at) * 1000)::bigint, coalesce(call_id, ''), "
      "whatsapp_summary_sent::int, sms_summary_sent::int, version";

constexpr const char* insert_session_sql
    = "INSERT INTO omnichannel_sessions (profile_id, status, context, expires_at, "
      "last_activity_at, call_id, whatsapp_summary_sent, sms_summary_sent, created_at, "
      "closed_at) SELECT :pid, v.st, :ctx::jsonb, to_timestamp(:exp / 1000.0), "
      "to_timestamp(:act / 1000.0), nullif(:call, ''), :wa::int = 1, :sms::int = 1, "
      "to_timestamp(:cr / 1000.0), CASE WHEN v.st = 'closed' THEN now() END "
      "FROM (SELECT :st::text AS st) v RETURNING id";

constexpr const char* save_session_sql
    = "UPDATE omnichannel_sessions SET status = v.st, context = :ctx::jsonb, "
      "expires_at = to_timestamp(:exp / 1000.0), last_activity_at = to_timestamp(:act / 1000.0), "
      "call_id = nullif(:call, ''), whatsapp_summary_sent = :wa::int = 1, "
      "sms_summary_sent = :sms::int = 1, version = version + 1, updated_at = now(), "
      "closed_at = CASE WHEN v.st = 'closed' THEN coalesce(closed_at, now()) END, "
      "closed_reason = CASE WHEN v.st = 'closed' THEN coalesce(nullif(:reason, ''), closed_reason) "
      "END FROM (SELECT :st::text AS st) v WHERE id = :id RETURNING version";

constexpr const char* close_expired_sql
    = "UPDATE omnichannel_sessions SET status = 'closed', closed_reason = 'expired', "
      "closed_at = now(), updated_at = now(), version = version + 1 WHERE id IN ("
      "  SELECT id FROM omnichannel_sessions WHERE status <> 'closed' AND "
      "  expires_at <= to_timestamp(:now / 1000.0) ORDER BY expires_at LIMIT :lim "
      "  FOR UPDATE SKIP LOCKED)";

constexpr const char* delivery_columns
    = "id, coalesce(session_id, 0), profile_id, channel, provider, direction, message_type, "
      "status, "
      "recipient, body, coalesce(payload::text, 'null'), coalesce(external_id, ''), attempts, "
      "coalesce(last_error, ''), correlation_id, coalesce(claim_token, ''), coalesce(reply_id, 0), "
      "coalesce(pricing_billable::int, -1), coalesce(pricing_model, ''), "
      "coalesce(pricing_category, ''), coalesce(pricing_type, ''), coalesce(sms_segments, 0), "
      "coalesce(sms_encoding, '')";

constexpr const char* insert_delivery_sql
    = "INSERT INTO message_delivery_log (session_id, profile_id, channel, provider, direction, "
      "message_type, status, recipient, body, payload, external_id, last_error, correlation_id, "
      "next_attempt_at, claim_token) VALUES (nullif(:sid::bigint, 0), :pid, :ch, :pr, :dir, :mt, "
      ":st, :rc, "
      ":body, CASE WHEN :pl = 'null' THEN NULL ELSE :pl2::jsonb END, nullif(:ext, ''), "
      "nullif(:err, ''), :cid, CASE WHEN :na::bigint < 0 THEN NULL ELSE to_timestamp(:na2 / "
      "1000.0) END, "
      "nullif(:tok, '')) ON CONFLICT DO NOTHING RETURNING id";

// The outbox statements, per table (index: outbox::deliveries, outbox::notifications).
constexpr const char* record_failed_sql[] = {
    "UPDATE message_delivery_log SET status = 'failed', last_error = :err, next_attempt_at = NULL, "
    "claim_token = NULL, last_latency_ms = coalesce(nullif(CAST(:lat AS int), -1), "
    "last_latency_ms), updated_at = now() WHERE id = :id AND status = 'queued'",
    "UPDATE provider_notifications SET status = 'failed', last_error = :err, next_attempt_at = "
    "NULL, claim_token = NULL, updated_at = now() WHERE CAST(:lat AS int) IS NOT NULL AND "
    "id = :id AND status = 'queued'",
};

constexpr const char* claim_due_sql
    = "SELECT id FROM message_delivery_log WHERE status = 'queued' AND "
      "next_attempt_at <= to_timestamp(:now / 1000.0) AND (CAST(:n AS int) = 0 OR shard_key IS "
      "NULL OR "
      "CAST(shard_key % CAST(:n2 AS int) AS int) = ANY(CAST(:owned AS int[]))) "
      "ORDER BY next_attempt_at LIMIT :lim FOR UPDATE SKIP LOCKED";

constexpr const char* reclaim_sql
    = "UPDATE message_delivery_log SET claim_token = :tok, "
      "next_attempt_at = now() + make_interval(secs => :lease / 1000.0), updated_at = now() "
      "WHERE id = :id";

constexpr const char* unanswered_sql
    = "SELECT id FROM message_delivery_log WHERE direction = 'inbound' AND reply_id IS NULL "
      "AND next_attempt_at <= to_timestamp(:t / 1000.0) AND (CAST(:n AS int) = 0 OR shard_key IS "
      "NULL OR "
      "CAST(shard_key % CAST(:n2 AS int) AS int) = ANY(CAST(:owned AS int[]))) "
      "ORDER BY next_attempt_at LIMIT :lim FOR UPDATE SKIP LOCKED";

// $1 profile ids, $2 BSUIDs: the business each pair was seen on (the latest, should a BSUID
// appear under two).
constexpr pg_statement bsuid_business_sql{
    "sb_bsuid_business",
    "SELECT DISTINCT ON (i.profile_id, i.user_id) i.profile_id, i.user_id, i.business "
    "FROM profile_whatsapp_ids i JOIN unnest($1::bigint[], $2::text[]) AS v(pid, uid) "
    "ON i.profile_id = v.pid AND i.user_id = v.uid "
    "ORDER BY i.profile_id, i.user_id, i.updated_at DESC"};

constexpr const char* link_reply_sql
    = "UPDATE message_delivery_log SET reply_id = :r, next_attempt_at = NULL, claim_token = NULL, "
      "updated_at = now() WHERE id = :id";

constexpr const char* claim_webhook_sql
    = "INSERT INTO processed_webhooks (source, external_id) VALUES (:s, :i) "
      "ON CONFLICT DO NOTHING RETURNING 1";

constexpr const char* set_webhook_result_sql
    = "UPDATE processed_webhooks SET result = :r::jsonb WHERE source = :s AND external_id = :i";

constexpr const char* webhook_result_sql
    = "SELECT coalesce(result::text, 'null') FROM processed_webhooks WHERE source = :s AND "
      "external_id = :i";

// -- helpers -------------------------------------------------------------------------------------

profile_row read_profile(const soci::row& r) {
  profile_row p;
  p.id = r.get<long long>(0);
  p.phone_number = r.get<std::string>(1);
  p.whatsapp_jid = r.get<std::string>(2);
  p.has_whatsapp = r.get<int>(3) != 0;
  p.allows_sms = r.get<int>(4) != 0;
  p.last_active_channel = r.get<std::string>(5);
  auto wi = r.get<long long>(6);
  if (wi >= 0)
    p.last_whatsapp_inbound_at = from_ms(wi);
  p.name = r.get<std::string>(7);
  p.locale = r.get<std::string>(8);
  p.whatsapp_user_id = r.get<std::string>(9);
  return p;
}

core::session_record read_session(const soci::row& r) {
  core::session_record s;
  s.id = r.get<long long>(0);
  s.profile_id = r.get<long long>(1);
  auto st = core::parse_session_status(r.get<std::string>(2));
  if (!st)
    throw domain_error(sb_error::internal, "invalid session status in the database");
  s.status = *st;
  s.context = nlohmann::json::parse(r.get<std::string>(3));
  s.created_at = from_ms(r.get<long long>(4));
  s.last_activity_at = from_ms(r.get<long long>(5));
  s.expires_at = from_ms(r.get<long long>(6));
  s.call_id = r.get<std::string>(7);
  s.whatsapp_summary_sent = r.get<int>(8) != 0;
  s.sms_summary_sent = r.get<int>(9) != 0;
  s.version = r.get<long long>(10);
  return s;
}

delivery_row read_delivery(const soci::row& r) {
  delivery_row d;
  d.id = r.get<long long>(0);
  d.session_id = r.get<long long>(1);
  d.profile_id = r.get<long long>(2);
  d.channel = r.get<std::string>(3);
  d.provider = r.get<std::string>(4);
  d.direction = r.get<std::string>(5);
  d.message_type = r.get<std::string>(6);
  d.status = r.get<std::string>(7);
  d.recipient = r.get<std::string>(8);
  d.body = r.get<std::string>(9);
  d.payload = nlohmann::json::parse(r.get<std::string>(10));
  d.external_id = r.get<std::string>(11);
  d.attempts = r.get<int>(12);
  d.last_error = r.get<std::string>(13);
  d.correlation_id = r.get<std::string>(14);
  d.claim_token = r.get<std::string>(15);
  d.reply_id = r.get<long long>(16);
  if (auto billable = r.get<int>(17); billable >= 0)
    d.pricing.billable = billable == 1;
  d.pricing.model = r.get<std::string>(18);
  d.pricing.category = r.get<std::string>(19);
  d.pricing.type = r.get<std::string>(20);
  d.sms_segments = r.get<int>(21);
  d.sms_encoding = r.get<std::string>(22);
  return d;
}

template <class Row, class Read>
std::optional<Row> select_one(soci::session& sql, const std::string& query, long long key,
                              Read read) {
  soci::rowset<soci::row> rows = (sql.prepare << query, soci::use(key));
  for (auto& r : rows)
    return read(r);
  return std::nullopt;
}

} // namespace

int64_t to_ms(time_point t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

time_point from_ms(int64_t ms) {
  return time_point{milliseconds{ms}};
}

std::optional<profile_row> find_profile(soci::session& sql, const std::string& phone) {
  if (auto user = core::parse_whatsapp_user_key(phone)) {
    // A WhatsApp user known by a business-scoped user id.
    std::string b = user->business, u = user->user_id;
    soci::rowset<soci::row> rows
        = (sql.prepare << std::string{"SELECT "} + profile_columns
                              + " FROM profiles WHERE id = (SELECT profile_id FROM "
                                "profile_whatsapp_ids WHERE business = :b AND user_id = :u) "
                                "FOR NO KEY UPDATE",
           soci::use(b), soci::use(u));
    for (auto& r : rows)
      return read_profile(r);
    return std::nullopt;
  }
  std::string p = phone;
  soci::rowset<soci::row> rows
      = (sql.prepare << std::string{"SELECT "} + profile_columns
                            + " FROM profiles WHERE phone_number = :p FOR NO KEY UPDATE",
         soci::use(p));
  for (auto& r : rows)
    return read_profile(r);
  return std::nullopt;
}

profile_row upsert_profile(soci::session& sql, const std::string& phone, const profile_facts& f) {
  std::optional<profile_row> row;
  if (core::parse_whatsapp_user_key(phone)) {
    row = lock_profiles(sql, {phone}).rows.at(phone); // created when unknown
  } else {
    std::string p = phone;
    int w = f.has_whatsapp.value_or(false) ? 1 : 0;
    int s = f.allows_sms.value_or(true) ? 1 : 0;
    sql << insert_profile_sql, soci::use(p), soci::use(w), soci::use(s);
    row = find_profile(sql, phone);
  }
  if (!row)
    throw domain_error(sb_error::internal, "profile vanished after upsert");
  apply_facts(*row, f);
  long long wi = row->last_whatsapp_inbound_at ? to_ms(*row->last_whatsapp_inbound_at) : -1;
  int w = row->has_whatsapp ? 1 : 0, s = row->allows_sms ? 1 : 0;
  long long id = row->id;
  sql << update_profile_sql, soci::use(row->whatsapp_jid), soci::use(row->last_active_channel),
      soci::use(row->name), soci::use(row->locale), soci::use(row->whatsapp_user_id), soci::use(w),
      soci::use(s), soci::use(wi), soci::use(id);
  return *row;
}

std::optional<core::session_record> lock_open_session(soci::session& sql, int64_t profile_id) {
  return select_one<core::session_record>(sql,
                                          std::string{"SELECT "} + session_columns
                                              + " FROM omnichannel_sessions WHERE profile_id = :p "
                                                "AND status <> 'closed' FOR NO KEY UPDATE",
                                          profile_id, read_session);
}

std::optional<core::session_record> find_session(soci::session& sql, int64_t id) {
  return select_one<core::session_record>(
      sql, std::string{"SELECT "} + session_columns + " FROM omnichannel_sessions WHERE id = :id",
      id, read_session);
}

core::session_record insert_session(soci::session& sql, core::session_record s) {
  long long pid = s.profile_id;
  std::string st = core::to_string(s.status);
  std::string ctx = s.context.dump();
  long long exp = to_ms(s.expires_at), act = to_ms(s.last_activity_at), cr = to_ms(s.created_at);
  int wa = s.whatsapp_summary_sent ? 1 : 0, sms = s.sms_summary_sent ? 1 : 0;
  long long id = 0;
  sql << insert_session_sql, soci::use(pid), soci::use(ctx), soci::use(exp), soci::use(act),
      soci::use(s.call_id), soci::use(wa), soci::use(sms), soci::use(cr), soci::use(st),
      soci::into(id);
  s.id = id;
  return s;
}

void save_session(soci::session& sql, core::session_record& s, const std::string& closed_reason) {
  std::string st = core::to_string(s.status);
  std::string ctx = s.context.dump();
  long long exp = to_ms(s.expires_at), act = to_ms(s.last_activity_at);
  int wa = s.whatsapp_summary_sent ? 1 : 0, sms = s.sms_summary_sent ? 1 : 0;
  std::string reason = closed_reason;
  long long id = s.id;
  long long version = 0;
  sql << save_session_sql, soci::use(ctx), soci::use(exp), soci::use(act), soci::use(s.call_id),
      soci::use(wa), soci::use(sms), soci::use(reason), soci::use(st), soci::use(id),
      soci::into(version);
  if (!sql.got_data())
    throw domain_error(sb_error::not_found, "session " + std::to_string(s.id) + " not found");
  s.version = version;
}

opened_session open_session_for(soci::session& sql, const core::session_machine& machine,
                                int64_t profile_id, time_point now) {
  auto current = lock_open_session(sql, profile_id);
  auto res = machine.get_or_create(current, profile_id, now);
  if (!res)
    throw domain_error(core::code_of(res.error()), core::reason_of(res.error()));
  opened_session out;
  if (res->expired) {
    save_session(sql, *res->expired, "expired");
    out.expired_id = res->expired->id;
  }
  if (res->created) {
    out.session = insert_session(sql, res->session);
    out.created = true;
  } else {
    out.session = res->session;
  }
  return out;
}

int close_expired_sessions(soci::session& sql, time_point now, int limit) {
  long long n = to_ms(now);
  int lim = limit;
  soci::statement st = (sql.prepare << close_expired_sql, soci::use(n), soci::use(lim));
  st.execute(true);
  return static_cast<int>(st.get_affected_rows());
}

std::optional<delivery_row> insert_delivery(soci::session& sql, delivery_row d,
                                            std::optional<time_point> next_attempt_at) {
  long long sid = d.session_id, pid = d.profile_id;
  std::string payload = d.payload.is_null() ? "null" : d.payload.dump();
  long long na = next_attempt_at ? to_ms(*next_attempt_at) : -1;
  long long id = 0;
  sql << insert_delivery_sql, soci::use(sid), soci::use(pid), soci::use(d.channel),
      soci::use(d.provider), soci::use(d.direction), soci::use(d.message_type), soci::use(d.status),
      soci::use(d.recipient), soci::use(d.body), soci::use(payload), soci::use(payload),
      soci::use(d.external_id), soci::use(d.last_error), soci::use(d.correlation_id), soci::use(na),
      soci::use(na), soci::use(d.claim_token), soci::into(id);
  if (!sql.got_data())
    return std::nullopt;
  d.id = id;
  return d;
}

std::optional<delivery_row> find_delivery(soci::session& sql, int64_t id) {
  return select_one<delivery_row>(
      sql, std::string{"SELECT "} + delivery_columns + " FROM message_delivery_log WHERE id = :id",
      id, read_delivery);
}

std::vector<delivery_row> deliveries_of_session(soci::session& sql, int64_t session_id) {
  long long sid = session_id;
  std::vector<delivery_row> out;
  soci::rowset<soci::row> rows
      = (sql.prepare << std::string{"SELECT "} + delivery_columns
                            + " FROM message_delivery_log WHERE session_id = :s ORDER BY id",
         soci::use(sid));
  for (auto& r : rows)
    out.push_back(read_delivery(r));
  return out;
}

nlohmann::json delivery_log_json(const delivery_row& row) {
  using nlohmann::json;
  auto or_null = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
  json pricing = nullptr;
  if (core::has_pricing(row.pricing))
    pricing = {{"billable", row.pricing.billable ? json(*row.pricing.billable) : json(nullptr)},
               {"pricing_model", or_null(row.pricing.model)},
               {"category", or_null(row.pricing.category)},
               {"type", or_null(row.pricing.type)},
               {"cost_units", core::cost_units(row.pricing)}};
  json sms = nullptr;
  if (row.sms_segments > 0)
    sms = {{"segments", row.sms_segments},
           {"encoding", or_null(row.sms_encoding)},
           {"cost_units", row.sms_segments}};
  return {{"id", row.id},
          {"direction", row.direction},
          {"channel", row.channel},
          {"provider", row.provider},
          {"message_type", row.message_type},
          {"status", row.status},
          {"attempts", row.attempts},
          {"external_id", or_null(row.external_id)},
          {"last_error", or_null(row.last_error)},
          {"template", row.payload.is_object() ? json(row.payload.value("template", json(nullptr)))
                                               : json(nullptr)},
          {"fallback_for", row.payload.is_object()
                               ? json(row.payload.value("fallback_for", json(nullptr)))
                               : json(nullptr)},
          {"pricing", std::move(pricing)},
          {"sms", std::move(sms)},
          {"correlation_id", row.correlation_id}};
}

nlohmann::json session_deliveries_json(soci::session& sql, int64_t session_id) {
  auto out = nlohmann::json::array();
  for (const auto& row : deliveries_of_session(sql, session_id))
    out.push_back(delivery_log_json(row));
  return nlohmann::json{{"deliveries", std::move(out)}};
}

void record_failed(soci::session& sql, int64_t id, const std::string& error, outbox box,
                   int64_t latency_ms) {
  std::string err = error;
  long long i = id;
  int lat = static_cast<int>(latency_ms);
  sql << record_failed_sql[static_cast<int>(box)], soci::use(err), soci::use(lat), soci::use(i);
}

void link_reply(soci::session& sql, int64_t inbound_id, int64_t reply_id) {
  long long r = reply_id, i = inbound_id;
  sql << link_reply_sql, soci::use(r), soci::use(i);
}

std::vector<int64_t> reclaim_due(soci::session& sql, const char* select_due_sql,
                                 const char* reclaim_sql, time_point now, milliseconds lease,
                                 int limit, const owned_shards& only) {
  long long n = to_ms(now);
  int lim = limit;
  int shards = static_cast<int>(only.shards);
  std::string owned = pg_int_array(std::vector<int64_t>(only.owned.begin(), only.owned.end()));
  std::vector<int64_t> ids;
  soci::rowset<long long> rows = (sql.prepare << select_due_sql, soci::use(n), soci::use(shards),
                                  soci::use(shards), soci::use(owned), soci::use(lim));
  for (auto id : rows)
    ids.push_back(id);
  for (auto id : ids) {
    std::string tok = core::random_hex(8);
    long long l = lease.count(), i = id;
    sql << reclaim_sql, soci::use(tok), soci::use(l), soci::use(i);
  }
  return ids;
}

namespace {

std::vector<delivery_row> deliveries_by_id(soci::session& sql, const std::vector<int64_t>& ids) {
  std::vector<delivery_row> out;
  for (auto id : ids)
    if (auto row = find_delivery(sql, id))
      out.push_back(std::move(*row));
  return out;
}

} // namespace

std::vector<delivery_row> claim_due_deliveries(soci::session& sql, time_point now,
                                               milliseconds lease, int limit,
                                               const owned_shards& only) {
  return deliveries_by_id(sql,
                          reclaim_due(sql, claim_due_sql, reclaim_sql, now, lease, limit, only));
}

std::vector<delivery_row> claim_unanswered_inbound(soci::session& sql, time_point now,
                                                   milliseconds lease, int limit,
                                                   const owned_shards& only) {
  auto rows = deliveries_by_id(
      sql, reclaim_due(sql, unanswered_sql, reclaim_sql, now, lease, limit, only));
  // A sender known by a BSUID only: the row's recipient is the BSUID; its session's key is
  // (business, BSUID). 1 round trip, only when there are such rows.
  std::vector<int64_t> profiles;
  std::vector<std::string> users;
  for (auto& r : rows)
    if (r.channel == "whatsapp" && !r.recipient.empty() && r.recipient[0] != '+') {
      profiles.push_back(r.profile_id);
      users.push_back(r.recipient);
    }
  if (profiles.empty())
    return rows;
  auto keys = pg_exec(sql, bsuid_business_sql, {pg_int_array(profiles), pg_text_array(users)});
  std::map<std::pair<int64_t, std::string>, std::string> business;
  for (int i = 0; i < keys.size(); ++i)
    business[{keys.int64(i, 0), std::string{keys.text(i, 1)}}] = std::string{keys.text(i, 2)};
  for (auto& r : rows)
    if (auto it = business.find({r.profile_id, r.recipient}); it != business.end())
      r.recipient = core::whatsapp_user_key(it->second, r.recipient);
  return rows;
}

bool claim_webhook(soci::session& sql, const std::string& source, const std::string& id) {
  std::string s = source, i = id;
  int one = 0;
  sql << claim_webhook_sql, soci::use(s), soci::use(i), soci::into(one);
  return sql.got_data();
}

void set_webhook_result(soci::session& sql, const std::string& source, const std::string& id,
                        const nlohmann::json& result) {
  std::string s = source, i = id, r = result.dump();
  sql << set_webhook_result_sql, soci::use(r), soci::use(s), soci::use(i);
}

nlohmann::json webhook_result(soci::session& sql, const std::string& source,
                              const std::string& id) {
  std::string s = source, i = id, stored;
  sql << webhook_result_sql, soci::use(s), soci::use(i), soci::into(stored);
  if (!sql.got_data())
    return nullptr;
  return nlohmann::json::parse(stored);
}

std::string iso8601(time_point t) {
  return core::iso8601_utc(t);
}

} // namespace switchboard::storage
