#include "storage/flows.hpp"

#include <map>
#include <set>

#include <soci/soci.h>

#include "core/log.hpp"
#include "core/whatsapp_errors.hpp"
#include "storage/db.hpp"
#include "storage/inbox.hpp"
#include "storage/pg.hpp"
#include "storage/sets.hpp"

namespace switchboard::storage {

using core::sb_error;

namespace {

constexpr const char* claim_inbound_sql
    = "UPDATE message_delivery_log SET claim_token = :tok, updated_at = now() WHERE id = :id AND "
      "direction = 'inbound' AND reply_id IS NULL";

constexpr const char* profile_by_id_sql = "SELECT phone_number FROM profiles WHERE id = :id";

constexpr pg_statement lock_burst_sql{
    "sb_burst_lock",
    "SELECT id, coalesce(claim_token, ''), coalesce(session_id, 0), profile_id, correlation_id "
    "FROM message_delivery_log WHERE id = ANY($1::bigint[]) AND direction = 'inbound' AND "
    "reply_id IS NULL ORDER BY id FOR NO KEY UPDATE"};

// $1, $2: inbound ids and their reply; $3-$6: the replies' llm steps (reply id, start in Unix
// ms, kind, detail), inserted by the same statement.
constexpr pg_statement link_burst_sql{
    "sb_burst_link",
    "WITH steps AS (INSERT INTO llm_steps (reply_id, at, kind, detail) SELECT s.reply, "
    "to_timestamp(s.at / 1000.0), s.kind, CAST(s.detail AS jsonb) FROM unnest($3::bigint[], "
    "$4::bigint[], $5::text[], $6::text[]) AS s(reply, at, kind, detail)) "
    "UPDATE message_delivery_log m SET reply_id = v.reply, next_attempt_at = NULL, "
    "claim_token = NULL, updated_at = now() FROM unnest($1::bigint[], $2::bigint[]) AS v(id, "
    "reply) "
    "WHERE m.id = v.id"};

constexpr pg_statement not_on_whatsapp_sql{
    "sb_profile_not_on_whatsapp",
    "UPDATE profiles SET has_whatsapp = false, updated_at = now() WHERE id = $1::bigint"};

// $1 session, $2 correlation id, $3 message type.
constexpr pg_statement sms_underway_sql{
    "sb_sms_underway",
    "SELECT 1 FROM message_delivery_log WHERE session_id = $1::bigint AND correlation_id = $2 AND "
    "message_type = $3 AND channel = 'sms' AND direction = 'outbound' AND "
    "status IN ('queued', 'sent', 'delivered', 'read') LIMIT 1"};

void require(const core::expected<void>& r) {
  if (!r)
    throw domain_error(core::code_of(r.error()), core::reason_of(r.error()));
}

template <class T> T require(core::expected<T> r) {
  if (!r)
    throw domain_error(core::code_of(r.error()), core::reason_of(r.error()));
  return std::move(*r);
}

/// Runs get_or_create for each profile against its locked open session and sorts the outcome
/// into the writes; `touch` then runs on every resulting session.
std::map<int64_t, core::session_resolution> resolve_sessions(soci::session& sql,
                                                             const core::session_machine& machine,
                                                             const std::set<int64_t>& profile_ids,
                                                             time_point now) {
  auto open = lock_open_sessions(sql, profile_ids);
  std::map<int64_t, core::session_resolution> out;
  for (auto pid : profile_ids) {
    std::optional<core::session_record> current;
    if (auto it = open.find(pid); it != open.end())
      current = it->second;
    out.emplace(pid, require(machine.get_or_create(current, pid, now)));
  }
  return out;
}

/// What to write of the sessions; `touch_only`: continued sessions changed only their expiry
/// and activity (a cheaper statement that leaves the context alone).
session_writes writes_of(std::map<int64_t, core::session_resolution>& sessions, bool touch_only) {
  session_writes w;
  for (auto& [pid, res] : sessions) {
    if (res.expired)
      w.expired.push_back(&*res.expired);
    if (res.created)
      w.created.push_back(&res.session);
    else
      (touch_only ? w.touched : w.changed).push_back(&res.session);
  }
  return w;
}

} // namespace

core::outbound_recipient recipient_of(const profile_row& p) {
  core::outbound_recipient r;
  r.has_whatsapp = p.has_whatsapp;
  r.allows_sms = p.allows_sms;
  r.has_phone = !p.phone_number.empty();
  r.last_whatsapp_inbound_at = p.last_whatsapp_inbound_at;
  return r;
}

delivery_row outbound_row(const core::outbound_plan& plan, const profile_row& profile,
                          int64_t session_id, const std::string& message_type,
                          const std::string& correlation_id, const std::string& token) {
  delivery_row row;
  row.session_id = session_id;
  row.profile_id = profile.id;
  row.channel = plan.channel;
  row.provider = plan.provider;
  row.direction = "outbound";
  row.message_type = message_type;
  // A WhatsApp user without a known number is addressed by their business-scoped user id.
  row.recipient = profile.phone_number.empty() && plan.channel == "whatsapp" ? profile.whatsapp_jid
                                                                             : profile.phone_number;
  row.correlation_id = correlation_id;
  row.body = plan.body;
  row.payload = plan.payload;
  if (plan.queued) {
    row.status = "queued";
    row.claim_token = token;
  } else {
    row.status = "skipped";
    row.last_error = plan.skip_reason;
  }
  return row;
}

std::optional<delivery_row> queue_whatsapp_fallback(soci::session& sql,
                                                    const channel_policy& policy,
                                                    const delivery_row& refused, int64_t code,
                                                    time_point now) {
  auto profiles = profiles_by_id(sql, {refused.profile_id});
  auto it = profiles.find(refused.profile_id);
  if (it == profiles.end())
    return std::nullopt;
  auto profile = it->second;
  bool undeliverable = code == core::whatsapp_undeliverable_error;
  if (undeliverable && profile.has_whatsapp) {
    pg_exec(sql, not_on_whatsapp_sql, {std::to_string(profile.id)});
    profile.has_whatsapp = false;
  }
  bool was_template = refused.payload.is_object() && refused.payload.contains("template");
  // WhatsApp itself failing: a template would go the same way, so SMS.
  bool by_sms = undeliverable || code == core::whatsapp_outage_fallback;
  auto plan = core::plan_whatsapp_fallback(policy, recipient_of(profile), by_sms, was_template,
                                           refused.body, now);
  if (plan.channel == "sms" && refused.session_id != 0) {
    auto underway = pg_exec(
        sql, sms_underway_sql,
        {std::to_string(refused.session_id), refused.correlation_id, refused.message_type});
    if (underway.size() > 0)
      return std::nullopt;
  }
  auto row = outbound_row(plan, profile, refused.session_id, refused.message_type,
                          refused.correlation_id, "");
  if (!row.payload.is_object())
    row.payload = nlohmann::json::object();
  row.payload["fallback_for"] = refused.id;
  row.payload["after_error"] = code;
  std::optional<time_point> due;
  if (plan.queued)
    due = now;
  return insert_delivery(sql, row, due);
}

delivery_row plan_outbound(soci::session& sql, const channel_policy& policy,
                           const profile_row& profile, int64_t session_id,
                           const std::string& channel, const std::string& message_type,
                           const std::string& text, const std::string& correlation_id,
                           const std::string& token, time_point now) {
  if (channel != "whatsapp" && channel != "sms")
    throw domain_error(sb_error::invalid_argument, "unknown channel '" + channel + "'");
  auto plan = core::plan_outbound(policy, recipient_of(profile), channel, text, now);
  auto row = outbound_row(plan, profile, session_id, message_type, correlation_id, token);
  std::optional<time_point> next;
  if (plan.queued)
    next = now + policy.claim_lease;
  auto inserted = insert_delivery(sql, row, next);
  if (!inserted)
    throw domain_error(sb_error::internal, "outbound row was not inserted");
  return *inserted;
}

std::vector<accepted_call> accept_calls(soci::session& sql, const core::session_machine& machine,
                                        const channel_policy& policy,
                                        const std::vector<const call_ended_input*>& calls) {
  std::vector<accepted_call> out(calls.size());
  if (calls.empty())
    return out;
  // 1. The inbox tells new calls from repeated ones (1 round trip, +1 for repeated answers).
  std::vector<core::inbox_entry> entries;
  for (auto* in : calls) {
    core::inbox_entry e;
    e.source = "voice";
    e.dedupe_key = in->summary.call_id;
    e.entity = in->phone;
    e.kind = "call";
    e.payload = nlohmann::json{{"call_id", in->summary.call_id},
                               {"phone_number", in->phone},
                               {"summary", in->summary.summary},
                               {"outcome", in->summary.outcome}}
                    .dump();
    e.correlation_id = in->correlation_id;
    entries.push_back(std::move(e));
  }
  std::vector<const core::inbox_entry*> entry_ptrs;
  for (auto& e : entries)
    entry_ptrs.push_back(&e);
  auto stored = record_inbox(sql, entry_ptrs);
  std::vector<std::size_t> fresh;
  std::vector<std::string> repeated;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (stored[i].inserted)
      fresh.push_back(i);
    else
      repeated.push_back(calls[i]->summary.call_id);
  }
  // 2. Profiles: a caller we have never seen is assumed to have WhatsApp unless the voice
  // platform says otherwise; the window rules still decide whether free-form text may go there.
  std::set<std::string> phones;
  for (auto i : fresh)
    phones.insert(calls[i]->phone);
  auto profiles = lock_profiles(sql, phones);
  for (auto i : fresh) {
    auto& in = *calls[i];
    profile_facts facts;
    facts.last_active_channel = "voice";
    facts.allows_sms = in.allows_sms;
    facts.name = in.summary.customer_name;
    facts.locale = in.summary.language;
    facts.has_whatsapp = in.has_whatsapp;
    if (!in.has_whatsapp && profiles.created.count(in.phone))
      facts.has_whatsapp = true;
    apply_facts(profiles.rows.at(in.phone), facts);
  }
  std::vector<const profile_row*> changed_profiles;
  std::set<int64_t> profile_ids;
  for (auto& [phone, p] : profiles.rows) {
    changed_profiles.push_back(&p);
    profile_ids.insert(p.id);
  }
  save_profiles(sql, changed_profiles);
  // 3. Sessions: follow_up, the call in the context, expiry extended. Calls of one phone in
  // one batch apply in order to the same session.
  auto batch_now = fresh.empty() ? calls[0]->now : calls[fresh[0]]->now;
  auto sessions = resolve_sessions(sql, machine, profile_ids, batch_now);
  for (auto i : fresh) {
    auto& in = *calls[i];
    auto& res = sessions.at(profiles.rows.at(in.phone).id);
    auto& s = res.session;
    const auto& call_id = in.summary.call_id;
    require(machine.set_status(s, core::session_status::follow_up));
    if (s.call_id != call_id) {
      s.whatsapp_summary_sent = false;
      s.sms_summary_sent = false;
    }
    s.call_id = call_id;
    nlohmann::json last_call
        = {{"call_id", call_id}, {"summary", in.summary.summary}, {"ended_at", iso8601(in.now)}};
    if (!in.summary.outcome.empty())
      last_call["outcome"] = in.summary.outcome;
    if (!in.summary.language.empty())
      last_call["language"] = in.summary.language;
    if (!in.summary.action_items.empty())
      last_call["action_items"] = in.summary.action_items;
    require(machine.merge_context(s, {{"last_call", last_call}}));
    require(machine.touch(s, in.now));
  }
  auto writes = writes_of(sessions, false);
  write_sessions(sql, writes);
  // 4. The summaries: WhatsApp and SMS, planned for each channel (2 round trips for all).
  std::vector<delivery_row> rows;
  std::vector<std::optional<time_point>> next;
  for (auto i : fresh) {
    auto& in = *calls[i];
    auto& profile = profiles.rows.at(in.phone);
    auto& s = sessions.at(profile.id);
    auto to = recipient_of(profile);
    for (auto* channel : {"whatsapp", "sms"}) {
      auto text = std::string{channel} == "whatsapp"
                      ? core::format_whatsapp_summary(in.summary)
                      : core::format_sms_summary(in.summary, policy.sms_max_segments);
      auto plan = core::plan_outbound(policy, to, channel, text, in.now);
      rows.push_back(
          outbound_row(plan, profile, s.session.id, "summary", in.correlation_id, in.token));
      next.push_back(plan.queued ? std::optional<time_point>{in.now + policy.claim_lease}
                                 : std::nullopt);
    }
  }
  insert_deliveries(sql, rows, next);
  // 5. The answers, stored for retries (1 round trip).
  std::vector<std::string> keys, results;
  std::size_t r = 0;
  for (auto i : fresh) {
    auto& in = *calls[i];
    auto& res = sessions.at(profiles.rows.at(in.phone).id);
    auto& o = out[i];
    o.session_created = res.created;
    o.session_expired = res.expired.has_value();
    o.result = {{"session_id", res.session.id}, {"correlation_id", in.correlation_id}};
    for (int k = 0; k < 2; ++k, ++r)
      (rows[r].status == "queued" ? o.sends : o.skipped).push_back(rows[r]);
    keys.push_back(in.summary.call_id);
    results.push_back(o.result.dump());
  }
  set_inbox_results(sql, "voice", keys, results);
  // Repeated calls get the answer given the first time (in this batch or before).
  std::map<std::string, std::string> earlier = inbox_results(sql, "voice", repeated);
  for (std::size_t i = 0; i < keys.size(); ++i)
    earlier.emplace(keys[i], results[i]);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (stored[i].inserted)
      continue;
    out[i].duplicate = true;
    auto it = earlier.find(calls[i]->summary.call_id);
    out[i].result = it == earlier.end() ? nlohmann::json(nullptr)
                                        : nlohmann::json::parse(it->second, nullptr, false);
  }
  return out;
}

