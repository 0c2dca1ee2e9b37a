#include "providers/chatwoot/codec.hpp"

#include "core/json_fields.hpp"

#include <cctype>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/form.hpp"

namespace switchboard::providers {

using namespace core;

namespace {

using namespace json_fields;

using json = nlohmann::json;

/// An id: an integer, or (defensively, as in the outdated docs) a string of 1..18 digits.
std::optional<int64_t> opt_id(const json& obj, const char* key, std::string_view prefix = {}) {
  const json* v = find(obj, key);
  if (v == nullptr)
    return std::nullopt;
  if (v->is_number_integer())
    return v->get<int64_t>();
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    bool digits = !s.empty() && s.size() <= 18;
    for (char c : s)
      digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (digits)
      return std::strtoll(s.c_str(), nullptr, 10);
  }
  throw field_error{path_of(prefix, key) + ": expected an integer id"};
}

int64_t req_id(const json& obj, const char* key, std::string_view prefix = {}) {
  auto id = opt_id(obj, key, prefix);
  if (!id)
    throw field_error{path_of(prefix, key) + ": missing"};
  return *id;
}

bool opt_bool(const json& obj, const char* key, std::string_view prefix = {}) {
  const json* v = find(obj, key);
  if (v == nullptr)
    return false;
  if (!v->is_boolean())
    throw field_error{path_of(prefix, key) + ": expected a boolean"};
  return v->get<bool>();
}

const json* opt_object(const json& obj, const char* key, std::string_view prefix = {}) {
  const json* v = find(obj, key);
  if (v != nullptr && !v->is_object())
    throw field_error{path_of(prefix, key) + ": expected an object"};
  return v;
}

// days_from_civil (Howard Hinnant's algorithm): days since 1970-01-01 of a proleptic Gregorian
// date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

/// "2024-05-03T10:00:00.000Z", "2020-03-03 13:05:57 UTC", "...+05:30"; nullopt otherwise.
std::optional<int64_t> parse_timestamp(std::string_view s) {
  auto num = [&](std::size_t pos, std::size_t len) -> int {
    if (pos + len > s.size())
      return -1;
    int x = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i])))
        return -1;
      x = x * 10 + (s[i] - '0');
    }
    return x;
  };
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':'
      || s[16] != ':')
    return std::nullopt;
  int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
      se = num(17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59
      || se < 0 || se > 60)
    return std::nullopt;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])))
      ++pos;
  }
  int64_t offset = 0;
  auto rest = s.substr(pos);
  if (rest == "Z" || rest == " UTC" || rest.empty()) {
    // UTC
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = num(pos + 1, 2), om = num(pos + 4, 2);
    if (oh < 0 || om < 0)
      return std::nullopt;
    offset = (oh * 3600 + om * 60) * (rest[0] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600
         + mi * 60 + se - offset;
}

chatwoot_message_type parse_message_type(const json& obj) {
  const json* v = find(obj, "message_type");
  if (v == nullptr)
    throw field_error{"message_type: missing"};
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    if (s == "incoming")
      return chatwoot_message_type::incoming;
    if (s == "outgoing")
      return chatwoot_message_type::outgoing;
    if (s == "activity")
      return chatwoot_message_type::activity;
    if (s == "template")
      return chatwoot_message_type::template_message;
    throw field_error{"message_type: unknown value '" + s + "'"};
  }
  if (v->is_number_integer()) {
    auto n = v->get<int64_t>();
    if (n >= 0 && n <= 3)
      return static_cast<chatwoot_message_type>(n);
    throw field_error{"message_type: unknown value " + std::to_string(n)};
  }
  throw field_error{"message_type: expected a string or an integer"};
}

chatwoot_sender_type sender_type_of(std::string_view type) {
  if (type == "contact")
    return chatwoot_sender_type::contact;
  if (type == "user")
    return chatwoot_sender_type::user;
  if (type == "agent_bot")
    return chatwoot_sender_type::agent_bot;
  return chatwoot_sender_type::unknown;
}

chatwoot_contact parse_contact(const json& obj, std::string_view prefix) {
  chatwoot_contact c;
  c.id = req_id(obj, "id", prefix);
  c.name = opt_string(obj, "name", prefix);
  c.phone_number = opt_string(obj, "phone_number", prefix);
  c.email = opt_string(obj, "email", prefix);
  return c;
}

/// Reads the `status` entry of changed_attributes: Chatwoot sends an array of one-key objects
/// ([{"status": {"previous_value": .., "current_value": ..}}, ...]); a plain object is accepted
/// too.
std::optional<chatwoot_status_change> parse_status_change(const json& root) {
  const json* changed = find(root, "changed_attributes");
  if (changed == nullptr)
    return std::nullopt;
  const json* entry = nullptr;
  if (changed->is_array()) {
    for (const auto& item : *changed)
      if (auto* s = find(item, "status"))
        entry = s;
  } else if (changed->is_object()) {
    entry = find(*changed, "status");
  } else {
    throw field_error{"changed_attributes: expected an array or an object"};
  }
  if (entry == nullptr)
    return std::nullopt;
  if (!entry->is_object())
    throw field_error{"changed_attributes.status: expected an object"};
  chatwoot_status_change change;
  change.previous = opt_string(*entry, "previous_value", "changed_attributes.status");
  change.current = opt_string(*entry, "current_value", "changed_attributes.status");
  return change;
}

