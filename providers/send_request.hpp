#pragma once

// The part of an outbox row a provider needs to send it. actors::outbound_send extends it with the
// claim and the attempt's bookkeeping, so a channel actor hands its row to the provider as it is.

#include <cstdint>
#include <string>

namespace switchboard::providers {

/// One outbox row to send, as a provider sees it.
struct send_request {
  int64_t delivery_id = 0;
  std::string recipient; ///< E.164, a BSUID, a chat id or an email address
  std::string body;
  std::string template_name; ///< WhatsApp template (outside the 24 h window), or empty
  std::string template_language;
  std::string correlation_id;
  int8_t box = 0;      ///< 0: message_delivery_log, 1: provider_notifications
  std::string subject; ///< email subject (notifications by email)
};

} // namespace switchboard::providers
