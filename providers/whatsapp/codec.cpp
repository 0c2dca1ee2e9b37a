#include "providers/whatsapp/codec.hpp"

#include "core/json_fields.hpp"

#include <algorithm>

#include "core/delivery.hpp"
#include "core/phone.hpp"
#include "core/retry.hpp"
#include "core/signatures.hpp"

namespace switchboard::providers {

using namespace core;

namespace {

using namespace json_fields;

using json = nlohmann::json;

/// Unix seconds, sent by Meta as a decimal string (or, defensively, a number).
std::optional<int64_t> unix_time(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key))
    return std::nullopt;
  const auto& v = obj.at(key);
  if (v.is_number_integer())
    return v.get<int64_t>();
  if (!v.is_string())
    return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > 18
      || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoll(s);
}

/// E.164 form of a wa_id, or empty when it is not a phone number.
std::string phone_or_empty(std::string_view wa_id) {
  auto phone = normalize_phone(wa_id);
  return phone ? std::move(*phone) : std::string{};
}

int64_t int_or_zero(const json& obj, const char* key) {
  if (!obj.is_object())
    return 0;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

expected<whatsapp_message> parse_message(const json& m, const json& value,
                                         const std::string& path) {
  whatsapp_message out;
  auto id = text_field(m, "id");
  if (!id || id->empty())
    return malformed(path + ": missing 'id'");
  out.id = std::move(*id);
  // Since 2026 a sender is known by its business-scoped user id (from_user_id, contacts[].user_id);
  // its phone number (from, contacts[].wa_id) is withheld for users with a username. One of the
  // two is required. A sender that is not a phone number is kept as sent in `from_raw`.
  auto from = text_field(m, "from");
  auto user_id = text_field(m, "from_user_id");
  if (!from && !user_id)
    return malformed(path + ": missing 'from' and 'from_user_id'");
  if (from) {
    out.from_raw = *from;
    out.from = phone_or_empty(*from);
  }
  if (user_id)
    out.user_id = std::move(*user_id);
  auto type = text_field(m, "type");
  if (!type || type->empty())
    return malformed(path + ": missing 'type'");
  out.type = std::move(*type);
  auto ts = unix_time(m, "timestamp");
  if (!ts)
    return malformed(path + ": missing or invalid 'timestamp'");
  out.timestamp = *ts;

  if (out.type == "text") {
    auto body = text_field(object_or_empty(m, "text"), "body");
    if (!body)
      return malformed(path + ": text message without 'text.body'");
    out.text = std::move(*body);
  }
  const auto& context = object_or_empty(m, "context");
  out.context_id = text_or_empty(context, "id");
  out.forwarded = context.value("forwarded", false) || context.value("frequently_forwarded", false);
  for (const char* media : {"image", "audio", "video", "document", "sticker"})
    if (out.type == media)
      out.media_id = text_or_empty(object_or_empty(m, media), "id");
  if (out.type == "reaction") {
    const auto& reaction = object_or_empty(m, "reaction");
    out.reaction_to = text_or_empty(reaction, "message_id");
    out.reaction_emoji = text_or_empty(reaction, "emoji");
  }
  // Errors on the message itself, else on the enclosing value (Meta uses both places).
  const auto& errors = array_or_empty(m, "errors");
  const auto& value_errors = array_or_empty(value, "errors");
  if (!errors.empty())
    out.error_code = int_or_zero(errors.front(), "code");
  else if (!value_errors.empty())
    out.error_code = int_or_zero(value_errors.front(), "code");

  // The sender's contact (by BSUID, else by wa_id; the only contact when there is one): its
  // profile name, and the ids the message itself lacks.
  const auto& contacts = array_or_empty(value, "contacts");
  const json* contact = nullptr;
  for (const auto& c : contacts) {
    auto c_user = text_or_empty(c, "user_id");
    auto wa_id = text_field(c, "wa_id");
    if ((!out.user_id.empty() && c_user == out.user_id)
        || (!out.from.empty() && wa_id && phone_or_empty(*wa_id) == out.from)) {
      contact = &c;
      break;
    }
  }
  if (!contact && contacts.size() == 1)
    contact = &contacts.front();
  if (contact) {
    out.profile_name = text_or_empty(object_or_empty(*contact, "profile"), "name");
    if (out.user_id.empty())
      out.user_id = text_or_empty(*contact, "user_id");
    if (out.from_raw.empty()) {
      out.from_raw = text_or_empty(*contact, "wa_id");
      out.from = phone_or_empty(out.from_raw);
    }
  }
  if (!out.user_id.empty() && !is_whatsapp_user_id(out.user_id))
    out.user_id.clear(); // not a BSUID: not used as an identity
  return out;
}

/// The `pricing` object of a status; every field empty when there is none.
message_pricing parse_pricing(const json& p) {
  message_pricing out;
  if (!p.is_object())
    return out;
  auto billable = p.find("billable");
  if (billable != p.end() && billable->is_boolean())
    out.billable = billable->get<bool>();
  else if (billable != p.end() && billable->is_string())
    out.billable = billable->get<std::string>() == "true";
  out.model = text_or_empty(p, "pricing_model");
  out.category = text_or_empty(p, "category");
  out.type = text_or_empty(p, "type");
  return out;
}

expected<whatsapp_status> parse_status(const json& s, const std::string& path) {
  whatsapp_status out;
  auto id = text_field(s, "id");
  if (!id || id->empty())
    return malformed(path + ": missing 'id'");
  out.message_id = std::move(*id);
  auto status = text_field(s, "status");
  if (!status || status->empty())
    return malformed(path + ": missing 'status'");
  out.status = std::move(*status);
  // recipient_id is omitted for a message sent to a BSUID whose phone number is withheld.
  auto recipient = text_field(s, "recipient_id");
  auto recipient_user = text_field(s, "recipient_user_id");
  if (!recipient && !recipient_user)
    return malformed(path + ": missing 'recipient_id' and 'recipient_user_id'");
  if (recipient)
    out.recipient_id = std::move(*recipient);
  if (recipient_user)
    out.recipient_user_id = std::move(*recipient_user);
  // Group statuses carry a group id, not a phone number.
  if (s.value("recipient_type", "individual") != "group")
    out.recipient = phone_or_empty(out.recipient_id);
  auto ts = unix_time(s, "timestamp");
  if (!ts)
    return malformed(path + ": missing or invalid 'timestamp'");
  out.timestamp = *ts;
  const auto& errors = array_or_empty(s, "errors");
  if (!errors.empty()) {
    const auto& e = errors.front();
    out.error_code = int_or_zero(e, "code");
    out.error_title = text_or_empty(e, "title");
    if (out.error_title.empty())
      out.error_title = text_or_empty(e, "message");
    out.error_details = text_or_empty(object_or_empty(e, "error_data"), "details");
  }
  out.pricing = parse_pricing(object_or_empty(s, "pricing"));
  return out;
}

expected<whatsapp_webhook> parse_document(const json& doc) {
  if (!doc.is_object())
    return malformed("webhook body is not a JSON object");
  if (doc.contains("object") && doc.at("object") != "whatsapp_business_account")
    return caf::make_error(sb_error::unsupported,
                           std::string{"webhook object is not whatsapp_business_account"});
  auto entries = doc.find("entry");
  if (entries == doc.end() || !entries->is_array())
    return malformed("missing 'entry' array");
  whatsapp_webhook out;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const auto& entry = (*entries)[i];
    auto entry_path = "entry[" + std::to_string(i) + "]";
    auto changes = entry.is_object() ? entry.find("changes") : entry.end();
    if (!entry.is_object() || changes == entry.end() || !changes->is_array())
      return malformed(entry_path + ": missing 'changes' array");
    for (std::size_t j = 0; j < changes->size(); ++j) {
      const auto& change = (*changes)[j];
      auto change_path = entry_path + ".changes[" + std::to_string(j) + "]";
      if (!change.is_object())
        return malformed(change_path + ": not an object");
      if (change.value("field", "") != "messages")
        continue;
      auto value = change.find("value");
      if (value == change.end() || !value->is_object())
        return malformed(change_path + ": missing 'value' object");
      auto phone_number_id = text_or_empty(object_or_empty(*value, "metadata"), "phone_number_id");
      const auto& messages = array_or_empty(*value, "messages");
      for (std::size_t k = 0; k < messages.size(); ++k) {
        auto msg = parse_message(messages[k], *value,
                                 change_path + ".value.messages[" + std::to_string(k) + "]");
        if (!msg)
          return std::move(msg.error());
        msg->phone_number_id = phone_number_id;
        out.messages.push_back(std::move(*msg));
      }
      const auto& statuses = array_or_empty(*value, "statuses");
      for (std::size_t k = 0; k < statuses.size(); ++k) {
        auto st
            = parse_status(statuses[k], change_path + ".value.statuses[" + std::to_string(k) + "]");
        if (!st)
          return std::move(st.error());
        st->phone_number_id = phone_number_id;
        out.statuses.push_back(std::move(*st));
      }
    }
  }
  return out;
}

