#include "core/bot/handoff.hpp"

#include "core/omni/format.hpp"
#include "core/text/sms.hpp"

namespace switchboard::core {

namespace {

/// The customer's last message, shortened for a notification.
std::string excerpt(const std::string& text, std::size_t max_code_points) {
  return truncate_text(text, max_code_points);
}

std::string who(const handoff_notice& n) {
  return n.customer_name.empty() ? std::string{"A customer"} : n.customer_name;
}

} // namespace

std::string handoff_telegram_text(const handoff_notice& n) {
  std::string out
      = "<b>Conversation #" + std::to_string(n.conversation_id) + " needs a human</b>\n";
  out += telegram_html_escape(who(n));
  if (!n.last_message.empty())
    out += " wrote: “" + telegram_html_escape(excerpt(n.last_message, 300)) + "”";
  out += "\nWhy: " + telegram_html_escape(n.reason);
  if (!n.conversation_url.empty())
    out += "\n<a href=\"" + telegram_html_escape(n.conversation_url) + "\">Open in Chatwoot</a>";
  out += "\n\nReply to this message to answer the customer.";
  return out;
}

std::string handoff_sms_text(const handoff_notice& n, std::size_t max_segments) {
  std::string out = "Chatwoot #" + std::to_string(n.conversation_id) + " needs you: " + n.reason;
  if (!n.last_message.empty()) {
    if (out.back() != '.' && out.back() != '!' && out.back() != '?')
      out += '.'; // reasons are sentences, mostly ending with their own full stop
    out += " " + who(n) + ": \"" + excerpt(n.last_message, 80) + "\"";
  }
  if (!n.conversation_url.empty())
    out += " " + n.conversation_url;
  return fit_sms(smart_encode(out), max_segments);
}

handoff_email_text handoff_email(const handoff_notice& n) {
  handoff_email_text e;
  e.subject = "Conversation #" + std::to_string(n.conversation_id) + " needs a human";
  e.body = who(n) + " needs help from a person.\n\nWhy: " + n.reason + "\n";
  if (!n.last_message.empty())
    e.body += "\nTheir last message:\n> " + excerpt(n.last_message, 1000) + "\n";
  if (!n.conversation_url.empty())
    e.body += "\nOpen the conversation: " + n.conversation_url + "\n";
  return e;
}

} // namespace switchboard::core
