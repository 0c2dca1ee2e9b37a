#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/delivery.hpp"
#include "core/omni/session.hpp"

namespace soci {
class session;
}

namespace switchboard::storage {

using time_point = std::chrono::system_clock::time_point;

/// Milliseconds since the epoch (the form timestamps cross the SQL boundary in).
int64_t to_ms(time_point t);
time_point from_ms(int64_t ms);

/// An end user, keyed by E.164 phone number.
struct profile_row {
  int64_t id = 0;
  std::string phone_number;     ///< E.164; empty for a WhatsApp user known only by a BSUID
  std::string whatsapp_jid;     ///< the WhatsApp address: the number's digits, or the BSUID
  std::string whatsapp_user_id; ///< the latest business-scoped user id seen (may be empty)
  bool has_whatsapp = false;
  bool allows_sms = true;
  std::string last_active_channel;
  std::optional<time_point> last_whatsapp_inbound_at;
  std::string name;
  std::string locale;
};

/// What an event tells about a profile; unset fields are left as they are (or defaulted when
/// the profile is created).
struct profile_facts {
  std::optional<bool> has_whatsapp;
  std::optional<bool> allows_sms;
  std::optional<std::string> whatsapp_jid;
  std::optional<std::string> whatsapp_user_id;
  std::optional<std::string> last_active_channel;
  std::optional<time_point> whatsapp_inbound_at;
  std::optional<std::string> name;
  std::optional<std::string> locale;
};

/// Finds the profile of a phone number or creates it (defaults: SMS allowed, no WhatsApp), then
/// applies `facts`; the row is locked until the transaction ends.
profile_row upsert_profile(soci::session& sql, const std::string& phone,
                           const profile_facts& facts);

/// The profile of a phone number, if any.
std::optional<profile_row> find_profile(soci::session& sql, const std::string& phone);

/// The open session of a profile, locked FOR UPDATE, if any.
std::optional<core::session_record> lock_open_session(soci::session& sql, int64_t profile_id);

/// The session with this id.
std::optional<core::session_record> find_session(soci::session& sql, int64_t id);

/// Stores a new session and returns it with its id.
core::session_record insert_session(soci::session& sql, core::session_record s);

/// Writes a session's mutable fields (status, context, expiry, flags, call id) and bumps its
/// version.
void save_session(soci::session& sql, core::session_record& s,
                  const std::string& closed_reason = {});

/// Opens (or continues) the session of a profile at `now` with the state machine's rules:
/// an expired open session is closed ("expired") and a new one opened. The row is locked.
struct opened_session {
  core::session_record session;
  bool created = false;
  std::optional<int64_t> expired_id;
};
opened_session open_session_for(soci::session& sql, const core::session_machine& machine,
                                int64_t profile_id, time_point now);

/// Closes every open session whose expiry has passed; returns how many.
int close_expired_sessions(soci::session& sql, time_point now, int limit = 1000);

/// One row of message_delivery_log.
struct delivery_row {
  int64_t id = 0;
  int64_t session_id = 0;
  int64_t profile_id = 0;
  std::string channel;
  std::string provider;
  std::string direction;
  std::string message_type;
  std::string status;
  std::string recipient;
  std::string body;
  nlohmann::json payload; ///< provider-specific send details (template name, ...) or null
  std::string external_id;
  int attempts = 0;
  std::string last_error;
  std::string correlation_id;
  std::string claim_token;
  int64_t reply_id = 0;
  core::message_pricing pricing; ///< what the provider reported it costs (WhatsApp)
  int sms_segments = 0;          ///< SMS: segments it went out in (0: unknown or not an SMS)
  std::string sms_encoding;      ///< SMS: "GSM-7" or "UCS-2" (empty: unknown)
};

/// Inserts a row; an inbound row whose (provider, external_id) exists already is not inserted
/// and nullopt is returned (the duplicate webhook case).
std::optional<delivery_row> insert_delivery(soci::session& sql, delivery_row row,
                                            std::optional<time_point> next_attempt_at = {});

/// The row with this id.
std::optional<delivery_row> find_delivery(soci::session& sql, int64_t id);

/// Rows of a session (oldest first).
std::vector<delivery_row> deliveries_of_session(soci::session& sql, int64_t session_id);

/// A delivery-log row as the API shows it: channel, status, attempts, error, and what it cost
/// (the provider's pricing for WhatsApp, segments and encoding for SMS; null when unknown).
nlohmann::json delivery_log_json(const delivery_row& row);

/// {"deliveries": [...]}: a session's delivery log as the API shows it. 1 round trip.
nlohmann::json session_deliveries_json(soci::session& sql, int64_t session_id);

/// The two outboxes: end-user messages (message_delivery_log) and provider notifications
/// (provider_notifications). Both follow the same claim/attempt protocol.
enum class outbox { deliveries, notifications };

/// Records the final failure of a send (and, for a delivery row, the attempt's latency when
/// known, >= 0, in the same UPDATE).
void record_failed(soci::session& sql, int64_t id, const std::string& error,
                   outbox box = outbox::deliveries, int64_t latency_ms = -1);

/// Links an inbound row to the reply queued for it.
void link_reply(soci::session& sql, int64_t inbound_id, int64_t reply_id);

/// The rows a claim may take: all of them (shards == 0), or, in a cluster, those whose shard
/// (their shard_key % shards, migrations/0012_outbox_shards.sql) is among `owned`.
struct owned_shards {
  uint32_t shards = 0;
  std::vector<int32_t> owned;
};

/// Selects due row ids with `select_due_sql` (:now in epoch ms, then the shard filter :n, :n2,
/// :owned of `only`, then :lim; FOR UPDATE SKIP LOCKED) and gives each a fresh claim token for
/// `lease` with `reclaim_sql` (:tok, :lease ms, :id).
std::vector<int64_t> reclaim_due(soci::session& sql, const char* select_due_sql,
                                 const char* reclaim_sql, time_point now,
                                 std::chrono::milliseconds lease, int limit,
                                 const owned_shards& only = {});

/// Queued rows whose attempt time passed (their claimant died or never tried): claims them with
/// fresh tokens for `lease` and returns them (in a cluster: only those of `only`'s shards).
std::vector<delivery_row> claim_due_deliveries(soci::session& sql, time_point now,
                                               std::chrono::milliseconds lease, int limit,
                                               const owned_shards& only = {});

/// Inbound rows still unanswered whose reply claim expired (their claimant died): claims them
/// with fresh tokens for `lease` and returns them (in a cluster: only those of `only`'s shards),
/// each with `recipient` set to its sender's entity key (the session actor's: a WhatsApp user
/// known by a BSUID only is core::whatsapp_user_key(business, bsuid), not the bare BSUID).
std::vector<delivery_row> claim_unanswered_inbound(soci::session& sql, time_point now,
                                                   std::chrono::milliseconds lease, int limit,
                                                   const owned_shards& only = {});

/// Claims a webhook delivery id for processing. False when it was claimed before: a duplicate
/// (a concurrent duplicate waits on the first one's row lock until that one commits).
bool claim_webhook(soci::session& sql, const std::string& source, const std::string& id);

/// Stores the answer given for a claimed webhook, so a retry gets the same answer.
void set_webhook_result(soci::session& sql, const std::string& source, const std::string& id,
                        const nlohmann::json& result);

/// The answer stored for a webhook (null when none).
nlohmann::json webhook_result(soci::session& sql, const std::string& source, const std::string& id);

/// ISO 8601 UTC text of a time point ("2026-11-21T06:40:23.758Z").
std::string iso8601(time_point t);

} // namespace switchboard::storage
