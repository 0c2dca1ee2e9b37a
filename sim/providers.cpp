#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <regex>
#include <set>

#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/signatures.hpp"
#include "core/text.hpp"
#include "core/utf8.hpp"
#include "core/whatsapp.hpp"
#include "sim/answer.hpp"
#include "sim/sim.hpp"

namespace switchboard::sim {

namespace {

// Default webhook paths on the Switchboard server, used when a deliver call gives neither "url"
// nor "path".
constexpr const char* whatsapp_webhook_path = "/webhooks/whatsapp";
constexpr const char* twilio_webhook_path = "/webhooks/sms/twilio";
constexpr const char* mtn_webhook_path = "/webhooks/sms/mtn";
constexpr const char* telegram_webhook_path = "/webhooks/telegram";
constexpr const char* chatwoot_webhook_path = "/webhooks/chatwoot";

constexpr const char* default_waba_id = "100000000000002";
constexpr const char* default_phone_number_id = "100000000000001";
constexpr const char* default_display_phone = "15550000001";

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos)
      j = path.size();
    out.push_back(core::url_decode(path.substr(i, j - i)));
    i = j;
  }
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string digits_only(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c >= '0' && c <= '9')
      out += c;
  return out;
}

std::string to_text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json parse_json(std::string_view body) {
  if (body.empty())
    return json(json::value_t::discarded);
  return json::parse(body.begin(), body.end(), nullptr, false);
}

/// A JSON field as text: strings as they are, numbers in decimal, anything else empty.
std::string text_of(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key))
    return {};
  auto& v = obj[key];
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_number_integer())
    return std::to_string(v.get<int64_t>());
  if (v.is_number())
    return v.dump();
  if (v.is_boolean())
    return v.get<bool>() ? "true" : "false";
  return {};
}

/// The credentials of a Bearer Authorization header, or empty.
std::string bearer_of(const http::request& req) {
  auto auth = req.headers.get("Authorization");
  if (auth.size() > 7 && lower(auth.substr(0, 7)) == "bearer ")
    return trim(auth.substr(7));
  return {};
}

