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

void read(const json& j, const char* key, std::string& v) {
  v = str(j, key);
}
void read(const json& j, const char* key, int64_t& v) {
  v = num(j, key);
}
void read(const json& j, const char* key, bool& v) {
  v = flag(j, key);
}

/// A decoder: every field of a list read from the payload (a missing or mistyped one is empty).
struct reader {
  const json& j;
  template <class T> void operator()(const char* key, T& v) const { read(j, key, v); }
};

/// An encoder: every field of a list written to the payload.
struct writer {
  json& p;
  template <class T> void operator()(const char* key, const T& v) const { p[key] = v; }
};

/// An encoder that leaves out empty strings and zeros (decoded as the same).
struct sparse_writer {
  json& p;
  void operator()(const char* key, const std::string& v) const {
    if (!v.empty())
      p[key] = v;
  }
  void operator()(const char* key, int64_t v) const {
    if (v != 0)
      p[key] = v;
  }
};

template <class F> void each_field(F&) {}

/// f(key, value) for each (key, value) pair of the list.
template <class F, class V, class... Rest>
void each_field(F& f, const char* key, V& value, Rest&... rest) {
  f(key, value);
  each_field(f, rest...);
}

// Each event's payload fields, listed once for make_inbox_entry and decode_* (the correlation id
// travels in its own column).

template <class M, class F> void message_fields(M& m, F&& f) {
  each_field(f, "channel", m.channel, "provider", m.provider, "external_id", m.external_id, "from",
             m.from, "user_id", m.user_id, "business", m.business, "type", m.type, "text", m.text,
             "profile_name", m.profile_name, "received_at_ms", m.received_at_ms);
}

template <class S, class F> void status_fields(S& s, F&& f) {
  each_field(f, "provider", s.provider, "external_id", s.external_id, "status", s.status, "error",
             s.error);
}

/// A status's fields written only when set; pricing_billable (-1 unknown) is apart.
template <class S, class F> void status_optional_fields(S& s, F&& f) {
  each_field(f, "error_code", s.error_code, "pricing_model", s.pricing_model, "pricing_category",
             s.pricing_category, "pricing_type", s.pricing_type);
}

template <class C, class F> void chatwoot_fields(C& c, F&& f) {
  each_field(f, "account_id", c.account_id, "conversation_id", c.conversation_id, "event", c.event,
             "status", c.status, "previous_status", c.previous_status, "delivery_id", c.delivery_id,
             "customer_message", c.customer_message, "bot_should_answer", c.bot_should_answer,
             "content", c.content, "contact_name", c.contact_name);
}

template <class T, class F> void telegram_fields(T& t, F&& f) {
  each_field(f, "update_id", t.update_id, "chat_id", t.chat_id, "message_id", t.message_id,
             "from_name", t.from_name, "text", t.text, "reply_to_message_id", t.reply_to_message_id,
             "is_start", t.is_start);
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
  json p = json::object();
  message_fields(m, writer{p});
  return entry(m.provider, m.external_id, sender_key(m), "message", p, m.correlation_id, shards);
}

inbox_entry make_inbox_entry(const status_update& s, uint32_t shards) {
  json p = json::object();
  status_fields(s, writer{p});
  status_optional_fields(s, sparse_writer{p});
  if (s.pricing_billable >= 0)
    p["pricing_billable"] = s.pricing_billable == 1;
  // Each status of a message is its own event; a repeated callback is the same one.
  return entry(s.provider + ":status", s.external_id + ":" + s.status,
               s.provider + ":" + s.external_id, "status", p, s.correlation_id, shards);
}

inbox_entry make_inbox_entry(const chatwoot_inbound& c, std::string dedupe_key, uint32_t shards) {
  json p = json::object();
  chatwoot_fields(c, writer{p});
  return entry("chatwoot", std::move(dedupe_key),
               std::to_string(c.account_id) + ":" + std::to_string(c.conversation_id), "chatwoot",
               p, c.correlation_id, shards);
}

inbox_entry make_inbox_entry(const telegram_inbound& t, uint32_t shards) {
  json p = json::object();
  telegram_fields(t, writer{p});
  return entry("telegram", std::to_string(t.update_id), std::to_string(t.chat_id), "telegram", p,
               t.correlation_id, shards);
}

expected<inbound_message> decode_inbound_message(std::string_view payload) {
  return decode<inbound_message>(
      payload, [](const json& j, inbound_message& m) { message_fields(m, reader{j}); });
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
    status_fields(s, reader{j});
    status_optional_fields(s, reader{j});
    if (j.contains("pricing_billable"))
      s.pricing_billable = flag(j, "pricing_billable") ? 1 : 0;
  });
}

expected<chatwoot_inbound> decode_chatwoot_inbound(std::string_view payload) {
  return decode<chatwoot_inbound>(
      payload, [](const json& j, chatwoot_inbound& c) { chatwoot_fields(c, reader{j}); });
}

expected<telegram_inbound> decode_telegram_inbound(std::string_view payload) {
  return decode<telegram_inbound>(
      payload, [](const json& j, telegram_inbound& t) { telegram_fields(t, reader{j}); });
}

} // namespace switchboard::core
