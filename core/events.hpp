#pragma once

// The inbound events, one type each from the webhook parser to the database: the edge builds
// them, the inbox stores them (as their payload JSON), the entity actors process them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/meta/type_name.hpp>

#include "core/delivery.hpp"
#include "core/error.hpp"

namespace switchboard::core {

/// An inbound message from a user (WhatsApp or SMS), verified and parsed at the edge.
struct inbound_message {
  std::string channel;     ///< whatsapp | sms
  std::string provider;    ///< whatsapp_cloud | mtn | twilio
  std::string external_id; ///< provider message id (dedupe key)
  std::string from;        ///< E.164; empty for a WhatsApp user whose number is withheld
  std::string user_id;     ///< WhatsApp: the business-scoped user id (BSUID), when sent
  std::string business;    ///< WhatsApp: the business number it was sent to (phone_number_id)
  std::string type;        ///< text, image, ... (SMS: text or media)
  std::string text;
  std::string profile_name;
  int64_t received_at_ms = 0; ///< when the edge received it (epoch ms)
  std::string correlation_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inbound_message& x) {
  return f(caf::meta::type_name("inbound_message"), x.channel, x.provider, x.external_id, x.from,
           x.user_id, x.business, x.type, x.text, x.profile_name, x.received_at_ms,
           x.correlation_id);
}

/// The entity key of a WhatsApp user known only by a business-scoped user id (their number
/// withheld): "wa:<business number id>:<BSUID>". Every other user's key is their E.164 number.
std::string whatsapp_user_key(std::string_view business, std::string_view user_id);

/// The (business, BSUID) of a whatsapp_user_key; nullopt for any other key.
struct whatsapp_user_ref {
  std::string business;
  std::string user_id;
};
std::optional<whatsapp_user_ref> parse_whatsapp_user_key(std::string_view key);

/// Who sent a message, as an entity key: the number when known, else the WhatsApp user key.
std::string sender_key(const inbound_message& m);

/// A provider's delivery status callback for a message we sent.
struct status_update {
  std::string provider;    ///< whatsapp_cloud | twilio | mtn
  std::string external_id; ///< the provider's id of our message
  std::string status;      ///< queued|sent|delivered|read|failed
  std::string error;
  std::string correlation_id;
  int64_t error_code = 0; ///< the provider's numeric error code of a failure (0: none)
  // WhatsApp's `pricing` object, when the status carried one (core::message_pricing).
  int8_t pricing_billable = -1; ///< -1 absent, 0 false, 1 true
  std::string pricing_model{};
  std::string pricing_category{};
  std::string pricing_type{};
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, status_update& x) {
  return f(caf::meta::type_name("status_update"), x.provider, x.external_id, x.status, x.error,
           x.correlation_id, x.error_code, x.pricing_billable, x.pricing_model, x.pricing_category,
           x.pricing_type);
}

/// The pricing a status carried (every field empty when none).
message_pricing pricing_of(const status_update& s);

/// Sets the pricing fields of a status.
void set_pricing(status_update& s, const message_pricing& p);

/// A Chatwoot webhook, authenticated and parsed at the edge (what the bot needs of it).
struct chatwoot_inbound {
  int64_t account_id = 0;
  int64_t conversation_id = 0; ///< display id
  std::string event;
  std::string status;             ///< conversation.status as sent (may be empty)
  std::string previous_status;    ///< changed_attributes' previous status (empty when not sent)
  std::string delivery_id;        ///< X-Chatwoot-Delivery (empty when absent)
  bool customer_message = false;  ///< incoming, public, from a contact
  bool bot_should_answer = false; ///< core::should_bot_answer (also requires status pending)
  std::string content;
  std::string contact_name;
  std::string correlation_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chatwoot_inbound& x) {
  return f(caf::meta::type_name("chatwoot_inbound"), x.account_id, x.conversation_id, x.event,
           x.status, x.previous_status, x.delivery_id, x.customer_message, x.bot_should_answer,
           x.content, x.contact_name, x.correlation_id);
}

/// A Telegram update (a message in a chat with our bot), authenticated and parsed at the edge.
struct telegram_inbound {
  int64_t update_id = 0;
  int64_t chat_id = 0;
  int64_t message_id = 0;
  std::string from_name;
  std::string text;
  int64_t reply_to_message_id = 0; ///< 0 when it replies to nothing
  bool is_start = false;
  std::string correlation_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, telegram_inbound& x) {
  return f(caf::meta::type_name("telegram_inbound"), x.update_id, x.chat_id, x.message_id,
           x.from_name, x.text, x.reply_to_message_id, x.is_start, x.correlation_id);
}

/// What the inbox stores of an event: its dedupe key, who processes it and the event itself.
struct inbox_entry {
  std::string source;     ///< the dedupe namespace: mtn, twilio, whatsapp_cloud, ...:status, ...
  std::string dedupe_key; ///< unique within `source`
  std::string entity;     ///< routing key of the processing actor
  std::string kind;       ///< message | status | chatwoot | telegram | call
  uint32_t shard = 0;     ///< shard_of(entity)
  std::string payload;    ///< the event as JSON (decode_* below)
  std::string correlation_id;
};

/// The shard of an entity key: FNV-1a (32 bit) of the key modulo `shards` (stable across
/// processes and versions: shards are assigned to nodes by number). A WhatsApp user key
/// (whatsapp_user_key) hashes its BSUID alone, the recipient of that user's delivery rows.
uint32_t shard_of(std::string_view entity, uint32_t shards);

/// The inbox entries of the events (entity: sender_key of a message; a status: its message id;
/// a Chatwoot event: "account:conversation"; a Telegram update: the chat id).
inbox_entry make_inbox_entry(const inbound_message& m, uint32_t shards);
inbox_entry make_inbox_entry(const status_update& s, uint32_t shards);
/// `dedupe_key` names what the signature covers (see providers::chatwoot_dedupe_key).
inbox_entry make_inbox_entry(const chatwoot_inbound& c, std::string dedupe_key, uint32_t shards);
inbox_entry make_inbox_entry(const telegram_inbound& t, uint32_t shards);

/// Whether an entry carries a NUL character anywhere (PostgreSQL text cannot hold one; such a
/// webhook is refused with a 400 rather than stored cut short).
bool has_nul(const inbox_entry& e);

/// The events back from their payload JSON; malformed when it is not one.
expected<inbound_message> decode_inbound_message(std::string_view payload);
expected<status_update> decode_status_update(std::string_view payload);
expected<chatwoot_inbound> decode_chatwoot_inbound(std::string_view payload);
expected<telegram_inbound> decode_telegram_inbound(std::string_view payload);

} // namespace switchboard::core
