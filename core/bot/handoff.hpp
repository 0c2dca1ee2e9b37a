#pragma once

#include <cstdint>
#include <string>

namespace switchboard::core {

/// What a provider is told when a conversation is handed to a human.
struct handoff_notice {
  int64_t account_id = 0;
  int64_t conversation_id = 0;
  std::string conversation_url; ///< link into Chatwoot
  std::string customer_name;    ///< may be empty
  std::string last_message;     ///< the customer's last message (excerpted here)
  std::string reason;           ///< why the conversation needs a human
};

/// Telegram text (HTML parse mode): link, excerpt, reason, and how to answer (reply to it).
std::string handoff_telegram_text(const handoff_notice& n);

/// SMS text: plain, GSM-7 when possible, at most `max_segments` segments.
std::string handoff_sms_text(const handoff_notice& n, std::size_t max_segments = 2);

/// Email subject and plain-text body.
struct handoff_email_text {
  std::string subject;
  std::string body;
};
handoff_email_text handoff_email(const handoff_notice& n);

} // namespace switchboard::core
