#include "providers/telegram/codec.hpp"

#include "core/json_fields.hpp"

#include <nlohmann/json.hpp>

#include "core/text/text.hpp"

namespace switchboard::providers {

using namespace core;

namespace {

using namespace json_fields;

using json = nlohmann::json;

std::optional<int64_t> opt_int(const json& obj, const char* key, std::string_view prefix) {
  const json* v = find(obj, key);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_number_integer())
    throw field_error{path_of(prefix, key) + ": expected an integer"};
  return v->get<int64_t>();
}

int64_t req_int(const json& obj, const char* key, std::string_view prefix) {
  auto x = opt_int(obj, key, prefix);
  if (!x)
    throw field_error{path_of(prefix, key) + ": missing"};
  return *x;
}

const json& req_object(const json& obj, const char* key, std::string_view prefix) {
  const json* v = find(obj, key);
  if (v == nullptr)
    throw field_error{path_of(prefix, key) + ": missing"};
  if (!v->is_object())
    throw field_error{path_of(prefix, key) + ": expected an object"};
  return *v;
}

/// "/start", "/start payload" or "/start@SomeBot payload".
void detect_start(telegram_message& m) {
  std::string_view t = m.text;
  constexpr std::string_view cmd = "/start";
  if (m.is_caption || t.substr(0, cmd.size()) != cmd)
    return;
  auto rest = t.substr(cmd.size());
  if (!rest.empty() && rest[0] == '@') {
    auto space = rest.find_first_of(" \n\t");
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space);
  } else if (!rest.empty() && rest[0] != ' ' && rest[0] != '\n' && rest[0] != '\t') {
    return; // "/startle" is not /start
  }
  m.is_start = true;
  auto first = rest.find_first_not_of(" \n\t");
  if (first != std::string_view::npos) {
    auto last = rest.find_last_not_of(" \n\t");
    m.start_payload = std::string{rest.substr(first, last - first + 1)};
  }
}

telegram_message read_message(const json& msg, std::string_view prefix) {
  if (!msg.is_object())
    throw field_error{std::string{prefix} + ": expected an object"};
  telegram_message m;
  m.message_id = req_int(msg, "message_id", prefix);
  const json& chat = req_object(msg, "chat", prefix);
  auto chat_prefix = path_of(prefix, "chat");
  m.chat_id = req_int(chat, "id", chat_prefix);
  m.chat_type = opt_string(chat, "type", chat_prefix);
  m.date = opt_int(msg, "date", prefix).value_or(0);
  if (const json* from = find(msg, "from")) {
    if (!from->is_object())
      throw field_error{path_of(prefix, "from") + ": expected an object"};
    auto from_prefix = path_of(prefix, "from");
    m.from_id = req_int(*from, "id", from_prefix);
    m.from_name = opt_string(*from, "first_name", from_prefix);
    auto last = opt_string(*from, "last_name", from_prefix);
    if (!last.empty())
      m.from_name += m.from_name.empty() ? last : " " + last;
    m.from_username = opt_string(*from, "username", from_prefix);
    if (const json* bot = find(*from, "is_bot"); bot != nullptr && bot->is_boolean())
      m.from_is_bot = bot->get<bool>();
  }
  m.text = opt_string(msg, "text", prefix);
  if (m.text.empty()) {
    m.text = opt_string(msg, "caption", prefix);
    m.is_caption = !m.text.empty();
  }
  m.message_thread_id = opt_int(msg, "message_thread_id", prefix);
  if (const json* reply = find(msg, "reply_to_message")) {
    auto reply_prefix = path_of(prefix, "reply_to_message");
    if (!reply->is_object())
      throw field_error{reply_prefix + ": expected an object"};
    m.reply_to_message_id = req_int(*reply, "message_id", reply_prefix);
    if (const json* reply_chat = find(*reply, "chat"))
      m.reply_to_chat_id = req_int(*reply_chat, "id", path_of(reply_prefix, "chat"));
  }
  detect_start(m);
  return m;
}

caf::error fail(sb_error code, std::string reason) {
  return caf::make_error(code, std::move(reason));
}

/// Maps a failed Bot API call to an error. Context: reason, the Bot API error_code (the HTTP status
/// when the body has none) as the provider code, then retry_after when Telegram sent one.
caf::error api_error(int http_status, const json* body) {
  int64_t code = http_status;
  std::string description;
  std::optional<int64_t> retry_after;
  std::optional<int64_t> migrate_to;
  if (body != nullptr && body->is_object()) {
    if (const json* c = find(*body, "error_code"); c != nullptr && c->is_number_integer())
      code = c->get<int64_t>();
    if (const json* d = find(*body, "description"); d != nullptr && d->is_string())
      description = d->get<std::string>();
    if (const json* p = find(*body, "parameters"); p != nullptr && p->is_object()) {
      if (const json* r = find(*p, "retry_after"); r != nullptr && r->is_number_integer())
        retry_after = r->get<int64_t>();
      if (const json* r = find(*p, "migrate_to_chat_id"); r != nullptr && r->is_number_integer())
        migrate_to = r->get<int64_t>();
    }
  }
  if (description.empty())
    description = body == nullptr ? "HTTP " + std::to_string(http_status) + " without a JSON body"
                                  : "HTTP " + std::to_string(http_status);
  if (retry_after || code == 429) {
    auto wait = retry_after.value_or(1);
    return caf::make_error(sb_error::provider_transient,
                           "retry after " + std::to_string(wait) + " s: " + description, code,
                           wait);
  }
  if (code >= 500 || http_status >= 500)
    return caf::make_error(sb_error::provider_transient, std::move(description), code);
  if (migrate_to)
    return caf::make_error(sb_error::provider_rejected,
                           "chat migrated to " + std::to_string(*migrate_to) + ": " + description,
                           code);
  return caf::make_error(sb_error::provider_rejected, std::move(description), code);
}

