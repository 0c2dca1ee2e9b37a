#pragma once

// Events the HTTP edge hands to the actor graph, and how actors answer it. Kept free of CAF's
// actor headers so that the HTTP layer can include it cheaply.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace switchboard::actors {

// -- callbacks from the HTTP edge ----------------------------------------------------------------

/// How an actor answers the HTTP edge: status and JSON body. The edge posts it to the connection.
struct edge_reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

/// Completion callback the HTTP edge attaches to an event (called exactly once, any thread).
using edge_callback = std::function<void(edge_reply)>;

/// A voice call ended (POST /webhooks/voice/call-ended), validated at the edge.
struct call_ended_event {
  std::string call_id;
  std::string phone; ///< E.164
  std::string summary;
  std::string outcome;
  std::string language;
  std::string transcript;
  std::string customer_name;
  std::vector<std::string> action_items;
  int8_t has_whatsapp = -1; ///< -1 unknown, 0 no, 1 yes
  int8_t allows_sms = -1;   ///< -1 unknown, 0 no, 1 yes
  std::string correlation_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_ended_event& x) {
  return f(caf::meta::type_name("call_ended_event"), x.call_id, x.phone, x.summary, x.outcome,
           x.language, x.transcript, x.customer_name, x.action_items, x.has_whatsapp, x.allows_sms,
           x.correlation_id);
}

/// An inbound message from a user (WhatsApp or SMS), verified and parsed at the edge.
struct inbound_event {
  std::string channel;     ///< whatsapp | sms
  std::string provider;    ///< whatsapp_cloud | mtn | twilio
  std::string external_id; ///< provider message id (dedupe key)
  std::string from;        ///< E.164
  std::string type;        ///< text, image, ... (SMS: text)
  std::string text;
  std::string profile_name;
  int64_t received_at_ms = 0;
  std::string correlation_id;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, inbound_event& x) {
  return f(caf::meta::type_name("inbound_event"), x.channel, x.provider, x.external_id, x.from,
           x.type, x.text, x.profile_name, x.received_at_ms, x.correlation_id);
}

/// A provider's delivery status callback.
struct status_event {
  std::string provider;
  std::string external_id;
  std::string status; ///< queued|sent|delivered|read|failed
  std::string error;
  std::string correlation_id;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, status_event& x) {
  return f(caf::meta::type_name("status_event"), x.provider, x.external_id, x.status, x.error,
           x.correlation_id);
}

/// A tool invocation through POST /api/v1/tools/{name} (the LLM uses the same executor).
struct tool_request {
  std::string name;
  std::string arguments; ///< JSON object text, validated against the tool's schema
  std::string phone;     ///< the phone_number argument (routing key)
  std::string correlation_id;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, tool_request& x) {
  return f(caf::meta::type_name("tool_request"), x.name, x.arguments, x.phone, x.correlation_id);
}

/// A Chatwoot webhook, authenticated and parsed at the edge.
struct chatwoot_webhook {
  int64_t account_id = 0;
  int64_t conversation_id = 0; ///< display id
  std::string event;
  std::string status;             ///< conversation.status as sent (may be empty)
  std::string delivery_id;        ///< X-Chatwoot-Delivery (empty when absent)
  bool customer_message = false;  ///< incoming, public, from a contact
  bool bot_should_answer = false; ///< core::should_bot_answer (also requires status pending)
  std::string content;
  std::string contact_name;
  std::string correlation_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chatwoot_webhook& x) {
  return f(caf::meta::type_name("chatwoot_webhook"), x.account_id, x.conversation_id, x.event,
           x.status, x.delivery_id, x.customer_message, x.bot_should_answer, x.content,
           x.contact_name, x.correlation_id);
}

/// A Telegram update (a message in a chat with our bot), authenticated and parsed at the edge.
struct telegram_event {
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
typename Inspector::result_type inspect(Inspector& f, telegram_event& x) {
  return f(caf::meta::type_name("telegram_event"), x.update_id, x.chat_id, x.message_id,
           x.from_name, x.text, x.reply_to_message_id, x.is_start, x.correlation_id);
}

} // namespace switchboard::actors
