// The simulated WhatsApp Cloud API (Graph API /{version}/{phone-number-id}/messages): sends,
// mark-as-read, per-recipient error rules, auto status webhooks, and the inbound and status
// webhooks of /_sim/whatsapp/.

#include "sim/provider.hpp"

#include <regex>

#include "core/crypto.hpp"
#include "core/text/text.hpp"
#include "core/text/utf8.hpp"
#include "providers/whatsapp/codec.hpp"
#include "providers/whatsapp/signature.hpp"

namespace switchboard::sim {

namespace {

constexpr const char* whatsapp_webhook_path = "/webhooks/whatsapp";

constexpr const char* default_waba_id = "100000000000002";
constexpr const char* default_phone_number_id = "100000000000001";
constexpr const char* default_display_phone = "15550000001";

json graph_error(int code, std::string message, std::string type = "OAuthException",
                 int subcode = 0, json error_data = nullptr) {
  json e = {{"message", std::move(message)}, {"type", std::move(type)}, {"code", code}};
  if (subcode != 0)
    e["error_subcode"] = subcode;
  if (!error_data.is_null())
    e["error_data"] = std::move(error_data);
  e["fbtrace_id"] = "A" + core::random_hex(11);
  return {{"error", std::move(e)}};
}

/// Meta's per-user error codes the rules can answer with: title, error_data.details, and
/// whether Meta reports it in a status webhook (true) or as the send's answer.
struct whatsapp_error_spec {
  int64_t code;
  const char* title;
  const char* details;
  bool async;
};

const whatsapp_error_spec* whatsapp_error_spec_for(int64_t code) {
  static const whatsapp_error_spec table[] = {
      {131047, "Re-engagement message",
       "Message failed to send because more than 24 hours have passed since the customer last "
       "replied to this number.",
       true},
      {131026, "Message undeliverable", "Message Undeliverable.", true},
      {131049, "This message was not delivered to maintain healthy ecosystem engagement.",
       "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
       true},
      {131056, "(Business Account, Consumer Account) pair rate limit hit",
       "Message failed to send because there were too many messages sent from this phone number "
       "to the same phone number in a short period of time.",
       false},
      {130429, "Rate limit hit", "Cloud API message throughput has been reached.", false},
  };
  for (const auto& e : table)
    if (e.code == code)
      return &e;
  return nullptr;
}

std::string make_wamid(sim_core& sim, const std::string& wa_id) {
  // Real ids are base64 of a binary key that embeds the recipient; this keeps the alphabet.
  std::string raw = std::string{"\x18\x0b"} + wa_id + "\x15\x02\x11\x18\x12"
                    + upper(core::random_hex(9)) + std::to_string(sim.next_id());
  return "wamid." + core::base64_encode(raw);
}

json whatsapp_envelope(const json& body, const json& value_tail) {
  auto phone_number_id = text_of(body, "phone_number_id");
  auto display = text_of(body, "display_phone_number");
  json value = {
      {"messaging_product", "whatsapp"},
      {"metadata",
       {{"display_phone_number", display.empty() ? default_display_phone : display},
        {"phone_number_id", phone_number_id.empty() ? default_phone_number_id : phone_number_id}}}};
  for (auto& [k, v] : value_tail.items())
    value[k] = v;
  auto waba = text_of(body, "waba_id");
  return {{"object", "whatsapp_business_account"},
          {"entry", json::array({{{"id", waba.empty() ? default_waba_id : waba},
                                  {"changes", json::array({{{"value", std::move(value)},
                                                            {"field", "messages"}}})}}})}};
}

json whatsapp_contacts(const std::string& wa_id, const std::string& name) {
  return json::array({{{"profile", {{"name", name}}}, {"wa_id", wa_id}}});
}

/// A status webhook body like whatsapp/status_*.json.
json whatsapp_status_payload(const json& p) {
  auto status = text_of(p, "status");
  if (status.empty())
    status = "delivered";
  auto recipient = text_of(p, "recipient_id");
  auto name = text_of(p, "name");
  auto recipient_user = text_of(p, "recipient_user_id");
  json st = {{"id", text_of(p, "id")},
             {"status", status},
             {"timestamp", std::to_string(p.value("timestamp", now_unix()))}};
  // A message sent to a BSUID: no recipient_id (the number is withheld), recipient_user_id.
  if (!recipient.empty() || recipient_user.empty())
    st["recipient_id"] = recipient;
  if (!recipient_user.empty())
    st["recipient_user_id"] = recipient_user;
  auto conversation_id = text_of(p, "conversation_id");
  if (conversation_id.empty())
    conversation_id = core::random_hex(15);
  if (status == "failed") {
    auto code = p.value("error_code", 131026);
    auto title = p.value("error_title", std::string{"Message undeliverable"});
    st["errors"] = json::array(
        {{{"code", code},
          {"title", title},
          {"message", title},
          {"error_data", {{"details", p.value("error_details", title)}}},
          {"href",
           "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}}});
  } else {
    // Per-message pricing (July 2025+, `type` since v24): free-form messages inside the window
    // are free_customer_service/service, templates regular/utility unless told otherwise.
    bool tpl = p.value("template", false);
    auto category = p.value("category", std::string{tpl ? "utility" : "service"});
    auto type = p.value("pricing_type", std::string{tpl ? "regular" : "free_customer_service"});
    json conv = {{"id", conversation_id}};
    if (status == "sent")
      conv["expiration_timestamp"] = std::to_string(now_unix() + 24 * 3600);
    conv["origin"] = {{"type", category}};
    st["conversation"] = std::move(conv);
    st["pricing"] = {{"billable", p.value("billable", type == "regular")},
                     {"pricing_model", p.value("pricing_model", std::string{"PMP"})},
                     {"type", type},
                     {"category", category}};
  }
  auto contacts = whatsapp_contacts(recipient, name.empty() ? "Sim User" : name);
  if (!recipient_user.empty()) {
    contacts[0]["user_id"] = recipient_user;
    if (recipient.empty())
      contacts[0].erase("wa_id");
  }
  json tail = {{"contacts", std::move(contacts)}, {"statuses", json::array({std::move(st)})}};
  return whatsapp_envelope(p, tail);
}

outbound whatsapp_webhook(const sim_core& sim, std::string url, std::string kind,
                          const json& payload, const std::string& secret_override,
                          milliseconds timeout) {
  outbound o;
  o.service = "whatsapp";
  o.kind = std::move(kind);
  o.url = std::move(url);
  o.body = to_text(payload);
  o.timeout = timeout;
  o.headers.emplace_back("Content-Type", "application/json");
  o.headers.emplace_back("User-Agent", "facebookexternalua");
  auto secret = secret_override.empty() ? sim.opts().creds.whatsapp_app_secret : secret_override;
  if (!secret.empty()) {
    o.headers.emplace_back("X-Hub-Signature",
                           "sha1=" + core::to_hex(core::hmac_sha1(secret, o.body)));
    o.headers.emplace_back("X-Hub-Signature-256", providers::hub_signature(secret, o.body));
  }
  return o;
}

/// Meta's checks of a template's text parameters: 132018 for a newline, a tab or more than 4
/// consecutive spaces; 132005 when a body parameter alone exceeds the 1024 characters of a body.
std::optional<json> template_parameter_error(const json& tpl) {
  if (!tpl.contains("components") || !tpl["components"].is_array())
    return std::nullopt;
  for (auto& component : tpl["components"]) {
    if (!component.is_object() || !component.contains("parameters")
        || !component["parameters"].is_array())
      continue;
    for (auto& p : component["parameters"]) {
      if (!p.is_object() || p.value("type", std::string{}) != "text")
        continue;
      auto text = text_of(p, "text");
      if (text.find_first_of("\n\t") != std::string::npos
          || text.find("     ") != std::string::npos)
        return graph_error(132018,
                           "(#132018) There was an issue with the parameters in your template.",
                           "OAuthException", 0,
                           {{"messaging_product", "whatsapp"},
                            {"details", "Param text cannot have new-line/tab characters or more "
                                        "than 4 consecutive spaces"}});
      if (text_of(component, "type") == "body" && core::count_code_points(text) > 1024)
        return graph_error(132005, "(#132005) Translated text too long", "OAuthException", 0,
                           {{"messaging_product", "whatsapp"},
                            {"details", "The body of the template with its parameters exceeds "
                                        "1024 characters."}});
    }
  }
  return std::nullopt;
}

/// POST /messages with "status": mark an inbound message read, optionally with the typing
/// indicator ({"type": "text"}, Meta's only kind); unknown ids get Meta's invalid-parameter error.
handled whatsapp_mark_read(sim_core& sim, const json& body) {
  handled h;
  auto bad = [&](std::string details) {
    h.res = reply(400, graph_error(100, "(#100) Invalid parameter", "OAuthException", 0,
                                   {{"messaging_product", "whatsapp"}, {"details", details}}));
    return h;
  };
  if (text_of(body, "status") != "read")
    return bad("Param status must be 'read'");
  auto id = text_of(body, "message_id");
  if (id.empty())
    return bad("The parameter message_id is required.");
  if (body.contains("typing_indicator")) {
    auto& t = body["typing_indicator"];
    if (!t.is_object() || text_of(t, "type") != "text")
      return bad("Param typing_indicator['type'] must be 'text'");
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    const auto& key = it.key();
    if (key != "messaging_product" && key != "status" && key != "message_id"
        && key != "typing_indicator")
      return bad("Unexpected key \"" + key + "\" on param \"messages\".");
  }
  {
    std::lock_guard<std::mutex> guard{sim.mtx};
    if (sim.state.inbound_wamids.count(id) == 0)
      return bad("Invalid message_id: no inbound message with this id was received by this "
                 "business phone number.");
  }
  h.res = reply(200, {{"success", true}});
  return h;
}

/// The type-specific part of an inbound message.
json whatsapp_inbound_content(const std::string& type, const json& p) {
  auto media = [&](const char* mime) {
    json m = {{"mime_type", p.value("mime_type", std::string{mime})},
              {"sha256", p.value("sha256", core::base64_encode(core::sha256(core::random_hex(8))))},
              {"id", p.value("media_id", std::to_string(100000000 + now_unix() % 100000000))}};
    if (p.contains("caption"))
      m["caption"] = p["caption"];
    return m;
  };
  if (type == "text")
    return {{"body", p.value("text", std::string{"Hello"})}};
  if (type == "image")
    return media("image/jpeg");
  if (type == "audio") {
    auto m = media("audio/ogg; codecs=opus");
    m["voice"] = p.value("voice", true);
    return m;
  }
  if (type == "video")
    return media("video/mp4");
  if (type == "document") {
    auto m = media("application/pdf");
    m["filename"] = p.value("filename", std::string{"document.pdf"});
    return m;
  }
  if (type == "sticker") {
    auto m = media("image/webp");
    m["animated"] = false;
    return m;
  }
  if (type == "location")
    return {{"latitude", p.value("latitude", 38.9806263495)},
            {"longitude", p.value("longitude", -131.9428612257)}};
  if (type == "reaction")
    return {{"message_id", p.value("reaction_to", std::string{})},
            {"emoji", p.value("emoji", std::string{"\xF0\x9F\x91\x8D"})}};
  if (type == "button")
    return {{"payload", p.value("payload", std::string{})},
            {"text", p.value("text", std::string{})}};
  return nullptr;
}

json whatsapp_inbound_payload(sim_core& sim, const json& p) {
  auto from = text_of(p, "from");
  if (from.empty())
    from = "15550001234";
  auto type = p.value("type", std::string{"text"});
  json msg;
  if (p.contains("message") && p["message"].is_object()) {
    msg = p["message"];
  } else {
    msg = json::object();
    if (p.contains("context_id"))
      msg["context"] = {{"from", text_of(p, "display_phone_number").empty()
                                     ? std::string{default_display_phone}
                                     : text_of(p, "display_phone_number")},
                        {"id", text_of(p, "context_id")}};
    // Since 2026 every message names its sender's business-scoped user id; a user with a
    // username may withhold the number ("withhold_phone": from and wa_id omitted).
    if (!p.value("withhold_phone", false))
      msg["from"] = from;
    if (!text_of(p, "user_id").empty())
      msg["from_user_id"] = text_of(p, "user_id");
    auto id = text_of(p, "id");
    msg["id"] = id.empty() ? make_wamid(sim, from) : id;
    msg["timestamp"] = std::to_string(p.value("timestamp", now_unix()));
    if (type == "unsupported") {
      msg["errors"] = json::array(
          {{{"code", 131051},
            {"title", "Message type unknown"},
            {"message", "Message type unknown"},
            {"error_data", {{"details", "Message type is currently not supported."}}}}});
    } else {
      auto content = whatsapp_inbound_content(type, p);
      if (!content.is_null())
        msg[type] = std::move(content);
    }
    msg["type"] = type;
  }
  if (msg.contains("id") && msg["id"].is_string()) {
    std::lock_guard<std::mutex> guard{sim.mtx};
    sim.state.inbound_wamids.insert(msg["id"].get<std::string>());
  }
  auto contacts
      = whatsapp_contacts(msg.value("from", from), p.value("name", std::string{"Sim User"}));
  if (!text_of(p, "user_id").empty())
    contacts[0]["user_id"] = text_of(p, "user_id");
  if (p.value("withhold_phone", false)) {
    contacts[0].erase("wa_id");
    contacts[0]["profile"]["username"] = p.value("username", std::string{"@sim_user"});
  }
  json tail = {{"contacts", std::move(contacts)}, {"messages", json::array({std::move(msg)})}};
  return whatsapp_envelope(p, tail);
}

void control_whatsapp_inbound(sim_core& sim, const json& body, http::responder& respond) {
  auto payload = whatsapp_inbound_payload(sim, body);
  deliver_and_answer(sim,
                     {whatsapp_webhook(sim, target_url(sim, body, whatsapp_webhook_path), "inbound",
                                       payload, text_of(body, "secret"), timeout_of(body))},
                     body, respond);
}

void control_whatsapp_status(sim_core& sim, const json& body, http::responder& respond) {
  auto p = body;
  if (text_of(p, "id").empty())
    return bad_request(respond, "\"id\" (the wamid) is required");
  if (text_of(p, "recipient_id").empty()) {
    std::lock_guard<std::mutex> guard{sim.mtx};
    auto it = sim.state.wamid_recipient.find(text_of(p, "id"));
    p["recipient_id"] = it == sim.state.wamid_recipient.end() ? "15550001234" : it->second;
  }
  std::vector<outbound> reqs;
  std::vector<std::string> statuses;
  if (p.contains("statuses") && p["statuses"].is_array())
    for (auto& s : p["statuses"])
      statuses.push_back(s.get<std::string>());
  else
    statuses.push_back(p.value("status", std::string{"delivered"}));
  for (auto& s : statuses) {
    p["status"] = s;
    reqs.push_back(whatsapp_webhook(sim, target_url(sim, body, whatsapp_webhook_path), "status",
                                    whatsapp_status_payload(p), text_of(body, "secret"),
                                    timeout_of(body)));
  }
  deliver_and_answer(sim, std::move(reqs), body, respond);
}

void control_whatsapp_rules(sim_core& sim, const json& body, http::responder& respond) {
  std::lock_guard<std::mutex> guard{sim.mtx};
  auto& rules = sim.state.whatsapp_rules;
  if (body.value("clear", false) && !body.contains("recipient")) {
    rules.clear();
  } else {
    auto wa_id = digits_only(text_of(body, "recipient"));
    if (wa_id.empty())
      return bad_request(respond, "\"recipient\" (the user's number) is required");
    if (body.value("clear", false)) {
      rules.erase(wa_id);
    } else {
      whatsapp_rule r;
      r.code = body.value("error_code", int64_t{0});
      const auto* spec = whatsapp_error_spec_for(r.code);
      if (!spec)
        return bad_request(respond,
                           "\"error_code\" must be one of 131047, 131026, 131049, 131056, 130429");
      auto mode = body.value("mode", std::string{spec->async ? "async" : "sync"});
      if (mode != "sync" && mode != "async")
        return bad_request(respond, "\"mode\" must be \"sync\" or \"async\"");
      r.async = mode == "async";
      r.remaining = body.value("count", int64_t{-1});
      rules[wa_id] = r;
    }
  }
  json out = json::object();
  for (auto& [wa, r] : rules)
    out[wa] = {
        {"error_code", r.code}, {"mode", r.async ? "async" : "sync"}, {"remaining", r.remaining}};
  respond(json_response(200, {{"rules", std::move(out)}}));
}

void control_whatsapp_auto_status(sim_core& sim, const json& body, http::responder& respond) {
  std::lock_guard<std::mutex> guard{sim.mtx};
  auto& st = sim.state;
  if (body.value("enabled", true)) {
    st.whatsapp_status_url = target_url(sim, body, whatsapp_webhook_path);
    if (body.contains("statuses"))
      st.whatsapp_auto_statuses = body["statuses"].get<std::vector<std::string>>();
    st.whatsapp_auto_delay = milliseconds{body.value("delay_ms", int64_t{50})};
  } else {
    st.whatsapp_status_url.clear();
  }
  respond(json_response(
      200, {{"url", st.whatsapp_status_url}, {"statuses", st.whatsapp_auto_statuses}}));
}

} // namespace

json whatsapp_error_body(int status) {
  switch (status) {
  case 400:
    return graph_error(100, "(#100) Invalid parameter");
  case 401:
    return graph_error(190, "Invalid OAuth access token - Cannot parse access token");
  case 403:
    return graph_error(10, "(#10) Application does not have permission for this action");
  case 404:
    return graph_error(803, "(#803) Some of the aliases you requested do not exist");
  case 429:
    return graph_error(130429, "(#130429) Rate limit hit", "OAuthException", 0,
                       {{"messaging_product", "whatsapp"},
                        {"details", "Cloud API message throughput has been reached."}});
  default:
    if (status >= 500)
      return graph_error(131000, "(#131000) Something went wrong", "OAuthException", 0,
                         {{"messaging_product", "whatsapp"}, {"details", "Something went wrong"}});
    return graph_error(1, "An unknown error occurred");
  }
}

handled whatsapp_send(sim_core& sim, const http::request& req) {
  handled h;
  auto token = bearer_of(req);
  if (token.empty()) {
    h.res = reply(401, graph_error(104, "An access token is required to request this resource."));
    return h;
  }
  if (!accepted(sim.opts().creds.whatsapp_access_token, token)) {
    h.res = reply(401, whatsapp_error_body(401));
    return h;
  }
  auto seg = split_path(req.path);
  auto phone_number_id = seg.size() >= 2 ? seg[seg.size() - 2] : std::string{};
  if (req.method != "POST") {
    h.res = reply(400, graph_error(100,
                                   "(#100) Unsupported " + lower(req.method)
                                       + " request. Object with ID '" + phone_number_id
                                       + "' does not support this operation",
                                   "GraphMethodException"));
    return h;
  }
  auto body = parse_json(req.body);
  auto bad = [&](std::string message) {
    h.res = reply(400, graph_error(100, std::move(message)));
    return h;
  };
  if (!body.is_object() || text_of(body, "messaging_product") != "whatsapp")
    return bad("(#100) The parameter messaging_product is required.");
  if (body.contains("status"))
    return whatsapp_mark_read(sim, body);
  // A user is addressed by number ("to") or, since 2026, by business-scoped user id
  // ("recipient", country code + "." + digits; a malformed one is refused like an unknown id).
  auto to = text_of(body, "to");
  auto bsuid = text_of(body, "recipient");
  if (to.empty() && bsuid.empty())
    return bad("(#100) The parameter to is required.");
  if (!bsuid.empty() && !providers::is_whatsapp_user_id(bsuid))
    return bad("(#100) Invalid parameter: recipient is not a valid business-scoped user ID.");
  if (to.empty())
    to = bsuid;
  auto type = body.value("type", std::string{"text"});
  if (type == "text") {
    if (!body.contains("text") || text_of(body["text"], "body").empty())
      return bad("(#100) The parameter text['body'] is required.");
  } else if (type == "template") {
    if (!body.contains("template") || text_of(body["template"], "name").empty())
      return bad("(#100) The parameter template['name'] is required.");
    if (!body["template"].contains("language")
        || text_of(body["template"]["language"], "code").empty())
      return bad("(#100) The parameter template['language']['code'] is required.");
    if (auto refused = template_parameter_error(body["template"])) {
      h.res = reply(400, *refused);
      return h;
    }
  } else if (!body.contains(type) || !body[type].is_object()) {
    return bad("(#100) The parameter " + type + " is required.");
  }
  auto wa_id = bsuid.empty() || !text_of(body, "to").empty() ? digits_only(to) : bsuid;
  std::lock_guard<std::mutex> guard{sim.mtx};
  // A per-recipient rule answers with Meta's error for this user (templates are exempt from
  // the re-engagement rule, as at Meta).
  const whatsapp_error_spec* refusal = nullptr;
  bool refuse_async = false;
  if (auto rule = sim.state.whatsapp_rules.find(wa_id); rule != sim.state.whatsapp_rules.end()) {
    auto& r = rule->second;
    if (!(r.code == 131047 && type == "template")) {
      refusal = whatsapp_error_spec_for(r.code);
      refuse_async = r.async;
      if (r.remaining > 0 && --r.remaining == 0)
        sim.state.whatsapp_rules.erase(rule);
    }
  }
  if (refusal && !refuse_async) {
    h.res = reply(400,
                  graph_error(static_cast<int>(refusal->code),
                              "(#" + std::to_string(refusal->code) + ") " + refusal->title,
                              "OAuthException", 0,
                              {{"messaging_product", "whatsapp"}, {"details", refusal->details}}));
    return h;
  }
  auto wamid = make_wamid(sim, wa_id);
  json message = {{"id", wamid}};
  if (type == "template")
    message["message_status"] = "accepted";
  bool by_user_id = wa_id == bsuid;
  json contact = {{"input", to}};
  contact[by_user_id ? "user_id" : "wa_id"] = wa_id;
  h.res = reply(200, {{"messaging_product", "whatsapp"},
                      {"contacts", json::array({std::move(contact)})},
                      {"messages", json::array({std::move(message)})}});
  sim.state.wamid_recipient[wamid] = wa_id;
  if (refusal) {
    // Accepted, then reported failed in a status webhook, without a "sent" first.
    auto url = sim.state.whatsapp_status_url.empty()
                   ? target_url(sim, json::object(), whatsapp_webhook_path)
                   : sim.state.whatsapp_status_url;
    json p = {{"id", wamid},
              {"status", "failed"},
              {"phone_number_id", phone_number_id},
              {"error_code", refusal->code},
              {"error_title", refusal->title},
              {"error_details", refusal->details}};
    p[by_user_id ? "recipient_user_id" : "recipient_id"] = wa_id;
    h.after.push_back(
        whatsapp_webhook(sim, url, "status", whatsapp_status_payload(p), "", milliseconds{10000}));
    h.after_delay = sim.state.whatsapp_auto_delay;
    return h;
  }
  if (!sim.state.whatsapp_status_url.empty()) {
    for (auto& status : sim.state.whatsapp_auto_statuses) {
      json p = {{"id", wamid},
                {"status", status},
                {"phone_number_id", phone_number_id},
                {"template", type == "template"}};
      p[by_user_id ? "recipient_user_id" : "recipient_id"] = wa_id;
      h.after.push_back(whatsapp_webhook(sim, sim.state.whatsapp_status_url, "status",
                                         whatsapp_status_payload(p), "", milliseconds{10000}));
    }
    h.after_delay = sim.state.whatsapp_auto_delay;
  }
  return h;
}

std::vector<control_route> whatsapp_control_routes() {
  return {
      post_json("/_sim/whatsapp/inbound", control_whatsapp_inbound),
      post_json("/_sim/whatsapp/status", control_whatsapp_status),
      post_json("/_sim/whatsapp/rules", control_whatsapp_rules),
      post_json("/_sim/whatsapp/auto_status", control_whatsapp_auto_status),
  };
}

} // namespace switchboard::sim
