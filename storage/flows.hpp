#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/format.hpp"
#include "core/session.hpp"
#include "storage/omnichannel.hpp"

namespace switchboard::storage {

/// How outbound messages are planned: which channels exist and their rules (from the config).
struct channel_policy {
  bool whatsapp_enabled = true;
  bool sms_enabled = true;
  std::string sms_provider = "mtn"; ///< mtn | twilio
  std::chrono::seconds whatsapp_window{24 * 3600};
  std::string template_name; ///< empty: no template, outside the window WhatsApp is skipped
  std::string template_language = "en";
  std::size_t sms_max_segments = 3;
  std::chrono::milliseconds claim_lease{60000}; ///< how long a claimant owns a queued row
};

/// Plans one outbound message to a profile on a channel: a queued row (claimed with `token`)
/// or a skipped one with the reason (channel disabled, no WhatsApp, window closed without a
/// template, SMS not allowed). Bodies are formatted for the channel. The row is inserted.
delivery_row plan_outbound(soci::session& sql, const channel_policy& policy,
                           const profile_row& profile, int64_t session_id,
                           const std::string& channel, const std::string& message_type,
                           const std::string& text, const std::string& correlation_id,
                           const std::string& token, time_point now);

/// Input of the call-ended flow (validated at the edge).
struct call_ended_input {
  core::call_summary summary;
  std::string phone;
  std::string transcript;
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

/// Accepts a call-ended event idempotently (by call id): profile, session (follow_up, context,
/// expiry), the WhatsApp and SMS summaries planned as delivery rows.
accepted_call accept_call_ended(soci::session& sql, const core::session_machine& machine,
                                const channel_policy& policy, const call_ended_input& in);

/// Input of the inbound-message flow.
struct inbound_input {
  std::string channel;
  std::string provider;
  std::string external_id;
  std::string from;
  std::string type;
  std::string text;
  std::string profile_name;
  std::string correlation_id;
  std::string token; ///< claim on producing the reply
  time_point now;
};

/// Result of the inbound-message flow.
struct accepted_inbound {
  bool duplicate = false;
  delivery_row inbound;
  profile_row profile;
  core::session_record session;
  std::vector<delivery_row> history; ///< recent messages of the session, oldest first
  bool session_created = false;
  bool session_expired = false;
};

/// Accepts an inbound message idempotently (by provider message id): profile (created when
/// unknown), last active channel, WhatsApp window, session continued or opened, expiry extended,
/// the message logged and claimed for a reply.
accepted_inbound accept_inbound(soci::session& sql, const core::session_machine& machine,
                                const channel_policy& policy, const inbound_input& in);

/// Reloads an unanswered inbound row for a replay (after a crash): claimed anew with `token`.
std::optional<accepted_inbound> load_for_replay(soci::session& sql, int64_t inbound_id,
                                                const std::string& token, std::size_t history);

/// Queues the reply to an inbound message on its channel when `token` still holds the inbound
/// row's claim; nullopt when another claimant answered it.
std::optional<delivery_row> queue_reply(soci::session& sql, const channel_policy& policy,
                                        int64_t inbound_id, const std::string& token,
                                        const std::string& text, const std::string& message_type,
                                        time_point now);

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