std::vector<accepted_messages>
accept_messages(soci::session& sql, const core::session_machine& machine,
                const channel_policy& policy, const std::vector<const accept_request*>& requests,
                time_point now, int max_rows, const shard_fence* fence,
                std::vector<int32_t>* stale) {
  std::vector<accepted_messages> out(requests.size());
  std::vector<std::string> phones;
  std::map<std::string, std::size_t> request_of;
  for (std::size_t i = 0; i < requests.size(); ++i)
    if (request_of.emplace(requests[i]->phone, i).second)
      phones.push_back(requests[i]->phone);
  // 1. Take the pending rows (1 round trip); they count as processed when this commits.
  std::vector<int32_t> stale_here;
  auto rows
      = fence ? take_inbox(sql, "message", phones, max_rows, *fence, stale ? *stale : stale_here)
              : take_inbox(sql, "message", phones, max_rows);
  std::map<std::string, std::vector<core::inbound_message>> by_phone;
  std::map<std::string, int> taken;
  for (auto& row : rows)
    if (++taken[row.entity] >= max_rows && request_of.count(row.entity))
      out[request_of.at(row.entity)].more = true;
  for (auto& row : rows) {
    auto m = core::decode_inbound_message(row.payload);
    if (!m || core::sender_key(*m) != row.entity || request_of.count(row.entity) == 0) {
      core::log(core::log_level::error, "unusable inbox message dropped",
                {{"correlation_id", row.correlation_id}, {"source", row.source}});
      continue;
    }
    m->correlation_id = row.correlation_id;
    by_phone[row.entity].push_back(std::move(*m));
  }
  if (by_phone.empty())
    return out;
  // 2. Profiles (2-3 round trips).
  // WhatsApp users may be known by number and business-scoped user id (BSUID) at once: a BSUID
  // seen with a number joins that number's profile (+1 round trip when it is new to it).
  std::set<std::string> with_messages;
  std::vector<phone_user_id> seen_with, links;
  for (auto& [key, msgs] : by_phone) {
    with_messages.insert(key);
    for (auto& m : msgs)
      if (!m.from.empty() && !m.user_id.empty())
        seen_with.push_back({m.from, m.business, m.user_id});
  }
  auto profiles = lock_profiles(sql, with_messages, seen_with);
  std::vector<const profile_row*> changed;
  std::set<int64_t> profile_ids;
  std::map<std::string, int64_t> profile_of_phone;
  for (auto& [phone, msgs] : by_phone) {
    auto& p = profiles.rows.at(phone);
    auto before = p;
    for (auto& m : msgs) {
      profile_facts facts;
      facts.last_active_channel = m.channel;
      if (m.channel == "whatsapp") {
        facts.has_whatsapp = true;
        if (!m.from.empty())
          facts.whatsapp_jid = m.from.substr(m.from.rfind('+') + 1);
        facts.whatsapp_inbound_at = m.received_at_ms > 0 ? from_ms(m.received_at_ms) : now;
        if (!m.user_id.empty()) {
          if (!m.from.empty() && m.user_id != p.whatsapp_user_id) {
            links.push_back({m.from, m.business, m.user_id});
            profile_of_phone[m.from] = p.id;
          }
          facts.whatsapp_user_id = m.user_id;
        }
      }
      if (!m.profile_name.empty())
        facts.name = m.profile_name;
      apply_facts(p, facts);
    }
    if (!same_fields(before, p))
      changed.push_back(&p); // an SMS user's second message changes nothing
    profile_ids.insert(p.id);
  }
  save_profiles(sql, changed);
  link_user_ids(sql, links, profile_of_phone);
  // 3. Sessions: continued or opened, expiry extended (2-4 round trips).
  auto sessions = resolve_sessions(sql, machine, profile_ids, now);
  for (auto& [pid, res] : sessions)
    require(machine.touch(res.session, now));
  auto writes = writes_of(sessions, true);
  write_sessions(sql, writes);
  // 4. Every message logged and claimed for its reply (2 round trips).
  std::vector<delivery_row> log;
  std::vector<std::string> owner;
  for (auto& [phone, msgs] : by_phone) {
    auto& p = profiles.rows.at(phone);
    auto& s = sessions.at(p.id).session;
    auto& token = requests[request_of.at(phone)]->token;
    for (auto& m : msgs) {
      delivery_row row;
      row.session_id = s.id;
      row.profile_id = p.id;
      row.channel = m.channel;
      row.provider = m.provider;
      row.direction = "inbound";
      row.message_type = m.type == "text" ? "text" : m.type;
      row.status = "received";
      row.recipient = m.from.empty() ? m.user_id : m.from;
      row.body = m.text;
      row.external_id = m.external_id;
      row.correlation_id = m.correlation_id;
      row.claim_token = token;
      log.push_back(std::move(row));
      owner.push_back(phone);
    }
  }
  std::vector<std::optional<time_point>> next(log.size(), now + policy.claim_lease);
  auto ids = insert_deliveries(sql, log, next);
  for (auto& [phone, msgs] : by_phone) {
    auto& o = out[request_of.at(phone)];
    auto& p = profiles.rows.at(phone);
    auto& res = sessions.at(p.id);
    o.profile = p;
    o.session = res.session;
    o.session_created = res.created;
    o.session_expired = res.expired.has_value();
    for (auto& m : msgs)
      if (m.received_at_ms > 0
          && (o.first_received_ms == 0 || m.received_at_ms < o.first_received_ms))
        o.first_received_ms = m.received_at_ms;
  }
  for (std::size_t i = 0; i < log.size(); ++i) {
    auto& o = out[request_of.at(owner[i])];
    if (ids[i] == 0)
      ++o.duplicates; // recorded under another dedupe key before (e.g. a derived id)
    else
      o.inbound.push_back(std::move(log[i]));
  }
  return out;
}

