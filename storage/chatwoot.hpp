#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bot/bot.hpp"
#include "core/events.hpp"
#include "storage/omnichannel.hpp"

namespace soci {
class session;
}

namespace switchboard::storage {

/// Where a Chatwoot account's hand-offs are announced (provider_notification_config).
struct provider_route {
  int64_t provider_id = 0;
  std::string provider_name;
  std::string portal_slug;
  std::string notify_via; ///< telegram | sms | email
  int64_t telegram_chat_id = 0;
  std::string notify_phone;
  std::string notify_email;
};

/// The provider owning a Chatwoot account, if it has a notification config.
std::optional<provider_route> provider_for_account(soci::session& sql, int64_t account_id);

/// A Chatwoot conversation as the bot saw it last.
struct conversation_row {
  int64_t account_id = 0;
  int64_t conversation_id = 0;
  std::string status = "pending";   ///< open | pending | resolved | snoozed
  std::string bot_state = "active"; ///< active | handed_off
  std::string escalation_reason;
  int handoff_seq = 0;
  std::string last_customer_message;
  std::string contact_name;
};

/// The conversation row, created when first seen (then `*created` is set to true, when given),
/// locked until the transaction ends.
conversation_row lock_conversation(soci::session& sql, int64_t account_id, int64_t conversation_id,
                                   const std::string& initial_status, bool* created = nullptr);

/// Writes the conversation row.
void save_conversation(soci::session& sql, const conversation_row& c);

/// A conversation as a read-only tool shows it: the row and the notification of its last
/// hand-off (channel and status empty when there is none).
struct conversation_state {
  conversation_row conversation;
  std::string updated_at; ///< RFC 3339, UTC
  std::string notification_channel;
  std::string notification_status; ///< queued | sent | failed | skipped
};

/// The conversation and its last hand-off's notification, without locking; none when the bot
/// never saw it. 1 round trip.
std::optional<conversation_state> find_conversation(soci::session& sql, int64_t account_id,
                                                    int64_t conversation_id);

/// One notification of a provider about a hand-off.
struct notification_row {
  int64_t id = 0;
  int64_t provider_id = 0;
  int64_t account_id = 0;
  int64_t conversation_id = 0;
  int handoff_seq = 0;
  std::string channel;   ///< telegram | sms | email
  std::string recipient; ///< Telegram chat id, E.164 number or email address
  std::string subject;
  std::string body;
  std::string status;
  std::string external_id;
  std::string correlation_id;
  std::string claim_token;
  int attempts = 0;
  std::string last_error;
};

/// What the flow found and changed.
struct chatwoot_accepted {
  conversation_row conversation;
  std::optional<provider_route> provider;
  std::string previous_status;
  bool became_open = false; ///< a new hand-off: the status moved to open from another one
  bool resumed = false;     ///< back to pending after a hand-off: the bot answers again
};

/// Records a Chatwoot event taken from the inbox (which deduplicated it): the conversation's
/// status as last seen (read from conversation.status, so changed_attributes: null is fine),
/// the customer's last message, and whether this is a hand-off or a resumption
/// (core::chatwoot_status_transition: changed_attributes' previous status when sent, else the
/// stored one; none when the row is created by this event and no previous status is sent).
chatwoot_accepted accept_chatwoot_event(soci::session& sql, const core::chatwoot_inbound& in);

/// A question the bot took and what became of it (a bot_answers row).
struct bot_answer_record {
  int64_t account_id = 0;
  int64_t conversation_id = 0;
  std::string correlation_id;
  std::string question;                     ///< stored as is (the logs mask it)
  std::vector<core::answer_source> sources; ///< cited (answered) or closest (escalated)
  std::optional<double> confidence;
  bool escalated = false;
  std::string reason;    ///< core::to_string(escalation_reason) when escalated
  std::string posted_id; ///< Chatwoot's id of the posted answer (empty: not posted)
};

/// Inserts a bot_answers row. 1 round trip.
void record_bot_answer(soci::session& sql, const bot_answer_record& a);

/// What a hand-off records.
struct handoff_input {
  int64_t account_id = 0;
  int64_t conversation_id = 0;
  std::string reason;
  bool already_open = false; ///< the status changed to open before (seen in a webhook)
  std::string conversation_url;
  std::string correlation_id;
  std::string token; ///< claim on the notification
  std::size_t sms_max_segments = 2;
  time_point now;
  /// The bot's question that escalated (none when a human opened the conversation): recorded
  /// in the hand-off's transaction.
  std::optional<bot_answer_record> answer;
};

/// The outcome of a hand-off.
struct handoff_result {
  conversation_row conversation;
  std::optional<notification_row> notification; ///< queued; none without a provider config
  bool no_config = false;
};

/// Hands a conversation to a human: the next hand-off number, bot silent, status open, one
/// notification on the provider's channel (unique per hand-off number), and the escalated
/// question's bot_answers row when given. 4-6 round trips (the bot_answers insert is one of
/// them; none more on the escalation path).
handoff_result record_handoff(soci::session& sql, const handoff_input& in);

/// The row with this id.
std::optional<notification_row> find_notification(soci::session& sql, int64_t id);

/// Records a sent notification and the provider's id for it (Telegram: the message id).
void record_notification_sent(soci::session& sql, int64_t id, const std::string& external_id);

/// Queued notifications whose attempt time passed: claimed anew for `lease` (in a cluster: only
/// those of `only`'s shards, by their conversation).
std::vector<notification_row> claim_due_notifications(soci::session& sql, time_point now,
                                                      std::chrono::milliseconds lease, int limit,
                                                      const owned_shards& only = {});

/// The notification a Telegram message (chat id, message id) was, if any.
std::optional<notification_row> notification_for_telegram(soci::session& sql,
                                                          const std::string& chat_id,
                                                          const std::string& message_id);

/// Marks a notification answered by its provider (replied_at, the first reply's time kept).
/// 1 round trip.
void mark_notification_replied(soci::session& sql, int64_t id);

/// The provider whose notification config names this Telegram chat, if any.
std::optional<provider_route> provider_for_telegram_chat(soci::session& sql, int64_t chat_id);

} // namespace switchboard::storage
