#pragma once

// Events the HTTP edge hands to the actor graph, and how actors answer it. Kept free of CAF's
// actor headers so that the HTTP layer can include it cheaply.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "core/events.hpp"

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

} // namespace switchboard::actors
