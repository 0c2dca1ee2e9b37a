#include "storage/sets.hpp"

#include "storage/db.hpp"
#include "storage/pg.hpp"

#include "core/events.hpp"

namespace switchboard::storage {

using core::sb_error;

namespace {

// $1 numbers to create; $2-$4 (number, business, BSUID) of WhatsApp messages that carry both:
// a profile known so far only by that BSUID adopts the number (when no profile has it) instead
// of a second profile being created for it.
constexpr pg_statement create_profiles_sql{
    "sb_profiles_create",
    "WITH v AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS v(phone, b, u)), "
    "adopted AS (UPDATE profiles p SET phone_number = v.phone, whatsapp_jid = substr(v.phone, 2), "
    "updated_at = now() FROM v JOIN profile_whatsapp_ids i ON i.business = v.b AND i.user_id = v.u "
    "WHERE p.id = i.profile_id AND p.phone_number IS NULL AND NOT EXISTS (SELECT 1 FROM profiles q "
    "WHERE q.phone_number = v.phone) RETURNING p.phone_number) "
    "INSERT INTO profiles (phone_number) SELECT x FROM unnest($1::text[]) AS x WHERE x NOT IN "
    "(SELECT phone_number FROM adopted) ON CONFLICT DO NOTHING RETURNING phone_number"};

#define SB_PROFILE_COLUMNS                                                                         \
  "SELECT id, coalesce(phone_number, ''), coalesce(whatsapp_jid, ''), has_whatsapp, allows_sms, "  \
  "coalesce(last_active_channel, ''), "                                                            \
  "coalesce((extract(epoch FROM last_whatsapp_inbound_at) * 1000)::bigint, -1), "                  \
  "coalesce(name, ''), coalesce(locale, ''), coalesce(whatsapp_user_id, '') FROM profiles "

constexpr pg_statement lock_profiles_sql{
    "sb_profiles_lock", SB_PROFILE_COLUMNS
    "WHERE phone_number = ANY($1::text[]) ORDER BY phone_number FOR NO KEY UPDATE"};

constexpr pg_statement lock_profiles_by_id_sql{
    "sb_profiles_lock_id",
    SB_PROFILE_COLUMNS "WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE"};

constexpr pg_statement profiles_by_id_sql{"sb_profiles_by_id",
                                          SB_PROFILE_COLUMNS "WHERE id = ANY($1::bigint[])"};

#undef SB_PROFILE_COLUMNS

// The profiles of (business, BSUID) pairs.
constexpr pg_statement find_user_ids_sql{
    "sb_wa_ids_find",
    "SELECT i.business, i.user_id, i.profile_id FROM profile_whatsapp_ids i JOIN unnest($1::text[], "
    "$2::text[]) AS v(b, u) ON i.business = v.b AND i.user_id = v.u"};

// New profiles for unknown (business, BSUID) pairs, addressed on WhatsApp by the BSUID. A pair
// another transaction created meanwhile keeps that profile (the new one stays unused).
constexpr pg_statement create_user_ids_sql{
    "sb_wa_ids_create",
    "WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(b, u, id)), "
    "p AS (INSERT INTO profiles (id, phone_number, whatsapp_jid, whatsapp_user_id, has_whatsapp) "
    "SELECT id, NULL, u, u, true FROM v RETURNING id) "
    "INSERT INTO profile_whatsapp_ids (business, user_id, profile_id) SELECT v.b, v.u, v.id FROM v "
    "JOIN p ON p.id = v.id ON CONFLICT DO NOTHING RETURNING business, user_id, profile_id"};

constexpr pg_statement profile_ids_sql{
    "sb_profiles_ids", "SELECT nextval('profiles_id_seq') FROM generate_series(1, $1::int)"};

// Links (business, BSUID) pairs to profiles (a BSUID seen with a number joins that number's
// profile, the number's owner being who the user is).
constexpr pg_statement link_user_ids_sql{
    "sb_wa_ids_link",
    "INSERT INTO profile_whatsapp_ids (business, user_id, profile_id) SELECT * FROM "
    "unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT (business, user_id) DO UPDATE SET "
    "profile_id = EXCLUDED.profile_id, updated_at = now() WHERE profile_whatsapp_ids.profile_id "
    "<> EXCLUDED.profile_id"};

constexpr pg_statement save_profiles_sql{
    "sb_profiles_save",
    "UPDATE profiles p SET has_whatsapp = v.wa, allows_sms = v.sms, whatsapp_jid = nullif(v.jid, "
    "''), last_active_channel = nullif(v.ch, ''), last_whatsapp_inbound_at = CASE WHEN v.wi < 0 "
    "THEN NULL ELSE to_timestamp(v.wi / 1000.0) END, name = nullif(v.name, ''), locale = "
    "nullif(v.locale, ''), whatsapp_user_id = nullif(v.uid, ''), updated_at = now() FROM "
    "unnest($1::bigint[], $2::bool[], $3::bool[], $4::text[], $5::text[], $6::bigint[], "
    "$7::text[], $8::text[], $9::text[]) AS v(id, wa, sms, jid, ch, wi, name, locale, uid) "
    "WHERE p.id = v.id"};

constexpr pg_statement lock_sessions_sql{
    "sb_sessions_lock",
    "SELECT id, profile_id, status, context::text, (extract(epoch FROM created_at) * "
    "1000)::bigint, "
    "(extract(epoch FROM last_activity_at) * 1000)::bigint, "
    "(extract(epoch FROM expires_at) * 1000)::bigint, coalesce(call_id, ''), "
    "whatsapp_summary_sent, sms_summary_sent, version FROM omnichannel_sessions "
    "WHERE profile_id = ANY($1::bigint[]) AND status <> 'closed' ORDER BY profile_id FOR NO KEY "
    "UPDATE"};

// $1 ids, $2 status, $3 context, $4 expires ms, $5 activity ms, $6 call id, $7 wa flag,
// $8 sms flag, $9 closed reason.
constexpr pg_statement save_sessions_sql{
    "sb_sessions_save",
    "UPDATE omnichannel_sessions s SET status = v.st, context = v.ctx::jsonb, "
    "expires_at = to_timestamp(v.exp / 1000.0), last_activity_at = to_timestamp(v.act / 1000.0), "
    "call_id = nullif(v.call, ''), whatsapp_summary_sent = v.wa, sms_summary_sent = v.sms, "
    "version = s.version + 1, updated_at = now(), "
    "closed_at = CASE WHEN v.st = 'closed' THEN coalesce(s.closed_at, now()) END, "
    "closed_reason = CASE WHEN v.st = 'closed' THEN coalesce(nullif(v.reason, ''), "
    "s.closed_reason) END "
    "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], "
    "$7::bool[], $8::bool[], $9::text[]) AS v(id, st, ctx, exp, act, call, wa, sms, reason) "
    "WHERE s.id = v.id RETURNING s.id, s.version"};

// $1 profile ids, $2 status, $3 context, $4 expires ms, $5 activity ms, $6 call id, $7 wa,
// $8 sms, $9 created ms.
constexpr pg_statement insert_sessions_sql{
    "sb_sessions_insert",
    "INSERT INTO omnichannel_sessions (profile_id, status, context, expires_at, last_activity_at, "
    "call_id, whatsapp_summary_sent, sms_summary_sent, created_at, closed_at) "
    "SELECT v.pid, v.st, v.ctx::jsonb, to_timestamp(v.exp / 1000.0), to_timestamp(v.act / 1000.0), "
    "nullif(v.call, ''), v.wa, v.sms, to_timestamp(v.cr / 1000.0), "
    "CASE WHEN v.st = 'closed' THEN now() END "
    "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], "
    "$7::bool[], $8::bool[], $9::bigint[]) AS v(pid, st, ctx, exp, act, call, wa, sms, cr) "
    "RETURNING id, profile_id"};

constexpr pg_statement touch_sessions_sql{
    "sb_sessions_touch",
    "UPDATE omnichannel_sessions s SET expires_at = to_timestamp(v.exp / 1000.0), "
    "last_activity_at = to_timestamp(v.act / 1000.0), version = s.version + 1, updated_at = now() "
    "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(id, exp, act) WHERE s.id = v.id "
    "RETURNING s.id, s.version"};

constexpr pg_statement delivery_ids_sql{
    "sb_delivery_ids",
    "SELECT nextval('message_delivery_log_id_seq') FROM generate_series(1, $1::int)"};

constexpr pg_statement insert_deliveries_sql{
    "sb_deliveries_insert",
    "INSERT INTO message_delivery_log (id, session_id, profile_id, channel, provider, direction, "
    "message_type, status, recipient, body, payload, external_id, last_error, correlation_id, "
    "next_attempt_at, claim_token) "
    "SELECT v.id, nullif(v.sid, 0), v.pid, v.ch, v.pr, v.dir, v.mt, v.st, v.rc, v.body, "
    "v.pl::jsonb, nullif(v.ext, ''), nullif(v.err, ''), v.cid, "
    "CASE WHEN v.na < 0 THEN NULL ELSE to_timestamp(v.na / 1000.0) END, nullif(v.tok, '') "
    "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], "
    "$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], "
    "$14::text[], $15::bigint[], $16::text[]) AS v(id, sid, pid, ch, pr, dir, mt, st, rc, body, "
    "pl, ext, err, cid, na, tok) ON CONFLICT DO NOTHING RETURNING id"};

constexpr pg_statement history_sql{
    "sb_session_history",
    "SELECT id, direction, body FROM (SELECT id, direction, body FROM message_delivery_log "
    "WHERE session_id = $1 AND status <> 'skipped' AND body <> '' ORDER BY id DESC LIMIT $2) r "
    "ORDER BY id"};

profile_row read_profile(const pg_rows& rows, int r) {
  profile_row p;
  p.id = rows.int64(r, 0);
  p.phone_number = std::string{rows.text(r, 1)};
  p.whatsapp_jid = std::string{rows.text(r, 2)};
  p.has_whatsapp = rows.boolean(r, 3);
  p.allows_sms = rows.boolean(r, 4);
  p.last_active_channel = std::string{rows.text(r, 5)};
  if (auto wi = rows.int64(r, 6); wi >= 0)
    p.last_whatsapp_inbound_at = from_ms(wi);
  p.name = std::string{rows.text(r, 7)};
  p.locale = std::string{rows.text(r, 8)};
  p.whatsapp_user_id = std::string{rows.text(r, 9)};
  return p;
}

} // namespace

locked_profiles lock_profiles(soci::session& sql, const std::set<std::string>& keys,
                              const std::vector<phone_user_id>& seen_with) {
  locked_profiles out;
  std::vector<std::string> phones;
  std::map<std::pair<std::string, std::string>, std::string> users; ///< (business, BSUID) -> key
  for (auto& k : keys) {
    if (auto ref = core::parse_whatsapp_user_key(k))
      users.emplace(std::make_pair(ref->business, ref->user_id), k);
    else
      phones.push_back(k);
  }
  if (!phones.empty()) {
    // Numbers (1 statement creating the missing ones, 1 locking all).
    std::vector<std::string> ap, ab, au;
    for (auto& s : seen_with) {
      ap.push_back(s.phone);
      ab.push_back(s.business);
      au.push_back(s.user_id);
    }
    auto array = pg_text_array(phones);
    auto created = pg_exec(sql, create_profiles_sql,
                           {array, pg_text_array(ap), pg_text_array(ab), pg_text_array(au)});
    for (int r = 0; r < created.size(); ++r)
      out.created.insert(std::string{created.text(r, 0)});
    auto rows = pg_exec(sql, lock_profiles_sql, {array});
    for (int r = 0; r < rows.size(); ++r) {
      auto p = read_profile(rows, r);
      out.rows.emplace(p.phone_number, std::move(p));
    }
  }
  if (!users.empty()) {
    // Users known by a BSUID only (1 round trip to find them; 2 more to create the unknown; 1 to
    // lock them by id).
    auto find = [&](const std::vector<std::pair<std::string, std::string>>& pairs) {
      std::vector<std::string> b, u;
      for (auto& [bb, uu] : pairs) {
        b.push_back(bb);
        u.push_back(uu);
      }
      std::map<std::pair<std::string, std::string>, int64_t> found;
      auto rows = pg_exec(sql, find_user_ids_sql, {pg_text_array(b), pg_text_array(u)});
      for (int r = 0; r < rows.size(); ++r)
        found[{std::string{rows.text(r, 0)}, std::string{rows.text(r, 1)}}] = rows.int64(r, 2);
      return found;
    };
    std::vector<std::pair<std::string, std::string>> all;
    for (auto& [pair, key] : users)
      all.push_back(pair);
    auto ids = find(all);
    std::vector<std::pair<std::string, std::string>> missing;
    for (auto& pair : all)
      if (!ids.count(pair))
        missing.push_back(pair);
    if (!missing.empty()) {
      auto fresh = pg_exec(sql, profile_ids_sql, {std::to_string(missing.size())});
      std::vector<std::string> b, u;
      std::vector<int64_t> id;
      for (std::size_t i = 0; i < missing.size(); ++i) {
        b.push_back(missing[i].first);
        u.push_back(missing[i].second);
        id.push_back(fresh.int64(static_cast<int>(i), 0));
      }
      auto made = pg_exec(sql, create_user_ids_sql,
                          {pg_text_array(b), pg_text_array(u), pg_int_array(id)});
      for (int r = 0; r < made.size(); ++r) {
        std::pair<std::string, std::string> pair{std::string{made.text(r, 0)},
                                                 std::string{made.text(r, 1)}};
        ids[pair] = made.int64(r, 2);
        out.created.insert(users.at(pair));
      }
      if (made.size() != static_cast<int>(missing.size())) // created concurrently elsewhere
        for (auto& [pair, pid] : find(missing))
          ids[pair] = pid;
    }
    std::vector<int64_t> lock;
    std::map<int64_t, std::vector<std::string>> keys_of;
    for (auto& [pair, pid] : ids) {
      lock.push_back(pid);
      keys_of[pid].push_back(users.at(pair));
    }
    auto rows = pg_exec(sql, lock_profiles_by_id_sql, {pg_int_array(lock)});
    for (int r = 0; r < rows.size(); ++r) {
      auto p = read_profile(rows, r);
      for (auto& k : keys_of[p.id])
        out.rows.emplace(k, p);
    }
  }
  if (out.rows.size() != keys.size())
    throw domain_error(sb_error::internal, "a profile vanished while being locked");
  return out;
}

void link_user_ids(soci::session& sql, const std::vector<phone_user_id>& links,
                   const std::map<std::string, int64_t>& profile_of_phone) {
  std::vector<std::string> b, u;
  std::vector<int64_t> id;
  for (auto& l : links) {
    auto it = profile_of_phone.find(l.phone);
    if (it == profile_of_phone.end())
      continue;
    b.push_back(l.business);
    u.push_back(l.user_id);
    id.push_back(it->second);
  }
  if (!id.empty())
    pg_exec(sql, link_user_ids_sql, {pg_text_array(b), pg_text_array(u), pg_int_array(id)});
}

std::map<int64_t, profile_row> profiles_by_id(soci::session& sql, const std::set<int64_t>& ids) {
  std::map<int64_t, profile_row> out;
  if (ids.empty())
    return out;
  auto rows = pg_exec(sql, profiles_by_id_sql,
                      {pg_int_array(std::vector<int64_t>(ids.begin(), ids.end()))});
  for (int r = 0; r < rows.size(); ++r) {
    auto p = read_profile(rows, r);
    out.emplace(p.id, std::move(p));
  }
  return out;
}

void apply_facts(profile_row& p, const profile_facts& f) {
  if (f.has_whatsapp)
    p.has_whatsapp = *f.has_whatsapp;
  if (f.allows_sms)
    p.allows_sms = *f.allows_sms;
  if (f.whatsapp_jid)
    p.whatsapp_jid = *f.whatsapp_jid;
  if (f.whatsapp_user_id && !f.whatsapp_user_id->empty())
    p.whatsapp_user_id = *f.whatsapp_user_id;
  if (f.last_active_channel)
    p.last_active_channel = *f.last_active_channel;
  if (f.name && !f.name->empty())
    p.name = *f.name;
  if (f.locale && !f.locale->empty())
    p.locale = *f.locale;
  if (f.whatsapp_inbound_at
      && (!p.last_whatsapp_inbound_at || *p.last_whatsapp_inbound_at < *f.whatsapp_inbound_at))
    p.last_whatsapp_inbound_at = f.whatsapp_inbound_at;
}

bool same_fields(const profile_row& a, const profile_row& b) {
  return a.has_whatsapp == b.has_whatsapp && a.allows_sms == b.allows_sms
         && a.whatsapp_jid == b.whatsapp_jid && a.last_active_channel == b.last_active_channel
         && a.last_whatsapp_inbound_at == b.last_whatsapp_inbound_at && a.name == b.name
         && a.locale == b.locale && a.whatsapp_user_id == b.whatsapp_user_id;
}

void save_profiles(soci::session& sql, const std::vector<const profile_row*>& rows) {
  if (rows.empty())
    return;
  std::vector<int64_t> id, wi;
  std::vector<bool> wa, sms;
  std::vector<std::string> jid, ch, name, locale, uid;
  for (auto* p : rows) {
    id.push_back(p->id);
    wa.push_back(p->has_whatsapp);
    sms.push_back(p->allows_sms);
    jid.push_back(p->whatsapp_jid);
    ch.push_back(p->last_active_channel);
    wi.push_back(p->last_whatsapp_inbound_at ? to_ms(*p->last_whatsapp_inbound_at) : -1);
    name.push_back(p->name);
    locale.push_back(p->locale);
    uid.push_back(p->whatsapp_user_id);
  }
  pg_exec(sql, save_profiles_sql,
          {pg_int_array(id), pg_bool_array(wa), pg_bool_array(sms), pg_text_array(jid),
           pg_text_array(ch), pg_int_array(wi), pg_text_array(name), pg_text_array(locale),
           pg_text_array(uid)});
}

std::map<int64_t, core::session_record> lock_open_sessions(soci::session& sql,
                                                           const std::set<int64_t>& profile_ids) {
  std::map<int64_t, core::session_record> out;
  if (profile_ids.empty())
    return out;
  auto rows = pg_exec(sql, lock_sessions_sql,
                      {pg_int_array(std::vector<int64_t>(profile_ids.begin(), profile_ids.end()))});
  for (int r = 0; r < rows.size(); ++r) {
    core::session_record s;
    s.id = rows.int64(r, 0);
    s.profile_id = rows.int64(r, 1);
    auto st = core::parse_session_status(rows.text(r, 2));
    if (!st)
      throw domain_error(sb_error::internal, "invalid session status in the database");
    s.status = *st;
    s.context = nlohmann::json::parse(rows.text(r, 3));
    s.created_at = from_ms(rows.int64(r, 4));
    s.last_activity_at = from_ms(rows.int64(r, 5));
    s.expires_at = from_ms(rows.int64(r, 6));
    s.call_id = std::string{rows.text(r, 7)};
    s.whatsapp_summary_sent = rows.boolean(r, 8);
    s.sms_summary_sent = rows.boolean(r, 9);
    s.version = rows.int64(r, 10);
    out.emplace(s.profile_id, std::move(s));
  }
  return out;
}

namespace {

/// The columns of sessions for save/insert, as arrays in statement order.
struct session_arrays {
  std::vector<int64_t> key, exp, act, last; ///< key: id or profile id; last: reason or created
  std::vector<std::string> st, ctx, call, reason;
  std::vector<bool> wa, sms;

