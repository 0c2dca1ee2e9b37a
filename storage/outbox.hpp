#pragma once

// The outbox's hot steps, set-based: the claims of many attempts and the outcomes of many sends
// in one statement each (the channel adapters batch them through the storage actor).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/events.hpp"
#include "core/omni/outbound.hpp"
#include "storage/cluster.hpp"
#include "storage/omnichannel.hpp"

namespace soci {
class session;
}

namespace switchboard::storage {

/// One attempt's claim: the row, the token the attempt holds, the table.
struct attempt_claim {
  int64_t id = 0;
  std::string token;
  outbox box = outbox::deliveries;
};

/// A cluster's fence for outbox writes: a delivery row whose shard is among `fence`'s leases is
/// written only while that lease is still the fence's (owner and epoch, read FOR SHARE in the
/// same statement: no extra round trip); the shards found stale are added to `stale` and their
/// rows refused. Rows of shards outside the fence (a call summary accepted on another node) are
/// guarded by their claim token only, as without a cluster.
struct outbox_fence {
  const shard_fence* fence = nullptr;
  std::vector<int32_t>* stale = nullptr;
};

/// The fence of a failure-path write of one outbox row (a retry scheduled, a failure recorded, a
/// send held back or backed off, a fallback queued): when the row's shard (shard_key % shards)
/// is among `fence`'s leases, reads that lease row FOR SHARE (held to the end of the
/// transaction, so a new owner's take waits for it) and answers the shard if its owner or epoch
/// moved on: the caller must then write nothing for the row. nullopt when the write may go on
/// (the lease holds, or the row's shard is outside the fence: guarded as without a cluster).
/// 1 round trip; none for an empty fence.
std::optional<int32_t> row_fenced_out(soci::session& sql, int64_t id, outbox box,
                                      const shard_fence& fence);

/// Takes the claim of queued rows for one attempt each, when their token still holds it (or
/// they are unclaimed); counts the attempts. Answers per claim whether it was taken. 1 round
/// trip per table present in the batch. Rows are fenced by `fence` when given (delivery rows in
/// the same statement, notifications by row_fenced_out: +1 round trip each).
std::vector<bool> begin_attempts(soci::session& sql, const std::vector<const attempt_claim*>& in,
                                 std::chrono::milliseconds lease, const outbox_fence& fence = {});

/// A send the provider accepted.
struct sent_record {
  int64_t id = 0;
  std::string external_id; ///< the provider's id (empty when it gave none)
  outbox box = outbox::deliveries;
  int sms_segments = 0;       ///< SMS: segments the body went out in (0: not an SMS)
  std::string sms_encoding{}; ///< SMS: "GSM-7" or "UCS-2"
  int64_t latency_ms = -1;    ///< the attempt's provider call (-1: unknown, kept as it was)
};

/// Records sends as sent with the providers' ids (and an SMS's segments and encoding, and the
/// attempt's latency in last_latency_ms, in the same UPDATE), sets the
/// sessions' summary flags for summaries, and applies status callbacks that raced ahead of them
/// (acting on their error codes with `policy`, see apply_status_update). 2-3 round trips per
/// batch (plus a few per early status found). Answers per record whether its row was updated.
/// Rows are fenced by `fence` when given (a stale owner's record is refused; notifications by
/// row_fenced_out, +1 round trip each).
std::vector<bool> record_sends(soci::session& sql, const core::channel_policy& policy,
                               const std::vector<const sent_record*>& in,
                               const outbox_fence& fence = {});

/// What applying one status callback did.
struct status_outcome {
  std::string status;            ///< the row's status afterwards; empty when parked for later
  std::string channel;           ///< the row's channel (when found)
  core::message_pricing pricing; ///< pricing recorded now (empty when none or recorded before)
  std::string fallback_channel;  ///< channel of the fallback send queued, if any
  bool backed_off = false;       ///< requeued for later: a per-user limit of the provider
};

/// Applies a provider status callback: forward-only status, the pricing it carries (recorded
/// once per row), and on a WhatsApp failure the action its error code calls for
/// (core::whatsapp_error_action_for): a per-user limit or throughput error requeues the row for
/// later (until its attempts run out), 131047 and 131026 queue the fallback send
/// (queue_whatsapp_fallback). Parked for later when the id is not known yet. 2-6 round trips.
status_outcome apply_status_update(soci::session& sql, const core::channel_policy& policy,
                                   const core::status_update& s);

/// Puts a row hit by a per-user limit back in the queue, due after `delay` and unclaimed, so the
/// outbox sweeper sends it then (no other row waits for it). False when its attempts are spent
/// (core::whatsapp_user_backoff_attempts); the row is then left as it was. 1 round trip.
bool back_off_row(soci::session& sql, int64_t id, const std::string& error,
                  std::chrono::milliseconds delay);

/// A WhatsApp send refused synchronously with `code` (131047, 131026): records the row failed
/// with `reason` and queues its fallback. nullopt when the row was no longer queued or no
/// fallback was queued.
std::optional<delivery_row> fail_with_fallback(soci::session& sql,
                                               const core::channel_policy& policy, int64_t id,
                                               int64_t code, const std::string& reason);

/// What the retry decision needs of a queued row whose attempt failed.
struct retry_facts {
  int attempts = 0;                ///< attempts counted so far (the failed one included)
  std::chrono::milliseconds age{}; ///< since the row was queued (the database's clock)
  std::string message_type;        ///< summary, reply, text... ("notification" for the other box)
  std::string channel;
};

/// The row's retry facts, locked for the rest of the transaction; nullopt when it is no longer
/// queued. 1 round trip.
std::optional<retry_facts> lock_for_retry(soci::session& sql, int64_t id, outbox box);

/// Puts a queued row back in the outbox, due after `delay` and unclaimed, so the sweeper sends it
/// then (durable: a restart does not lose the schedule); a delivery row keeps the failed
/// attempt's latency when known (>= 0). 1 round trip.
bool reschedule_row(soci::session& sql, int64_t id, outbox box, const std::string& error,
                    std::chrono::milliseconds delay, int64_t latency_ms = -1);

/// A send held back by its provider's open circuit breaker: due again after `delay`, unclaimed,
/// its attempt counter as it was (`refund` the attempt its claim counted, if any). False when
/// the row is no longer queued or `token` no longer holds it. 1 round trip.
bool postpone_row(soci::session& sql, int64_t id, outbox box, const std::string& token,
                  std::chrono::milliseconds delay, bool refund);

/// Queued outbox rows of one provider service, and how many of them are due now.
struct queued_count {
  std::string service;
  int64_t queued = 0;
  int64_t due = 0;
};

/// Queued rows per provider service ("whatsapp", "mtn", "twilio", "telegram", "smtp"; SMS
/// notifications under `sms_service`). 1 round trip.
std::vector<queued_count> queued_by_service(soci::session& sql, const std::string& sms_service);

} // namespace switchboard::storage