std::vector<std::optional<delivery_row>>
queue_replies(soci::session& sql, const channel_policy& policy,
              const std::vector<const reply_request*>& requests) {
  std::vector<std::optional<delivery_row>> out(requests.size());
  // 1. Lock every inbound row of every burst (1 round trip).
  std::vector<int64_t> ids;
  for (auto* r : requests)
    for (auto& c : r->inbound)
      ids.push_back(c.id);
  if (ids.empty())
    return out;
  struct locked {
    std::string token;
    int64_t session_id = 0;
    int64_t profile_id = 0;
    std::string correlation_id;
  };
  std::map<int64_t, locked> rows;
  auto found = pg_exec(sql, lock_burst_sql, {pg_int_array(ids)});
  for (int r = 0; r < found.size(); ++r)
    rows[found.int64(r, 0)] = locked{std::string{found.text(r, 1)}, found.int64(r, 2),
                                     found.int64(r, 3), std::string{found.text(r, 4)}};
  // 2. The claims still held, per burst, and their recipients' profiles (1 round trip).
  std::vector<std::vector<int64_t>> held(requests.size());
  std::vector<const locked*> last(requests.size(), nullptr);
  std::set<int64_t> profile_ids;
  for (std::size_t i = 0; i < requests.size(); ++i)
    for (auto& c : requests[i]->inbound) {
      auto it = rows.find(c.id);
      if (it == rows.end() || it->second.token != c.token)
        continue; // answered already, or another claimant took this one
      held[i].push_back(c.id);
      last[i] = &it->second;
      profile_ids.insert(it->second.profile_id);
    }
  auto profiles = profiles_by_id(sql, profile_ids);
  // 3. The replies planned and inserted (2 round trips), then linked (1 round trip).
  std::vector<delivery_row> replies;
  std::vector<std::optional<time_point>> next;
  std::vector<std::size_t> owner;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (!last[i])
      continue;
    auto& req = *requests[i];
    auto p = profiles.find(last[i]->profile_id);
    if (p == profiles.end())
      throw domain_error(sb_error::not_found, "the profile of a burst is gone");
    auto plan = core::plan_reply(policy, recipient_of(p->second), req.channel, req.text, req.now);
    replies.push_back(outbound_row(plan, p->second, last[i]->session_id, req.message_type,
                                   last[i]->correlation_id, last[i]->token));
    next.push_back(plan.queued ? std::optional<time_point>{req.now + policy.claim_lease}
                               : std::nullopt);
    owner.push_back(i);
  }
  auto reply_ids = insert_deliveries(sql, replies, next);
  std::vector<int64_t> link_ids, link_replies, step_replies, step_at;
  std::vector<std::string> step_kinds, step_details;
  for (std::size_t k = 0; k < replies.size(); ++k) {
    if (reply_ids[k] == 0)
      throw domain_error(sb_error::internal, "reply row was not inserted");
    for (const auto& st : requests[owner[k]]->steps) {
      step_replies.push_back(reply_ids[k]);
      step_at.push_back(
          std::chrono::duration_cast<std::chrono::milliseconds>(st.at.time_since_epoch()).count());
      step_kinds.push_back(st.kind);
      step_details.push_back(st.detail);
    }
    for (auto id : held[owner[k]]) {
      link_ids.push_back(id);
      link_replies.push_back(reply_ids[k]);
    }
    out[owner[k]] = std::move(replies[k]);
  }
  pg_exec(sql, link_burst_sql,
          {pg_int_array(link_ids), pg_int_array(link_replies), pg_int_array(step_replies),
           pg_int_array(step_at), pg_text_array(step_kinds), pg_text_array(step_details)});
  return out;
}

