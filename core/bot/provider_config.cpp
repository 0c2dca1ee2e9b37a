#include "core/bot/provider_config.hpp"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/omni/tools.hpp"
#include "core/text/text.hpp"

namespace switchboard::core {

namespace {

using json = nlohmann::json;

constexpr std::string_view key_scheme = "sbk_";
constexpr std::size_t key_prefix_hex = 8;
constexpr std::size_t key_secret_hex = 56;
constexpr std::size_t email_max = 254;
constexpr std::size_t slug_max = 100;
constexpr std::size_t name_max = 200;

constexpr const char* slug_pattern = "^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$";
constexpr const char* email_pattern = "^[^@\\s]+@[^@\\s]+$";

constexpr const char* required_msg = "is required";
constexpr const char* account_msg = "must be a positive integer (the Chatwoot account id)";
constexpr const char* slug_msg
    = "must be 1-100 letters, digits, '_' or '-', starting with a letter or digit";
constexpr const char* chat_id_msg = "must be a non-zero integer (a Telegram chat id)";
constexpr const char* phone_msg = "must be E.164, e.g. +250788123456";
constexpr const char* email_msg = "must be an email address, e.g. support@example.com";
constexpr const char* unknown_msg = "is not a known field";

/// Fields the GET answer carries that a PUT may send back; they are ignored.
constexpr const char* read_only_fields[] = {"provider_id", "created_at", "updated_at"};

bool is_hex_lower(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

std::string one_of_message() {
  std::string out = "must be one of ";
  const auto& values = notify_via_values();
  for (std::size_t i = 0; i < values.size(); ++i)
    out += (i == 0 ? "" : ", ") + values[i];
  return out;
}

/// An int64 of a JSON value when it is an integer in range (not a float, not a string).
std::optional<int64_t> integer_of(const json& v) {
  if (!v.is_number_integer())
    return std::nullopt;
  if (v.is_number_unsigned()
      && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return std::nullopt;
  return v.get<int64_t>();
}

/// The value of a field, or null when it is absent.
const json& field(const json& body, const char* name) {
  static const json null_value;
  auto it = body.find(name);
  return it == body.end() ? null_value : *it;
}

} // namespace

const std::vector<std::string>& notify_via_values() {
  static const std::vector<std::string> values = {"telegram", "sms", "email"};
  return values;
}

bool is_e164(std::string_view text) {
  if (text.size() < 9 || text.size() > 16 || text[0] != '+' || text[1] < '1' || text[1] > '9')
    return false;
  for (char c : text.substr(1))
    if (c < '0' || c > '9')
      return false;
  return true;
}

bool is_portal_slug(std::string_view text) {
  if (text.empty() || text.size() > slug_max)
    return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '-')))
      return false;
  }
  return true;
}

bool is_email_address(std::string_view text) {
  if (text.size() > email_max || !is_well_formed_utf8(text))
    return false;
  auto at = text.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == text.size()
      || text.find('@', at + 1) != std::string_view::npos)
    return false;
  for (unsigned char c : text)
    if (c <= 0x20 || c == 0x7f)
      return false;
  return true;
}

notification_config_input parse_notification_config(const json& body) {
  notification_config_input in;
  auto& errors = in.errors;
  auto& cfg = in.config;
  if (!body.is_object()) {
    errors["body"] = "must be a JSON object";
    return in;
  }
  for (const auto& [name, value] : body.items()) {
    bool known = name == "chatwoot_account_id" || name == "chatwoot_portal_slug"
                 || name == "notify_via" || name == "telegram_chat_id" || name == "notify_phone"
                 || name == "notify_email";
    for (auto ro : read_only_fields)
      known = known || name == ro;
    if (!known)
      errors[name] = unknown_msg;
  }

  if (const auto& v = field(body, "chatwoot_account_id"); v.is_null()) {
    errors["chatwoot_account_id"] = required_msg;
  } else if (auto id = integer_of(v); !id || *id <= 0) {
    errors["chatwoot_account_id"] = account_msg;
  } else {
    cfg.chatwoot_account_id = *id;
  }

  if (const auto& v = field(body, "chatwoot_portal_slug"); v.is_null()) {
    errors["chatwoot_portal_slug"] = required_msg;
  } else if (!v.is_string() || !is_portal_slug(v.get_ref<const std::string&>())) {
    errors["chatwoot_portal_slug"] = slug_msg;
  } else {
    cfg.chatwoot_portal_slug = v.get<std::string>();
  }

  const auto& values = notify_via_values();
  if (const auto& v = field(body, "notify_via"); v.is_null()) {
    errors["notify_via"] = required_msg;
  } else if (!v.is_string()
             || std::find(values.begin(), values.end(), v.get_ref<const std::string&>())
                    == values.end()) {
    errors["notify_via"] = one_of_message();
  } else {
    cfg.notify_via = v.get<std::string>();
  }

  if (const auto& v = field(body, "telegram_chat_id"); !v.is_null()) {
    auto id = integer_of(v);
    if (!id || *id == 0)
      errors["telegram_chat_id"] = chat_id_msg;
    else
      cfg.telegram_chat_id = *id;
  }
  if (const auto& v = field(body, "notify_phone"); !v.is_null()) {
    if (!v.is_string() || !is_e164(v.get_ref<const std::string&>()))
      errors["notify_phone"] = phone_msg;
    else
      cfg.notify_phone = v.get<std::string>();
  }
  if (const auto& v = field(body, "notify_email"); !v.is_null()) {
    if (!v.is_string() || !is_email_address(v.get_ref<const std::string&>()))
      errors["notify_email"] = email_msg;
    else
      cfg.notify_email = v.get<std::string>();
  }

  // The field the chosen channel needs must be present (an invalid one is reported already).
  auto needs = [&](const char* via, const char* name, bool present) {
    if (cfg.notify_via == via && !present && errors.count(name) == 0)
      errors[name] = std::string{"is required when notify_via is "} + via;
  };
  needs("telegram", "telegram_chat_id", cfg.telegram_chat_id.has_value());
  needs("sms", "notify_phone", cfg.notify_phone.has_value());
  needs("email", "notify_email", cfg.notify_email.has_value());
  return in;
}