/// The `result` of a successful response, or the mapped error.
expected<json> result_of(int http_status, std::string_view body) {
  if (auto why = json_body_problem(body))
    return fail(sb_error::malformed, *why);
  json root;
  try {
    root = json::parse(body);
  } catch (const json::exception& e) {
    if (http_status >= 300)
      return api_error(http_status, nullptr);
    return fail(sb_error::malformed, std::string{"invalid JSON: "} + e.what());
  }
  const json* ok = find(root, "ok");
  if (ok == nullptr || !ok->is_boolean()) {
    if (http_status >= 300)
      return api_error(http_status, &root);
    return fail(sb_error::malformed, "ok: missing");
  }
  if (!ok->get<bool>() || http_status >= 300)
    return api_error(http_status, &root);
  const json* result = find(root, "result");
  if (result == nullptr)
    return fail(sb_error::malformed, "result: missing");
  return *result;
}

} // namespace

std::string to_string(telegram_update_kind x) {
  switch (x) {
  case telegram_update_kind::message:
    return "message";
  case telegram_update_kind::edited_message:
    return "edited_message";
  case telegram_update_kind::channel_post:
    return "channel_post";
  case telegram_update_kind::edited_channel_post:
    return "edited_channel_post";
  case telegram_update_kind::other:
    return "other";
  }
  return "other";
}

expected<telegram_message> parse_telegram_message(const nlohmann::json& msg) {
  try {
    return read_message(msg, "message");
  } catch (const field_error& e) {
    return fail(sb_error::malformed, e.reason);
  } catch (const json::exception& e) {
    return fail(sb_error::malformed, e.what());
  }
}

expected<telegram_update> parse_telegram_update(std::string_view body) {
  return parse_json_body<telegram_update>(
      body, true, [&](const json& root) -> expected<telegram_update> {
        telegram_update up;
        up.update_id = req_int(root, "update_id", {});
        static constexpr std::pair<const char*, telegram_update_kind> kinds[] = {
            {"message", telegram_update_kind::message},
            {"edited_message", telegram_update_kind::edited_message},
            {"channel_post", telegram_update_kind::channel_post},
            {"edited_channel_post", telegram_update_kind::edited_channel_post},
        };
        for (auto [key, kind] : kinds) {
          if (const json* msg = find(root, key)) {
            up.kind = kind;
            up.message = read_message(*msg, key);
            break;
          }
        }
        return up;
      });
}

expected<std::string> telegram_send_message_body(int64_t chat_id, std::string_view text,
                                                 std::optional<int64_t> reply_to_message_id) {
  if (text.empty())
    return fail(sb_error::invalid_argument, "text: must not be empty");
  if (!is_well_formed_utf8(text))
    return fail(sb_error::invalid_argument, "text: invalid UTF-8");
  json j = {
      {"chat_id", chat_id},
      {"text", std::string{text}},
      {"parse_mode", "HTML"},
      {"link_preview_options", {{"is_disabled", true}}},
  };
  if (reply_to_message_id)
    j["reply_parameters"]
        = {{"message_id", *reply_to_message_id}, {"allow_sending_without_reply", true}};
  return dump(j);
}

expected<std::string> telegram_set_webhook_body(std::string_view url, std::string_view secret_token,
                                                const std::vector<std::string>& allowed_updates) {
  if (secret_token.empty() || secret_token.size() > 256)
    return fail(sb_error::invalid_argument, "secret_token: must be 1-256 characters");
  for (char c : secret_token) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
              || c == '-';
    if (!ok)
      return fail(sb_error::invalid_argument,
                  "secret_token: only A-Z, a-z, 0-9, _ and - are allowed");
  }
  if (url.substr(0, 8) != "https://")
    return fail(sb_error::invalid_argument, "url: must be an https URL");
  json j = {{"url", std::string{url}}, {"secret_token", std::string{secret_token}}};
  if (!allowed_updates.empty())
    j["allowed_updates"] = allowed_updates;
  return dump(j);
}

expected<int64_t> parse_telegram_send_response(int http_status, std::string_view body) {
  auto result = result_of(http_status, body);
  if (!result)
    return std::move(result.error());
  try {
    if (!result->is_object())
      return fail(sb_error::malformed, "result: expected a Message object");
    return req_int(*result, "message_id", "result");
  } catch (const field_error& e) {
    return fail(sb_error::malformed, e.reason);
  }
}

expected<void> parse_telegram_ok_response(int http_status, std::string_view body) {
  auto result = result_of(http_status, body);
  if (!result)
    return std::move(result.error());
  return {};
}

std::optional<int64_t> telegram_retry_after(const caf::error& err) {
  if (!err || code_of(err) != sb_error::provider_transient)
    return std::nullopt;
  const auto& ctx = err.context();
  if (ctx.size() >= 3 && ctx.match_element<int64_t>(2))
    return ctx.get_as<int64_t>(2);
  return std::nullopt;
}

} // namespace switchboard::providers
