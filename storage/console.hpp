#pragma once

// The operator console's reads and actions (GET/POST /admin/v1/...). Each flow answers the
// console's JSON; phones and bodies are masked unless the filter reveals them, and every action
// and reveal writes a console_audit row in the same transaction.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/console.hpp"

namespace soci {
class session;
}

namespace switchboard::storage {

/// {"items": [delivery item...], "next_before_id"}: newest first. 1 round trip (2 with reveal:
/// the audit row).
nlohmann::json console_deliveries(soci::session& sql, const core::delivery_filter& f);

/// {"delivery": item, "story": [...]}: the row and the rows of its correlation id and session
/// (its inbound message and reply included) and the LLM rounds and tool calls behind its
/// replies (llm_steps), as a time line. 404 when there is no such row. 2 round trips (3 with
/// reveal).
nlohmann::json console_delivery(soci::session& sql, int64_t id, bool reveal);

/// {"outbound", "notifications", "inbox", "items"}: backlog counts and the outbound rows still
/// to settle (queued, retrying, failed), oldest first (always masked). 2 round trips.
nlohmann::json console_queues(soci::session& sql, const core::queue_filter& f);

/// A failed outbound row back to queued, due now and unclaimed (the sweeper's outbox pass sends
/// it); the updated item. 404 unknown, 409 when it is not a failed outbound row. Audited.
/// 2 round trips (3 on a refusal).
nlohmann::json console_requeue(soci::session& sql, int64_t id);

/// A queued or failed outbound row to failed, last_error "cancelled by operator"; the updated
/// item. No attempt starts after it (an attempt already in flight may still record `sent`:
/// what went out is not hidden). 404 unknown, 409 otherwise. Audited. 2 round trips (3 on a
/// refusal).
nlohmann::json console_cancel(soci::session& sql, int64_t id);

/// {"items": [{id, at, action, target, detail}], "next_before_id"}. 1 round trip.
nlohmann::json console_audit(soci::session& sql, const core::console_page& page);

/// {"items": [session item...], "next_before_id"}: newest first. 1 round trip (2 with reveal).
nlohmann::json console_sessions(soci::session& sql, const core::session_filter& f);

/// {"session": item + context, "deliveries": [item...]}. 404 unknown. 2 round trips (3 with
/// reveal).
nlohmann::json console_session(soci::session& sql, int64_t id, bool reveal);

/// Closes an open session (closed_reason "operator"); the session item. 404 unknown, 409 when
/// closed already. Audited. 2 round trips (3 on a refusal).
nlohmann::json console_close_session(soci::session& sql, int64_t id);

/// {"minutes": [{t, by: {"channel:status": n}}]}: outbound rows by the minute of their last
/// update over the last `minutes` minutes (1..1440), oldest first; minutes with no row are
/// listed empty. 1 round trip.
nlohmann::json console_sends_chart(soci::session& sql, int minutes);

/// {"items": [{provider, channel, sent_1h, failed_1h, queued, p50_ms, p99_ms}]}: outbound rows
/// of the last hour by provider and channel (sent counts sent, delivered and read), the rows
/// queued now, and the median and 99th percentile (percentile_cont) of the last hour's attempt
/// latencies (last_latency_ms; null with none). 1 round trip.
nlohmann::json console_provider_counts(soci::session& sql);

/// {"rates", "hours", "handed_off", "top_articles", "knowledge_gaps"}: the support bot's
/// conversations and hand-offs (each with its notification and whether the provider replied),
/// and over the last f.hours its answers: questions, bot_answers (not escalated), answer_rate,
/// the articles answers cited most, and the questions escalated for no match or low confidence
/// (most frequent, then latest; masked unless revealed, a reveal audited). 4 round trips (5
/// with reveal).
nlohmann::json console_bot(soci::session& sql, const core::bot_filter& f = {});

} // namespace switchboard::storage