json to_json(const notification_config& c) {
  json j = {{"chatwoot_account_id", c.chatwoot_account_id},
            {"chatwoot_portal_slug", c.chatwoot_portal_slug},
            {"notify_via", c.notify_via}};
  j["telegram_chat_id"] = c.telegram_chat_id ? json(*c.telegram_chat_id) : json(nullptr);
  j["notify_phone"] = c.notify_phone ? json(*c.notify_phone) : json(nullptr);
  j["notify_email"] = c.notify_email ? json(*c.notify_email) : json(nullptr);
  return j;
}

json notification_config_schema() {
  auto when = [](const char* via, const char* name, const char* type) {
    json condition = {{"properties", {{"notify_via", {{"const", via}}}}},
                      {"required", json::array({"notify_via"})}};
    json then = {{"required", json::array({name})}, {"properties", {{name, {{"type", type}}}}}};
    return json{{"if", std::move(condition)}, {"then", std::move(then)}};
  };
  json props = {
      {"provider_id",
       {{"type", "integer"},
        {"readOnly", true},
        {"description", "The provider this config is of."}}},
      {"chatwoot_account_id",
       {{"type", "integer"},
        {"minimum", 1},
        {"description", "The provider's Chatwoot account id. An account belongs to exactly one "
                        "provider: claiming another provider's account is a 409."}}},
      {"chatwoot_portal_slug",
       {{"type", "string"},
        {"pattern", slug_pattern},
        {"maxLength", slug_max},
        {"description", "Slug of the account's Help Center portal the bot answers from."}}},
      {"notify_via",
       {{"type", "string"},
        {"enum", notify_via_values()},
        {"description", "Channel of hand-off notifications; its field must be set."}}},
      {"telegram_chat_id",
       {{"type", {"integer", "null"}},
        {"not", {{"const", 0}}},
        {"description", "Telegram chat to notify (required when notify_via is telegram)."}}},
      {"notify_phone",
       {{"type", {"string", "null"}},
        {"pattern", std::string{e164_pattern}},
        {"description", "E.164 number to notify by SMS (required when notify_via is sms)."}}},
      {"notify_email",
       {{"type", {"string", "null"}},
        {"pattern", email_pattern},
        {"maxLength", email_max},
        {"description", "Address to notify by email (required when notify_via is email)."}}},
      {"created_at", {{"type", "string"}, {"format", "date-time"}, {"readOnly", true}}},
      {"updated_at", {{"type", "string"}, {"format", "date-time"}, {"readOnly", true}}},
  };
  return {{"type", "object"},
          {"required", {"chatwoot_account_id", "chatwoot_portal_slug", "notify_via"}},
          {"properties", std::move(props)},
          {"additionalProperties", false},
          {"allOf",
           {when("telegram", "telegram_chat_id", "integer"), when("sms", "notify_phone", "string"),
            when("email", "notify_email", "string")}}};
}

api_key generate_api_key() {
  auto hex = random_hex((key_prefix_hex + key_secret_hex) / 2);
  api_key k;
  k.prefix = std::string{key_scheme} + hex.substr(0, key_prefix_hex);
  k.key = k.prefix + "_" + hex.substr(key_prefix_hex);
  k.hash = api_key_hash(k.key);
  return k;
}

std::optional<std::string> api_key_prefix(std::string_view key) {
  constexpr auto prefix_len = key_scheme.size() + key_prefix_hex;
  if (key.size() != prefix_len + 1 + key_secret_hex
      || key.substr(0, key_scheme.size()) != key_scheme || key[prefix_len] != '_'
      || !is_hex_lower(key.substr(key_scheme.size(), key_prefix_hex))
      || !is_hex_lower(key.substr(prefix_len + 1)))
    return std::nullopt;
  return std::string{key.substr(0, prefix_len)};
}

std::string api_key_hash(std::string_view key) {
  return to_hex(sha256(key));
}

std::string provider_name_problem(std::string_view name) {
  if (!is_well_formed_utf8(name))
    return "must be well-formed UTF-8";
  auto n = utf8_length(name);
  if (n == 0 || n > name_max)
    return "must be 1-200 characters";
  bool blank = true;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f)
      return "must not contain control characters";
    blank = blank && c == ' ';
  }
  return blank ? "must not be blank" : "";
}

} // namespace switchboard::core
