#include "storage/flows.hpp"

#include <soci/soci.h>

#include "storage/db.hpp"

namespace switchboard::storage {

using core::sb_error;

namespace {

/// Template parameters are short; Meta refuses long ones.
constexpr std::size_t template_parameter_limit = 1000;

constexpr const char* lock_inbound_sql
    = "SELECT id FROM message_delivery_log WHERE id = :id AND direction = 'inbound' AND "
      "reply_id IS NULL AND claim_token = :tok FOR UPDATE";

constexpr const char* claim_inbound_sql
    = "UPDATE message_delivery_log SET claim_token = :tok, updated_at = now() WHERE id = :id AND "
      "direction = 'inbound' AND reply_id IS NULL";

constexpr const char* profile_by_id_sql = "SELECT phone_number FROM profiles WHERE id = :id";

constexpr const char* history_sql
    = "SELECT id FROM (SELECT id FROM message_delivery_log WHERE session_id = :s AND status <> "
      "'skipped' AND body <> '' ORDER BY id DESC LIMIT :n) recent ORDER BY id";

std::vector<delivery_row> recent_history(soci::session& sql, int64_t session_id, std::size_t n) {
  long long sid = session_id;
  int lim = static_cast<int>(n);
  std::vector<long long> ids;
  soci::rowset<long long> rows = (sql.prepare << history_sql, soci::use(sid), soci::use(lim));
  for (auto id : rows)
    ids.push_back(id);
  std::vector<delivery_row> out;
  for (auto id : ids)
    if (auto r = find_delivery(sql, id))
      out.push_back(std::move(*r));
  return out;
}

void require(const core::expected<void>& r) {
  if (!r)
    throw domain_error(core::code_of(r.error()), core::reason_of(r.error()));
}

template <class T> T require(core::expected<T> r) {
  if (!r)
    throw domain_error(core::code_of(r.error()), core::reason_of(r.error()));
  return std::move(*r);
}

} // namespace

delivery_row plan_outbound(soci::session& sql, const channel_policy& policy,
                           const profile_row& profile, int64_t session_id,
                           const std::string& channel, const std::string& message_type,
                           const std::string& text, const std::string& correlation_id,
                           const std::string& token, time_point now) {
  delivery_row row;
  row.session_id = session_id;
  row.profile_id = profile.id;
  row.channel = channel;
  row.direction = "outbound";
  row.message_type = message_type;
  row.recipient = profile.phone_number;
  row.correlation_id = correlation_id;
  row.body = text;
  std::string skip;
  if (channel == "whatsapp") {
    row.provider = "whatsapp_cloud";
    bool window_open = profile.last_whatsapp_inbound_at
                       && now - *profile.last_whatsapp_inbound_at < policy.whatsapp_window;
    if (!policy.whatsapp_enabled)
      skip = "WhatsApp is disabled";
    else if (!profile.has_whatsapp)
      skip = "the profile has no WhatsApp";
    else if (!window_open && policy.template_name.empty())
      skip = "outside the 24 h WhatsApp window and no template is configured";
    else if (!window_open)
      row.payload = {{"template", policy.template_name},
                     {"language", policy.template_language},
                     {"parameters", {core::truncate_text(text, template_parameter_limit)}}};
  } else if (channel == "sms") {
    row.provider = policy.sms_provider;
    if (!policy.sms_enabled)
      skip = "SMS is disabled";
    else if (!profile.allows_sms)
      skip = "the profile does not allow SMS";
  } else {
    throw domain_error(sb_error::invalid_argument, "unknown channel '" + channel + "'");
  }
  std::optional<time_point> next;
  if (skip.empty()) {
    row.status = "queued";
    row.claim_token = token;
    next = now + policy.claim_lease;
  } else {
    row.status = "skipped";
    row.last_error = skip;
  }
  auto inserted = insert_delivery(sql, row, next);
  if (!inserted)
    throw domain_error(sb_error::internal, "outbound row was not inserted");
  return *inserted;
}

accepted_call accept_call_ended(soci::session& sql, const core::session_machine& machine,
                                const channel_policy& policy, const call_ended_input& in) {
  accepted_call out;
  const auto& call_id = in.summary.call_id;
  if (!claim_webhook(sql, "voice", call_id)) {
    out.duplicate = true;
    out.result = webhook_result(sql, "voice", call_id);
    return out;
  }
  profile_facts facts;
  facts.last_active_channel = "voice";
  facts.allows_sms = in.allows_sms;
  facts.name = in.summary.customer_name;
  facts.locale = in.summary.language;
  // A caller we have never seen is assumed to have WhatsApp unless the voice platform says
  // otherwise; the window rules still decide whether free-form text may go there.
  facts.has_whatsapp = in.has_whatsapp;
  if (!in.has_whatsapp && !find_profile(sql, in.phone))
    facts.has_whatsapp = true;
  auto profile = upsert_profile(sql, in.phone, facts);
  auto opened = open_session_for(sql, machine, profile.id, in.now);
  out.session_created = opened.created;
  out.session_expired = opened.expired_id.has_value();
  auto& s = opened.session;
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
  save_session(sql, s);
  auto wa = plan_outbound(sql, policy, profile, s.id, "whatsapp", "summary",
                          core::format_whatsapp_summary(in.summary), in.correlation_id, in.token,
                          in.now);
  auto sms
      = plan_outbound(sql, policy, profile, s.id, "sms", "summary",
                      core::format_sms_summary(in.summary), in.correlation_id, in.token, in.now);
  for (auto* r : {&wa, &sms})
    (r->status == "queued" ? out.sends : out.skipped).push_back(*r);
  out.result = {{"session_id", s.id}, {"correlation_id", in.correlation_id}};
  set_webhook_result(sql, "voice", call_id, out.result);
  return out;
}

accepted_inbound accept_inbound(soci::session& sql, const core::session_machine& machine,
                                const channel_policy& policy, const inbound_input& in) {
  accepted_inbound out;
  if (!claim_webhook(sql, in.provider + ":inbound", in.external_id)) {
    out.duplicate = true;
    return out;
  }
  profile_facts facts;
  facts.last_active_channel = in.channel;
  if (in.channel == "whatsapp") {
    facts.has_whatsapp = true;
    facts.whatsapp_jid = in.from.substr(in.from.rfind('+') + 1);
    facts.whatsapp_inbound_at = in.now;
  }
  if (!in.profile_name.empty())
    facts.name = in.profile_name;
  out.profile = upsert_profile(sql, in.from, facts);
  auto opened = open_session_for(sql, machine, out.profile.id, in.now);
  out.session = opened.session;
  out.session_created = opened.created;
  out.session_expired = opened.expired_id.has_value();
  require(machine.touch(out.session, in.now));
  save_session(sql, out.session);
  delivery_row row;
  row.session_id = out.session.id;
  row.profile_id = out.profile.id;
  row.channel = in.channel;
  row.provider = in.provider;
  row.direction = "inbound";
  row.message_type = in.type == "text" ? "text" : in.type;
  row.status = "received";
  row.recipient = in.from;
  row.body = in.text;
  row.external_id = in.external_id;
  row.correlation_id = in.correlation_id;
  row.claim_token = in.token;
  auto inserted = insert_delivery(sql, row, in.now + policy.claim_lease);
  if (!inserted) {
    // Recorded under another dedupe key before (e.g. a derived id); still one effect.
    out.duplicate = true;
    return out;
  }
  out.inbound = *inserted;
  out.history = recent_history(sql, out.session.id, 12);
  return out;
}

std::optional<accepted_inbound> load_for_replay(soci::session& sql, int64_t inbound_id,
                                                const std::string& token, std::size_t history) {
  long long id = inbound_id;
  std::string tok = token;
  soci::statement st = (sql.prepare << claim_inbound_sql, soci::use(tok), soci::use(id));
  st.execute(true);
  if (st.get_affected_rows() == 0)
    return std::nullopt;
  accepted_inbound out;
  auto row = find_delivery(sql, inbound_id);
  if (!row)
    return std::nullopt;
  out.inbound = *row;
  std::string phone;
  long long pid = row->profile_id;
  sql << profile_by_id_sql, soci::use(pid), soci::into(phone);
  auto profile = find_profile(sql, phone);
  auto session = find_session(sql, row->session_id);
  if (!profile || !session)
    return std::nullopt;
  out.profile = *profile;
  out.session = *session;
  out.history = recent_history(sql, session->id, history);
  return out;
}

std::optional<delivery_row> queue_reply(soci::session& sql, const channel_policy& policy,
                                        int64_t inbound_id, const std::string& token,
                                        const std::string& text, const std::string& message_type,
                                        time_point now) {
  long long id = inbound_id, found = 0;
  std::string tok = token;
  sql << lock_inbound_sql, soci::use(id), soci::use(tok), soci::into(found);
  if (!sql.got_data())
    return std::nullopt;
  auto inbound = find_delivery(sql, inbound_id);
  std::string phone;
  long long pid = inbound->profile_id;
  sql << profile_by_id_sql, soci::use(pid), soci::into(phone);
  auto profile = find_profile(sql, phone);
  auto body = inbound->channel == "whatsapp" ? core::format_whatsapp_text(text)
                                             : core::format_sms_text(text, policy.sms_max_segments);
  auto reply = plan_outbound(sql, policy, *profile, inbound->session_id, inbound->channel,
                             message_type, body, inbound->correlation_id, token, now);
  link_reply(sql, inbound_id, reply.id);
  return reply;
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
