#include "storage/console.hpp"

#include <algorithm>
#include <cmath>

#include <soci/soci.h>

#include "core/console.hpp"
#include "core/error.hpp"
#include "core/llm_trace.hpp"
#include "core/phone.hpp"
#include "storage/db.hpp"

namespace switchboard::storage {

namespace {

using nlohmann::json;

/// The columns of a delivery item, read by read_item (in this order).
constexpr const char* item_columns
    = "m.id, console_ts(m.created_at), console_ts(m.updated_at), m.direction, m.channel, "
      "m.provider, m.message_type, m.status, m.recipient, m.body, m.attempts, "
      "coalesce(m.last_error, ''), m.correlation_id, coalesce(m.session_id, 0), "
      "coalesce(m.external_id, ''), coalesce(m.sms_segments, 0), coalesce(m.sms_encoding, ''), "
      "coalesce(m.pricing_billable::int, -1), coalesce(m.pricing_category, ''), "
      "floor(extract(epoch FROM now() - m.created_at))::bigint, coalesce(m.reply_id, 0) ";

json or_null(const std::string& v) {
  return v.empty() ? json(nullptr) : json(v);
}

json read_item(const soci::row& r, bool reveal, bool with_age = false) {
  auto id_or_null = [](long long v) { return v == 0 ? json(nullptr) : json(v); };
  int segments = r.get<int>(15);
  int billable = r.get<int>(17);
  json item{{"id", r.get<long long>(0)},
            {"created_at", r.get<std::string>(1)},
            {"updated_at", r.get<std::string>(2)},
            {"direction", r.get<std::string>(3)},
            {"channel", r.get<std::string>(4)},
            {"provider", r.get<std::string>(5)},
            {"message_type", r.get<std::string>(6)},
            {"status", r.get<std::string>(7)},
            {"recipient", core::console_phone(r.get<std::string>(8), reveal)},
            {"body", core::console_body(r.get<std::string>(9), reveal)},
            {"attempts", r.get<int>(10)},
            {"last_error", or_null(r.get<std::string>(11))},
            {"correlation_id", r.get<std::string>(12)},
            {"session_id", id_or_null(r.get<long long>(13))},
            {"external_id", or_null(r.get<std::string>(14))},
            {"cost",
             {{"sms_segments", segments > 0 ? json(segments) : json(nullptr)},
              {"sms_encoding", or_null(r.get<std::string>(16))},
              {"pricing_billable", billable < 0 ? json(nullptr) : json(billable == 1)},
              {"pricing_category", or_null(r.get<std::string>(18))}}},
            {"reply_id", id_or_null(r.get<long long>(20))}};
  if (with_age)
    item["age_s"] = r.get<long long>(19);
  return item;
}

/// {"items": ..., "next_before_id"}: the next page starts below the last id of a full page.
json page_of(json items, const core::console_page& page) {
  json next = nullptr;
  if (static_cast<int>(items.size()) == page.limit && !items.empty())
    next = items.back().at("id");
  return json{{"items", std::move(items)}, {"next_before_id", std::move(next)}};
}

json page_json(const core::console_page& p) {
  json j{{"limit", p.limit}};
  if (p.before_id > 0)
    j["before_id"] = p.before_id;
  return j;
}

void audit(soci::session& sql, const std::string& action, const std::string& target,
           const json& detail) {
  std::string a = action, t = target, d = detail.dump();
  sql << "INSERT INTO console_audit (action, target, detail) VALUES (:a, :t, CAST(:d AS jsonb))",
      soci::use(a), soci::use(t), soci::use(d);
}

/// A filter as the audit row shows it: its phone masked (the audit says what was looked at,
/// not whose number it was).
json audited_filter(json f) {
  if (f.contains("phone"))
    f["phone"] = core::mask_phone(f["phone"].get<std::string>());
  return f;
}

constexpr const char* deliveries_sql_head = "WITH f AS (SELECT CAST(:f AS jsonb) AS j) SELECT ";

constexpr const char* deliveries_sql_tail
    = "FROM message_delivery_log m, f WHERE "
      "(f.j->>'phone' IS NULL OR m.profile_id IN (SELECT p.id FROM profiles p WHERE "
      "  p.phone_number = f.j->>'phone' OR p.whatsapp_user_id = f.j->>'phone')) "
      "AND (f.j->>'correlation_id' IS NULL OR m.correlation_id = f.j->>'correlation_id') "
      "AND (f.j->>'channel' IS NULL OR m.channel = f.j->>'channel') "
      "AND (f.j->>'status' IS NULL OR m.status = f.j->>'status') "
      "AND (f.j->>'direction' IS NULL OR m.direction = f.j->>'direction') "
      "AND (f.j->>'before_id' IS NULL OR m.id < (f.j->>'before_id')::bigint) "
      "ORDER BY m.id DESC LIMIT (SELECT (j->>'limit')::int FROM f)";

json rows_json(soci::session& sql, const std::string& query, const std::string& param, bool reveal,
               bool with_age = false) {
  auto items = json::array();
  std::string p = param;
  soci::rowset<soci::row> rows = (sql.prepare << query, soci::use(p));
  for (auto& r : rows)
    items.push_back(read_item(r, reveal, with_age));
  return items;
}

std::string id_param(int64_t id) {
  return json{{"id", id}}.dump();
}

/// The story of one message: its rows as a time line (what arrived, what was queued, how each
/// send ended).
json story_of(const json& rows) {
  auto story = json::array();
  for (const auto& row : rows) {
    auto channel = row["channel"].get<std::string>();
    if (row["direction"] == "inbound") {
      story.push_back({{"at", row["created_at"]},
                       {"kind", "inbound"},
                       {"title", "Received on " + channel},
                       {"detail",
                        {{"id", row["id"]},
                         {"from", row["recipient"]},
                         {"body", row["body"]},
                         {"provider", row["provider"]},
                         {"reply_id", row["reply_id"]}}}});
      continue;
    }
    auto type = row["message_type"].get<std::string>();
    story.push_back({{"at", row["created_at"]},
                     {"kind", type == "reply" ? "reply" : "send_attempt"},
                     {"title", "Queued " + type + " on " + channel + " via "
                                   + row["provider"].get<std::string>()},
                     {"detail",
                      {{"id", row["id"]},
                       {"to", row["recipient"]},
                       {"body", row["body"]},
                       {"attempts", row["attempts"]}}}});
    if (row["status"] != "queued")
      story.push_back({{"at", row["updated_at"]},
                       {"kind", "status"},
                       {"title", row["message_type"].get<std::string>() + " "
                                     + row["status"].get<std::string>()},
                       {"detail",
                        {{"id", row["id"]},
                         {"status", row["status"]},
                         {"attempts", row["attempts"]},
                         {"last_error", row["last_error"]},
                         {"external_id", row["external_id"]},
                         {"cost", row["cost"]}}}});
  }
  std::stable_sort(story.begin(), story.end(),
                   [](const json& a, const json& b) { return a["at"] < b["at"]; });
  return story;
}

/// Session item columns, read by read_session.
constexpr const char* session_columns
    = "s.id, coalesce(p.phone_number, p.whatsapp_user_id, ''), s.status, console_ts(s.created_at), "
      "console_ts(s.last_activity_at), console_ts(s.expires_at), coalesce(s.closed_reason, ''), "
      "coalesce(p.last_active_channel, ''), "
      "(SELECT count(*) FROM message_delivery_log d WHERE d.session_id = s.id), s.context::text ";

json read_session(const soci::row& r, bool reveal, bool with_context) {
  json item{{"id", r.get<long long>(0)},
            {"phone", core::console_phone(r.get<std::string>(1), reveal)},
            {"status", r.get<std::string>(2)},
            {"created_at", r.get<std::string>(3)},
            {"last_activity_at", r.get<std::string>(4)},
            {"expires_at", r.get<std::string>(5)},
            {"closed_reason", or_null(r.get<std::string>(6))},
            {"last_channel", or_null(r.get<std::string>(7))},
            {"messages", r.get<long long>(8)}};
  if (with_context) {
    auto context = json::parse(r.get<std::string>(9), nullptr, false);
    // The context holds what the caller said (summaries, notes): masked like a body.
    item["context"] = reveal ? context : json(core::console_body(context.dump(), false));
  }
  return item;
}

json one_session(soci::session& sql, int64_t id, bool reveal, bool with_context) {
  long long i = id;
  soci::rowset<soci::row> rows
      = (sql.prepare << std::string{"SELECT "} + session_columns
                            + "FROM omnichannel_sessions s JOIN profiles p ON p.id = s.profile_id "
                              "WHERE s.id = :id",
         soci::use(i));
  for (auto& r : rows)
    return read_session(r, reveal, with_context);
  throw domain_error(core::sb_error::not_found, "session " + std::to_string(id) + " not found");
}

json one_delivery(soci::session& sql, int64_t id) {
  auto items
      = rows_json(sql,
                  std::string{"WITH f AS (SELECT CAST(:f AS jsonb) AS j) SELECT "} + item_columns
                      + "FROM message_delivery_log m, f WHERE m.id = (f.j->>'id')::bigint",
                  id_param(id), false);
  if (items.empty())
    throw domain_error(core::sb_error::not_found, "delivery " + std::to_string(id) + " not found");
  return items[0];
}

/// Runs a guarded UPDATE ... RETURNING id on a delivery row; on no row, tells 404 from 409.
json guarded_delivery_change(soci::session& sql, int64_t id, const char* update,
                             const std::string& action, const char* detail_key,
                             const std::string& refusal) {
  long long i = id, got = 0;
  std::string before;
  sql << update, soci::use(i), soci::into(got), soci::into(before);
  if (!sql.got_data()) {
    auto row = one_delivery(sql, id); // 404 when there is no such row
    throw domain_error(core::sb_error::conflict, "delivery " + std::to_string(id) + " is "
                                                     + row["direction"].get<std::string>() + " and "
                                                     + row["status"].get<std::string>() + ": "
                                                     + refusal);
  }
  audit(sql, action, "delivery:" + std::to_string(id), {{detail_key, before}});
  return one_delivery(sql, id);
}

} // namespace

json console_deliveries(soci::session& sql, const core::delivery_filter& f) {
  json j = page_json(f.page);
  for (auto [k, v] : {std::pair{"phone", &f.phone}, std::pair{"correlation_id", &f.correlation_id},
                      std::pair{"channel", &f.channel}, std::pair{"status", &f.status},
                      std::pair{"direction", &f.direction}})
    if (!v->empty())
      j[k] = *v;
  if (f.reveal)
    audit(sql, "reveal", "deliveries", audited_filter(j));
  return page_of(rows_json(sql,
                           std::string{deliveries_sql_head} + item_columns + deliveries_sql_tail,
                           j.dump(), f.reveal),
                 f.page);
}

json console_delivery(soci::session& sql, int64_t id, bool reveal) {
  if (reveal)
    audit(sql, "reveal", "delivery:" + std::to_string(id), json::object());
  // The row, the rows of its correlation id and session, and its inbound message or reply.
  auto rows = rows_json(
      sql,
      std::string{"WITH f AS (SELECT CAST(:f AS jsonb) AS j), t AS (SELECT d.id, d.correlation_id, "
                  "d.session_id, d.reply_id FROM message_delivery_log d, f WHERE d.id = "
                  "(f.j->>'id')::bigint) SELECT "}
          + item_columns
          + "FROM message_delivery_log m, t WHERE m.id = t.id OR m.correlation_id = "
            "t.correlation_id OR m.session_id = t.session_id OR m.id = t.reply_id OR m.reply_id "
            "= t.id ORDER BY m.created_at, m.id LIMIT 500",
      id_param(id), reveal);
  json delivery = nullptr;
  for (const auto& r : rows)
    if (r["id"] == id)
      delivery = r;
  if (delivery.is_null())
    throw domain_error(core::sb_error::not_found, "delivery " + std::to_string(id) + " not found");
  auto story = story_of(rows);
  // The LLM rounds and tool calls behind the replies of the story.
  std::vector<int64_t> reply_ids;
  for (const auto& r : rows)
    if (r["direction"] == "outbound")
      reply_ids.push_back(r["id"].get<int64_t>());
  if (!reply_ids.empty()) {
    std::string ids = json(reply_ids).dump();
    soci::rowset<soci::row> steps
        = (sql.prepare << "SELECT console_ts(s.at), s.kind, s.detail::text, s.reply_id FROM "
                          "llm_steps s WHERE s.reply_id IN (SELECT jsonb_array_elements_text("
                          "CAST(:ids AS jsonb))::bigint) ORDER BY s.at, s.id",
           soci::use(ids));
    for (auto& r : steps) {
      auto detail = json::parse(r.get<std::string>(2));
      detail["reply_id"] = r.get<long long>(3);
      story.push_back({{"at", r.get<std::string>(0)},
                       {"kind", r.get<std::string>(1)},
                       {"title", core::llm_step_title(r.get<std::string>(1), detail)},
                       {"detail", std::move(detail)}});
    }
    std::stable_sort(story.begin(), story.end(),
                     [](const json& a, const json& b) { return a["at"] < b["at"]; });
  }
  return json{{"delivery", std::move(delivery)}, {"story", std::move(story)}};
}

json console_queues(soci::session& sql, const core::queue_filter& f) {
  long long queued = 0, retrying = 0, failed = 0, oldest = -1, n_queued = 0, n_failed = 0,
            pending = 0, oldest_pending = -1;
  sql << "SELECT "
         "(SELECT count(*) FROM message_delivery_log WHERE direction = 'outbound' AND status = "
         "'queued' AND attempts = 0), "
         "(SELECT count(*) FROM message_delivery_log WHERE direction = 'outbound' AND status = "
         "'queued' AND attempts > 0), "
         "(SELECT count(*) FROM message_delivery_log WHERE direction = 'outbound' AND status = "
         "'failed'), "
         "(SELECT coalesce(floor(extract(epoch FROM now() - min(created_at))), -1)::bigint FROM "
         "message_delivery_log WHERE direction = 'outbound' AND status = 'queued'), "
         "(SELECT count(*) FROM provider_notifications WHERE status = 'queued'), "
         "(SELECT count(*) FROM provider_notifications WHERE status = 'failed'), "
         "(SELECT count(*) FROM inbox WHERE processed_at IS NULL), "
         "(SELECT coalesce(floor(extract(epoch FROM now() - min(received_at))), -1)::bigint FROM "
         "inbox WHERE processed_at IS NULL)",
      soci::into(queued), soci::into(retrying), soci::into(failed), soci::into(oldest),
      soci::into(n_queued), soci::into(n_failed), soci::into(pending), soci::into(oldest_pending);
  auto age = [](long long v) { return v < 0 ? json(nullptr) : json(v); };
  json j{{"limit", f.page.limit}, {"status", f.status}};
  if (f.page.before_id > 0)
    j["after_id"] = f.page.before_id;
  auto items = rows_json(
      sql,
      std::string{"WITH f AS (SELECT CAST(:f AS jsonb) AS j) SELECT "} + item_columns
          + "FROM message_delivery_log m, f WHERE m.direction = 'outbound' AND m.status IN "
            "('queued', 'failed') AND (f.j->>'status' = '' "
            "OR (f.j->>'status' = 'failed' AND m.status = 'failed') "
            "OR (f.j->>'status' = 'queued' AND m.status = 'queued' AND m.attempts = 0) "
            "OR (f.j->>'status' = 'retrying' AND m.status = 'queued' AND m.attempts > 0)) "
            "AND (f.j->>'after_id' IS NULL OR m.id > (f.j->>'after_id')::bigint) "
            "ORDER BY m.id LIMIT (SELECT (j->>'limit')::int FROM f)",
      j.dump(), false, true);
  json next = nullptr;
  if (static_cast<int>(items.size()) == f.page.limit && !items.empty())
    next = items.back().at("id");
  return json{{"outbound",
               {{"queued", queued},
                {"retrying", retrying},
                {"failed", failed},
                {"oldest_queued_age_s", age(oldest)}}},
              {"notifications", {{"queued", n_queued}, {"failed", n_failed}}},
              {"inbox", {{"pending", pending}, {"oldest_pending_age_s", age(oldest_pending)}}},
              {"items", std::move(items)},
              {"next_after_id", std::move(next)}};
}

json console_requeue(soci::session& sql, int64_t id) {
  return guarded_delivery_change(
      sql, id,
      "UPDATE message_delivery_log m SET status = 'queued', next_attempt_at = now(), "
      "claim_token = NULL, updated_at = now() FROM message_delivery_log o WHERE m.id = :id AND "
      "o.id = m.id AND m.direction = 'outbound' AND m.status = 'failed' RETURNING m.id, "
      "coalesce(o.last_error, '')",
      "requeue", "last_error", "only a failed outbound row can be requeued");
}

json console_cancel(soci::session& sql, int64_t id) {
  return guarded_delivery_change(
      sql, id,
      "UPDATE message_delivery_log m SET status = 'failed', last_error = 'cancelled by operator', "
      "next_attempt_at = NULL, claim_token = NULL, updated_at = now() FROM message_delivery_log o "
      "WHERE m.id = :id AND o.id = m.id AND m.direction = 'outbound' AND m.status IN ('queued', "
      "'failed') RETURNING m.id, o.status",
      "cancel", "status", "only a queued or failed outbound row can be cancelled");
}

json console_audit(soci::session& sql, const core::console_page& page) {
  auto items = json::array();
  std::string p = page_json(page).dump();
  soci::rowset<soci::row> rows
      = (sql.prepare << "WITH f AS (SELECT CAST(:f AS jsonb) AS j) SELECT a.id, console_ts(a.at), "
                        "a.action, a.target, a.detail::text FROM console_audit a, f WHERE "
                        "(f.j->>'before_id' IS NULL OR a.id < (f.j->>'before_id')::bigint) "
                        "ORDER BY a.id DESC LIMIT (SELECT (j->>'limit')::int FROM f)",
         soci::use(p));
  for (auto& r : rows)
    items.push_back({{"id", r.get<long long>(0)},
                     {"at", r.get<std::string>(1)},
                     {"action", r.get<std::string>(2)},
                     {"target", r.get<std::string>(3)},
                     {"detail", json::parse(r.get<std::string>(4))}});
  return page_of(std::move(items), page);
}

json console_sessions(soci::session& sql, const core::session_filter& f) {
  json j = page_json(f.page);
  if (!f.status.empty())
    j["status"] = f.status;
  if (!f.phone.empty())
    j["phone"] = f.phone;
  if (f.reveal)
    audit(sql, "reveal", "sessions", audited_filter(j));
  auto items = json::array();
  std::string p = j.dump();
  soci::rowset<soci::row> rows
      = (sql.prepare << std::string{"WITH f AS (SELECT CAST(:f AS jsonb) AS j) SELECT "}
                            + session_columns
                            + "FROM omnichannel_sessions s JOIN profiles p ON p.id = "
                              "s.profile_id, f WHERE "
                              "(f.j->>'status' IS NULL OR s.status = f.j->>'status') "
                              "AND (f.j->>'phone' IS NULL OR p.phone_number = f.j->>'phone' OR "
                              "p.whatsapp_user_id = f.j->>'phone') "
                              "AND (f.j->>'before_id' IS NULL OR s.id < "
                              "(f.j->>'before_id')::bigint) "
                              "ORDER BY s.id DESC LIMIT (SELECT (j->>'limit')::int FROM f)",
         soci::use(p));
  for (auto& r : rows)
    items.push_back(read_session(r, f.reveal, false));
  return page_of(std::move(items), f.page);
}

json console_session(soci::session& sql, int64_t id, bool reveal) {
  if (reveal)
    audit(sql, "reveal", "session:" + std::to_string(id), json::object());
  auto session = one_session(sql, id, reveal, true);
  auto deliveries
      = rows_json(sql,
                  std::string{"WITH f AS (SELECT CAST(:f AS jsonb) AS j) SELECT "} + item_columns
                      + "FROM message_delivery_log m, f WHERE m.session_id = "
                        "(f.j->>'id')::bigint ORDER BY m.id LIMIT 500",
                  id_param(id), reveal);
  return json{{"session", std::move(session)}, {"deliveries", std::move(deliveries)}};
}

json console_close_session(soci::session& sql, int64_t id) {
  long long i = id, got = 0;
  sql << "UPDATE omnichannel_sessions SET status = 'closed', closed_reason = 'operator', "
         "closed_at = now(), updated_at = now(), version = version + 1 WHERE id = :id AND "
         "status <> 'closed' RETURNING id",
      soci::use(i), soci::into(got);
  if (!sql.got_data()) {
    auto s = one_session(sql, id, false, false); // 404 when unknown
    throw domain_error(core::sb_error::conflict,
                       "session " + std::to_string(id) + " is closed already ("
                           + s.value("closed_reason", json("")).dump() + ")");
  }
  audit(sql, "close_session", "session:" + std::to_string(id), json::object());
  return one_session(sql, id, false, false);
}

json console_sends_chart(soci::session& sql, int minutes) {
  int n = minutes;
  auto out = json::array();
  soci::rowset<soci::row> rows
      = (sql.prepare << "WITH b AS (SELECT generate_series(date_trunc('minute', now()) - "
                        "make_interval(mins => :n - 1), date_trunc('minute', now()), interval "
                        "'1 minute') AS t) "
                        "SELECT console_ts(b.t), coalesce(string_agg(m.channel || ':' || m.status "
                        "|| '=' || m.n, ',' ORDER BY m.channel, m.status), '') FROM b LEFT JOIN ("
                        "SELECT date_trunc('minute', updated_at) AS t, channel, status, "
                        "count(*) AS n FROM message_delivery_log WHERE direction = 'outbound' AND "
                        "updated_at >= date_trunc('minute', now()) - make_interval(mins => :n2 - "
                        "1) GROUP BY 1, 2, 3) m ON m.t = b.t GROUP BY b.t ORDER BY b.t",
         soci::use(n), soci::use(n));
  for (auto& r : rows) {
    json by = json::object();
    auto text = r.get<std::string>(1);
    std::size_t pos = 0;
    while (pos < text.size()) {
      auto end = text.find(',', pos);
      if (end == std::string::npos)
        end = text.size();
      auto part = text.substr(pos, end - pos);
      auto eq = part.rfind('=');
      by[part.substr(0, eq)] = std::stoll(part.substr(eq + 1));
      pos = end + 1;
    }
    out.push_back({{"t", r.get<std::string>(0)}, {"by", std::move(by)}});
  }
  return json{{"minutes", std::move(out)}};
}

/// A latency percentile in ms (one decimal), null for none (-1).
json ms_or_null(double v) {
  return v < 0 ? json(nullptr) : json(std::round(v * 10) / 10);
}

json console_provider_counts(soci::session& sql) {
  auto items = json::array();
  soci::rowset<soci::row> rows
      = (sql.prepare << "SELECT provider, channel, "
                        "count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read') AND "
                        "updated_at >= now() - interval '1 hour'), "
                        "count(*) FILTER (WHERE status = 'failed' AND updated_at >= now() - "
                        "interval '1 hour'), "
                        "count(*) FILTER (WHERE status = 'queued'), "
                        "coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY last_latency_ms) "
                        "FILTER (WHERE updated_at >= now() - interval '1 hour'), -1), "
                        "coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY last_latency_ms) "
                        "FILTER (WHERE updated_at >= now() - interval '1 hour'), -1) "
                        "FROM message_delivery_log WHERE direction = 'outbound' AND (status = "
                        "'queued' OR updated_at >= now() - interval '1 hour') "
                        "GROUP BY provider, channel ORDER BY provider, channel");
  for (auto& r : rows)
    items.push_back({{"provider", r.get<std::string>(0)},
                     {"channel", r.get<std::string>(1)},
                     {"sent_1h", r.get<long long>(2)},
                     {"failed_1h", r.get<long long>(3)},
                     {"queued", r.get<long long>(4)},
                     {"p50_ms", ms_or_null(r.get<double>(5))},
                     {"p99_ms", ms_or_null(r.get<double>(6))}});
  return json{{"items", std::move(items)}};
}

json console_bot(soci::session& sql, const core::bot_filter& f) {
  if (f.reveal)
    audit(sql, "reveal", "bot", {{"hours", f.hours}});
  auto handed = json::array();
  long long conversations = 0, handed_off = 0;
  soci::rowset<soci::row> rows
      = (sql.prepare
         << "SELECT t.n, t.h, c.account_id, c.conversation_id, coalesce(c.escalation_reason, ''), "
            "c.status, console_ts(c.updated_at), coalesce(n.channel, ''), coalesce(n.status, ''), "
            "coalesce(n.attempts, 0), coalesce(n.last_error, ''), "
            "(n.replied_at IS NOT NULL)::int, coalesce(console_ts(n.replied_at), '') "
            "FROM (SELECT count(*) AS n, count(*) FILTER (WHERE bot_state = 'handed_off') AS h "
            "FROM chatwoot_conversations) t "
            "LEFT JOIN (SELECT * FROM chatwoot_conversations WHERE bot_state = 'handed_off' "
            "ORDER BY updated_at DESC LIMIT 50) c ON true "
            "LEFT JOIN provider_notifications n ON n.account_id = c.account_id AND "
            "n.conversation_id = c.conversation_id AND n.handoff_seq = c.handoff_seq "
            "ORDER BY c.updated_at DESC");
  for (auto& r : rows) {
    conversations = r.get<long long>(0);
    handed_off = r.get<long long>(1);
    if (r.get_indicator(2) == soci::i_null)
      continue;
    auto channel = r.get<std::string>(7);
    json notification = nullptr;
    if (!channel.empty())
      notification = {{"channel", channel},
                      {"status", r.get<std::string>(8)},
                      {"attempts", r.get<int>(9)},
                      {"last_error", or_null(r.get<std::string>(10))}};
    handed.push_back({{"account_id", r.get<long long>(2)},
                      {"conversation_id", r.get<long long>(3)},
                      {"reason", or_null(r.get<std::string>(4))},
                      {"status", r.get<std::string>(5)},
                      {"updated_at", r.get<std::string>(6)},
                      {"notification", std::move(notification)},
                      {"provider_replied", r.get<int>(11) == 1},
                      {"provider_replied_at", or_null(r.get<std::string>(12))}});
  }
  // The answers of the window: counts, the articles cited, the questions not answered.
  int hours = f.hours;
  long long questions = 0, answered = 0;
  sql << "SELECT count(*), count(*) FILTER (WHERE NOT escalated) FROM bot_answers WHERE at >= "
         "now() - make_interval(hours => :h)",
      soci::use(hours), soci::into(questions), soci::into(answered);
  auto top = json::array();
  soci::rowset<soci::row> cited
      = (sql.prepare << "SELECT coalesce(s->>'title', ''), coalesce(s->>'url', ''), "
                        "coalesce((s->>'article_id')::bigint, 0), count(*) FROM bot_answers b, "
                        "jsonb_array_elements(b.sources) s WHERE NOT b.escalated AND b.at >= now() "
                        "- make_interval(hours => :h) GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1 LIMIT 10",
         soci::use(hours));
  for (auto& r : cited)
    top.push_back({{"title", r.get<std::string>(0)},
                   {"url", r.get<std::string>(1)},
                   {"article_id", r.get<long long>(2)},
                   {"cited", r.get<long long>(3)}});
  auto gaps = json::array();
  soci::rowset<soci::row> missed
      = (sql.prepare << "SELECT min(question), console_ts(max(at)), count(*), "
                        "string_agg(DISTINCT reason, ',' ORDER BY reason) FROM bot_answers WHERE "
                        "reason IN ('no_match', 'low_confidence') AND at >= now() - "
                        "make_interval(hours => :h) GROUP BY lower(btrim(question)) "
                        "ORDER BY count(*) DESC, max(at) DESC LIMIT 20",
         soci::use(hours));
  for (auto& r : missed)
    gaps.push_back({{"question", core::console_body(r.get<std::string>(0), f.reveal)},
                    {"at", r.get<std::string>(1)},
                    {"count", r.get<long long>(2)},
                    {"reason", r.get<std::string>(3)}});
  return json{{"rates",
               {{"conversations", conversations},
                {"handed_off", handed_off},
                {"escalation_rate", conversations == 0
                                        ? json(nullptr)
                                        : json(static_cast<double>(handed_off) / conversations)},
                {"questions", questions},
                {"bot_answers", answered},
                {"answer_rate", questions == 0 ? json(nullptr)
                                               : json(static_cast<double>(answered) / questions)}}},
              {"hours", hours},
              {"handed_off", std::move(handed)},
              {"top_articles", std::move(top)},
              {"knowledge_gaps", std::move(gaps)}};
}

} // namespace switchboard::storage