std::optional<delivery_row> queue_reply(soci::session& sql, const channel_policy& policy,
                                        const std::vector<claimed_inbound>& inbound,
                                        const std::string& channel, const std::string& text,
                                        const std::string& message_type, time_point now) {
  reply_request req{inbound, channel, text, message_type, now, {}, {}};
  return queue_replies(sql, policy, {&req}).at(0);
}

std::optional<replay_burst> load_for_replay(soci::session& sql, int64_t inbound_id,
                                            const std::string& token) {
  long long id = inbound_id;
  std::string tok = token;
  soci::statement st = (sql.prepare << claim_inbound_sql, soci::use(tok), soci::use(id));
  st.execute(true);
  if (st.get_affected_rows() == 0)
    return std::nullopt;
  replay_burst out;
  auto row = find_delivery(sql, inbound_id);
  if (!row)
    return std::nullopt;
  std::string phone;
  long long pid = row->profile_id;
  sql << profile_by_id_sql, soci::use(pid), soci::into(phone);
  auto profile = find_profile(sql, phone);
  auto session = find_session(sql, row->session_id);
  if (!profile || !session)
    return std::nullopt;
  out.profile = *profile;
  out.session = *session;
  out.inbound.push_back(std::move(*row));
  return out;
}

nlohmann::json tool_session(soci::session& sql, const core::session_machine& machine,
                            const std::string& phone, time_point now,
                            const std::function<void(core::session_record&)>& mutate,
                            const std::string& closed_reason) {
  auto profile = upsert_profile(sql, phone, {});
  auto opened = open_session_for(sql, machine, profile.id, now);
  auto& s = opened.session;
  mutate(s);
  if (s.status != core::session_status::closed)
    require(machine.touch(s, now));
  save_session(sql, s, closed_reason);
  return session_json(s, profile);
}

