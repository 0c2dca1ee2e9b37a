#include "core/omni/outbound.hpp"

#include "core/omni/format.hpp"

namespace switchboard::core {

bool whatsapp_window_open(const channel_policy& policy, const outbound_recipient& to,
                          std::chrono::system_clock::time_point now) {
  return to.last_whatsapp_inbound_at && now - *to.last_whatsapp_inbound_at < policy.whatsapp_window;
}

outbound_plan plan_outbound(const channel_policy& policy, const outbound_recipient& to,
                            const std::string& channel, const std::string& text,
                            std::chrono::system_clock::time_point now) {
  outbound_plan p;
  p.channel = channel;
  p.body = text;
  if (channel == "whatsapp") {
    p.provider = "whatsapp_cloud";
    bool open = whatsapp_window_open(policy, to, now);
    if (!policy.whatsapp_enabled)
      p.skip_reason = "WhatsApp is disabled";
    else if (!to.has_whatsapp)
      p.skip_reason = "the profile has no WhatsApp";
    else if (!open && policy.template_name.empty())
      p.skip_reason = "outside the 24 h WhatsApp window and no template is configured";
    else if (!open) {
      // The template's one body parameter is what goes out: one line, within Meta's cap.
      p.body = format_template_parameter(text);
      p.payload = {{"template", policy.template_name},
                   {"language", policy.template_language},
                   {"parameters", {p.body}}};
    }
  } else if (channel == "sms") {
    p.provider = policy.sms_provider;
    if (!policy.sms_enabled)
      p.skip_reason = "SMS is disabled";
    else if (!to.has_phone)
      p.skip_reason = "no phone number is known (a WhatsApp user known by username)";
    else if (!to.allows_sms)
      p.skip_reason = "the profile does not allow SMS";
  } else {
    p.provider = channel;
    p.skip_reason = "unknown channel '" + channel + "'";
  }
  p.queued = p.skip_reason.empty();
  return p;
}

outbound_plan plan_reply(const channel_policy& policy, const outbound_recipient& to,
                         const std::string& channel, const std::string& text,
                         std::chrono::system_clock::time_point now) {
  auto body = channel == "whatsapp" ? format_whatsapp_text(text)
                                    : format_sms_text(text, policy.sms_max_segments);
  return plan_outbound(policy, to, channel, body, now);
}

outbound_plan plan_whatsapp_fallback(const channel_policy& policy, const outbound_recipient& to,
                                     bool undeliverable, bool was_template, const std::string& text,
                                     std::chrono::system_clock::time_point now) {
  if (!undeliverable && !was_template && !policy.template_name.empty()) {
    // Meta says the window is closed, whatever our clock says: the template it is.
    auto closed = to;
    closed.has_whatsapp = true;
    closed.last_whatsapp_inbound_at.reset();
    return plan_outbound(policy, closed, "whatsapp", text, now);
  }
  return plan_reply(policy, to, "sms", text, now);
}

} // namespace switchboard::core
