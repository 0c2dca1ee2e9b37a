#pragma once

// The outbound plan: which channel a message may go out on and in what form (the WhatsApp
// window, the template, skips and their reasons, per-channel formatting), decided once, here.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace switchboard::core {

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

/// What the plan needs to know of the recipient (a profile).
struct outbound_recipient {
  bool has_whatsapp = false;
  bool allows_sms = true;
  bool has_phone = true; ///< false for a WhatsApp user known only by a business-scoped user id
  std::optional<std::chrono::system_clock::time_point> last_whatsapp_inbound_at;
};

/// One planned message: queued for a provider, or skipped with the reason.
struct outbound_plan {
  std::string channel;  ///< whatsapp | sms
  std::string provider; ///< whatsapp_cloud | mtn | twilio
  bool queued = false;
  std::string skip_reason; ///< why it is not sent (when !queued)
  std::string body;        ///< the text as it goes out
  nlohmann::json payload;  ///< WhatsApp template {template, language, parameters}, or null
};

/// Whether the WhatsApp customer-service window is open at `now`.
bool whatsapp_window_open(const channel_policy& policy, const outbound_recipient& to,
                          std::chrono::system_clock::time_point now);

/// Plans `text` (already formatted for `channel`) to a recipient: WhatsApp inside the window
/// as free-form text, outside it as the configured template (or skipped without one); SMS
/// unless disabled or refused. Unknown channels are skipped with a reason.
outbound_plan plan_outbound(const channel_policy& policy, const outbound_recipient& to,
                            const std::string& channel, const std::string& text,
                            std::chrono::system_clock::time_point now);

/// Plans a reply on the channel the user wrote from, formatting `text` for it.
outbound_plan plan_reply(const channel_policy& policy, const outbound_recipient& to,
                         const std::string& channel, const std::string& text,
                         std::chrono::system_clock::time_point now);

/// The plan after Meta refused a WhatsApp message for its user: 131047 (the window is closed)
/// sends the configured template, unless there is none or the refused message was a template
/// already; 131026 (`undeliverable`: not on WhatsApp) and the template-less case go by SMS
/// (formatted for it). `to` is the profile as it is after the refusal.
outbound_plan plan_whatsapp_fallback(const channel_policy& policy, const outbound_recipient& to,
                                     bool undeliverable, bool was_template, const std::string& text,
                                     std::chrono::system_clock::time_point now);

} // namespace switchboard::core
