#include "core/bot/chatwoot.hpp"

namespace switchboard::core {

std::string to_string(chatwoot_message_type x) {
  switch (x) {
  case chatwoot_message_type::incoming:
    return "incoming";
  case chatwoot_message_type::outgoing:
    return "outgoing";
  case chatwoot_message_type::activity:
    return "activity";
  case chatwoot_message_type::template_message:
    return "template";
  }
  return "unknown";
}

std::string to_string(chatwoot_sender_type x) {
  switch (x) {
  case chatwoot_sender_type::unknown:
    return "unknown";
  case chatwoot_sender_type::contact:
    return "contact";
  case chatwoot_sender_type::user:
    return "user";
  case chatwoot_sender_type::agent_bot:
    return "agent_bot";
  }
  return "unknown";
}

bool should_bot_answer(const chatwoot_event& ev) {
  return ev.event == "message_created" && ev.message
         && ev.message->type == chatwoot_message_type::incoming && !ev.message->is_private
         && ev.message->sender_type == chatwoot_sender_type::contact
         && ev.conversation_status == "pending";
}

chatwoot_transition chatwoot_status_transition(const std::optional<chatwoot_seen>& stored,
                                               std::string_view status, std::string_view previous) {
  auto known = [](std::string_view s) {
    return s == "open" || s == "pending" || s == "resolved" || s == "snoozed";
  };
  chatwoot_transition out;
  out.status = stored ? stored->status : std::string{"pending"};
  if (!known(status))
    return out;
  std::string_view before = known(previous) ? previous
                            : stored        ? std::string_view{stored->status}
                                            : std::string_view{};
  bool stored_open = stored && stored->status == "open";
  out.became_open = status == "open" && known(before) && before != "open" && !stored_open;
  out.resumed = status == "pending" && stored && stored->handed_off && stored->status != "pending";
  out.status = std::string{status};
  return out;
}

} // namespace switchboard::core