nlohmann::json tool_get_context(soci::session& sql, const std::string& phone, time_point now) {
  auto profile = find_profile(sql, phone);
  auto s = profile ? lock_open_session(sql, profile->id) : std::nullopt;
  if (!s || s->expires_at <= now)
    throw domain_error(sb_error::not_found, "no open session for this phone number");
  return {{"session_id", s->id}, {"status", core::to_string(s->status)}, {"context", s->context}};
}

std::vector<delivery_row> tool_send(soci::session& sql, const core::session_machine& machine,
                                    const channel_policy& policy, const std::string& phone,
                                    const std::vector<std::string>& channels,
                                    const std::string& text, const std::string& sms_text,
                                    const std::string& correlation_id, const std::string& token,
                                    time_point now) {
  auto profile = upsert_profile(sql, phone, {});
  auto opened = open_session_for(sql, machine, profile.id, now);
  require(machine.touch(opened.session, now));
  save_session(sql, opened.session);
  std::vector<delivery_row> out;
  for (auto& ch : channels) {
    auto body = ch == "whatsapp" ? core::format_whatsapp_text(text)
                                 : core::format_sms_text(sms_text.empty() ? text : sms_text,
                                                         policy.sms_max_segments);
    out.push_back(plan_outbound(sql, policy, profile, opened.session.id, ch, "text", body,
                                correlation_id, token, now));
  }
  return out;
}

nlohmann::json session_json(const core::session_record& s, const profile_row& p) {
  return {{"session_id", s.id},
          {"phone_number", p.phone_number},
          {"status", core::to_string(s.status)},
          {"context", s.context},
          {"expires_at", iso8601(s.expires_at)},
          {"last_activity_at", iso8601(s.last_activity_at)},
          {"call_id", s.call_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.call_id)},
          {"whatsapp_summary_sent", s.whatsapp_summary_sent},
          {"sms_summary_sent", s.sms_summary_sent},
          {"profile",
           {{"has_whatsapp", p.has_whatsapp},
            {"allows_sms", p.allows_sms},
            {"last_active_channel", p.last_active_channel},
            {"name", p.name}}}};
}

} // namespace switchboard::storage
