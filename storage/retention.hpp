#pragma once

// Retention: the tables that grow with traffic lose their rows past a horizon, a small batch at
// a time (one short statement each, rows locked by others skipped), so purging never blocks the
// ingest path nor holds locks for long. Rows something still needs are never purged.

#include <chrono>
#include <vector>

namespace soci {
class session;
}

namespace switchboard::storage {

/// A table retention purges.
enum class retained {
  inbox,                  ///< processed inbox rows (the dedupe window)
  processed_webhooks,     ///< the older webhook dedupe table (same window)
  delivery_status_early,  ///< status callbacks parked for a send that was never recorded
  message_delivery_log,   ///< delivery-log rows in a final state
  omnichannel_sessions,   ///< closed sessions whose delivery-log rows are all gone
  provider_notifications, ///< hand-off notifications in a final state
  bot_answers             ///< the support bot's recorded questions (the console's figures)
};

/// Every retained table, in purge order (a session goes after its delivery-log rows).
const std::vector<retained>& retained_tables();

/// The table's name (the `table` label of the purge counter).
const char* table_name(retained t);

/// Deletes at most `limit` rows of `t` older than `horizon` that nothing needs any more; returns
/// how many. Never purged: queued sends and notifications, inbound rows still awaiting their
/// reply, rows of open sessions, unprocessed inbox rows, sessions with delivery-log rows left.
/// One statement (its own short transaction when run alone); the oldest rows go first.
int purge_batch(soci::session& sql, retained t, std::chrono::seconds horizon, int limit);

} // namespace switchboard::storage
