#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/events.hpp"
#include "core/omni/format.hpp"
#include "core/omni/outbound.hpp"
#include "core/omni/session.hpp"
#include "storage/cluster.hpp"
#include "storage/omnichannel.hpp"

namespace switchboard::storage {

using core::channel_policy;

/// The delivery row of a planned outbound message (queued rows are claimed with `token` until
/// now + policy.claim_lease; see outbound_next_attempt).
delivery_row outbound_row(const core::outbound_plan& plan, const profile_row& profile,
                          int64_t session_id, const std::string& message_type,
                          const std::string& correlation_id, const std::string& token);

/// Queues the fallback of a WhatsApp row Meta refused for its user with `code` (131047: the
/// template, or SMS; 131026: the profile is marked as not on WhatsApp, then SMS;
/// core::whatsapp_outage_fallback: WhatsApp failed past the row's horizon, SMS), due at `now`
/// and unclaimed, so the outbox sweeper sends it. An SMS is not queued when the same event
/// already has one going to the user (a call summary goes out on both channels). nullopt when
/// nothing was queued; a skipped row (SMS refused by the profile) is returned as such.
std::optional<delivery_row> queue_whatsapp_fallback(soci::session& sql,
                                                    const channel_policy& policy,
                                                    const delivery_row& refused, int64_t code,
                                                    time_point now);

/// What the plan needs of a profile.
core::outbound_recipient recipient_of(const profile_row& p);

/// Plans one outbound message to a profile on a channel and inserts its row (queued, claimed
/// with `token`, or skipped with the reason). invalid_argument for an unknown channel.
delivery_row plan_outbound(soci::session& sql, const channel_policy& policy,
                           const profile_row& profile, int64_t session_id,
                           const std::string& channel, const std::string& message_type,
                           const std::string& text, const std::string& correlation_id,
                           const std::string& token, time_point now);

/// Input of the call-ended flow (validated at the edge).
struct call_ended_input {
  core::call_summary summary;
  std::string phone;
  std::optional<bool> has_whatsapp;
  std::optional<bool> allows_sms;
  std::string correlation_id;
  std::string token; ///< claim token for the sends it queues
  time_point now;
};

/// Result of the call-ended flow.
struct accepted_call {
  bool duplicate = false;
  nlohmann::json result;           ///< {session_id, correlation_id}: the 202 body, also on retries
  std::vector<delivery_row> sends; ///< queued rows to hand to the adapters (empty on duplicate)
  std::vector<delivery_row> skipped;
  bool session_created = false; ///< a new session was opened
  bool session_expired = false; ///< an expired session was closed on the way
};

/// Accepts call-ended events idempotently (by call id, recorded in the inbox with the answer
/// given): profiles, sessions (follow_up, context, expiry), the WhatsApp and SMS summaries
/// planned as delivery rows. Set-based: about a dozen round trips for the whole batch.
std::vector<accepted_call> accept_calls(soci::session& sql, const core::session_machine& machine,
                                        const channel_policy& policy,
                                        const std::vector<const call_ended_input*>& calls);

/// One entity's request to accept its pending inbound messages.
struct accept_request {
  std::string phone;
  std::string token; ///< claim on producing the replies
};

/// The messages of one phone accepted by accept_messages.
struct accepted_messages {
  profile_row profile;
  core::session_record session;
  std::vector<delivery_row> inbound; ///< newly logged, in order, claimed for the reply
  int64_t first_received_ms = 0;     ///< when the edge received the oldest of them (epoch ms)
  int duplicates = 0;                ///< messages already in the delivery log (no new row)
  /// The take reached max_rows for this phone: more may be pending; accept again.
  bool more = false;
  bool session_created = false;
  bool session_expired = false;
};

/// Takes the pending inbox messages of these phones (at most `max_rows` of each, oldest first)
/// and accepts them: profiles (created when unknown, last active channel, WhatsApp window),
/// sessions continued or opened (an expired one is closed), expiry extended, every message
/// logged as an inbound delivery row claimed for its reply until now + policy.claim_lease.
/// Set-based: about ten round trips for the whole batch. One answer per request, in order.
/// With a fence (a cluster), only rows of shards still leased at the fence's epochs are taken,
/// in the same round trip (the other fenced shards are added to `stale`).
std::vector<accepted_messages>
accept_messages(soci::session& sql, const core::session_machine& machine,
                const channel_policy& policy, const std::vector<const accept_request*>& requests,
                time_point now, int max_rows, const shard_fence* fence = nullptr,
                std::vector<int32_t>* stale = nullptr);

/// An inbound row being answered and the claim it was taken with.
struct claimed_inbound {
  int64_t id = 0;
  std::string token;
};

/// One step of the LLM conversation behind a reply (an llm_steps row): an LLM round or a tool
/// call, when it started and what the console's story shows of it (no prompt, no tool
/// arguments' values).
struct llm_step {
  std::string kind; ///< llm_round | tool_call
  time_point at;
  std::string detail; ///< a JSON object
};

/// A reply to a burst of inbound messages.
struct reply_request {
  std::vector<claimed_inbound> inbound;
  std::string channel; ///< the channel the user last wrote from
  std::string text;    ///< formatted for the channel by the plan
  std::string message_type;
  time_point now;
  std::vector<llm_step> steps; ///< the LLM rounds and tool calls that produced `text`
  std::string entity; ///< the session's key: in a cluster its shard's lease fences the reply
};

/// Queues replies to bursts of inbound messages, each on its channel, when their claims still
/// hold (rows whose claim another claimant took are left alone); nullopt for a reply whose
/// burst has no claim left. Each reply's llm steps are inserted with the statement that links
/// the burst to its reply. Set-based: 5 round trips for the whole batch.
std::vector<std::optional<delivery_row>>
queue_replies(soci::session& sql, const channel_policy& policy,
              const std::vector<const reply_request*>& requests);

/// One reply (queue_replies of one).
std::optional<delivery_row> queue_reply(soci::session& sql, const channel_policy& policy,
                                        const std::vector<claimed_inbound>& inbound,
                                        const std::string& channel, const std::string& text,
                                        const std::string& message_type, time_point now);

/// A burst left unanswered by a claimant that died, reloaded for a replay.
struct replay_burst {
  profile_row profile;
  core::session_record session;
  std::vector<delivery_row> inbound;
};

/// Reloads an unanswered inbound row for a replay (after a crash): claimed anew with `token`.
std::optional<replay_burst> load_for_replay(soci::session& sql, int64_t inbound_id,
                                            const std::string& token);

/// Tools: opens (or continues) the session of `phone`, lets `mutate` change it (it may throw
/// domain_error), extends its expiry, saves it and returns it as session_json.
nlohmann::json tool_session(soci::session& sql, const core::session_machine& machine,
                            const std::string& phone, time_point now,
                            const std::function<void(core::session_record&)>& mutate,
                            const std::string& closed_reason = "closed by tool");

/// Tools: the open session's context of `phone`; sb_error::not_found when there is none.
nlohmann::json tool_get_context(soci::session& sql, const std::string& phone, time_point now);

/// Tools: plans a text to `phone` on the given channels ("whatsapp", "sms") in its session.
/// `sms_text` overrides the SMS body when not empty.
std::vector<delivery_row> tool_send(soci::session& sql, const core::session_machine& machine,
                                    const channel_policy& policy, const std::string& phone,
                                    const std::vector<std::string>& channels,
                                    const std::string& text, const std::string& sms_text,
                                    const std::string& correlation_id, const std::string& token,
                                    time_point now);

/// The session context as the tools see it.
nlohmann::json session_json(const core::session_record& s, const profile_row& p);

} // namespace switchboard::storage