/// user and password of a Basic Authorization header.
std::optional<std::pair<std::string, std::string>> basic_of(const http::request& req) {
  auto auth = req.headers.get("Authorization");
  if (auth.size() <= 6 || lower(auth.substr(0, 6)) != "basic ")
    return std::nullopt;
  auto decoded = core::base64_decode(trim(auth.substr(6)));
  if (!decoded)
    return std::nullopt;
  auto colon = decoded->find(':');
  if (colon == std::string::npos)
    return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

/// Whether a presented credential is accepted: anything when none is configured.
bool accepted(const std::string& configured, std::string_view presented) {
  return configured.empty() || core::constant_time_equal(configured, presented);
}

std::string uuid4() {
  auto h = core::random_hex(16);
  h[12] = '4';
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-"
         + h.substr(20);
}

std::string rfc2822_now() {
  auto t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

/// An answer with JSON body and the content type a provider uses.
http::response reply(int status, const json& body,
                     std::string content_type = "application/json; charset=utf-8") {
  return http::response::make(status, to_text(body), std::move(content_type));
}

/// Webhook target: "url" as given, or the server URL plus "path" (or the default path).
std::string target_url(const sim_core& sim, const json& body, const std::string& default_path) {
  auto url = text_of(body, "url");
  if (!url.empty())
    return url;
  auto path = text_of(body, "path");
  if (path.empty())
    path = default_path;
  auto base = sim.server_url();
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  if (!path.empty() && path.front() != '/')
    path.insert(path.begin(), '/');
  return base + path;
}

/// The server's public URL for a target URL (Twilio signs the URL as the server publishes it).
std::string public_url_for(const sim_core& sim, const std::string& url) {
  auto pub = sim.public_url();
  auto srv = sim.server_url();
  if (!pub.empty() && !srv.empty() && starts_with(url, srv))
    return pub + url.substr(srv.size());
  return url;
}

/// The reachable URL for a URL the server gave as public (e.g. a Twilio StatusCallback).
std::string reachable_url_for(const sim_core& sim, const std::string& url) {
  auto pub = sim.public_url();
  auto srv = sim.server_url();
  if (!pub.empty() && !srv.empty() && starts_with(url, pub))
    return srv + url.substr(pub.size());
  return url;
}

milliseconds timeout_of(const json& body) {
  auto ms = body.is_object() ? body.value("timeout_ms", int64_t{10000}) : int64_t{10000};
  return milliseconds{std::max<int64_t>(ms, 1)};
}

/// Sends webhooks and answers the control call with the server's answers (or 202 at once when
/// "async" is true).
void deliver_and_answer(sim_core& sim, std::vector<outbound> reqs, const json& body,
                        http::responder respond) {
  bool async = body.is_object() && body.value("async", false);
  if (async) {
    json urls = json::array();
    for (auto& r : reqs)
      urls.push_back(r.url);
    sim.deliver(std::move(reqs));
    respond(json_response(202, {{"queued", true}, {"urls", std::move(urls)}}));
    return;
  }
  auto sent = reqs;
  sim.deliver(std::move(reqs), [respond, sent](std::vector<outbound_result> results) {
    json list = json::array();
    for (std::size_t i = 0; i < results.size(); ++i) {
      auto& r = results[i];
      auto& s = sent[i];
      json headers = json::object();
      for (auto& [k, v] : s.headers)
        headers[k] = v;
      list.push_back({{"delivery_id", r.id},
                      {"delivered", r.error.empty()},
                      {"url", s.url},
                      {"status", r.status},
                      {"response_body", r.body},
                      {"error", r.error},
                      {"request", {{"headers", std::move(headers)}, {"body", s.body}}}});
    }
    if (list.size() == 1)
      respond(json_response(200, list[0]));
    else
      respond(json_response(200, {{"deliveries", std::move(list)}}));
  });
}

// ------------------------------------------------------------------------------------------------
// WhatsApp Cloud API

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
    o.headers.emplace_back("X-Hub-Signature-256", core::hub_signature(secret, o.body));
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
  if (!bsuid.empty() && !core::is_whatsapp_user_id(bsuid))
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

// ------------------------------------------------------------------------------------------------
// Twilio Messages API

json twilio_error(int code, std::string message, int status, std::string detail = {}) {
  json e = {{"code", code}};
  if (!detail.empty())
    e["detail"] = std::move(detail);
  e["message"] = std::move(message);
  e["more_info"] = "https://www.twilio.com/docs/errors/" + std::to_string(code);
  e["status"] = status;
  return e;
}

json twilio_error_body(int status) {
  switch (status) {
  case 400:
    return twilio_error(21211, "Invalid 'To' Phone Number", 400);
  case 401:
    return twilio_error(20003, "Authenticate", 401, "Your AccountSid or AuthToken was incorrect.");
  case 404:
    return twilio_error(20404, "The requested resource was not found", 404);
  case 429:
    return twilio_error(20429, "Too Many Requests", 429);
  default:
    if (status >= 500)
      return twilio_error(20500, "Internal Server Error", status);
    return twilio_error(20001, "Bad request", status);
  }
}

/// Segments Twilio would bill: GSM-7 (160/153) when every character is 7-bit, else UCS-2 (70/67).
int sms_segments(std::string_view body) {
  bool gsm = std::all_of(body.begin(), body.end(),
                         [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  std::size_t units = 0;
  if (gsm) {
    for (char c : body)
      units += std::string_view{"^{}\\[~]|"}.find(c) == std::string_view::npos ? 1 : 2;
    return units <= 160 ? 1 : static_cast<int>((units + 152) / 153);
  }
  for (std::size_t i = 0; i < body.size();) {
    auto c = static_cast<unsigned char>(body[i]);
    std::size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    units += len == 4 ? 2 : 1;
    i += len;
  }
  return units <= 70 ? 1 : static_cast<int>((units + 66) / 67);
}

outbound twilio_webhook(const sim_core& sim, const std::string& url, std::string kind,
                        const core::form_params& params, const std::string& signature_url,
                        const std::string& secret_override, milliseconds timeout) {
  outbound o;
  o.service = "twilio";
  o.kind = std::move(kind);
  o.url = url;
  o.body = core::encode_form(params);
  o.timeout = timeout;
  o.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  o.headers.emplace_back("User-Agent", "TwilioProxy/1.1");
  o.headers.emplace_back("I-Twilio-Idempotency-Token", uuid4());
  auto token = secret_override.empty() ? sim.opts().creds.twilio_auth_token : secret_override;
  if (!token.empty())
    o.headers.emplace_back("X-Twilio-Signature",
                           core::twilio_signature(token, signature_url, params));
  return o;
}

core::form_params twilio_status_params(const json& msg, const std::string& status,
                                       const std::string& error_code) {
  core::form_params p;
  auto sid = msg.value("sid", std::string{});
  if (!error_code.empty())
    p.emplace_back("ErrorCode", error_code);
  p.emplace_back("SmsSid", sid);
  p.emplace_back("SmsStatus", status);
  p.emplace_back("MessageStatus", status);
  p.emplace_back("To", msg.value("to", std::string{}));
  if (msg.contains("messaging_service_sid") && msg["messaging_service_sid"].is_string())
    p.emplace_back("MessagingServiceSid", msg["messaging_service_sid"].get<std::string>());
  p.emplace_back("MessageSid", sid);
  p.emplace_back("AccountSid", msg.value("account_sid", std::string{}));
  if (msg.contains("from") && msg["from"].is_string())
    p.emplace_back("From", msg["from"].get<std::string>());
  p.emplace_back("ApiVersion", "2010-04-01");
  return p;
}

handled twilio_messages(sim_core& sim, const http::request& req) {
  handled h;
  const auto& creds = sim.opts().creds;
  auto seg = split_path(req.path);
  // 2010-04-01 / Accounts / {sid} / Messages.json  |  .../Messages/{MessageSid}.json
  if (seg.size() < 4 || seg[1] != "Accounts") {
    h.res = reply(404, twilio_error_body(404));
    return h;
  }
  const auto& path_sid = seg[2];
  auto auth = basic_of(req);
  if (!auth || auth->first != path_sid || !accepted(creds.twilio_account_sid, auth->first)
      || !accepted(creds.twilio_auth_token, auth->second)) {
    h.res = reply(401, twilio_error_body(401));
    return h;
  }
  if (seg.size() == 5 && seg[3] == "Messages" && ends_with(seg[4], ".json")
      && req.method == "GET") {
    auto sid = seg[4].substr(0, seg[4].size() - 5);
    std::lock_guard<std::mutex> guard{sim.mtx};
    auto it = sim.state.twilio_messages.find(sid);
    if (it == sim.state.twilio_messages.end()) {
      h.res = reply(404, twilio_error(20404,
                                      "The requested resource /2010-04-01/Accounts/" + path_sid
                                          + "/Messages/" + sid + ".json was not found",
                                      404));
      return h;
    }
    auto msg = it->second;
    msg.erase("_callback");
    h.res = reply(200, msg);
    return h;
  }
  if (!(seg.size() == 4 && seg[3] == "Messages.json" && req.method == "POST")) {
    h.res = reply(404, twilio_error_body(404));
    return h;
  }
  auto form = core::parse_form(req.body);
  auto to = std::string{core::form_value(form, "To")};
  auto from = std::string{core::form_value(form, "From")};
  auto service_sid = std::string{core::form_value(form, "MessagingServiceSid")};
  auto text = std::string{core::form_value(form, "Body")};
  auto media = std::string{core::form_value(form, "MediaUrl")};
  auto callback = std::string{core::form_value(form, "StatusCallback")};
  if (to.empty()) {
    h.res = reply(400, twilio_error(21604, "A 'To' phone number is required.", 400));
    return h;
  }
  if (from.empty() && service_sid.empty()) {
    h.res = reply(400, twilio_error(21603, "A 'From' phone number is required.", 400));
    return h;
  }
  if (text.empty() && media.empty()) {
    h.res = reply(400, twilio_error(21602, "Message body is required.", 400));
    return h;
  }
  if (text.size() > 1600) {
    h.res = reply(400, twilio_error(21617,
                                    "The concatenated message body exceeds the 1600 "
                                    "character limit.",
                                    400));
    return h;
  }
  auto sid = "SM" + core::random_hex(16);
  auto now = rfc2822_now();
  auto uri = "/2010-04-01/Accounts/" + path_sid + "/Messages/" + sid;
  int num_media = 0;
  for (auto& [k, v] : form)
    if (k == "MediaUrl")
      ++num_media;
  json msg = {{"body", text},
              {"num_segments", std::to_string(sms_segments(text))},
              {"direction", "outbound-api"},
              {"from", from.empty() ? json(nullptr) : json(from)},
              {"to", to},
              {"date_updated", now},
              {"price", nullptr},
              {"error_message", nullptr},
              {"uri", uri + ".json"},
              {"account_sid", path_sid},
              {"num_media", std::to_string(num_media)},
              {"status", from.empty() ? "accepted" : "queued"},
              {"messaging_service_sid", service_sid.empty() ? json(nullptr) : json(service_sid)},
              {"sid", sid},
              {"date_sent", nullptr},
              {"date_created", now},
              {"error_code", nullptr},
              {"price_unit", "USD"},
              {"api_version", "2010-04-01"},
              {"subresource_uris", {{"media", uri + "/Media.json"}}}};
  h.res = reply(201, msg);
  std::lock_guard<std::mutex> guard{sim.mtx};
  auto stored = msg;
  stored["_callback"] = callback;
  if (from.empty())
    stored["from"] = "+15005550006";
  if (!callback.empty() && sim.state.twilio_auto_status) {
    for (auto& status : sim.state.twilio_auto_statuses) {
      auto params = twilio_status_params(stored, status, "");
      h.after.push_back(twilio_webhook(sim, reachable_url_for(sim, callback), "status", params,
                                       callback, "", milliseconds{10000}));
      stored["status"] = status;
    }
    h.after_delay = sim.state.twilio_auto_delay;
  }
  sim.state.twilio_messages[sid] = std::move(stored);
  return h;
}

// ------------------------------------------------------------------------------------------------
// MTN SMS v3 (MADAPI behind an Apigee OAuth2 client-credentials token endpoint)

json mtn_error(const http::request& req, std::string code, std::string message) {
  return {{"statusCode", std::move(code)},
          {"statusMessage", std::move(message)},
          {"supportMessage", "switchboard-sim"},
          {"transactionId", uuid4()},
          {"timestamp", now_iso8601()},
          {"path", req.path},
          {"method", req.method}};
}

json mtn_error_body(int status, const http::request& req) {
  switch (status) {
  case 400:
    return mtn_error(req, "4000", "Bad Request");
  case 401:
    return mtn_error(req, "4010", "Unauthorized. Invalid or expired access token");
  case 404:
    return mtn_error(req, "4040", "Resource not found");
  case 429:
    return mtn_error(req, "4290", "Too many requests");
  default:
    if (status >= 500)
      return mtn_error(req, std::to_string(status) + "0", "Internal Server Error");
    return mtn_error(req, std::to_string(status) + "0", "Request failed");
  }
}

std::string apigee_token() {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  auto hex = core::random_hex(28);
  std::string out;
  for (std::size_t i = 0; i < 28; ++i)
    out += alphabet[std::stoi(hex.substr(i * 2, 2), nullptr, 16) % 62];
  return out;
}

handled mtn_token(sim_core& sim, const http::request& req) {
  handled h;
  const auto& creds = sim.opts().creds;
  auto form = core::parse_form(req.body);
  auto query = core::parse_form(req.query);
  auto grant = std::string{core::form_value(query, "grant_type")};
  if (grant.empty())
    grant = std::string{core::form_value(form, "grant_type")};
  if (req.method != "POST") {
    h.res = reply(405, {{"ErrorCode", "invalid_request"}, {"Error", "Method not allowed"}});
    return h;
  }
  if (grant != "client_credentials") {
    h.res = reply(
        400, {{"ErrorCode", "invalid_request"}, {"Error", "Unsupported grant type : " + grant}});
    return h;
  }
  auto id = std::string{core::form_value(form, "client_id")};
  auto secret = std::string{core::form_value(form, "client_secret")};
  if (auto basic = basic_of(req); basic && id.empty()) {
    id = basic->first;
    secret = basic->second;
  }
  if (id.empty()) {
    h.res = reply(401, {{"ErrorCode", "invalid_client"}, {"Error", "ClientId is Invalid"}});
    return h;
  }
  if (!accepted(creds.mtn_client_id, id) || !accepted(creds.mtn_client_secret, secret)) {
    h.res = reply(401,
                  {{"ErrorCode", "invalid_client"}, {"Error", "Client credentials are invalid"}});
    return h;
  }
  auto token = apigee_token();
  auto ttl = sim.opts().mtn_token_ttl;
  {
    std::lock_guard<std::mutex> guard{sim.mtx};
    sim.state.mtn_tokens[token] = std::chrono::steady_clock::now() + ttl;
  }
  auto issued_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  // Apigee's OAuthV2 answer: every value is a string.
  h.res = reply(200, {{"refresh_token_expires_in", "0"},
                      {"api_product_list", "[SMS V3]"},
                      {"api_product_list_json", json::array({"SMS V3"})},
                      {"organization_name", "mtn-sim"},
                      {"developer.email", "developer@example.com"},
                      {"token_type", "BearerToken"},
                      {"issued_at", std::to_string(issued_ms)},
                      {"client_id", id},
                      {"access_token", token},
                      {"application_name", uuid4()},
                      {"scope", ""},
                      {"expires_in", std::to_string(ttl.count())},
                      {"refresh_count", "0"},
                      {"status", "approved"}});
  return h;
}

handled mtn_outbound(sim_core& sim, const http::request& req) {
  handled h;
  auto token = bearer_of(req);
  {
    std::lock_guard<std::mutex> guard{sim.mtx};
    auto it = sim.state.mtn_tokens.find(token);
    if (token.empty() || it == sim.state.mtn_tokens.end()) {
      h.res = reply(401, mtn_error(req, "4010", "Unauthorized. Invalid access token"));
      return h;
    }
    if (it->second <= std::chrono::steady_clock::now()) {
      h.res = reply(401, mtn_error(req, "4010", "Unauthorized. Access token expired"));
      return h;
    }
  }
  if (req.method != "POST") {
    h.res = reply(405, mtn_error(req, "4050", "Method not allowed"));
    return h;
  }
  auto body = parse_json(req.body);
  if (!body.is_object()) {
    h.res = reply(400, mtn_error(req, "4000", "Bad Request: the body is not a JSON object"));
    return h;
  }
  const json rcv = body.contains("receiverAddress") ? body["receiverAddress"] : json{};
  if (!rcv.is_array() || rcv.empty()
      || !std::all_of(rcv.begin(), rcv.end(), [](const json& x) { return x.is_string(); })) {
    h.res = reply(400, mtn_error(req, "4000", "Bad Request: receiverAddress is required"));
    return h;
  }
  if (text_of(body, "message").empty()) {
    h.res = reply(400, mtn_error(req, "4000", "Bad Request: message is required"));
    return h;
  }
  auto correlator = text_of(body, "clientCorrelatorId");
  if (correlator.empty())
    correlator = text_of(body, "clientCorrelator");
  if (correlator.size() > 36) {
    h.res = reply(400,
                  mtn_error(req, "4000", "Bad Request: clientCorrelatorId exceeds 36 characters"));
    return h;
  }
  h.res = reply(200, {{"statusCode", "0000"},
                      {"statusMessage", "Successful"},
                      {"transactionId", uuid4()},
                      {"data", {{"status", "PENDING"}}}});
  return h;
}

// ------------------------------------------------------------------------------------------------
// Telegram Bot API

json telegram_error(int code, std::string description, int retry_after = 0) {
  json e = {{"ok", false}, {"error_code", code}, {"description", std::move(description)}};
  if (retry_after > 0)
    e["parameters"] = {{"retry_after", retry_after}};
  return e;
}

json telegram_error_body(int status, int retry_after) {
  switch (status) {
  case 400:
    return telegram_error(400, "Bad Request: chat not found");
  case 401:
    return telegram_error(401, "Unauthorized");
  case 403:
    return telegram_error(403, "Forbidden: bot was blocked by the user");
  case 404:
    return telegram_error(404, "Not Found");
  case 429:
    return telegram_error(429, "Too Many Requests: retry after " + std::to_string(retry_after),
                          std::max(retry_after, 1));
  default:
    if (status >= 500)
      return telegram_error(status, "Internal Server Error");
    return telegram_error(status, "Bad Request");
  }
}

json telegram_bot_user(const std::string& token) {
  auto colon = token.find(':');
  auto id_text = colon == std::string::npos ? std::string{} : token.substr(0, colon);
  int64_t id = all_digits(id_text) && id_text.size() < 18 ? std::stoll(id_text) : 7000000001;
  return {{"id", id},
          {"is_bot", true},
          {"first_name", "Switchboard Sim Bot"},
          {"username", "switchboard_sim_bot"}};
}

/// Parameters of a Bot API call: query string, then a JSON or form body.
std::optional<json> telegram_params(const http::request& req) {
  json p = json::object();
  for (auto& [k, v] : core::parse_form(req.query))
    p[k] = v;
  auto ct = lower(req.headers.get("Content-Type"));
  if (req.body.empty())
    return p;
  if (ct.find("application/json") != std::string::npos) {
    auto b = parse_json(req.body);
    if (!b.is_object())
      return std::nullopt;
    for (auto& [k, v] : b.items())
      p[k] = v;
  } else if (ct.find("x-www-form-urlencoded") != std::string::npos) {
    for (auto& [k, v] : core::parse_form(req.body)) {
      // Object parameters arrive JSON-serialised in forms.
      auto parsed = (!v.empty() && (v[0] == '{' || v[0] == '[')) ? parse_json(v)
                                                                 : json(json::value_t::discarded);
      p[k] = parsed.is_discarded() ? json(v) : parsed;
    }
  } else {
    auto b = parse_json(req.body);
    if (b.is_object())
      for (auto& [k, v] : b.items())
        p[k] = v;
  }
  return p;
}

/// The chat with this id, created (as a private chat) when the simulator has not seen it.
telegram_chat& telegram_chat_for(provider_state& st, const std::string& key, const json& hint) {
  auto it = st.telegram_chats.find(key);
  if (it != st.telegram_chats.end()) {
    // Names given with a delivery update the peer's profile (as a user renaming themselves).
    for (auto field : {"first_name", "last_name", "username", "language_code"}) {
      if (!hint.contains(field))
        continue;
      it->second.user[field] = hint[field];
      if (std::string_view{field} != "language_code") {
        auto& chat = it->second.chat;
        auto type = chat.value("type", std::string{"private"});
        chat.erase("type");
        chat[field] = hint[field];
        chat["type"] = type;
      }
    }
    return it->second;
  }
  telegram_chat c;
  auto digits = key[0] == '-' ? key.substr(1) : key;
  json id = all_digits(digits) && digits.size() < 19 ? json(std::stoll(key)) : json(key);
  auto first = hint.value("first_name", std::string{"Sim"});
  c.user = {{"id", id}, {"is_bot", false}, {"first_name", first}};
  if (hint.contains("last_name"))
    c.user["last_name"] = hint["last_name"];
  if (hint.contains("username"))
    c.user["username"] = hint["username"];
  c.user["language_code"] = hint.value("language_code", std::string{"en"});
  c.chat = {{"id", id}, {"first_name", first}};
  if (hint.contains("last_name"))
    c.chat["last_name"] = hint["last_name"];
  if (hint.contains("username"))
    c.chat["username"] = hint["username"];
  c.chat["type"] = "private";
  return st.telegram_chats.emplace(key, std::move(c)).first->second;
}

/// A quoted message: without its own reply (Telegram nests replies one level deep) and with the
/// chat as it is now.
json telegram_quoted(json msg, const telegram_chat& chat) {
  msg.erase("reply_to_message");
  msg["chat"] = chat.chat;
  return msg;
}

handled telegram_call(sim_core& sim, const http::request& req) {
  handled h;
  auto rest = std::string_view{req.path}.substr(4); // after "/bot"
  auto slash = rest.find('/');
  auto token = std::string{rest.substr(0, slash)};
  auto method = slash == std::string_view::npos ? std::string{} : lower(rest.substr(slash + 1));
  if (token.empty() || !accepted(sim.opts().creds.telegram_bot_token, token)) {
    h.res = reply(401, telegram_error(401, "Unauthorized"), "application/json");
    return h;
  }
  auto params = telegram_params(req);
  if (!params) {
    h.res = reply(400, telegram_error(400, "Bad Request: can't parse JSON object"),
                  "application/json");
    return h;
  }
  auto& p = *params;
  auto ok = [&](json result, std::string description = {}) {
    json body = {{"ok", true}, {"result", std::move(result)}};
    if (!description.empty())
      body["description"] = std::move(description);
    h.res = reply(200, body, "application/json");
    return h;
  };
  auto fail = [&](int code, std::string description) {
    h.res = reply(code, telegram_error(code, std::move(description)), "application/json");
    return h;
  };
  if (method == "getme")
    return ok(telegram_bot_user(token));
  if (method == "setwebhook") {
    auto url = text_of(p, "url");
    auto secret = text_of(p, "secret_token");
    if (!secret.empty()
        && (secret.size() > 256
            || secret.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789_-")
                   != std::string::npos))
      return fail(400, "Bad Request: secret token contains unallowed characters");
    std::lock_guard<std::mutex> guard{sim.mtx};
    bool was_set = !sim.state.telegram_webhook_url.empty();
    sim.state.telegram_webhook_url = url;
    sim.state.telegram_secret_token = secret;
    if (url.empty())
      return ok(true, was_set ? "Webhook was deleted" : "Webhook is already deleted");
    return ok(true, "Webhook was set");
  }
  if (method == "deletewebhook") {
    std::lock_guard<std::mutex> guard{sim.mtx};
    bool was_set = !sim.state.telegram_webhook_url.empty();
    sim.state.telegram_webhook_url.clear();
    sim.state.telegram_secret_token.clear();
    return ok(true, was_set ? "Webhook was deleted" : "Webhook is already deleted");
  }
  if (method == "getwebhookinfo") {
    std::lock_guard<std::mutex> guard{sim.mtx};
    json info = {{"url", sim.state.telegram_webhook_url},
                 {"has_custom_certificate", false},
                 {"pending_update_count", 0}};
    if (!sim.state.telegram_webhook_url.empty()) {
      info["max_connections"] = 40;
      info["ip_address"] = "127.0.0.1";
    }
    return ok(info);
  }
  if (method == "sendchataction")
    return ok(true);
  if (method == "sendmessage") {
    auto chat_key = text_of(p, "chat_id");
    if (chat_key.empty())
      return fail(400, "Bad Request: chat_id is empty");
    auto text = text_of(p, "text");
    if (trim(text).empty())
      return fail(400, "Bad Request: message text is empty");
    if (text.size() > 4096 * 4 || core::utf8_length(text) > 4096)
      return fail(400, "Bad Request: message is too long");
    if (chat_key.find_first_not_of("-0123456789") != std::string::npos)
      return fail(400, "Bad Request: chat not found");
    int64_t reply_to = 0;
    if (p.contains("reply_parameters") && p["reply_parameters"].is_object())
      reply_to = p["reply_parameters"].value("message_id", int64_t{0});
    else if (!text_of(p, "reply_to_message_id").empty())
      reply_to = std::atoll(text_of(p, "reply_to_message_id").c_str());
    std::lock_guard<std::mutex> guard{sim.mtx};
    auto& chat = telegram_chat_for(sim.state, chat_key, json::object());
    if (chat.blocked)
      return fail(403, "Forbidden: bot was blocked by the user");
    json msg = {{"message_id", chat.next_message_id++},
                {"from", telegram_bot_user(token)},
                {"chat", chat.chat},
                {"date", now_unix()}};
    if (reply_to != 0) {
      auto it = chat.messages.find(reply_to);
      if (it != chat.messages.end())
        msg["reply_to_message"] = telegram_quoted(it->second, chat);
      else if (!(p.contains("reply_parameters")
                 && p["reply_parameters"].value("allow_sending_without_reply", false)))
        return fail(400, "Bad Request: message to be replied not found");
    }
    msg["text"] = text;
    chat.messages[msg["message_id"].get<int64_t>()] = msg;
    return ok(msg);
  }
  return fail(404, "Not Found");
}

// ------------------------------------------------------------------------------------------------
// Chatwoot application API

json chatwoot_agent_bot() {
  return {{"id", 1}, {"name", "Switchboard Bot"}, {"avatar_url", ""}, {"type", "agent_bot"}};
}

json& chatwoot_conversation(provider_state& st, int64_t account, int64_t id) {
  auto key = std::to_string(account) + "/" + std::to_string(id);
  auto it = st.chatwoot_conversations.find(key);
  if (it == st.chatwoot_conversations.end())
    it = st.chatwoot_conversations
             .emplace(key, json{{"account_id", account},
                                {"id", id},
                                {"inbox_id", 1},
                                {"status", "open"},
                                {"messages", json::array()}})
             .first;
  return it->second;
}

/// Chatwoot's BOT_ACCESSIBLE_ENDPOINTS (app/controllers/concerns/access_token_auth_helper.rb):
/// conversations create, update, toggle_status, toggle_priority, custom_attributes; messages
/// create; assignments create. An agent-bot token calling anything else gets 401.
bool chatwoot_bot_accessible(const std::vector<std::string>& seg, const std::string& method) {
  // api / v1 / accounts / {account_id} / conversations [/ {id} [/ action]]
  if (seg.size() < 5 || seg[4] != "conversations")
    return false;
  if (seg.size() == 5)
    return method == "POST";
  if (seg.size() == 6)
    return method == "PATCH" || method == "PUT";
  static const std::set<std::string> actions{"messages", "assignments", "toggle_status",
                                             "toggle_priority", "custom_attributes"};
  return seg.size() == 7 && method == "POST" && actions.count(seg[6]) > 0;
}

/// Whose token a request presents: a user's, an agent bot's, or none the simulator knows. An
/// unconfigured token accepts any value (the user's first: an unconfigured simulator is open).
enum class chatwoot_owner { none, user, bot };

chatwoot_owner chatwoot_token_owner(const credentials& creds, std::string_view token) {
  if (token.empty())
    return chatwoot_owner::none;
  auto is = [&](const std::string& configured) {
    return !configured.empty() && core::constant_time_equal(configured, token);
  };
  if (is(creds.chatwoot_user_token))
    return chatwoot_owner::user;
  if (is(creds.chatwoot_bot_token))
    return chatwoot_owner::bot;
  if (creds.chatwoot_user_token.empty())
    return chatwoot_owner::user;
  if (creds.chatwoot_bot_token.empty())
    return chatwoot_owner::bot;
  return chatwoot_owner::none;
}

handled chatwoot_call(sim_core& sim, const http::request& req) {
  handled h;
  auto token = req.headers.get("api_access_token");
  if (token.empty())
    token = req.headers.get("api-access-token");
  auto owner = chatwoot_token_owner(sim.opts().creds, token);
  if (owner == chatwoot_owner::none) {
    h.res = reply(401, {{"error", "Invalid Access Token"}});
    return h;
  }
  auto seg = split_path(req.path);
  if (owner == chatwoot_owner::bot && !chatwoot_bot_accessible(seg, req.method)) {
    h.res = reply(401, {{"error", "Access to this endpoint is not authorized for bots"}});
    return h;
  }
  auto fail = [&](int status, std::string error) {
    h.res = reply(status, {{"error", std::move(error)}});
    return h;
  };
  auto not_found = [&] { return fail(404, "Resource could not be found"); };
  // api / v1 / accounts / {account_id} / ...
  if (seg.size() < 5 || !all_digits(seg[3]) || seg[3].size() > 15)
    return not_found();
  auto account = std::stoll(seg[3]);
  if (seg.size() == 7 && seg[4] == "conversations" && all_digits(seg[5]) && seg[5].size() < 16) {
    auto conv_id = std::stoll(seg[5]);
    auto body = parse_json(req.body);
    if (seg[6] == "messages" && req.method == "POST") {
      if (!body.is_object() || !body.contains("content") || !body["content"].is_string())
        return fail(422, "content can't be blank");
      auto type = body.value("message_type", std::string{"outgoing"});
      if (type != "outgoing" && type != "incoming")
        return fail(422, "'" + type + "' is not a valid message_type");
      std::lock_guard<std::mutex> guard{sim.mtx};
      auto& conv = chatwoot_conversation(sim.state, account, conv_id);
      json msg = {{"id", sim.state.chatwoot_next_message_id++},
                  {"content", body["content"]},
                  {"inbox_id", conv["inbox_id"]},
                  {"conversation_id", conv_id},
                  {"message_type", type == "outgoing" ? 1 : 0},
                  {"content_type", body.value("content_type", std::string{"text"})},
                  {"status", "sent"},
                  {"content_attributes", body.value("content_attributes", json::object())},
                  {"created_at", now_unix()},
                  {"private", body.value("private", false)},
                  {"source_id", nullptr},
                  {"sender", chatwoot_agent_bot()}};
      conv["messages"].push_back(msg);
      h.res = reply(200, msg);
      return h;
    }
    if (seg[6] == "messages" && req.method == "GET") {
      std::lock_guard<std::mutex> guard{sim.mtx};
      auto& conv = chatwoot_conversation(sim.state, account, conv_id);
      h.res = reply(
          200, {{"meta", {{"labels", json::array()}, {"additional_attributes", json::object()}}},
                {"payload", conv["messages"]}});
      return h;
    }
    if (seg[6] == "toggle_status" && req.method == "POST") {
      static const std::set<std::string> statuses{"open", "resolved", "pending", "snoozed"};
      std::lock_guard<std::mutex> guard{sim.mtx};
      auto& conv = chatwoot_conversation(sim.state, account, conv_id);
      auto current = conv["status"].get<std::string>();
      std::string next;
      if (body.is_object() && body.contains("status"))
        next = text_of(body, "status");
      else
        next = current == "open" ? "resolved" : "open";
      if (!statuses.count(next))
        return fail(422, "'" + next + "' is not a valid status");
      conv["status"] = next;
      h.res = reply(
          200, {{"meta", json::object()},
                {"payload",
                 {{"success", true}, {"current_status", next}, {"conversation_id", conv_id}}}});
      return h;
    }
    return not_found();
  }
  if (seg.size() == 7 && seg[4] == "portals" && seg[6] == "articles" && req.method == "GET") {
    auto q = core::parse_form(req.query);
    auto query = lower(core::form_value(q, "query"));
    auto status = std::string{core::form_value(q, "status")};
    auto locale = std::string{core::form_value(q, "locale")};
    auto page_text = std::string{core::form_value(q, "page")};
    int64_t page = all_digits(page_text) && page_text.size() < 9 ? std::stoll(page_text) : 1;
    page = std::max<int64_t>(page, 1);
    std::lock_guard<std::mutex> guard{sim.mtx};
    auto it = sim.state.chatwoot_articles.find(seg[5]);
    if (it == sim.state.chatwoot_articles.end())
      return not_found();
    json payload = json::array();
    std::size_t matched = 0, published = 0, draft = 0, archived = 0;
    for (auto& a : it->second) {
      auto st = a.value("status", std::string{"published"});
      published += st == "published";
      draft += st == "draft";
      archived += st == "archived";
      if (!status.empty() && st != status)
        continue;
      if (!locale.empty() && a.value("locale", std::string{"en"}) != locale)
        continue;
      if (!query.empty() && lower(a.value("title", std::string{})).find(query) == std::string::npos
          && lower(a.value("content", std::string{})).find(query) == std::string::npos)
        continue;
      ++matched;
      if (matched > static_cast<std::size_t>((page - 1) * 25)
          && matched <= static_cast<std::size_t>(page * 25)) {
        auto out = a;
        out["account_id"] = account;
        payload.push_back(std::move(out));
      }
    }
    h.res = reply(200, {{"payload", std::move(payload)},
                        {"meta",
                         {{"current_page", page},
                          {"articles_count", matched},
                          {"all_articles_count", it->second.size()},
                          {"archived_articles_count", archived},
                          {"published_count", published},
                          {"draft_articles_count", draft},
                          {"mine_articles_count", 0}}}});
    return h;
  }
  return not_found();
}

json chatwoot_contact(const json& p, int64_t account) {
  auto phone = text_of(p, "phone_number");
  auto email = text_of(p, "email");
  return {{"account", {{"id", account}, {"name", "Sim Account"}}},
          {"additional_attributes", json::object()},
          {"avatar", ""},
          {"custom_attributes", json::object()},
          {"email", email.empty() ? json(nullptr) : json(email)},
          {"id", p.value("contact_id", 1)},
          {"identifier", nullptr},
          {"name", p.value("sender_name", std::string{"Sim Customer"})},
          {"phone_number", phone.empty() ? json(nullptr) : json(phone)},
          {"thumbnail", ""},
          {"blocked", false},
          {"type", "contact"}};
}

/// Conversation webhook data in Chatwoot v4's shape (Conversations::EventDataPresenter).
json chatwoot_conversation_data(const json& p, int64_t account, int64_t conv_id,
                                const std::string& status, const json& messages) {
  auto inbox = p.value("inbox_id", 1);
  auto now = now_unix();
  auto iso = now_iso8601();
  return {{"additional_attributes", json::object()},
          {"can_reply", true},
          {"channel", p.value("channel", std::string{"Channel::Api"})},
          {"contact_inbox",
           {{"id", p.value("contact_id", 1)},
            {"contact_id", p.value("contact_id", 1)},
            {"inbox_id", inbox},
            {"source_id", p.value("source_id", std::string{"sim-" + std::to_string(conv_id)})},
            {"created_at", iso},
            {"updated_at", iso},
            {"hmac_verified", false},
            {"pubsub_token", core::random_hex(12)}}},
          {"id", conv_id},
          {"inbox_id", inbox},
          {"messages", messages},
          {"labels", json::array()},
          {"meta",
           {{"sender", chatwoot_contact(p, account)},
            {"assignee", nullptr},
            {"team", nullptr},
            {"hmac_verified", false}}},
          {"status", status},
          {"custom_attributes", json::object()},
          {"snoozed_until", nullptr},
          {"unread_count", 1},
          {"first_reply_created_at", nullptr},
          {"priority", nullptr},
          {"waiting_since", now},
          {"agent_last_seen_at", 0},
          {"contact_last_seen_at", 0},
          {"last_activity_at", now},
          {"timestamp", now},
          {"created_at", now},
          {"updated_at", static_cast<double>(now)}};
}

/// A webhook body built from a few parameters, in Chatwoot v4's shape.
std::optional<json> chatwoot_event_payload(sim_core& sim, const json& p, std::string& error) {
  auto event = p.value("event", std::string{"message_created"});
  auto account = p.value("account_id", int64_t{1});
  auto conv_id = p.value("conversation_id", int64_t{1});
  std::lock_guard<std::mutex> guard{sim.mtx};
  auto& conv = chatwoot_conversation(sim.state, account, conv_id);
  if (p.contains("inbox_id"))
    conv["inbox_id"] = p["inbox_id"];
  auto previous = conv["status"].get<std::string>();
  if (p.contains("status"))
    conv["status"] = text_of(p, "status");
  auto status = conv["status"].get<std::string>();
  if (event == "message_created" || event == "message_updated") {
    auto type = p.value("message_type", std::string{"incoming"});
    auto id = p.value("message_id", sim.state.chatwoot_next_message_id++);
    auto content = p.value("content", std::string{"Hello"});
    auto now = now_unix();
    bool incoming = type == "incoming";
    json sender = incoming ? chatwoot_contact(p, account)
                           : json{{"id", 1},
                                  {"name", "Sim Agent"},
                                  {"email", "agent@example.com"},
                                  {"type", "user"}};
    json push = {{"id", id},
                 {"content", content},
                 {"account_id", account},
                 {"inbox_id", conv["inbox_id"]},
                 {"conversation_id", conv_id},
                 {"message_type", incoming             ? 0
                                  : type == "outgoing" ? 1
                                                       : 2},
                 {"created_at", now},
                 {"updated_at", now_iso8601()},
                 {"private", p.value("private", false)},
                 {"status", "sent"},
                 {"source_id", nullptr},
                 {"content_type", "text"},
                 {"content_attributes", json::object()},
                 {"sender_type", incoming ? "Contact" : "User"},
                 {"sender_id", incoming ? p.value("contact_id", 1) : 1},
                 {"external_source_ids", json::object()},
                 {"additional_attributes", json::object()},
                 {"processed_message_content", content},
                 {"sentiment", json::object()}};
    conv["messages"].push_back(push);
    return json{{"account", {{"id", account}, {"name", "Sim Account"}}},
                {"additional_attributes", json::object()},
                {"content_attributes", p.value("content_attributes", json::object())},
                {"content_type", "text"},
                {"content", content},
                {"conversation",
                 chatwoot_conversation_data(p, account, conv_id, status, json::array({push}))},
                {"created_at", now_iso8601()},
                {"id", id},
                {"inbox", {{"id", conv["inbox_id"]}, {"name", "Sim Inbox"}}},
                {"message_type", type},
                {"private", p.value("private", false)},
                {"sender", std::move(sender)},
                {"source_id", nullptr},
                {"event", event}};
  }
  if (event == "conversation_created" || event == "conversation_updated"
      || event == "conversation_status_changed" || event == "conversation_opened"
      || event == "conversation_resolved") {
    auto data = chatwoot_conversation_data(p, account, conv_id, status, json::array());
    data["event"] = event;
    if (event != "conversation_created")
      data["changed_attributes"]
          = json::array({{{"status",
                           {{"current_value", status},
                            {"previous_value", p.value("previous_status", previous)}}}}});
    return data;
  }
  error = "cannot build event '" + event + "'; give the body";
  return std::nullopt;
}

// ------------------------------------------------------------------------------------------------
// OpenAI-compatible chat completions

json openai_error(std::string message, std::string type, json param = nullptr,
                  json code = nullptr) {
  return {{"error",
           {{"message", std::move(message)},
            {"type", std::move(type)},
            {"param", std::move(param)},
            {"code", std::move(code)}}}};
}

json openai_error_body(int status) {
  switch (status) {
  case 400:
    return openai_error("Invalid request.", "invalid_request_error");
  case 401:
    return openai_error("Incorrect API key provided. You can find your API key at "
                        "https://platform.openai.com/account/api-keys.",
                        "invalid_request_error", nullptr, "invalid_api_key");
  case 404:
    return openai_error("The model does not exist or you do not have access to it.",
                        "invalid_request_error", nullptr, "model_not_found");
  case 429:
    return openai_error("Rate limit reached for requests. Please try again later.", "requests",
                        nullptr, "rate_limit_exceeded");
  case 503:
    return openai_error("The engine is currently overloaded, please try again later.",
                        "server_error");
  default:
    return openai_error("The server had an error while processing your request. Sorry about that!",
                        "server_error");
  }
}

/// Text of a message's content: a string, or the text parts of an array.
std::string content_text(const json& msg) {
  if (!msg.is_object() || !msg.contains("content"))
    return {};
  auto& c = msg["content"];
  if (c.is_string())
    return c.get<std::string>();
  std::string out;
  if (c.is_array())
    for (auto& part : c)
      if (part.is_object() && part.value("type", std::string{}) == "text")
        out += (out.empty() ? "" : "\n") + part.value("text", std::string{});
  return out;
}

int token_estimate(std::string_view text) {
  return static_cast<int>(std::max<std::size_t>(1, (text.size() + 3) / 4));
}

json completion(sim_core& sim, const std::string& model, json message, std::string finish,
                int prompt_tokens) {
  auto completion_tokens = token_estimate(
      message["content"].is_string() ? message["content"].get<std::string>() : to_text(message));
  if (!message.contains("refusal"))
    message["refusal"] = nullptr;
  if (!message.contains("annotations"))
    message["annotations"] = json::array();
  auto id = "chatcmpl-" + upper(core::random_hex(10)) + std::to_string(sim.next_id());
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", now_unix()},
          {"model", model},
          {"choices", json::array({{{"index", 0},
                                    {"message", std::move(message)},
                                    {"logprobs", nullptr},
                                    {"finish_reason", std::move(finish)}}})},
          {"usage",
           {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", 0}, {"audio_tokens", 0}}},
            {"completion_tokens_details",
             {{"reasoning_tokens", 0},
              {"audio_tokens", 0},
              {"accepted_prediction_tokens", 0},
              {"rejected_prediction_tokens", 0}}}}},
          {"service_tier", "default"},
          {"system_fingerprint", nullptr}};
}

json text_completion(sim_core& sim, const std::string& model, std::string text, int prompt_tokens) {
  return completion(sim, model, {{"role", "assistant"}, {"content", std::move(text)}}, "stop",
                    prompt_tokens);
}

json tool_completion(sim_core& sim, const std::string& model, const json& calls,
                     int prompt_tokens) {
  json tool_calls = json::array();
  for (auto& c : calls) {
    auto args = c.contains("arguments") ? c["arguments"] : json::object();
    tool_calls.push_back(
        {{"id", c.value("id", "call_" + core::random_hex(12))},
         {"type", "function"},
         {"function",
          {{"name", c.value("name", std::string{})},
           {"arguments", args.is_string() ? args.get<std::string>() : to_text(args)}}}});
  }
  return completion(sim, model,
                    {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", tool_calls}},
                    "tool_calls", prompt_tokens);
}

/// Articles in a JSON value: an array of objects with title/content, or {"articles": [...]}.
void collect_json_articles(const json& j, std::vector<article_text>& out) {
  const json* arr = &j;
  if (j.is_object() && j.contains("articles"))
    arr = &j["articles"];
  if (!arr->is_array())
    return;
  for (auto& a : *arr) {
    if (!a.is_object() || !(a.contains("title") || a.contains("content")))
      continue;
    article_text t;
    t.id = a.contains("id") ? a["id"] : json(nullptr);
    t.title = text_of(a, "title");
    t.text = text_of(a, "content") + " " + text_of(a, "description") + " " + text_of(a, "body");
    out.push_back(std::move(t));
  }
}

/// Articles given in the prompt, as JSON or as text blocks with headers such as
/// "[12] Title", "[article id=12]", "Article 12: Title", "### Title" and "id: 12" / "title: ..."
/// lines.
std::vector<article_text> prompt_articles(const std::vector<std::string>& texts) {
  std::vector<article_text> out;
  for (auto& t : texts) {
    auto s = trim(t);
    if (!s.empty() && (s[0] == '[' || s[0] == '{')) {
      auto j = parse_json(s);
      if (!j.is_discarded())
        collect_json_articles(j, out);
    }
  }
  if (!out.empty())
    return out;
  using std::regex;
  static const regex numbered{
      R"(^\s*(?:#{1,6}\s*)?(?:\*\*)?(?:article|source|doc|document)\s*(?:id\s*)?#?\s*([A-Za-z0-9_-]+)\s*(?:\*\*)?\s*[:.)\]-]\s*(.*)$)",
      regex::icase};
  static const regex bracket{
      R"(^\s*[-*]?\s*\[\s*(?:(?:article\s+id|article|id|source)\s*[:=#]?\s*)?([A-Za-z0-9_-]+)\s*\]\s*(.*)$)",
      regex::icase};
  static const regex id_line{
      R"(^\s*[-*]?\s*(?:article[_ ]?)?id\s*[:=]\s*([A-Za-z0-9_-]+)\s*[,;]?\s*(.*)$)", regex::icase};
  static const regex title_line{R"(^\s*[-*]?\s*title\s*[:=]\s*(.*)$)", regex::icase};
  static const regex heading{R"(^\s*#{1,6}\s+(.*)$)"};
  static const regex end_marker{
      R"(^\s*(?:(?:question|customer|user|conversation)\s*:.*|\[\s*end of [^\]]*\])\s*$)",
      regex::icase};
  auto make_id = [](const std::string& s) {
    return all_digits(s) && s.size() < 16 ? json(std::stoll(s)) : json(s);
  };
  for (auto& t : texts) {
    article_text* cur = nullptr;
    std::size_t pos = 0;
    while (pos <= t.size()) {
      auto nl = t.find('\n', pos);
      auto line = t.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? t.size() + 1 : nl + 1;
      std::smatch m;
      if (std::regex_match(line, m, numbered) || std::regex_match(line, m, bracket)) {
        out.push_back({make_id(m[1].str()), trim(m[2].str()), {}});
        cur = &out.back();
      } else if (std::regex_match(line, m, id_line)) {
        if (!cur || !cur->id.is_null() || !trim(cur->text).empty()) {
          out.push_back({nullptr, {}, {}});
          cur = &out.back();
        }
        cur->id = make_id(m[1].str());
        auto tail = trim(m[2].str());
        std::smatch tm;
        if (std::regex_match(tail, tm, title_line))
          cur->title = trim(tm[1].str());
      } else if (std::regex_match(line, m, title_line) && cur && cur->title.empty()) {
        cur->title = trim(m[1].str());
      } else if (!cur && std::regex_match(line, m, heading)) {
        // A heading starts an article only outside one (Markdown content has headings too).
        out.push_back({nullptr, trim(m[1].str()), {}});
        cur = &out.back();
      } else if (std::regex_match(line, end_marker)) {
        cur = nullptr;
      } else if (cur) {
        cur->text += line + "\n";
      }
    }
  }
  out.erase(
      std::remove_if(out.begin(), out.end(),
                     [](const article_text& a) { return a.title.empty() && trim(a.text).empty(); }),
      out.end());
  return out;
}

/// The grounded support answer: {answer, sources, confidence} (see pick_grounded_answer).
json grounded_answer(const std::vector<std::string>& context, const std::string& last_user) {
  auto question = last_user;
  static const std::regex question_line{R"((?:^|\n)\s*question\s*:\s*([^\n]+))", std::regex::icase};
  std::smatch qm;
  if (std::regex_search(last_user, qm, question_line))
    question = trim(qm[1].str());
  return pick_grounded_answer(question, prompt_articles(context));
}

/// The default (unscripted) answer; see help_text() for the rules.
json default_completion(sim_core& sim, const json& body, const std::string& model,
                        int prompt_tokens) {
  const auto& messages = body["messages"];
  const auto& last = messages.back();
  auto last_role = last.value("role", std::string{});
  std::string last_user;
  std::string system;
  std::vector<std::string> context;
  for (auto& m : messages) {
    auto role = m.value("role", std::string{});
    auto text = content_text(m);
    if (role == "system" || role == "developer")
      system += text + "\n";
    if (role == "user")
      last_user = text;
    if (role == "system" || role == "developer" || role == "user")
      context.push_back(text);
  }
  if (last_role == "tool")
    return text_completion(sim, model, "Done. I have updated that for you.", prompt_tokens);
  bool has_tools = body.contains("tools") && body["tools"].is_array() && !body["tools"].empty();
  if (has_tools && last_role == "user") {
    static const std::regex change{
        R"((?:^|[^A-Za-z])(?:change|set|update)\s+(?:the\s+|my\s+|our\s+)?([A-Za-z][A-Za-z0-9 _-]{0,40}?)\s+to\s+([^\n]+))",
        std::regex::icase};
    std::smatch m;
    auto text = content_text(last);
    if (std::regex_search(text, m, change)) {
      std::string field;
      for (char c : trim(m[1].str()))
        field += std::isalnum(static_cast<unsigned char>(c))
                     ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                     : '_';
      auto value = trim(m[2].str());
      while (!value.empty()
             && std::string_view{".!?,;"}.find(value.back()) != std::string_view::npos)
        value.pop_back();
      if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')
          && value.back() == value.front())
        value = value.substr(1, value.size() - 2);
      std::string tool_name = "session_add_context";
      bool offered = false;
      for (auto& t : body["tools"])
        if (t.is_object() && t.contains("function")
            && t["function"].value("name", std::string{}) == tool_name)
          offered = true;
      if (!offered && body["tools"][0].is_object() && body["tools"][0].contains("function"))
        tool_name = body["tools"][0]["function"].value("name", tool_name);
      json args = json::object();
      static const std::regex phone{R"(\+?\d[\d ().-]{6,}\d)"};
      std::smatch pm;
      if (std::regex_search(system, pm, phone)) {
        auto raw = pm.str();
        args["phone_number"] = (raw[0] == '+' ? "+" : "") + digits_only(raw);
      }
      args["context"] = {{field, value}};
      return tool_completion(sim, model, json::array({{{"name", tool_name}, {"arguments", args}}}),
                             prompt_tokens);
    }
  }
  auto format = body.contains("response_format") && body["response_format"].is_object()
                    ? body["response_format"].value("type", std::string{})
                    : std::string{};
  if (format == "json_object" || format == "json_schema")
    return text_completion(sim, model, to_text(grounded_answer(context, last_user)), prompt_tokens);
  if (last_user.empty())
    return text_completion(sim, model, "Hello! How can I help you today?", prompt_tokens);
  auto quoted = last_user.size() > 200 ? last_user.substr(0, 200) + "..." : last_user;
  return text_completion(sim, model, "You said: \"" + quoted + "\"", prompt_tokens);
}

handled openai_chat(sim_core& sim, const http::request& req) {
  handled h;
  auto key = bearer_of(req);
  if (key.empty()) {
    h.res = reply(401, openai_error("You didn't provide an API key. You need to provide your API "
                                    "key in an Authorization header using Bearer auth (i.e. "
                                    "Authorization: Bearer YOUR_KEY).",
                                    "invalid_request_error"));
    return h;
  }
  if (!accepted(sim.opts().creds.llm_api_key, key)) {
    h.res = reply(401, openai_error_body(401));
    return h;
  }
  if (req.method != "POST") {
    h.res = reply(405, openai_error("Invalid method for URL (" + req.method + " " + req.path + ")",
                                    "invalid_request_error"));
    return h;
  }
  auto body = parse_json(req.body);
  if (!body.is_object()) {
    h.res = reply(400, openai_error("We could not parse the JSON body of your request.",
                                    "invalid_request_error"));
    return h;
  }
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    h.res = reply(400,
                  openai_error("Missing required parameter: 'messages'.", "invalid_request_error",
                               "messages", "missing_required_parameter"));
    return h;
  }
  auto model = body.value("model", std::string{"sim-gpt"});
  int prompt_tokens = 0;
  for (auto& m : body["messages"])
    prompt_tokens += token_estimate(content_text(m)) + 4;
  std::optional<json> scripted;
  {
    std::lock_guard<std::mutex> guard{sim.mtx};
    ++sim.state.llm_counter;
    auto& script = sim.state.llm_script;
    if (!script.empty()) {
      scripted = script.front().spec;
      if (--script.front().remaining <= 0)
        script.pop_front();
    }
  }
  if (scripted) {
    auto& s = *scripted;
    auto status = s.value("status", 200);
    if (s.contains("body")) {
      h.res = s["body"].is_string() ? http::response::make(status, s["body"].get<std::string>())
                                    : reply(status, s["body"]);
    } else if (status >= 400) {
      h.res = reply(status, openai_error_body(status));
    } else if (s.contains("tool_calls")) {
      h.res = reply(status, tool_completion(sim, model, s["tool_calls"], prompt_tokens));
    } else {
      auto content = s.contains("content") && !s["content"].is_string()
                         ? to_text(s["content"])
                         : s.value("content", std::string{});
      h.res = reply(status, text_completion(sim, model, content, prompt_tokens));
    }
    if (status == 429 && !h.res.headers.has("Retry-After"))
      h.res.headers.add("Retry-After", std::to_string(s.value("retry_after", 1)));
    if (s.contains("headers") && s["headers"].is_object())
      for (auto& [k, v] : s["headers"].items())
        h.res.headers.add(k, v.is_string() ? v.get<std::string>() : to_text(v));
    return h;
  }
  h.res = reply(200, default_completion(sim, body, model, prompt_tokens));
  return h;
}

// ------------------------------------------------------------------------------------------------
// Control routes

json control_body(const http::request& req, bool& ok) {
  ok = true;
  if (trim(req.body).empty())
    return json::object();
  auto b = parse_json(req.body);
  ok = b.is_object();
  return b;
}

std::string secret_of(const json& body, const std::string& configured) {
  if (body.contains("secret") && body["secret"].is_string())
    return body["secret"].get<std::string>();
  return configured;
}

} // namespace

std::string service_for_path(std::string_view path) {
  if (path == "/v1/chat/completions" || path == "/chat/completions")
    return "openai";
  if (starts_with(path, "/2010-04-01/"))
    return "twilio";
  if (starts_with(path, "/v1/oauth/access_token") || starts_with(path, "/v3/sms/"))
    return "mtn";
  if (starts_with(path, "/bot"))
    return "telegram";
  if (starts_with(path, "/api/v1/accounts/"))
    return "chatwoot";
  auto seg = split_path(path);
  static const std::regex version{R"(v\d+\.\d+)"};
  if (!seg.empty() && seg.back() == "messages"
      && (seg.size() == 2 || (seg.size() == 3 && std::regex_match(seg[0], version))))
    return "whatsapp";
  return {};
}

handled handle_provider(sim_core& sim, const std::string& service, const http::request& req) {
  if (service == "whatsapp")
    return whatsapp_send(sim, req);
  if (service == "twilio")
    return twilio_messages(sim, req);
  if (service == "mtn") {
    if (starts_with(req.path, "/v1/oauth/access_token"))
      return mtn_token(sim, req);
    if (req.path == "/v3/sms/messages/sms/outbound")
      return mtn_outbound(sim, req);
    handled h;
    h.res = reply(404, mtn_error_body(404, req));
    return h;
  }
  if (service == "telegram")
    return telegram_call(sim, req);
  if (service == "chatwoot")
    return chatwoot_call(sim, req);
  if (service == "openai")
    return openai_chat(sim, req);
  handled h;
  h.res = http::response::error(404, "not_found", "unknown service");
  return h;
}

http::response provider_error(const std::string& service, int status, int retry_after,
                              const http::request& req) {
  http::response res;
  if (service == "whatsapp")
    res = reply(status, whatsapp_error_body(status));
  else if (service == "twilio")
    res = reply(status, twilio_error_body(status));
  else if (service == "mtn")
    res = reply(status, mtn_error_body(status, req));
  else if (service == "telegram")
    res = reply(status, telegram_error_body(status, retry_after), "application/json");
  else if (service == "chatwoot")
    res = reply(status, {{"error", status == 429 ? "Too many requests" : "Internal server error"}});
  else if (service == "openai")
    res = reply(status, openai_error_body(status));
  else
    res = http::response::error(status, "fault", "injected failure");
  if (status == 429 || status == 503)
    res.headers.add("Retry-After", std::to_string(std::max(retry_after, 0)));
  return res;
}

void reset_provider_state(provider_state& state, const options& opts) {
  state = provider_state{};
  state.whatsapp_status_url = opts.whatsapp_status_url;
  state.telegram_secret_token = opts.creds.telegram_webhook_secret;
}

bool handle_provider_control(sim_core& sim, const http::request& req, http::responder& respond) {
  const auto& path = req.path;
  if (req.method == "GET") {
    if (path == "/_sim/telegram/webhook") {
      std::lock_guard<std::mutex> guard{sim.mtx};
      respond(json_response(200, {{"url", sim.state.telegram_webhook_url},
                                  {"secret_token", sim.state.telegram_secret_token}}));
      return true;
    }
    if (path == "/_sim/chatwoot/conversations") {
      json out = json::array();
      std::lock_guard<std::mutex> guard{sim.mtx};
      for (auto& [k, c] : sim.state.chatwoot_conversations)
        out.push_back(c);
      respond(json_response(200, {{"conversations", std::move(out)}}));
      return true;
    }
    if (path == "/_sim/openai/script") {
      json out = json::array();
      std::lock_guard<std::mutex> guard{sim.mtx};
      for (auto& e : sim.state.llm_script)
        out.push_back({{"spec", e.spec}, {"remaining", e.remaining}});
      respond(json_response(200, {{"script", std::move(out)}, {"calls", sim.state.llm_counter}}));
      return true;
    }
    return false;
  }
  if (req.method == "DELETE" && path == "/_sim/openai/script") {
    std::lock_guard<std::mutex> guard{sim.mtx};
    sim.state.llm_script.clear();
    respond(json_response(200, {{"cleared", true}}));
    return true;
  }
  if (req.method != "POST")
    return false;
  bool ok = true;
  auto body = control_body(req, ok);
  if (!ok) {
    respond(http::response::error(400, "bad_request", "body must be a JSON object"));
    return true;
  }
  auto bad = [&](std::string reason) {
    respond(http::response::error(400, "bad_request", reason));
    return true;
  };
  const auto& creds = sim.opts().creds;
  try {
    if (path == "/_sim/whatsapp/inbound") {
      auto payload = whatsapp_inbound_payload(sim, body);
      deliver_and_answer(
          sim,
          {whatsapp_webhook(sim, target_url(sim, body, whatsapp_webhook_path), "inbound", payload,
                            text_of(body, "secret"), timeout_of(body))},
          body, respond);
      return true;
    }
    if (path == "/_sim/whatsapp/status") {
      auto p = body;
      if (text_of(p, "id").empty())
        return bad("\"id\" (the wamid) is required");
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
      return true;
    }
    if (path == "/_sim/whatsapp/rules") {
      std::lock_guard<std::mutex> guard{sim.mtx};
      auto& rules = sim.state.whatsapp_rules;
      if (body.value("clear", false) && !body.contains("recipient")) {
        rules.clear();
      } else {
        auto wa_id = digits_only(text_of(body, "recipient"));
        if (wa_id.empty())
          return bad("\"recipient\" (the user's number) is required");
        if (body.value("clear", false)) {
          rules.erase(wa_id);
        } else {
          whatsapp_rule r;
          r.code = body.value("error_code", int64_t{0});
          const auto* spec = whatsapp_error_spec_for(r.code);
          if (!spec)
            return bad("\"error_code\" must be one of 131047, 131026, 131049, 131056, 130429");
          auto mode = body.value("mode", std::string{spec->async ? "async" : "sync"});
          if (mode != "sync" && mode != "async")
            return bad("\"mode\" must be \"sync\" or \"async\"");
          r.async = mode == "async";
          r.remaining = body.value("count", int64_t{-1});
          rules[wa_id] = r;
        }
      }
      json out = json::object();
      for (auto& [wa, r] : rules)
        out[wa] = {{"error_code", r.code},
                   {"mode", r.async ? "async" : "sync"},
                   {"remaining", r.remaining}};
      respond(json_response(200, {{"rules", std::move(out)}}));
      return true;
    }
    if (path == "/_sim/whatsapp/auto_status") {
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
      return true;
    }
    if (path == "/_sim/twilio/inbound") {
      auto url = target_url(sim, body, twilio_webhook_path);
      auto from = body.value("from", std::string{"+15550001234"});
      auto to = body.value("to", std::string{"+15005550006"});
      auto text = body.value("body", std::string{"Hello"});
      auto sid = body.value("message_sid", "SM" + core::random_hex(16));
      auto account
          = body.value("account_sid", creds.twilio_account_sid.empty()
                                          ? std::string{"AC00000000000000000000000000000001"}
                                          : creds.twilio_account_sid);
      json media = body.value("media_urls", json::array());
      core::form_params p{{"ToCountry", "US"},
                          {"ToState", "CA"},
                          {"SmsMessageSid", sid},
                          {"NumMedia", std::to_string(media.size())},
                          {"ToCity", ""},
                          {"FromZip", ""},
                          {"SmsSid", sid},
                          {"FromState", "CA"},
                          {"SmsStatus", "received"},
                          {"FromCity", ""},
                          {"Body", text},
                          {"FromCountry", "US"},
                          {"To", to}};
      if (body.contains("messaging_service_sid"))
        p.emplace_back("MessagingServiceSid", text_of(body, "messaging_service_sid"));
      p.emplace_back("ToZip", "");
      p.emplace_back("NumSegments", std::to_string(sms_segments(text)));
      for (std::size_t i = 0; i < media.size(); ++i) {
        p.emplace_back("MediaContentType" + std::to_string(i), "image/jpeg");
        p.emplace_back("MediaUrl" + std::to_string(i), media[i].get<std::string>());
      }
      p.emplace_back("MessageSid", sid);
      p.emplace_back("AccountSid", account);
      p.emplace_back("From", from);
      p.emplace_back("ApiVersion", "2010-04-01");
      if (body.contains("params") && body["params"].is_object())
        for (auto& [k, v] : body["params"].items())
          p.emplace_back(k, v.is_string() ? v.get<std::string>() : to_text(v));
      auto sig_url = body.value("signature_url", public_url_for(sim, url));
      deliver_and_answer(sim,
                         {twilio_webhook(sim, url, "inbound", p, sig_url, text_of(body, "secret"),
                                         timeout_of(body))},
                         body, respond);
      return true;
    }
    if (path == "/_sim/twilio/status") {
      auto sid = text_of(body, "sid");
      json msg;
      std::string callback;
      {
        std::lock_guard<std::mutex> guard{sim.mtx};
        auto it = sim.state.twilio_messages.find(sid);
        if (it != sim.state.twilio_messages.end()) {
          msg = it->second;
          callback = msg.value("_callback", std::string{});
          it->second["status"] = body.value("status", std::string{"delivered"});
        }
      }
      if (msg.is_null()) {
        if (sid.empty())
          return bad("\"sid\" is required");
        msg = {{"sid", sid},
               {"to", body.value("to", std::string{"+15550001234"})},
               {"from", body.value("from", std::string{"+15005550006"})},
               {"account_sid", creds.twilio_account_sid}};
      }
      auto url = text_of(body, "url");
      if (url.empty() && !text_of(body, "path").empty())
        url = target_url(sim, body, twilio_webhook_path);
      if (url.empty())
        url = reachable_url_for(sim, callback);
      if (url.empty())
        return bad("no StatusCallback for this message; give \"url\" or \"path\"");
      auto sig_url
          = body.value("signature_url", callback.empty() ? public_url_for(sim, url) : callback);
      auto params = twilio_status_params(msg, body.value("status", std::string{"delivered"}),
                                         text_of(body, "error_code"));
      deliver_and_answer(sim,
                         {twilio_webhook(sim, url, "status", params, sig_url,
                                         text_of(body, "secret"), timeout_of(body))},
                         body, respond);
      return true;
    }
    if (path == "/_sim/twilio/auto_status") {
      std::lock_guard<std::mutex> guard{sim.mtx};
      auto& st = sim.state;
      st.twilio_auto_status = body.value("enabled", true);
      if (body.contains("statuses"))
        st.twilio_auto_statuses = body["statuses"].get<std::vector<std::string>>();
      st.twilio_auto_delay = milliseconds{body.value("delay_ms", int64_t{50})};
      respond(json_response(
          200, {{"enabled", st.twilio_auto_status}, {"statuses", st.twilio_auto_statuses}}));
      return true;
    }
    if (path == "/_sim/mtn/inbound") {
      json payload
          = {{"from", body.value("from", std::string{"233240000001"})},
             {"to", body.value("to", std::string{"SWITCHBRD"})},
             {"message", body.value("message", std::string{"Hello"})},
             {"id", body.value("id", uuid4())},
             {"timestamp", body.contains("timestamp") ? body["timestamp"] : json(now_iso8601())}};
      outbound o;
      o.service = "mtn";
      o.kind = "inbound";
      o.url = target_url(sim, body, mtn_webhook_path);
      o.body = to_text(payload);
      o.timeout = timeout_of(body);
      o.headers.emplace_back("Content-Type", "application/json");
      auto secret = secret_of(body, creds.mtn_webhook_secret);
      if (!secret.empty())
        o.headers.emplace_back("X-MTN-Signature", core::mtn_signature(secret, o.body));
      deliver_and_answer(sim, {std::move(o)}, body, respond);
      return true;
    }
    if (path == "/_sim/mtn/expire_tokens") {
      std::lock_guard<std::mutex> guard{sim.mtx};
      auto n = sim.state.mtn_tokens.size();
      for (auto& [t, exp] : sim.state.mtn_tokens)
        exp = std::chrono::steady_clock::now() - std::chrono::seconds{1};
      respond(json_response(200, {{"expired", n}}));
      return true;
    }
    if (path == "/_sim/telegram/update") {
      json update;
      std::string url, secret;
      {
        std::lock_guard<std::mutex> guard{sim.mtx};
        auto& st = sim.state;
        if (body.contains("update") && body["update"].is_object()) {
          update = body["update"];
          if (!update.contains("update_id"))
            update["update_id"] = st.telegram_next_update_id++;
        } else {
          auto chat_key = text_of(body, "chat_id");
          if (chat_key.empty())
            chat_key = "100200300";
          if (chat_key.find_first_not_of("-0123456789") != std::string::npos)
            return bad("\"chat_id\" must be a number");
          auto& chat = telegram_chat_for(st, chat_key, body);
          json msg = {{"message_id", chat.next_message_id++},
                      {"from", chat.user},
                      {"chat", chat.chat},
                      {"date", now_unix()}};
          if (body.contains("reply_to_message_id")) {
            auto id = body["reply_to_message_id"].get<int64_t>();
            auto it = chat.messages.find(id);
            if (it == chat.messages.end())
              return bad("no message " + std::to_string(id) + " in chat " + chat_key);
            msg["reply_to_message"] = telegram_quoted(it->second, chat);
          }
          msg["text"] = body.value("text", std::string{"Hello"});
          chat.messages[msg["message_id"].get<int64_t>()] = msg;
          update = {{"update_id", st.telegram_next_update_id++}, {"message", std::move(msg)}};
        }
        url = st.telegram_webhook_url;
        secret = st.telegram_secret_token;
      }
      if (!text_of(body, "url").empty() || !text_of(body, "path").empty() || url.empty())
        url = target_url(sim, body, telegram_webhook_path);
      if (body.contains("secret_token") && body["secret_token"].is_string())
        secret = body["secret_token"].get<std::string>();
      outbound o;
      o.service = "telegram";
      o.kind = "update";
      o.url = url;
      o.body = to_text(update);
      o.timeout = timeout_of(body);
      o.headers.emplace_back("Content-Type", "application/json");
      if (!secret.empty())
        o.headers.emplace_back("X-Telegram-Bot-Api-Secret-Token", secret);
      deliver_and_answer(sim, {std::move(o)}, body, respond);
      return true;
    }
    if (path == "/_sim/telegram/block") {
      auto key = text_of(body, "chat_id");
      if (key.empty())
        return bad("\"chat_id\" is required");
      std::lock_guard<std::mutex> guard{sim.mtx};
      telegram_chat_for(sim.state, key, json::object()).blocked = body.value("blocked", true);
      respond(json_response(200, {{"chat_id", key}, {"blocked", body.value("blocked", true)}}));
      return true;
    }
    if (path == "/_sim/chatwoot/articles") {
      auto portal = body.value("portal", std::string{"help"});
      if (!body.contains("articles") || !body["articles"].is_array())
        return bad("\"articles\" must be an array");
      std::lock_guard<std::mutex> guard{sim.mtx};
      auto& st = sim.state;
      auto& list = st.chatwoot_articles[portal];
      if (body.value("replace", true))
        list.clear();
      json ids = json::array();
      for (auto& a : body["articles"]) {
        if (!a.is_object())
          return bad("each article must be an object");
        auto title = text_of(a, "title");
        auto content = text_of(a, "content");
        auto id = a.contains("id") ? a["id"].get<int64_t>() : st.chatwoot_next_article_id++;
        st.chatwoot_next_article_id = std::max(st.chatwoot_next_article_id, id + 1);
        std::string slug = text_of(a, "slug");
        if (slug.empty()) {
          slug = std::to_string(id) + "-";
          for (char c : lower(title))
            slug += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
        }
        auto description = a.contains("description")
                               ? text_of(a, "description")
                               : content.substr(0, std::min<std::size_t>(content.size(), 120));
        json art = {{"id", id},
                    {"slug", slug},
                    {"title", title},
                    {"content", content},
                    {"description", description},
                    {"status", a.value("status", std::string{"published"})},
                    {"position", a.value("position", static_cast<int64_t>(list.size() + 1))},
                    {"account_id", 1},
                    {"updated_at", now_unix()},
                    {"meta", a.value("meta", json::object())},
                    {"locale", a.value("locale", std::string{"en"})},
                    {"category",
                     {{"id", a.value("category_id", 1)},
                      {"name", a.value("category", std::string{"General"})},
                      {"slug", "general"},
                      {"locale", a.value("locale", std::string{"en"})}}},
                    {"portal", {{"id", 1}, {"slug", portal}, {"name", portal}}},
                    {"views", 0},
                    {"author", {{"id", 1}, {"name", "Sim Agent"}, {"available_name", "Sim Agent"}}},
                    {"associated_articles", json::array()}};
        ids.push_back(id);
        list.push_back(std::move(art));
      }
      respond(json_response(200,
                            {{"portal", portal}, {"ids", std::move(ids)}, {"count", list.size()}}));
      return true;
    }
    if (path == "/_sim/chatwoot/webhook") {
      std::string raw;
      if (body.contains("body")) {
        raw = body["body"].is_string() ? body["body"].get<std::string>() : to_text(body["body"]);
      } else {
        std::string error;
        auto payload = chatwoot_event_payload(sim, body, error);
        if (!payload)
          return bad(error);
        raw = to_text(*payload);
      }
      outbound o;
      o.service = "chatwoot";
      o.kind = body.value("event", std::string{"webhook"});
      o.url = target_url(sim, body, chatwoot_webhook_path);
      o.body = raw;
      o.timeout = timeout_of(body);
      o.headers.emplace_back("Content-Type", "application/json");
      auto secret = secret_of(body, creds.chatwoot_webhook_secret);
      if (!secret.empty() && body.value("sign", true)) {
        auto ts
            = body.contains("timestamp") ? text_of(body, "timestamp") : std::to_string(now_unix());
        o.headers.emplace_back("X-Chatwoot-Timestamp", ts);
        o.headers.emplace_back("X-Chatwoot-Signature", core::chatwoot_signature(secret, ts, raw));
        o.headers.emplace_back("X-Chatwoot-Delivery", uuid4());
      }
      deliver_and_answer(sim, {std::move(o)}, body, respond);
      return true;
    }
    if (path == "/_sim/openai/script") {
      json entries = json::array();
      if (body.contains("responses") && body["responses"].is_array())
        entries = body["responses"];
      else
        entries.push_back(body);
      std::lock_guard<std::mutex> guard{sim.mtx};
      for (auto& e : entries) {
        if (!e.is_object())
          return bad("each scripted response must be an object");
        auto spec = e;
        auto repeat = spec.value("repeat", int64_t{1});
        spec.erase("repeat");
        sim.state.llm_script.push_back({std::move(spec), std::max<int64_t>(repeat, 1)});
      }
      respond(json_response(200, {{"queued", sim.state.llm_script.size()}}));
      return true;
    }
  } catch (const json::exception& e) {
    return bad(std::string{"invalid parameter: "} + e.what());
  }
  return false;
}

std::string help_text() {
  return R"HELP(switchboard-sim: provider simulator for Switchboard (loopback only).

Usage: switchboard-sim [options]
  --listen HOST:PORT          HTTP listener for every provider and /_sim/ (default 127.0.0.1:18080)
  --smtp-listen HOST:PORT     SMTP sink (default 127.0.0.1:18025); port 0 = ephemeral
  --server-url URL            default target of deliveries (default http://127.0.0.1:8080)
  --public-url URL            the server's public URL when it differs from --server-url; Twilio
                              signatures are computed over it (env SWITCHBOARD_SERVER_PUBLIC_URL)
  --threads N                 HTTP I/O threads (default 2)
  --max-records N             recorded requests kept (default 100000; oldest dropped)
  --mtn-token-ttl SECONDS     lifetime of MTN access tokens (default 3599)
  --whatsapp-status-url URL   enable WhatsApp auto-status (sent, delivered after each send)
  --verbose                   log every request and delivery to stderr
  --help, --version
Credentials (flag or environment; unset = any value accepted, header still required):
  --whatsapp-access-token   SWITCHBOARD_WHATSAPP_ACCESS_TOKEN   Bearer of the Cloud API
  --whatsapp-app-secret     SWITCHBOARD_WHATSAPP_APP_SECRET     signs X-Hub-Signature-256
  --twilio-account-sid      SWITCHBOARD_SMS_TWILIO_ACCOUNT_SID  Basic auth user
  --twilio-auth-token       SWITCHBOARD_SMS_TWILIO_AUTH_TOKEN   Basic auth password; X-Twilio-Signature
  --mtn-client-id           SWITCHBOARD_SMS_MTN_CLIENT_ID       OAuth client id
  --mtn-client-secret       SWITCHBOARD_SMS_MTN_CLIENT_SECRET   OAuth client secret
  --mtn-webhook-secret      SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET  signs X-MTN-Signature
  --telegram-bot-token      SWITCHBOARD_TELEGRAM_BOT_TOKEN      /bot{token}/...
  --telegram-webhook-secret SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET secret token until setWebhook sets one
  --chatwoot-bot-token      SWITCHBOARD_CHATWOOT_BOT_TOKEN      an agent bot's api_access_token: only
                                                                the bot endpoints (messages create,
                                                                toggle_status, ...); others 401
                                                                (--chatwoot-api-token,
                                                                SWITCHBOARD_CHATWOOT_API_TOKEN: old names)
  --chatwoot-user-token     SWITCHBOARD_CHATWOOT_USER_TOKEN     a user's api_access_token: every endpoint
  --chatwoot-webhook-secret SWITCHBOARD_CHATWOOT_WEBHOOK_SECRET signs X-Chatwoot-Signature
  --llm-api-key             SWITCHBOARD_LLM_API_KEY             Bearer of /v1/chat/completions
When ready it prints one line on stdout: {"event":"ready","http_port":N,"smtp_port":M}.
Logs go to stderr. SIGINT/SIGTERM: clean exit 0.

Provider endpoints (real wire formats):
  POST /{version}/{phone_number_id}/messages           WhatsApp Cloud API (Bearer); text, template, media...
                                                       template text parameters with a newline, tab or
                                                       5 spaces -> 400 code 132018; a {"status": "read",
                                                       "message_id", "typing_indicator"} for an inbound
                                                       wamid -> {"success": true}, unknown -> 400 code 100
  POST /2010-04-01/Accounts/{Sid}/Messages.json        Twilio (Basic sid:token, form body) -> 201 queued
  GET  /2010-04-01/Accounts/{Sid}/Messages/{SM}.json   Twilio message fetch
  POST /v1/oauth/access_token[/accesstoken]?grant_type=client_credentials
                                                       MTN (Apigee) token; form client_id/client_secret
                                                       or Basic; answer values are strings
  POST /v3/sms/messages/sms/outbound                   MTN SMS v3 (Bearer) {senderAddress,
                                                       receiverAddress[], message, clientCorrelatorId}
                                                       -> {statusCode:"0000",statusMessage,transactionId,data}
  POST|GET /bot{token}/{getMe|setWebhook|deleteWebhook|getWebhookInfo|sendMessage|sendChatAction}
                                                       Telegram (JSON, form or query parameters)
  POST /api/v1/accounts/{a}/conversations/{c}/messages      Chatwoot (api_access_token; bot or user)
  GET  /api/v1/accounts/{a}/conversations/{c}/messages      (user token only)
  POST /api/v1/accounts/{a}/conversations/{c}/toggle_status (bot or user)
  GET  /api/v1/accounts/{a}/portals/{slug}/articles?query=&status=&locale=&page=  (user token only)
  POST /v1/chat/completions (or /chat/completions)     OpenAI-compatible (Bearer)
  SMTP on its own port: EHLO/HELO, AUTH PLAIN/LOGIN (any credentials), MAIL, RCPT, DATA, RSET,
  NOOP, QUIT; every message is recorded with service "smtp".

LLM rules (first that applies):
  1. Scripted queue: POST /_sim/openai/script pushes answers for the next calls.
  2. Last message has role "tool": a short confirmation text.
  3. Tools offered and the last (user) message matches "change|set|update [the|my|our] <field> to
     <value>": a tool call to session_add_context (or the first offered tool if that one is not
     offered) with arguments {"phone_number"?: <first phone number in the system message>,
     "context": {"<field_snake_case>": "<value>"}}.
  4. response_format json_object/json_schema: content is the JSON string
     {"answer","sources":[id],"confidence"}: the article (from the prompt: JSON array/{"articles"},
     or text blocks headed "[id] Title", "Article id: Title", "id: N" + "title: ...", "# Title")
     sharing most analysed words (core::analyze_text) with the question ("Question: ..." line,
     else the last user message), rarer words weighing more and title words twice; answer = the
     sentence that answers it: its words, rarer ones weighing more, plus the kind of answer the
     question asks for ("how long"/"when" -> a duration or time, "how much" -> an amount,
     "how do I" -> instructions). confidence 0.7..0.95 (how much of the question the article
     covers) when it shares 2+ words, half the question's words or a word of its title, else
     0.2 with a "could not find" answer.
  5. Otherwise: You said: "<last user message>".

Control API (JSON; never faulted or recorded):
  GET    /_sim/health | /_sim/help
  GET    /_sim/requests?service=&since=<seq>&path=<substring>&limit=
           -> {"requests":[{seq,service,method,path,query,query_params,headers(lower-case),body,
               json,form,remote,received_at,status,fault,response}],"last_seq"}
  DELETE /_sim/requests                   forget recorded requests and deliveries (seq continues)
  GET    /_sim/deliveries?service=&since=<id>   webhooks sent and what the server answered
  POST   /_sim/faults {"service":"twilio"|"*"|[...], "path_contains", "latency_ms", "error_rate",
           "seed", "error_status" (default 500, or 429 when retry_after is given), "fail_next",
           "retry_after", "hang", "hang_next"}   replaces that service's settings. error_rate
           without seed is exact: rate 0.25 fails requests 4, 8, 12...; hang never answers (held
           until the client gives up, faults are deleted or the sim stops); faulted requests are
           recorded with fault "error"/"hang"/"latency" and their status (0 for hang).
  GET    /_sim/faults;  DELETE /_sim/faults[?service=]
  POST   /_sim/reset                      everything back to the start state
  GET|POST /_sim/config {"server_url","public_url"}   change the delivery target at run time
                                          (e.g. once the server's ephemeral port is known)
  Deliveries (to "url", or --server-url + "path", or the default path shown; answer: the
  server's status and body; "async":true answers 202 at once; "secret" overrides the signing
  secret; "timeout_ms" default 10000):
  POST /_sim/whatsapp/inbound {from,name,type:text|image|audio|video|document|sticker|location|
         reaction|button|unsupported,text,context_id,id,timestamp,message(raw),phone_number_id,
         display_phone_number,waba_id}                   default path /webhooks/whatsapp
  POST /_sim/whatsapp/status {id(wamid),status|statuses[],recipient_id,error_code,error_title,
         category,pricing_type,billable,pricing_model,template}   pricing: PMP shape (v24+)
  POST /_sim/whatsapp/auto_status {url|path,enabled,statuses,delay_ms}
  POST /_sim/whatsapp/rules {recipient,error_code:131047|131026|131049|131056|130429,
         mode:sync|async (default: as Meta reports it),count (default: every send),clear}
         per-recipient refusals: sync = HTTP 400 Graph error, async = 200 then a failed status
  POST /_sim/twilio/inbound {from,to,body,media_urls[],message_sid,messaging_service_sid,
         params{},signature_url}                         default path /webhooks/sms/twilio
  POST /_sim/twilio/status {sid,status,error_code,url|path,signature_url}  (default: the send's
         StatusCallback); auto status callbacks (sent, delivered) follow every send that has a
         StatusCallback: POST /_sim/twilio/auto_status {enabled,statuses,delay_ms}
  POST /_sim/mtn/inbound {from,to,message,id,timestamp}  default path /webhooks/sms/mtn;
         X-MTN-Signature = hex HMAC-SHA256(secret, body)
  POST /_sim/mtn/expire_tokens                           issued tokens now answer 401
  POST /_sim/telegram/update {chat_id,first_name,last_name,username,text,reply_to_message_id,
         update(raw),secret_token}  to the setWebhook URL (else default path /webhooks/telegram)
  GET  /_sim/telegram/webhook;  POST /_sim/telegram/block {chat_id,blocked}
  POST /_sim/chatwoot/articles {portal,articles:[{id?,title,content,description?,status?,slug?,
         locale?}],replace:true}
  GET  /_sim/chatwoot/conversations
  POST /_sim/chatwoot/webhook {body(raw string|object) | event:message_created|message_updated|
         conversation_created|conversation_updated|conversation_status_changed, account_id,
         conversation_id,inbox_id,content,message_type,sender_name,contact_id,phone_number,
         status,previous_status; sign(default true),timestamp}  default path /webhooks/chatwoot
  POST /_sim/openai/script {"responses":[{"content":"..."} | {"tool_calls":[{"name","arguments"}]}
         | {"status":429,"retry_after":2} | {"status":200,"body":{...}}, "repeat":N]}
  GET|DELETE /_sim/openai/script
)HELP";
}

} // namespace switchboard::sim