  void add(const core::session_record& s, int64_t k) {
    key.push_back(k);
    st.push_back(core::to_string(s.status));
    ctx.push_back(s.context.dump());
    exp.push_back(to_ms(s.expires_at));
    act.push_back(to_ms(s.last_activity_at));
    call.push_back(s.call_id);
    wa.push_back(s.whatsapp_summary_sent);
    sms.push_back(s.sms_summary_sent);
  }

  std::vector<pg_param> params(pg_param last_param) const {
    return {pg_int_array(key), pg_text_array(st),  pg_text_array(ctx),
            pg_int_array(exp), pg_int_array(act),  pg_text_array(call),
            pg_bool_array(wa), pg_bool_array(sms), std::move(last_param)};
  }
};

void save(soci::session& sql, const std::vector<core::session_record*>& list,
          const std::string& reason) {
  if (list.empty())
    return;
  session_arrays a;
  std::vector<std::string> reasons;
  std::map<int64_t, core::session_record*> by_id;
  for (auto* s : list) {
    a.add(*s, s->id);
    reasons.push_back(reason);
    by_id[s->id] = s;
  }
  auto rows = pg_exec(sql, save_sessions_sql, a.params(pg_text_array(reasons)));
  if (static_cast<std::size_t>(rows.size()) != list.size())
    throw domain_error(sb_error::not_found, "a session to save was not found");
  for (int r = 0; r < rows.size(); ++r)
    by_id.at(rows.int64(r, 0))->version = rows.int64(r, 1);
}

} // namespace

void write_sessions(soci::session& sql, session_writes& w) {
  save(sql, w.expired, "expired");
  if (!w.created.empty()) {
    session_arrays a;
    std::map<int64_t, core::session_record*> by_profile;
    std::vector<int64_t> created;
    for (auto* s : w.created) {
      a.add(*s, s->profile_id);
      created.push_back(to_ms(s->created_at));
      by_profile[s->profile_id] = s;
    }
    auto rows = pg_exec(sql, insert_sessions_sql, a.params(pg_int_array(created)));
    for (int r = 0; r < rows.size(); ++r)
      by_profile.at(rows.int64(r, 1))->id = rows.int64(r, 0);
  }
  save(sql, w.changed, w.closed_reason);
  if (!w.touched.empty()) {
    std::vector<int64_t> ids, exp, act;
    std::map<int64_t, core::session_record*> by_id;
    for (auto* t : w.touched) {
      ids.push_back(t->id);
      exp.push_back(to_ms(t->expires_at));
      act.push_back(to_ms(t->last_activity_at));
      by_id[t->id] = t;
    }
    auto rows = pg_exec(sql, touch_sessions_sql,
                        {pg_int_array(ids), pg_int_array(exp), pg_int_array(act)});
    if (static_cast<std::size_t>(rows.size()) != ids.size())
      throw domain_error(sb_error::not_found, "a session to touch was not found");
    for (int r = 0; r < rows.size(); ++r)
      by_id.at(rows.int64(r, 0))->version = rows.int64(r, 1);
  }
}

std::vector<int64_t> insert_deliveries(soci::session& sql, std::vector<delivery_row>& rows,
                                       const std::vector<std::optional<time_point>>& next) {
  std::vector<int64_t> out(rows.size(), 0);
  if (rows.empty())
    return out;
  auto ids = pg_exec(sql, delivery_ids_sql, {std::to_string(rows.size())});
  if (static_cast<std::size_t>(ids.size()) != rows.size())
    throw domain_error(sb_error::internal, "the delivery id sequence answered the wrong count");
  std::vector<int64_t> id, sid, pid, na;
  std::vector<std::string> ch, pr, dir, mt, st, rc, body, ext, err, cid, tok;
  std::vector<std::optional<std::string>> pl;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto& d = rows[i];
    d.id = ids.int64(static_cast<int>(i), 0);
    id.push_back(d.id);
    sid.push_back(d.session_id);
    pid.push_back(d.profile_id);
    ch.push_back(d.channel);
    pr.push_back(d.provider);
    dir.push_back(d.direction);
    mt.push_back(d.message_type);
    st.push_back(d.status);
    rc.push_back(d.recipient);
    body.push_back(d.body);
    pl.push_back(d.payload.is_null() ? std::nullopt : std::optional<std::string>{d.payload.dump()});
    ext.push_back(d.external_id);
    err.push_back(d.last_error);
    cid.push_back(d.correlation_id);
    na.push_back(i < next.size() && next[i] ? to_ms(*next[i]) : -1);
    tok.push_back(d.claim_token);
  }
  auto inserted
      = pg_exec(sql, insert_deliveries_sql,
                {pg_int_array(id), pg_int_array(sid), pg_int_array(pid), pg_text_array(ch),
                 pg_text_array(pr), pg_text_array(dir), pg_text_array(mt), pg_text_array(st),
                 pg_text_array(rc), pg_text_array(body), pg_text_array(pl), pg_text_array(ext),
                 pg_text_array(err), pg_text_array(cid), pg_int_array(na), pg_text_array(tok)});
  std::set<int64_t> done;
  for (int r = 0; r < inserted.size(); ++r)
    done.insert(inserted.int64(r, 0));
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (done.count(rows[i].id))
      out[i] = rows[i].id;
  return out;
}

std::vector<delivery_row> session_history(soci::session& sql, int64_t session_id, int n) {
  auto rows = pg_exec(sql, history_sql, {std::to_string(session_id), std::to_string(n)});
  std::vector<delivery_row> out;
  for (int r = 0; r < rows.size(); ++r) {
    delivery_row d;
    d.id = rows.int64(r, 0);
    d.session_id = session_id;
    d.direction = std::string{rows.text(r, 1)};
    d.body = std::string{rows.text(r, 2)};
    out.push_back(std::move(d));
  }
  return out;
}

} // namespace switchboard::storage