/// Conversation fields shared by conversation events (top level) and message events (nested).
void read_conversation(const json& conv, std::string_view prefix, chatwoot_event& ev) {
  ev.conversation_id = opt_id(conv, "id", prefix);
  if (!ev.conversation_id) // the outdated docs sample names it display_id
    ev.conversation_id = opt_id(conv, "display_id", prefix);
  if (!ev.conversation_id)
    throw field_error{path_of(prefix, "id") + ": missing"};
  ev.conversation_status = opt_string(conv, "status", prefix);
  if (!ev.inbox_id)
    ev.inbox_id = opt_id(conv, "inbox_id", prefix);
  if (!ev.account_id)
    ev.account_id = opt_id(conv, "account_id", prefix);
  if (!ev.account_id) {
    // Conversation payloads before Chatwoot added `account` carry it only inside messages[].
    if (const json* msgs = find(conv, "messages"); msgs != nullptr && msgs->is_array()) {
      for (const auto& m : *msgs) {
        if (auto id = opt_id(m, "account_id", path_of(prefix, "messages[]"))) {
          ev.account_id = id;
          break;
        }
      }
    }
  }
  if (const json* meta = opt_object(conv, "meta", prefix))
    if (const json* sender = opt_object(*meta, "sender", path_of(prefix, "meta")))
      ev.contact = parse_contact(*sender, path_of(path_of(prefix, "meta"), "sender"));
}

chatwoot_event parse_event(const json& root) {
  if (!root.is_object())
    throw field_error{"body: expected a JSON object"};
  chatwoot_event ev;
  ev.event = opt_string(root, "event");
  if (ev.event.empty())
    throw field_error{"event: missing"};
  if (const json* account = opt_object(root, "account"))
    ev.account_id = opt_id(*account, "id", "account");
  if (ev.event == "message_created" || ev.event == "message_updated") {
    chatwoot_message msg;
    msg.id = req_id(root, "id");
    msg.content = opt_string(root, "content");
    msg.type = parse_message_type(root);
    msg.is_private = opt_bool(root, "private");
    msg.content_type = opt_string(root, "content_type");
    if (const json* created = find(root, "created_at")) {
      if (created->is_string()) {
        msg.created_at = created->get<std::string>();
        msg.created_at_unix = parse_timestamp(msg.created_at);
      } else if (created->is_number_integer()) {
        msg.created_at_unix = created->get<int64_t>();
        msg.created_at = std::to_string(*msg.created_at_unix);
      } else {
        throw field_error{"created_at: expected a string or an integer"};
      }
    }
    if (const json* inbox = opt_object(root, "inbox"))
      ev.inbox_id = opt_id(*inbox, "id", "inbox");
    const json* sender = opt_object(root, "sender");
    if (sender != nullptr) {
      msg.sender_id = opt_id(*sender, "id", "sender");
      msg.sender_type = sender_type_of(opt_string(*sender, "type", "sender"));
      // Contact#webhook_data has no `type` in some Chatwoot versions; incoming messages are
      // always written by the contact.
      if (msg.sender_type == chatwoot_sender_type::unknown && find(*sender, "type") == nullptr
          && msg.type == chatwoot_message_type::incoming)
        msg.sender_type = chatwoot_sender_type::contact;
    }
    const json* conv = opt_object(root, "conversation");
    if (conv == nullptr)
      throw field_error{"conversation: missing"};
    read_conversation(*conv, "conversation", ev);
    if (!ev.contact && sender != nullptr && msg.sender_type == chatwoot_sender_type::contact)
      ev.contact = parse_contact(*sender, "sender");
    if (!ev.contact)
      if (const json* contact = opt_object(root, "contact")) // pre-v2 payloads
        ev.contact = parse_contact(*contact, "contact");
    ev.message = std::move(msg);
  } else if (ev.event.rfind("conversation_", 0) == 0) {
    read_conversation(root, {}, ev);
    ev.status_change = parse_status_change(root);
    if (ev.event == "conversation_status_changed") {
      // changed_attributes may be null here: the conversation's status is the new one.
      if (!ev.status_change)
        ev.status_change = chatwoot_status_change{};
      if (ev.status_change->current.empty())
        ev.status_change->current = ev.conversation_status;
    }
  } else {
    // webwidget_triggered (ContactInbox#webhook_data) and others: take what is present.
    if (const json* inbox = opt_object(root, "inbox"))
      ev.inbox_id = opt_id(*inbox, "id", "inbox");
    if (const json* contact = opt_object(root, "contact"))
      ev.contact = parse_contact(*contact, "contact");
    if (const json* conv = opt_object(root, "current_conversation")) {
      auto contact = ev.contact;
      read_conversation(*conv, "current_conversation", ev);
      if (contact)
        ev.contact = contact;
    }
  }
  return ev;
}

