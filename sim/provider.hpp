#pragma once

// What the simulated providers share: request and JSON helpers, webhook delivery, the POST
// control-route wrapper, and each provider's entry points. One file per provider implements them
// (whatsapp.cpp, twilio.cpp, mtn.cpp, telegram.cpp, chatwoot.cpp, llm.cpp); provider.cpp routes
// a request to its provider.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/sim.hpp"

namespace switchboard::sim {

/// Whether `text` begins with `prefix`.
bool starts_with(std::string_view text, std::string_view prefix);

/// ASCII lower case.
std::string lower(std::string_view text);

/// The URL-decoded, non-empty segments of a path ("/a//b%20c" -> {"a", "b c"}).
std::vector<std::string> split_path(std::string_view path);

/// Whether `s` is a non-empty run of ASCII digits.
bool all_digits(std::string_view s);

/// The ASCII digits of `s`, in order ("+1 555-0100" -> "15550100").
std::string digits_only(std::string_view s);

/// Compact JSON text; invalid UTF-8 is replaced rather than thrown on.
std::string to_text(const json& j);

/// Parsed JSON, or a discarded value when `body` is empty or not JSON.
json parse_json(std::string_view body);

/// A JSON field as text: strings as they are, numbers in decimal, anything else empty.
std::string text_of(const json& obj, const char* key);

/// The credentials of a Bearer Authorization header, or empty.
std::string bearer_of(const http::request& req);

/// user and password of a Basic Authorization header.
std::optional<std::pair<std::string, std::string>> basic_of(const http::request& req);

/// Whether a presented credential is accepted: anything when none is configured.
bool accepted(const std::string& configured, std::string_view presented);

/// A random version 4 UUID in its 8-4-4-4-12 text form.
std::string uuid4();

/// An answer with JSON body and the content type a provider uses.
http::response reply(int status, const json& body,
                     std::string content_type = "application/json; charset=utf-8");

/// Webhook target: "url" as given, or the server URL plus "path" (or the default path).
std::string target_url(const sim_core& sim, const json& body, const std::string& default_path);

/// A control call's "timeout_ms" (default 10 s, at least 1 ms) for the webhooks it sends.
milliseconds timeout_of(const json& body);

/// "secret" of a control call's body, else the configured one.
std::string secret_of(const json& body, const std::string& configured);

/// Sends webhooks and answers the control call with the server's answers (or 202 at once when
/// "async" is true).
void deliver_and_answer(sim_core& sim, std::vector<outbound> reqs, const json& body,
                        http::responder respond);

/// Answers a control call with 400 bad_request and `reason`.
void bad_request(http::responder& respond, std::string reason);

/// A POST control handler: its JSON body ({} when the request has none) and the responder.
using json_control = void (*)(sim_core& sim, const json& body, http::responder& respond);

/// A POST control route: a body that is not a JSON object is answered 400, and so is a
/// json::exception thrown by `fn` ("invalid parameter: ...").
control_route post_json(std::string path, json_control fn);

// Each provider's endpoints (`sim` is unlocked on entry), error bodies and control routes.

/// WhatsApp Cloud API: POST /{version}/{phone-number-id}/messages.
handled whatsapp_send(sim_core& sim, const http::request& req);
/// The Graph API error body for an injected failure with this HTTP status.
json whatsapp_error_body(int status);
/// /_sim/whatsapp/{inbound,status,rules,auto_status}.
std::vector<control_route> whatsapp_control_routes();

/// Twilio Messages API: /2010-04-01/Accounts/{sid}/Messages[.json|/{sid}.json].
handled twilio_messages(sim_core& sim, const http::request& req);
/// Twilio's error body for an injected failure with this HTTP status.
json twilio_error_body(int status);
/// /_sim/twilio/{inbound,status,auto_status}.
std::vector<control_route> twilio_control_routes();

/// MTN: the Apigee token endpoint and SMS v3 outbound.
handled mtn_call(sim_core& sim, const http::request& req);
/// MTN's (or Apigee's) error body for an injected failure with this HTTP status.
json mtn_error_body(int status, const http::request& req);
/// /_sim/mtn/{inbound,expire_tokens}.
std::vector<control_route> mtn_control_routes();

/// Telegram Bot API: /bot{token}/{method}.
handled telegram_call(sim_core& sim, const http::request& req);
/// The Bot API's error body for an injected failure with this HTTP status.
json telegram_error_body(int status, int retry_after);
/// /_sim/telegram/{webhook,update,block}.
std::vector<control_route> telegram_control_routes();

/// Chatwoot application API: /api/v1/accounts/{id}/...
handled chatwoot_call(sim_core& sim, const http::request& req);
/// Chatwoot's error body for an injected failure with this HTTP status.
json chatwoot_error_body(int status);
/// /_sim/chatwoot/{conversations,articles,webhook}.
std::vector<control_route> chatwoot_control_routes();

/// OpenAI-compatible chat completions: POST [/v1]/chat/completions.
handled openai_chat(sim_core& sim, const http::request& req);
/// OpenAI's error body for an injected failure with this HTTP status.
json openai_error_body(int status);
/// /_sim/openai/script (GET, POST, DELETE).
std::vector<control_route> openai_control_routes();

} // namespace switchboard::sim