/// Graph API codes that mean "try again later" even when the HTTP status is 400: throttling
/// (4, 80007, 130429, 131056) and temporary unavailability (2, 131016).
bool is_transient_whatsapp_code(int64_t code) {
  for (int64_t c : {2, 4, 80007, 130429, 131016, 131056})
    if (code == c)
      return true;
  return false;
}

} // namespace

expected<whatsapp_webhook> parse_whatsapp_webhook(std::string_view raw_body) {
  auto doc = parse_untrusted_json(raw_body);
  if (doc.is_discarded())
    return malformed("webhook body is not valid JSON");
  return parse_whatsapp_webhook_json(doc);
}

expected<whatsapp_webhook> parse_whatsapp_webhook_json(const nlohmann::json& doc) {
  try {
    return parse_document(doc);
  } catch (const json::exception& e) {
    return malformed(std::string{"unexpected webhook shape: "} + e.what());
  }
}

expected<std::string> whatsapp_verify_challenge(const form_params& query,
                                                std::string_view verify_token) {
  auto mode = form_value(query, "hub.mode");
  auto token = form_value(query, "hub.verify_token");
  auto challenge = form_value(query, "hub.challenge");
  if (mode != "subscribe")
    return caf::make_error(sb_error::invalid_argument, std::string{"hub.mode is not 'subscribe'"});
  if (!verify_secret_token(verify_token, token))
    return caf::make_error(sb_error::bad_signature, std::string{"hub.verify_token does not match"});
  if (challenge.empty())
    return malformed("missing hub.challenge");
  return std::string{challenge};
}

