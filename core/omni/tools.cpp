#include "core/omni/tools.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <regex>

#include <nlohmann/json.hpp>

#include "core/text/text.hpp"

namespace switchboard::core {

namespace {

using json = nlohmann::json;

json phone_number_schema(std::string_view purpose) {
  return {{"type", "string"},
          {"description", std::string{purpose} + " in E.164 format, e.g. +14155550123."},
          {"pattern", std::string{e164_pattern}}};
}

json function_tool(std::string_view name, std::string_view description, json properties,
                   std::vector<std::string> required) {
  return {{"type", "function"},
          {"function",
           {{"name", std::string{name}},
            {"description", std::string{description}},
            {"parameters",
             {{"type", "object"},
              {"properties", std::move(properties)},
              {"required", std::move(required)},
              {"additionalProperties", false}}}}}};
}

json make_definitions() {
  const json message = {{"type", "string"},
                        {"description", "Text to send to the customer."},
                        {"minLength", 1},
                        {"maxLength", 4096}};
  json defs = json::array();
  defs.push_back(function_tool(
      "messaging_send_dual_channel",
      "Send a message to a customer on WhatsApp and by SMS at the same time. Use for important "
      "notices that must arrive even when the customer is offline on WhatsApp.",
      {{"phone_number", phone_number_schema("Recipient phone number")},
       {"message", message},
       {"sms_message",
        {{"type", "string"},
         {"description",
          "Optional plain-text version for SMS (no formatting, short); defaults to message."},
         {"minLength", 1},
         {"maxLength", 1600}}}},
      {"phone_number", "message"}));
  defs.push_back(function_tool(
      "messaging_send_whatsapp", "Send a WhatsApp text message to a customer.",
      {{"phone_number", phone_number_schema("Recipient phone number")}, {"message", message}},
      {"phone_number", "message"}));
  defs.push_back(function_tool(
      "messaging_send_sms", "Send an SMS text message to a customer.",
      {{"phone_number", phone_number_schema("Recipient phone number")}, {"message", message}},
      {"phone_number", "message"}));
  defs.push_back(function_tool(
      "session_get_or_create",
      "Get the customer's session (status and stored context), creating it when none exists.",
      {{"phone_number", phone_number_schema("Customer phone number")}}, {"phone_number"}));
  defs.push_back(function_tool(
      "session_update_status", "Change the status of the customer's session.",
      {{"phone_number", phone_number_schema("Customer phone number")},
       {"status",
        {{"type", "string"},
         {"description",
          "active: conversation ongoing; follow_up: waiting for a follow-up; closed: finished."},
         {"enum", {"active", "follow_up", "closed"}}}}},
      {"phone_number", "status"}));
  defs.push_back(function_tool(
      "session_add_context",
      "Store facts about the customer in their session context. The object is applied as an "
      "RFC 7386 JSON merge patch: keys are added or replaced, a key set to null is removed.",
      {{"phone_number", phone_number_schema("Customer phone number")},
       {"context",
        {{"type", "object"},
         {"description",
          "Merge patch to apply to the stored context, e.g. {\"order_id\": \"A17\"}."}}}},
      {"phone_number", "context"}));
  defs.push_back(function_tool(
      "session_get_context", "Read the context stored in the customer's session.",
      {{"phone_number", phone_number_schema("Customer phone number")}}, {"phone_number"}));
  return defs;
}

json read_only_definitions() {
  const json account = {{"type", "integer"},
                        {"description", "Chatwoot account id (the id in its API paths)."},
                        {"minimum", 1}};
  json defs = json::array();
  defs.push_back(function_tool(
      "help_center_search",
      "Search the Help Center of the provider that owns a Chatwoot account (the portal of its "
      "notification config) the way the support bot does: the best published articles for a "
      "question, each with its link, relevance in (0, 1) and the sentences that answer it.",
      {{"account_id", account},
       {"query",
        {{"type", "string"},
         {"description", "The question or keywords."},
         {"minLength", 1},
         {"maxLength", 1000}}},
       {"limit",
        {{"type", "integer"},
         {"description", "How many articles at most (default 3)."},
         {"minimum", 1},
         {"maximum", 10}}}},
      {"account_id", "query"}));
  defs.push_back(function_tool(
      "conversation_get_state",
      "Read a Chatwoot conversation as the support bot saw it last: its status, whether the bot "
      "still answers or handed it to a human and why, the hand-off count, the customer's last "
      "message and the provider notification of the last hand-off.",
      {{"account_id", account},
       {"conversation_id",
        {{"type", "integer"},
         {"description", "The conversation's display id (the id in Chatwoot's URLs)."},
         {"minimum", 1}}}},
      {"account_id", "conversation_id"}));
  return defs;
}

struct invalid {
  std::string reason;
};

std::string type_name(const json& v) {
  if (v.is_number_integer())
    return "integer";
  if (v.is_number())
    return "number";
  return v.type_name();
}

bool has_type(const json& v, const std::string& type) {
  if (type == "string")
    return v.is_string();
  if (type == "object")
    return v.is_object();
  if (type == "array")
    return v.is_array();
  if (type == "boolean")
    return v.is_boolean();
  if (type == "null")
    return v.is_null();
  if (type == "number")
    return v.is_number();
  if (type == "integer")
    return v.is_number_integer()
           || (v.is_number_float() && std::trunc(v.get<double>()) == v.get<double>());
  return false;
}

const std::regex& compiled(const std::string& pattern) {
  // Compiled once per pattern of the static definitions; built before first use (thread-safe).
  static const std::map<std::string, std::regex> cache = [] {
    std::map<std::string, std::regex> m;
    std::function<void(const json&)> walk = [&](const json& j) {
      if (j.is_object()) {
        if (auto p = j.find("pattern"); p != j.end() && p->is_string())
          m.emplace(p->get<std::string>(), std::regex{p->get<std::string>()});
        for (const auto& [k, v] : j.items())
          walk(v);
      } else if (j.is_array()) {
        for (const auto& v : j)
          walk(v);
      }
    };
    walk(tool_definitions());
    walk(read_only_tool_definitions());
    return m;
  }();
  return cache.at(pattern);
}

void validate(const json& schema, const json& value, const std::string& path) {
  if (auto t = schema.find("type"); t != schema.end()) {
    const auto& type = t->get_ref<const std::string&>();
    if (!has_type(value, type))
      throw invalid{path + ": must be "
                    + (type == "object" || type == "array" || type == "integer" ? "an " : "a ")
                    + type + " (got " + type_name(value) + ")"};
  }
  if (auto e = schema.find("enum"); e != schema.end()) {
    bool found = false;
    std::string allowed;
    for (const auto& x : *e) {
      found = found || x == value;
      if (!allowed.empty())
        allowed += ", ";
      allowed += x.is_string() ? x.get<std::string>() : x.dump();
    }
    if (!found)
      throw invalid{path + ": must be one of " + allowed};
  }
  if (value.is_number()) {
    auto x = value.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && x < m->get<double>())
      throw invalid{path + ": must be at least " + m->dump()};
    if (auto m = schema.find("maximum"); m != schema.end() && x > m->get<double>())
      throw invalid{path + ": must be at most " + m->dump()};
  }
  if (value.is_string()) {
    auto n = utf8_length(value.get_ref<const std::string&>());
    if (auto m = schema.find("minLength"); m != schema.end() && n < m->get<std::size_t>())
      throw invalid{
          path
          + (m->get<std::size_t>() == 1
                 ? std::string{": must not be empty"}
                 : ": must be at least " + std::to_string(m->get<std::size_t>()) + " characters")};
    if (auto m = schema.find("maxLength"); m != schema.end() && n > m->get<std::size_t>())
      throw invalid{path + ": must be at most " + std::to_string(m->get<std::size_t>())
                    + " characters"};
    if (auto p = schema.find("pattern"); p != schema.end()) {
      const auto& pattern = p->get_ref<const std::string&>();
      if (!std::regex_search(value.get_ref<const std::string&>(), compiled(pattern)))
        throw invalid{path + ": must match " + pattern};
    }
  }
  if (value.is_object()) {
    auto prefix = path == "arguments" ? std::string{} : path + ".";
    if (auto r = schema.find("required"); r != schema.end())
      for (const auto& name : *r)
        if (!value.contains(name.get<std::string>()))
          throw invalid{prefix + name.get<std::string>() + ": is required"};
    auto props = schema.find("properties");
    auto extra = schema.find("additionalProperties");
    bool closed = extra != schema.end() && extra->is_boolean() && !extra->get<bool>();
    for (const auto& [key, v] : value.items()) {
      bool known = props != schema.end() && props->contains(key);
      if (!known && closed)
        throw invalid{prefix + key + ": is not an allowed argument"};
      if (known)
        validate((*props)[key], v, prefix + key);
    }
  }
}

} // namespace

const nlohmann::json& tool_definitions() {
  static const json defs = make_definitions();
  return defs;
}

std::vector<std::string> tool_names() {
  std::vector<std::string> names;
  for (const auto& t : tool_definitions())
    names.push_back(t["function"]["name"].get<std::string>());
  return names;
}

const nlohmann::json& read_only_tool_definitions() {
  static const json defs = read_only_definitions();
  return defs;
}

expected<void> validate_tool_arguments(std::string_view name, const nlohmann::json& args) {
  for (const auto* list : {&tool_definitions(), &read_only_tool_definitions()})
    for (const auto& t : *list) {
      const auto& fn = t["function"];
      if (fn["name"].get_ref<const std::string&>() != name)
        continue;
      try {
        validate(fn["parameters"], args, "arguments");
        return {};
      } catch (const invalid& e) {
        return caf::make_error(sb_error::invalid_argument, e.reason);
      } catch (const json::exception& e) {
        return caf::make_error(sb_error::internal, std::string{"tool schema: "} + e.what());
      }
    }
  return caf::make_error(sb_error::not_found, "unknown tool '" + std::string{name} + "'");
}

} // namespace switchboard::core
