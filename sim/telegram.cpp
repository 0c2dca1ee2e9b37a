// The simulated Telegram Bot API (/bot{token}/{method}): the chats it knows, sendMessage and
// friends, setWebhook, and the updates of /_sim/telegram/.

#include "sim/provider.hpp"

#include <algorithm>

#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/text/text.hpp"
#include "core/text/utf8.hpp"

namespace switchboard::sim {

namespace {

constexpr const char* telegram_webhook_path = "/webhooks/telegram";

json telegram_error(int code, std::string description, int retry_after = 0) {
  json e = {{"ok", false}, {"error_code", code}, {"description", std::move(description)}};
  if (retry_after > 0)
    e["parameters"] = {{"retry_after", retry_after}};
  return e;
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

void control_telegram_update(sim_core& sim, const json& body, http::responder& respond) {
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
        return bad_request(respond, "\"chat_id\" must be a number");
      auto& chat = telegram_chat_for(st, chat_key, body);
      json msg = {{"message_id", chat.next_message_id++},
                  {"from", chat.user},
                  {"chat", chat.chat},
                  {"date", now_unix()}};
      if (body.contains("reply_to_message_id")) {
        auto id = body["reply_to_message_id"].get<int64_t>();
        auto it = chat.messages.find(id);
        if (it == chat.messages.end())
          return bad_request(respond, "no message " + std::to_string(id) + " in chat " + chat_key);
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
}

void control_telegram_block(sim_core& sim, const json& body, http::responder& respond) {
  auto key = text_of(body, "chat_id");
  if (key.empty())
    return bad_request(respond, "\"chat_id\" is required");
  std::lock_guard<std::mutex> guard{sim.mtx};
  telegram_chat_for(sim.state, key, json::object()).blocked = body.value("blocked", true);
  respond(json_response(200, {{"chat_id", key}, {"blocked", body.value("blocked", true)}}));
}

} // namespace

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

std::vector<control_route> telegram_control_routes() {
  return {
      {"GET", "/_sim/telegram/webhook",
       [](sim_core& sim, const http::request&, http::responder& respond) {
         std::lock_guard<std::mutex> guard{sim.mtx};
         respond(json_response(200, {{"url", sim.state.telegram_webhook_url},
                                     {"secret_token", sim.state.telegram_secret_token}}));
       }},
      post_json("/_sim/telegram/update", control_telegram_update),
      post_json("/_sim/telegram/block", control_telegram_block),
  };
}

} // namespace switchboard::sim