bool is_whatsapp_user_id(std::string_view id) {
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  auto alnum = [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); };
  if (id.size() < 4 || !alpha(id[0]) || !alpha(id[1]) || id[2] != '.')
    return false;
  auto rest = id.substr(3);
  if (rest.size() > 4 && rest.substr(0, 4) == "ENT.")
    rest = rest.substr(4);
  return !rest.empty() && rest.size() <= 128 && std::all_of(rest.begin(), rest.end(), alnum);
}

nlohmann::json whatsapp_recipient(std::string_view to) {
  if (is_whatsapp_user_id(to))
    return {{"recipient", std::string{to}}};
  return {{"to", std::string{to}}};
}

nlohmann::json build_whatsapp_text(std::string_view to, std::string_view body,
                                   std::string_view reply_to, bool preview_url) {
  json out = whatsapp_recipient(to);
  out["messaging_product"] = "whatsapp";
  out["recipient_type"] = "individual";
  out["type"] = "text";
  out["text"] = {{"preview_url", preview_url}, {"body", std::string{body}}};
  if (!reply_to.empty())
    out["context"] = {{"message_id", std::string{reply_to}}};
  return out;
}

nlohmann::json build_whatsapp_template(std::string_view to, const whatsapp_template& tpl) {
  json templ = {{"name", tpl.name}, {"language", {{"code", tpl.language_code}}}};
  if (!tpl.body_parameters.empty()) {
    json params = json::array();
    for (const auto& p : tpl.body_parameters)
      params.push_back({{"type", "text"}, {"text", p}});
    templ["components"] = json::array({{{"type", "body"}, {"parameters", params}}});
  }
  json out = whatsapp_recipient(to);
  out["messaging_product"] = "whatsapp";
  out["recipient_type"] = "individual";
  out["type"] = "template";
  out["template"] = std::move(templ);
  return out;
}

nlohmann::json build_whatsapp_typing_indicator(std::string_view message_id) {
  return {{"messaging_product", "whatsapp"},
          {"status", "read"},
          {"message_id", std::string{message_id}},
          {"typing_indicator", {{"type", "text"}}}};
}

std::optional<whatsapp_api_error> parse_whatsapp_error(std::string_view body) {
  auto doc = parse_untrusted_json(body);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("error"))
    return std::nullopt;
  const auto& e = doc.at("error");
  if (!e.is_object())
    return std::nullopt;
  whatsapp_api_error out;
  out.code = int_or_zero(e, "code");
  out.subcode = int_or_zero(e, "error_subcode");
  out.type = text_or_empty(e, "type");
  out.title = text_or_empty(e, "title");
  out.message = text_or_empty(e, "message");
  out.details = text_or_empty(object_or_empty(e, "error_data"), "details");
  return out;
}

expected<std::string> parse_whatsapp_send_response(int http_status, std::string_view body) {
  if (http_status >= 200 && http_status < 300) {
    auto doc = parse_untrusted_json(body);
    if (doc.is_discarded() || !doc.is_object())
      return malformed("WhatsApp send response is not a JSON object");
    const auto& messages = array_or_empty(doc, "messages");
    auto id = messages.empty() ? std::nullopt : text_field(messages.front(), "id");
    if (!id || id->empty())
      return malformed("WhatsApp send response has no messages[0].id");
    return std::move(*id);
  }
  auto err = parse_whatsapp_error(body);
  std::string reason = "WhatsApp API HTTP " + std::to_string(http_status);
  int64_t code = 0;
  if (err) {
    code = err->code;
    reason += ", error " + std::to_string(err->code);
    if (err->subcode != 0)
      reason += "/" + std::to_string(err->subcode);
    reason += ": " + (err->message.empty() ? err->title : err->message);
    if (!err->details.empty())
      reason += " (" + err->details + ")";
  }
  bool transient = is_transient_http_status(http_status) || is_transient_whatsapp_code(code);
  auto kind = transient ? sb_error::provider_transient : sb_error::provider_rejected;
  if (err)
    return caf::make_error(kind, std::move(reason), code);
  return caf::make_error(kind, std::move(reason));
}

} // namespace switchboard::providers