caf::error fail(sb_error code, std::string reason) {
  return caf::make_error(code, std::move(reason));
}

std::string trim_slash(std::string_view base) {
  while (!base.empty() && base.back() == '/')
    base.remove_suffix(1);
  return std::string{base};
}

} // namespace

expected<chatwoot_event> parse_chatwoot_webhook(std::string_view body) {
  return parse_json_body<chatwoot_event>(body, false,
                                         [](const json& root) { return parse_event(root); });
}

std::string chatwoot_dedupe_key(const chatwoot_event& ev, std::string_view raw_body) {
  if (ev.message && ev.message->id != 0) {
    auto key = ev.event + ":" + std::to_string(ev.message->id);
    // A message can be updated several times: each distinct update is its own event.
    if (ev.event != "message_created")
      key += ":" + to_hex(sha256(raw_body)).substr(0, 16);
    return key;
  }
  return to_hex(sha256(raw_body));
}

std::string chatwoot_message_body(std::string_view content, bool is_private,
                                  std::string_view content_type) {
  json j = {
      {"content", std::string{content}},
      {"message_type", "outgoing"},
      {"private", is_private},
      {"content_type", std::string{content_type}},
  };
  return dump(j);
}

std::string chatwoot_posted_message_id(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("id"))
    return {};
  const auto& id = j["id"];
  if (id.is_number_integer())
    return std::to_string(id.get<int64_t>());
  if (id.is_string())
    return id.get<std::string>();
  return {};
}

expected<std::string> chatwoot_toggle_status_body(std::string_view status) {
  if (status != "open" && status != "resolved" && status != "pending" && status != "snoozed")
    return fail(sb_error::invalid_argument,
                "status: must be one of open, resolved, pending, snoozed (got '"
                    + std::string{status} + "')");
  return dump(json{{"status", std::string{status}}});
}

namespace {

/// An article's locale: its own "locale" when Chatwoot sends one, else its category's (Chatwoot's
/// article view puts it under "category"); empty when neither is a string (a hint, not required).
std::string article_locale(const json& item) {
  const json* own = find(item, "locale");
  if (own != nullptr && own->is_string())
    return own->get<std::string>();
  const json* category = find(item, "category");
  const json* locale
      = category != nullptr && category->is_object() ? find(*category, "locale") : nullptr;
  return locale != nullptr && locale->is_string() ? locale->get<std::string>() : std::string{};
}

} // namespace

expected<std::vector<help_article>> parse_chatwoot_articles(std::string_view body) {
  return parse_json_body<std::vector<help_article>>(
      body, false, [&](const json& root) -> expected<std::vector<help_article>> {
        const json* payload = find(root, "payload");
        if (payload == nullptr || !payload->is_array())
          return fail(sb_error::malformed, "payload: expected an array of articles");
        std::vector<help_article> out;
        std::size_t index = 0;
        for (const auto& item : *payload) {
          std::string prefix = "payload[" + std::to_string(index++) + "]";
          if (!item.is_object())
            return fail(sb_error::malformed, prefix + ": expected an object");
          const json* status = find(item, "status");
          bool published = status == nullptr
                               ? false
                               : (status->is_string()
                                      ? status->get_ref<const std::string&>() == "published"
                                      : status->is_number_integer() && status->get<int64_t>() == 1);
          if (!published)
            continue;
          help_article a;
          a.id = req_id(item, "id", prefix);
          a.title = opt_string(item, "title", prefix);
          a.description = opt_string(item, "description", prefix);
          a.content = opt_string(item, "content", prefix);
          a.slug = opt_string(item, "slug", prefix);
          a.locale = article_locale(item);
          out.push_back(std::move(a));
        }
        return out;
      });
}

std::string chatwoot_conversation_url(std::string_view base_url, int64_t account_id,
                                      int64_t conversation_id) {
  return trim_slash(base_url) + "/app/accounts/" + std::to_string(account_id) + "/conversations/"
         + std::to_string(conversation_id);
}

std::string chatwoot_article_url(std::string_view base_url, std::string_view portal_slug,
                                 std::string_view article_slug) {
  return trim_slash(base_url) + "/hc/" + url_encode(portal_slug) + "/articles/"
         + url_encode(article_slug);
}

std::string help_center_refusal(int status, bool user_token_set) {
  auto http = "Chatwoot answered HTTP " + std::to_string(status) + " to the Help Center read: ";
  switch (status) {
  case 401:
    return http
           + (user_token_set
                  ? "chatwoot.user_token is not a valid access token, or not a user's"
                  : "listing portal articles needs a user's (agent's or administrator's) access "
                    "token and chatwoot.user_token is not set, so chatwoot.bot_token was used (an "
                    "agent-bot token may only post messages and toggle status)");
  case 403:
    return http + "the user of chatwoot.user_token may not read this account's Help Center";
  case 404:
    return http + "no such account or portal (check the provider's chatwoot_portal_slug)";
  default:
    return {};
  }
}

} // namespace switchboard::providers
