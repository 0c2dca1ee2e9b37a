#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "actors/events.hpp"
#include "config/settings.hpp"
#include "core/bot/provider_config.hpp"
#include "core/console.hpp"

namespace switchboard::actors {

class metrics;

/// Readiness as the storage actor sees it.
struct readiness {
  bool database = false;   ///< a live connection exists
  bool migrations = false; ///< every embedded migration is applied
  unsigned workers_up = 0;
  bool clustered = false;      ///< cluster.enabled
  bool leases_healthy = false; ///< clustered: leases renewed within 2/3 of the TTL
  unsigned shards_owned = 0;   ///< clustered: shards processed here now
};

/// The actor graph behind the HTTP edge. Its interface uses no CAF types, so the HTTP layer and
/// main() stay free of actor headers; every call returns at once and answers through a callback
/// (called exactly once, on an actor thread).
class runtime {
public:
  /// Starts the actor system (scheduler policy "sharing") and spawns the storage, HTTP client,
  /// router and scheduler actors.
  runtime(const config::settings& s, std::shared_ptr<metrics> m);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Asks the storage actor whether the database is reachable and migrated.
  void check_readiness(std::function<void(readiness)> done);

  /// Stores an inbound event as an inbox row (batched with other webhooks' rows: one INSERT per
  /// batch) and wakes its entity once the row is committed; `done` gets 200 after the commit
  /// (body {"status": "accepted"} or {"status": "duplicate"}), or 503 when it was not stored.
  void submit(core::inbound_message m, edge_callback done);
  void submit(core::status_update s, edge_callback done);
  /// `dedupe_key` names what the webhook's signature covers (see providers::chatwoot_dedupe_key).
  void submit(core::chatwoot_inbound c, std::string dedupe_key, edge_callback done);
  void submit(core::telegram_inbound t, edge_callback done);

  /// Accepts a call-ended event (batched with others: profiles, sessions, the summaries as
  /// delivery rows, all set-based) and hands the summaries to the adapters; `done` gets
  /// 202 {session_id, correlation_id} after the commit (the same answer on retries).
  void submit(call_ended_event ev, edge_callback done);

  /// Runs a tool for the session of req.phone; `done` gets its result.
  void submit(tool_request req, edge_callback done);

  // The provider API's reads and writes, each one named storage flow (storage/providers.hpp)
  // run on a storage worker; `done` gets 200 and its JSON, or the error's status and
  // {"error", "reason"} (401 for a key that is not active).

  /// {"provider_id"} of an active provider API key (a read).
  void authenticate_provider(std::string key, edge_callback done);
  /// The key's provider's notification config (a read).
  void get_provider_config(std::string key, edge_callback done);
  /// Creates or replaces it (a write, the key checked again under a share lock).
  void put_provider_config(std::string key, core::notification_config config, edge_callback done);
  /// A session's delivery log (a read).
  void session_deliveries(int64_t session_id, edge_callback done);

  // The operator console's reads and actions (storage/console.hpp), each one storage flow: `done`
  // gets 200 and its JSON or the error's status and {"error", "reason"} (404 unknown, 409 a
  // refused action). Reveals and actions run as writes (their audit row commits with them).

  void console_deliveries(core::delivery_filter f, edge_callback done);
  void console_delivery(int64_t id, bool reveal, edge_callback done);
  void console_queues(core::queue_filter f, edge_callback done);
  void console_requeue(int64_t id, edge_callback done);
  void console_cancel(int64_t id, edge_callback done);
  void console_audit(core::console_page page, edge_callback done);
  void console_sessions(core::session_filter f, edge_callback done);
  void console_session(int64_t id, bool reveal, edge_callback done);
  void console_close_session(int64_t id, edge_callback done);
  void console_sends_chart(int minutes, edge_callback done);
  void console_provider_counts(edge_callback done);
  void console_bot(core::bot_filter f, edge_callback done);

  /// Runs one of the support bot's read-only tools (core::read_only_tool_definitions; the
  /// arguments passed validate_tool_arguments): `done` gets 200 {"result": ...}, or the error's
  /// status and {"error", "reason"} (404 for an unknown conversation or account).
  void run_read_only_tool(std::string name, nlohmann::json arguments, edge_callback done);

  /// The settings the runtime was started with.
  const config::settings& settings() const;

  /// Waits (blocking; call from main only) until the storage pool holds a connection and the
  /// migrations are applied, up to `limit`; false when it did not happen in time.
  bool wait_until_ready(std::chrono::milliseconds limit);

  /// Waits (blocking; call from main only) until queued writes are committed, up to `limit`.
  bool flush_storage(std::chrono::milliseconds limit);

  /// Stops every actor and waits for them.
  void shutdown();

  /// The process metrics.
  metrics& stats();

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace switchboard::actors
