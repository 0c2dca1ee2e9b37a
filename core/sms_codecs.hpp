#pragma once

// What the SMS providers' codecs (providers/mtn/, providers/twilio/) share: the inbound SMS every
// one of them yields, the send result, and the address and status rules they apply alike.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace switchboard::core {

/// An inbound SMS, whichever provider delivered it.
struct inbound_sms {
  std::string id;          ///< provider message id, or a derived dedupe id (see id_derived)
  bool id_derived = false; ///< true when the provider sent no id and `id` is a content hash
  std::string from;        ///< sender, E.164
  std::string to;          ///< our number in E.164, or a short code as sent (e.g. "8080")
  std::string body;        ///< message text (UTF-8)
  std::string timestamp;   ///< provider timestamp as sent; empty when absent
};

/// What a provider said when it accepted an outbound message.
struct provider_send_result {
  std::string message_id; ///< provider's id for later status callbacks (may be empty for MTN)
  std::string status;     ///< provider's initial status, e.g. "queued"
};

/// Our side of an SMS conversation: an E.164 number, a short code (3-8 digits) or an
/// alphanumeric sender ID, the last two kept as sent.
expected<std::string> normalize_sms_address(std::string_view raw);

/// 1-18 ASCII digits as a number; nullopt for anything else.
std::optional<int64_t> parse_sms_decimal(std::string_view s);

/// How a provider's non-2xx answer fails a send: provider_transient for 408/425/429/5xx, else
/// provider_rejected.
sb_error provider_failure_kind(int http_status);

} // namespace switchboard::core
