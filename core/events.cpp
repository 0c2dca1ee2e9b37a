#include "core/events.hpp"

#include <nlohmann/json.hpp>

#include "core/json_fields.hpp"

namespace switchboard::core {

using nlohmann::json;

namespace {

template <class T, class Fill> expected<T> decode(std::string_view payload, Fill fill) {
  // A raw NUL is no JSON; nlohmann would stop reading at it.
  auto j = payload.find('\0') == std::string_view::npos ? json::parse(payload, nullptr, false)
                                                        : json(json::value_t::discarded);
  if (j.is_discarded() || !j.is_object())
    return caf::make_error(sb_error::malformed, std::string{"inbox payload is not a JSON object"});
  try {
    T out;
    fill(j, out);
    return out;
  } catch (const json::exception& e) {
    return caf::make_error(sb_error::malformed, std::string{"inbox payload: "} + e.what());
  }
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

int64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

inbox_entry entry(std::string source, std::string key, std::string entity, const char* kind,
                  const json& payload, const std::string& correlation_id, uint32_t shards) {
  inbox_entry e;
  e.source = std::move(source);
  e.dedupe_key = std::move(key);
  e.shard = shard_of(entity, shards);
  e.entity = std::move(entity);
  e.kind = kind;
  e.payload = json_fields::dump(payload);
  e.correlation_id = correlation_id;
  return e;
}

} // namespace

bool has_nul(const inbox_entry& e) {
  for (auto* f : {&e.source, &e.dedupe_key, &e.entity, &e.kind, &e.correlation_id})
    if (f->find('\0') != std::string::npos)
      return true;
  // In the payload JSON a NUL is the escape \u0000 (an odd run of backslashes before "u0000").
  for (auto at = e.payload.find("u0000"); at != std::string::npos;
       at = e.payload.find("u0000", at + 1)) {
    std::size_t slashes = 0;
    while (slashes < at && e.payload[at - 1 - slashes] == '\\')
      ++slashes;
    if (slashes % 2 == 1)
      return true;
  }
  return e.payload.find('\0') != std::string::npos;
}

uint32_t shard_of(std::string_view entity, uint32_t shards) {
  // A WhatsApp user known by a BSUID only ("wa:<business>:<bsuid>") shards by the BSUID: that
  // user's delivery-log rows carry the BSUID as their recipient, and the database's shard_key
  // hashes the recipient (migrations/0012_outbox_shards.sql), so the node owning the user's
  // session also owns their sends and the replay of their unanswered messages.
  if (parse_whatsapp_user_key(entity))
    entity = entity.substr(entity.find(':', 3) + 1);
  uint32_t h = 2166136261u;
  for (unsigned char c : entity) {
    h ^= c;
    h *= 16777619u;
  }
  return shards == 0 ? 0 : h % shards;
}

std::string whatsapp_user_key(std::string_view business, std::string_view user_id) {
  std::string key = "wa:";
  key.append(business).append(":").append(user_id);
  return key;
}

std::optional<whatsapp_user_ref> parse_whatsapp_user_key(std::string_view key) {
  if (key.size() < 5 || key.substr(0, 3) != "wa:")
    return std::nullopt;
  auto rest = key.substr(3);
  auto colon = rest.find(':');
  if (colon == std::string_view::npos || colon + 1 >= rest.size())
    return std::nullopt;
  return whatsapp_user_ref{std::string{rest.substr(0, colon)}, std::string{rest.substr(colon + 1)}};
}

std::string sender_key(const inbound_message& m) {
  if (!m.from.empty() || m.user_id.empty())
    return m.from;
  return whatsapp_user_key(m.business, m.user_id);
}

inbox_entry make_inbox_entry(const inbound_message& m, uint32_t shards) {
  json p{{"channel", m.channel},
         {"provider", m.provider},
         {"external_id", m.external_id},
         {"from", m.from},
         {"user_id", m.user_id},
         {"business", m.business},
         {"type", m.type},
         {"text", m.text},
         {"profile_name", m.profile_name},
         {"received_at_ms", m.received_at_ms}};
  return entry(m.provider, m.external_id, sender_key(m), "message", p, m.correlation_id, shards);
}

inbox_entry make_inbox_entry(const status_update& s, uint32_t shards) {
  json p{{"provider", s.provider},
         {"external_id", s.external_id},
         {"status", s.status},
         {"error", s.error}};
  if (s.error_code != 0)
    p["error_code"] = s.error_code;
  if (s.pricing_billable >= 0)
    p["pricing_billable"] = s.pricing_billable == 1;
  for (auto [key, value] : {std::pair{"pricing_model", &s.pricing_model},
                            std::pair{"pricing_category", &s.pricing_category},
                            std::pair{"pricing_type", &s.pricing_type}})
    if (!value->empty())
      p[key] = *value;
  // Each status of a message is its own event; a repeated callback is the same one.
  return entry(s.provider + ":status", s.external_id + ":" + s.status,
               s.provider + ":" + s.external_id, "status", p, s.correlation_id, shards);
}

inbox_entry make_inbox_entry(const chatwoot_inbound& c, std::string dedupe_key, uint32_t shards) {
  json p{{"account_id", c.account_id},
         {"conversation_id", c.conversation_id},
         {"event", c.event},
         {"status", c.status},
         {"previous_status", c.previous_status},
         {"delivery_id", c.delivery_id},
         {"customer_message", c.customer_message},
         {"bot_should_answer", c.bot_should_answer},
         {"content", c.content},
         {"contact_name", c.contact_name}};
  return entry("chatwoot", std::move(dedupe_key),
               std::to_string(c.account_id) + ":" + std::to_string(c.conversation_id), "chatwoot",
               p, c.correlation_id, shards);
}

inbox_entry make_inbox_entry(const telegram_inbound& t, uint32_t shards) {
  json p{{"update_id", t.update_id},
         {"chat_id", t.chat_id},
         {"message_id", t.message_id},
         {"from_name", t.from_name},
         {"text", t.text},
         {"reply_to_message_id", t.reply_to_message_id},
         {"is_start", t.is_start}};
  return entry("telegram", std::to_string(t.update_id), std::to_string(t.chat_id), "telegram", p,
               t.correlation_id, shards);
}

expected<inbound_message> decode_inbound_message(std::string_view payload) {
  return decode<inbound_message>(payload, [](const json& j, inbound_message& m) {
    m.channel = str(j, "channel");
    m.provider = str(j, "provider");
    m.external_id = str(j, "external_id");
    m.from = str(j, "from");
    m.user_id = str(j, "user_id");
    m.business = str(j, "business");
    m.type = str(j, "type");
    m.text = str(j, "text");
    m.profile_name = str(j, "profile_name");
    m.received_at_ms = num(j, "received_at_ms");
  });
}

message_pricing pricing_of(const status_update& s) {
  message_pricing p;
  if (s.pricing_billable >= 0)
    p.billable = s.pricing_billable == 1;
  p.model = s.pricing_model;
  p.category = s.pricing_category;
  p.type = s.pricing_type;
  return p;
}

void set_pricing(status_update& s, const message_pricing& p) {
  s.pricing_billable = p.billable ? (*p.billable ? 1 : 0) : -1;
  s.pricing_model = p.model;
  s.pricing_category = p.category;
  s.pricing_type = p.type;
}

expected<status_update> decode_status_update(std::string_view payload) {
  return decode<status_update>(payload, [](const json& j, status_update& s) {
    s.provider = str(j, "provider");
    s.external_id = str(j, "external_id");
    s.status = str(j, "status");
    s.error = str(j, "error");
    s.error_code = num(j, "error_code");
    if (j.contains("pricing_billable"))
      s.pricing_billable = flag(j, "pricing_billable") ? 1 : 0;
    s.pricing_model = str(j, "pricing_model");
    s.pricing_category = str(j, "pricing_category");
    s.pricing_type = str(j, "pricing_type");
  });
}

expected<chatwoot_inbound> decode_chatwoot_inbound(std::string_view payload) {
  return decode<chatwoot_inbound>(payload, [](const json& j, chatwoot_inbound& c) {
    c.account_id = num(j, "account_id");
    c.conversation_id = num(j, "conversation_id");
    c.event = str(j, "event");
    c.status = str(j, "status");
    c.previous_status = str(j, "previous_status");
    c.delivery_id = str(j, "delivery_id");
    c.customer_message = flag(j, "customer_message");
    c.bot_should_answer = flag(j, "bot_should_answer");
    c.content = str(j, "content");
    c.contact_name = str(j, "contact_name");
  });
}

expected<telegram_inbound> decode_telegram_inbound(std::string_view payload) {
  return decode<telegram_inbound>(payload, [](const json& j, telegram_inbound& t) {
    t.update_id = num(j, "update_id");
    t.chat_id = num(j, "chat_id");
    t.message_id = num(j, "message_id");
    t.from_name = str(j, "from_name");
    t.text = str(j, "text");
    t.reply_to_message_id = num(j, "reply_to_message_id");
    t.is_start = flag(j, "is_start");
  });
}

} // namespace switchboard::core
