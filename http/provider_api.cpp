#include "http/provider_api.hpp"
#include "core/json_fields.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "actors/runtime.hpp"
#include "core/bot/provider_config.hpp"
#include "core/omni/tools.hpp"
#include "core/signatures.hpp"
#include "http/edge.hpp"
#include "http/openapi_ops.hpp"

namespace switchboard::http {

using nlohmann::json;

namespace {

constexpr const char* config_path = "/api/v1/providers/me/notification-config";
constexpr std::size_t config_body_limit = 16 * 1024;
constexpr const char* unauthorized_reason = "missing, invalid, rotated or revoked provider API key";

// -- OpenAPI building blocks ---------------------------------------------------------------------

json base_document(const openapi_info& info) {
  json tags = json::array();
  auto tag = [&](const char* name, const char* description) {
    tags.push_back({{"name", name}, {"description", description}});
  };
  json servers = json::array();
  std::string description;
  if (info.admin) {
    description = "The admin listener of Switchboard (admin.listen_address, admin.port; bearer "
                  "admin.token). The public listener's routes are in GET /openapi.json there "
                  "(`switchboard openapi`).";
    tag("operations", "Health, readiness, metrics and this document.");
    tag("admin", "Operator controls: log level, status, drain.");
    tag("console", "The operator console's API: deliveries, queues, sessions, audit.");
    servers.push_back({{"url", info.server_url}, {"description", "The admin listener."}});
  } else {
    description = "Every route of Switchboard's public listener: the webhooks providers push to "
                  "(documented as paths, so this document says which URL to give each "
                  "provider), the voice agent's call-ended event, MCP, the provider API, the "
                  "tools API and the operations endpoints. The admin listener's routes are in "
                  "GET /admin/v1/openapi.json on that listener (`switchboard openapi --admin`). "
                  "Errors are {\"error\", \"reason\"}; invalid input (422) of the provider API "
                  "names each field in \"errors\"; a 503 carries Retry-After.";
    tag("webhooks", "Pushed by the messaging providers; each is verified by its signature.");
    tag("voice", "Pushed by the voice agent.");
    tag("mcp", "Model Context Protocol (Streamable HTTP) for LLM clients.");
    tag("providers", "Providers' own settings, authenticated by their API key.");
    tag("sessions", "Sessions and their delivery logs.");
    tag("tools", "The tools the LLM uses, callable by trusted backends.");
    tag("operations", "Health, readiness, metrics and this document.");
    tag("bench", "Benchmark routes, only with server.bench_routes.");
    servers.push_back({{"url", info.server_url.empty() ? "/" : info.server_url},
                       {"description", "The public listener (server.public_url)."}});
  }
  return {{"openapi", "3.1.0"},
          {"info",
           {{"title", info.admin ? "Switchboard admin API" : "Switchboard API"},
            {"version", SB_VERSION},
            {"description", description},
            {"license", {{"name", "Apache-2.0"}, {"identifier", "Apache-2.0"}}}}},
          {"servers", servers},
          {"tags", tags},
          {"paths", json::object()},
          {"components", {{"securitySchemes", security_schemes()}}}};
}

json get_config_operation() {
  return {{"operationId", "getNotificationConfig"},
          {"summary", "The calling provider's notification config"},
          {"tags", {"providers"}},
          {"security", {{{"provider_key", json::array()}}}},
          {"responses",
           {{"200",
             {{"description", "The stored config."},
              {"content", json_content(core::notification_config_schema())}}},
            {"401", unauthorized_response("Missing, invalid, rotated or revoked API key.")},
            {"404", error_response("No config stored yet.")},
            {"429", rate_limited_response()},
            {"503", error_response("The database is unavailable.")}}}};
}

json put_config_operation() {
  json invalid = {{"type", "object"},
                  {"required", {"error", "errors"}},
                  {"properties",
                   {{"error", {{"const", "invalid_argument"}}},
                    {"reason", {{"type", "string"}}},
                    {"errors",
                     {{"type", "object"},
                      {"description", "One message per invalid or unknown field."},
                      {"additionalProperties", {{"type", "string"}}}}}}},
                  {"example",
                   {{"error", "invalid_argument"},
                    {"errors",
                     {{"notify_phone", "must be E.164, e.g. +250788123456"},
                      {"notify_via", "must be one of telegram, sms, email"}}}}}};
  return {{"operationId", "putNotificationConfig"},
          {"summary", "Create or replace the calling provider's notification config"},
          {"description",
           "Fields left out are cleared. The field notify_via needs must be set. "
           "Read-only fields of a fetched config may be sent back; they are ignored."},
          {"tags", {"providers"}},
          {"security", {{{"provider_key", json::array()}}}},
          {"requestBody",
           {{"required", true}, {"content", json_content(core::notification_config_schema())}}},
          {"responses",
           {{"200",
             {{"description", "The stored config."},
              {"content", json_content(core::notification_config_schema())}}},
            {"400", error_response("The body is not a JSON object.")},
            {"401", unauthorized_response("Missing, invalid, rotated or revoked API key.")},
            {"409", error_response("The Chatwoot account belongs to another provider.")},
            {"413", error_response("The body is larger than 16 KiB.")},
            {"429", rate_limited_response()},
            {"422",
             {{"description", "Invalid or unknown fields."}, {"content", json_content(invalid)}}},
            {"503", error_response("The database is unavailable.")}}}};
}

/// The `{name}` segments of a route pattern, in order.
std::vector<std::string> pattern_params(const std::string& pattern) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = pattern.find('{', pos)) != std::string::npos) {
    auto end = pattern.find('}', pos);
    if (end == std::string::npos)
      break;
    out.push_back(pattern.substr(pos + 1, end - pos - 1));
    pos = end + 1;
  }
  return out;
}

std::string lower_method(const std::string& method) {
  std::string m = method;
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
  return m;
}

/// Checks one operation and declares its path parameters; appends what is wrong to `problems`.
void complete_operation(json& op, const std::string& where, const std::string& pattern,
                        const json& schemes, std::set<std::string>& operation_ids,
                        std::vector<std::string>& problems) {
  if (!op.is_object()) {
    problems.push_back(where + ": documentation is not a JSON object");
    return;
  }
  auto id = op.find("operationId");
  if (id == op.end() || !id->is_string() || id->get_ref<const std::string&>().empty())
    problems.push_back(where + ": no operationId");
  else if (!operation_ids.insert(id->get<std::string>()).second)
    problems.push_back(where + ": operationId " + id->get<std::string>() + " is used twice");
  auto responses = op.find("responses");
  if (responses == op.end() || !responses->is_object() || responses->empty())
    problems.push_back(where + ": no responses");
  if (auto sec = op.find("security"); sec != op.end()) {
    if (!sec->is_array())
      problems.push_back(where + ": security is not an array");
    else
      for (const auto& requirement : *sec)
        for (const auto& [name, scopes] : requirement.items())
          if (!schemes.contains(name))
            problems.push_back(where + ": unknown security scheme " + name);
  }
  // Every bearer check of this server answers 401 with WWW-Authenticate (provider_api,
  // webhooks' call-ended and tools, mcp, admin_authenticated): say so where an operation's own
  // documentation left the header out.
  bool bearer = false;
  if (auto sec = op.find("security"); sec != op.end() && sec->is_array())
    for (const auto& requirement : *sec)
      for (const auto& [name, scopes] : requirement.items())
        bearer = bearer || schemes.value(name, json::object()).value("scheme", "") == "bearer";
  if (auto res = op.find("responses"); bearer && res != op.end() && res->is_object()
                                       && res->contains("401") && (*res)["401"].is_object()
                                       && !(*res)["401"].contains("headers"))
    (*res)["401"]["headers"] = {{"WWW-Authenticate", {{"schema", {{"type", "string"}}}}}};
  auto params = pattern_params(pattern);
  auto& declared = op["parameters"];
  if (declared.is_null())
    declared = json::array();
  if (!declared.is_array()) {
    problems.push_back(where + ": parameters is not an array");
    return;
  }
  std::set<std::string> seen;
  for (const auto& p : declared) {
    if (!p.is_object() || p.value("in", "") != "path")
      continue;
    auto name = p.value("name", "");
    if (std::find(params.begin(), params.end(), name) == params.end())
      problems.push_back(where + ": path parameter " + name + " is not in the path");
    seen.insert(name);
  }
  for (const auto& name : params)
    if (seen.count(name) == 0)
      declared.push_back(
          {{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
  if (declared.empty())
    op.erase("parameters");
}

json deliveries_operation() {
  json row = {
      {"type", "object"},
      {"required", {"id", "direction", "channel", "status", "pricing", "sms"}},
      {"properties",
       {{"id", {{"type", "integer"}}},
        {"direction", {{"enum", {"inbound", "outbound"}}}},
        {"channel", {{"enum", {"whatsapp", "sms"}}}},
        {"provider", {{"type", "string"}}},
        {"message_type", {{"type", "string"}}},
        {"status", {{"type", "string"}}},
        {"attempts", {{"type", "integer"}}},
        {"external_id", {{"type", {"string", "null"}}}},
        {"last_error", {{"type", {"string", "null"}}}},
        {"template", {{"type", {"string", "null"}}}},
        {"fallback_for",
         {{"type", {"integer", "null"}},
          {"description", "The WhatsApp row Meta refused (131047, 131026) this one replaces."}}},
        {"pricing",
         {{"type", {"object", "null"}},
          {"description", "WhatsApp's pricing object from the status webhooks, with the cost units "
                          "it counts for (1 when charged)."}}},
        {"sms",
         {{"type", {"object", "null"}},
          {"description", "Segments and encoding (GSM-7, UCS-2) of an SMS sent; cost_units = "
                          "segments."}}},
        {"correlation_id", {{"type", "string"}}}}}};
  return {
      {"operationId", "listSessionDeliveries"},
      {"summary", "The delivery log of a session, with what each message cost"},
      {"tags", {"sessions"}},
      {"security", {{{"api_token", json::array()}}}},
      {"parameters",
       {{{"name", "session_id"},
         {"in", "path"},
         {"required", true},
         {"schema", {{"type", "integer"}}}}}},
      {"responses",
       {{"200",
         {{"description", "Every message in and out of the session, oldest first."},
          {"content",
           json_content({{"type", "object"},
                         {"required", {"deliveries"}},
                         {"properties", {{"deliveries", {{"type", "array"}, {"items", row}}}}}})}}},
        {"400", error_response("The session id is not a number.")},
        {"401", unauthorized_response("Missing or invalid bearer token.")},
        {"429", rate_limited_response()},
        {"503", error_response("The database is unavailable.")}}}};
}

// -- handlers ------------------------------------------------------------------------------------

response unauthorized() {
  auto r = response::error(401, "unauthorized", unauthorized_reason);
  r.headers.add("WWW-Authenticate", "Bearer realm=\"switchboard\"");
  return r;
}

response from_reply(const actors::edge_reply& r) {
  if (r.status == 401)
    return unauthorized();
  return response::make(r.status, r.body, r.content_type);
}

void get_config(actors::runtime& rt, api_rate_limit& limit, request&& req, responder respond) {
  auto key = bearer_of(req);
  if (!core::api_key_prefix(key)) {
    respond(unauthorized());
    return;
  }
  // Before the database checks the key: a flood of one key costs no round trip.
  if (!limit.admit("provider_config_get", key, respond))
    return;
  rt.get_provider_config(key, [respond](actors::edge_reply r) { respond(from_reply(r)); });
}

/// PUT: the key is checked by a read job before the body is parsed; the write job checks it again
/// (share-locking the provider row), so a key revoked in between writes nothing.
void put_config(actors::runtime& rt, api_rate_limit& limit, request&& req, responder respond) {
  auto key = bearer_of(req);
  if (!core::api_key_prefix(key)) {
    respond(unauthorized());
    return;
  }
  if (!limit.admit("provider_config_put", key, respond))
    return;
  auto body = std::make_shared<const std::string>(std::move(req.body));
  auto* runtime = &rt;
  rt.authenticate_provider(key, [runtime, key, body, respond](actors::edge_reply auth) {
    if (auth.status != 200) {
      respond(from_reply(auth));
      return;
    }
    std::string why;
    auto j = core::parse_untrusted_json(*body, &why);
    if (j.is_discarded() || !j.is_object()) {
      respond(response::error(400, "malformed",
                              "the body must be a JSON object" + (why.empty() ? "" : ": " + why)));
      return;
    }
    auto in = core::parse_notification_config(j);
    if (!in.errors.empty()) {
      std::string fields;
      for (const auto& [name, message] : in.errors)
        fields += (fields.empty() ? "" : ", ") + name;
      json answer = {{"error", "invalid_argument"},
                     {"reason", "invalid fields: " + fields},
                     {"errors", in.errors}};
      respond(response::make(422, answer.dump()));
      return;
    }
    runtime->put_provider_config(key, std::move(in.config),
                                 [respond](actors::edge_reply r) { respond(from_reply(r)); });
  });
}

} // namespace

json tools_list_operation() {
  json definition = {
      {"type", "object"},
      {"required", {"type", "function"}},
      {"properties",
       {{"type", {{"const", "function"}}},
        {"function",
         {{"type", "object"},
          {"required", {"name", "description", "parameters"}},
          {"properties",
           {{"name", {{"type", "string"}, {"enum", core::tool_names()}}},
            {"description", {{"type", "string"}}},
            {"parameters",
             {{"type", "object"}, {"description", "JSON Schema of the tool's arguments."}}}}}}}}}};
  return {{"operationId", "listTools"},
          {"summary", "The tools, in OpenAI tools format"},
          {"tags", {"tools"}},
          {"security", json::array()},
          {"responses",
           {{"200",
             {{"description", "Every tool with the JSON Schema of its arguments."},
              {"content",
               {{"application/json",
                 {{"schema", {{"type", "array"}, {"items", std::move(definition)}}},
                  {"example", core::tool_definitions()}}}}}}},
            {"404", error_response("No route: a mistyped path.")}}}};
}

json tools_call_operation() {
  json variants = json::array();
  for (const auto& def : core::tool_definitions()) {
    auto schema = def.at("function").at("parameters");
    schema["title"] = def.at("function").at("name");
    schema["description"] = def.at("function").at("description");
    variants.push_back(std::move(schema));
  }
  json result = {{"type", "object"},
                 {"required", {"result"}},
                 {"properties", {{"result", {{"type", "object"}}}}}};
  return {
      {"operationId", "callTool"},
      {"summary", "Call a tool"},
      {"description", "The body is the tool's arguments; each alternative of its schema is titled "
                      "with the tool it belongs to."},
      {"tags", {"tools"}},
      {"security", {{{"api_token", json::array()}}}},
      {"parameters",
       {{{"name", "name"},
         {"in", "path"},
         {"required", true},
         {"description", "The tool to call."},
         {"schema", {{"type", "string"}, {"enum", core::tool_names()}}}}}},
      {"requestBody",
       {{"required", true}, {"content", json_content({{"anyOf", std::move(variants)}})}}},
      {"responses",
       {{"200",
         {{"description", "The tool's result (the session as the tools see it, or what was sent)."},
          {"content", json_content(std::move(result))}}},
        {"400", error_response("The body is not a JSON object.")},
        {"401", unauthorized_response("Missing or invalid API token.")},
        {"404", error_response("Unknown tool, or no open session for session_get_context.")},
        {"429", rate_limited_response()},
        {"422", error_response("The arguments do not match the tool's schema; the reason names "
                               "the argument.")},
        {"503", error_response("The database is unavailable.")}}}};
}

json openapi_document(const route_table& routes, const openapi_info& info) {
  auto doc = base_document(info);
  const auto& schemes = doc["components"]["securitySchemes"];
  auto& paths = doc["paths"];
  std::vector<std::string> problems;
  std::set<std::string> operation_ids;
  for (const auto& r : routes.routes()) {
    auto where = r.method + " " + r.pattern;
    if (r.openapi.empty()) {
      problems.push_back(where + ": no OpenAPI documentation (set http::route::openapi)");
      continue;
    }
    auto op = json::parse(r.openapi, nullptr, false);
    if (op.is_discarded()) {
      problems.push_back(where + ": documentation is not valid JSON");
      continue;
    }
    complete_operation(op, where, r.pattern, schemes, operation_ids, problems);
    auto& item = paths[r.pattern];
    auto method = lower_method(r.method);
    if (item.contains(method))
      problems.push_back(where + ": registered twice");
    item[method] = std::move(op);
  }
  if (!problems.empty()) {
    std::string text = "OpenAPI document:";
    for (const auto& p : problems)
      text += " " + p + ";";
    text.pop_back();
    throw std::logic_error(text);
  }
  // Only the security schemes and tags this listener's operations use.
  std::set<std::string> used_schemes;
  std::set<std::string> used_tags;
  for (const auto& [path, item] : paths.items())
    for (const auto& [method, op] : item.items()) {
      for (const auto& requirement : op.value("security", json::array()))
        for (const auto& [name, scopes] : requirement.items())
          used_schemes.insert(name);
      for (const auto& t : op.value("tags", json::array()))
        used_tags.insert(t.get<std::string>());
    }
  auto& all = doc["components"]["securitySchemes"];
  for (auto it = all.begin(); it != all.end();)
    it = used_schemes.count(it.key()) != 0 ? std::next(it) : all.erase(it);
  if (all.empty())
    doc.erase("components");
  auto& tags = doc["tags"];
  json kept = json::array();
  for (auto& t : tags)
    if (used_tags.count(t["name"].get<std::string>()) != 0)
      kept.push_back(t);
  tags = std::move(kept);
  return doc;
}

/// GET the delivery log of a session (api.token).
void get_deliveries(actors::runtime& rt, const config::settings& cfg, api_rate_limit& limit,
                    request&& req, const path_params& params, responder respond) {
  auto token = bearer_of(req);
  if (!core::verify_secret_token(cfg.api.token, token)) {
    respond(unauthorized());
    return;
  }
  if (!limit.admit("session_deliveries", token, respond))
    return;
  int64_t session_id = 0;
  try {
    std::size_t used = 0;
    const auto& text = params.at("session_id");
    session_id = std::stoll(text, &used);
    if (used != text.size())
      throw std::invalid_argument{"trailing characters"};
  } catch (const std::exception&) {
    respond(response::error(400, "malformed", "session_id must be a number"));
    return;
  }
  rt.session_deliveries(session_id, [respond](actors::edge_reply r) { respond(from_reply(r)); });
}

void add_provider_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg,
                         api_rate_limit& limit) {
  auto* r = &rt;
  auto* c = &cfg;
  auto* l = &limit;
  routes.add({"GET", "/api/v1/sessions/{session_id}/deliveries", "session_deliveries", 0,
              [r, c, l](request&& req, const path_params& p, responder res) {
                get_deliveries(*r, *c, *l, std::move(req), p, std::move(res));
              },
              deliveries_operation().dump()});
  routes.add({"GET", config_path, "provider_config_get", 0,
              [r, l](request&& req, const path_params&, responder res) {
                get_config(*r, *l, std::move(req), std::move(res));
              },
              get_config_operation().dump()});
  routes.add({"PUT", config_path, "provider_config_put", config_body_limit,
              [r, l](request&& req, const path_params&, responder res) {
                put_config(*r, *l, std::move(req), std::move(res));
              },
              put_config_operation().dump()});
}

} // namespace switchboard::http
