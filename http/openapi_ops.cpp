#include "http/openapi_ops.hpp"

#include <nlohmann/json.hpp>

namespace switchboard::http {

using nlohmann::json;

json error_schema() {
  return {{"type", "object"},
          {"required", {"error", "reason"}},
          {"properties", {{"error", {{"type", "string"}}}, {"reason", {{"type", "string"}}}}}};
}

json json_content(json schema) {
  return {{"application/json", {{"schema", std::move(schema)}}}};
}

json error_response(const char* description) {
  return {{"description", description}, {"content", json_content(error_schema())}};
}

json unauthorized_response(const char* description) {
  auto r = error_response(description);
  r["headers"] = {{"WWW-Authenticate", {{"schema", {{"type", "string"}}}}}};
  return r;
}

json rate_limited_response() {
  auto r = error_response("Too many calls with this key (api.rate_per_s, api.burst); retry "
                          "after Retry-After seconds.");
  r["headers"] = {{"Retry-After", {{"schema", {{"type", "integer"}}}}}};
  return r;
}

namespace {

json header_key(const char* header, const char* description) {
  return {{"type", "apiKey"}, {"in", "header"}, {"name", header}, {"description", description}};
}

} // namespace

json security_schemes() {
  return {{"provider_key",
           {{"type", "http"},
            {"scheme", "bearer"},
            {"description", "A provider's API key (sbk_...), printed once by `switchboard provider "
                            "create` and `switchboard provider rotate-key`."}}},
          {"api_token",
           {{"type", "http"},
            {"scheme", "bearer"},
            {"description", "The server's API token (api.token, SWITCHBOARD_API_TOKEN)."}}},
          {"voice_token",
           {{"type", "http"},
            {"scheme", "bearer"},
            {"description", "The voice agent's token (voice.token, SWITCHBOARD_VOICE_TOKEN)."}}},
          {"admin_token",
           {{"type", "http"},
            {"scheme", "bearer"},
            {"description", "The admin token (admin.token, SWITCHBOARD_ADMIN_TOKEN)."}}},
          {"whatsapp_signature",
           header_key("X-Hub-Signature-256",
                      "sha256=HMAC-SHA256 of the raw body with the Meta app secret "
                      "(whatsapp.app_secret), computed by Meta for each delivery.")},
          {"twilio_signature",
           header_key("X-Twilio-Signature",
                      "Base64 HMAC-SHA1 with the auth token (sms.twilio.auth_token) of our public "
                      "URL (server.public_url + path) followed by the sorted form parameters.")},
          {"mtn_signature", header_key("X-MTN-Signature",
                                       "HMAC-SHA256 of the raw body with sms.mtn.webhook_secret.")},
          {"chatwoot_signature",
           header_key("X-Chatwoot-Signature",
                      "sha256=HMAC-SHA256 of \"{X-Chatwoot-Timestamp}.{body}\" with a webhook "
                      "secret (chatwoot.webhook_secret or chatwoot.webhook_secrets); the timestamp "
                      "must be recent.")},
          {"telegram_secret",
           header_key("X-Telegram-Bot-Api-Secret-Token",
                      "The secret_token given to setWebhook (telegram.webhook_secret), sent by "
                      "Telegram on every update.")}};
}

namespace openapi_ops {

namespace {

json status_schema(std::initializer_list<const char*> values) {
  json e = json::array();
  for (const auto* v : values)
    e.push_back(v);
  return {{"type", "object"},
          {"required", {"status"}},
          {"properties", {{"status", {{"type", "string"}, {"enum", e}}}}}};
}

json ok_response(const char* description, json schema) {
  return {{"description", description}, {"content", json_content(std::move(schema))}};
}

json too_large() {
  return error_response("The body is larger than the route's limit (server.webhook_body_limit "
                        "for webhooks).");
}

json unavailable() {
  auto r = error_response("Not stored (the database is unavailable or the request timed out): "
                          "retry after Retry-After seconds; a retry is deduplicated.");
  r["headers"] = {{"Retry-After", {{"schema", {{"type", "integer"}}}}}};
  return r;
}

json signature_failed(const char* header) {
  return error_response((std::string{"The "} + header
                         + " signature is missing or invalid "
                           "(no WWW-Authenticate: not an HTTP auth "
                           "scheme).")
                            .c_str());
}

/// Stored answers of the inbound webhooks: accepted, or duplicate of a delivery already stored.
json stored_response() {
  return ok_response("Stored (accepted), already stored (duplicate: a provider's retry), or "
                     "nothing to store (ignored).",
                     status_schema({"accepted", "duplicate", "ignored", "ok"}));
}

json form_content(json schema) {
  return {{"application/x-www-form-urlencoded", {{"schema", std::move(schema)}}}};
}

json string_props(std::initializer_list<const char*> names) {
  json p = json::object();
  for (const auto* n : names)
    p[n] = {{"type", "string"}};
  return p;
}

json webhook(const char* id, const char* summary, const char* description, const char* tag,
             json security) {
  return {{"operationId", id},
          {"summary", summary},
          {"description", description},
          {"tags", {tag}},
          {"security", std::move(security)}};
}

json security_of(const char* scheme) {
  return json::array({{{scheme, json::array()}}});
}

json plain_text(const char* description) {
  return {{"description", description},
          {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}};
}

} // namespace

std::string healthz(bool admin) {
  return json{{"operationId", admin ? "adminHealthz" : "healthz"},
              {"summary", "Liveness: the process answers"},
              {"tags", {"operations"}},
              {"security", json::array()},
              {"responses",
               {{"200", ok_response("Alive.", status_schema({"ok"}))},
                {"404", error_response("Not answered with another method or path.")}}}}
      .dump();
}

std::string console_static(bool file) {
  json responses = {{"404", error_response("No such file in the console.")}};
  if (file) {
    responses["200"]
        = {{"description", "The file (HTML, JavaScript, CSS or SVG), with a strict "
                           "Content-Security-Policy and an ETag. It holds no data: every call the "
                           "page makes needs the admin token."},
           {"headers", {{"ETag", {{"schema", {{"type", "string"}}}}}}},
           {"content",
            {{"text/html", {{"schema", {{"type", "string"}}}}},
             {"text/javascript", {{"schema", {{"type", "string"}}}}},
             {"text/css", {{"schema", {{"type", "string"}}}}},
             {"image/svg+xml", {{"schema", {{"type", "string"}}}}}}}};
    responses["304"] = {{"description", "Not modified (If-None-Match matched the ETag)."}};
  } else {
    responses["301"] = {{"description", "Redirect to /console/."},
                        {"headers", {{"Location", {{"schema", {{"type", "string"}}}}}}}};
  }
  return json{{"operationId", file ? "consoleFile" : "consoleRedirect"},
              {"summary", file ? "The operator console's files (index.html when {file} is empty)"
                               : "The operator console (redirects to /console/)"},
              {"tags", {"console"}},
              {"security", json::array()},
              {"responses", std::move(responses)}}
      .dump();
}

std::string readyz(bool admin) {
  json ready = {{"type", "object"},
                {"required", {"status"}},
                {"properties",
                 {{"status", {{"type", "string"}, {"enum", {"ready", "not_ready", "draining"}}}},
                  {"database", {{"type", "boolean"}}},
                  {"migrations", {{"type", "boolean"}}},
                  {"storage_workers_up", {{"type", "integer"}}},
                  {"cluster",
                   {{"type", "object"},
                    {"description", "Only when cluster.enabled: whether this node's shard leases "
                                    "were renewed within 2/3 of their TTL, and how many it owns."},
                    {"properties",
                     {{"leases_healthy", {{"type", "boolean"}}},
                      {"shards_owned", {{"type", "integer"}}}}}}}}}};
  return json{
      {"operationId", admin ? "adminReadyz" : "readyz"},
      {"summary", "Readiness: the database is reachable and migrated, and not draining"},
      {"tags", {"operations"}},
      {"security", json::array()},
      {"responses",
       {{"200", ok_response("Ready.", ready)},
        {"404", error_response("Not answered with another method or path.")},
        {"503", ok_response("Not ready, or draining (SIGTERM, POST /admin/v1/drain).", ready)}}}}
      .dump();
}

std::string metrics(bool admin) {
  json op = {{"operationId", admin ? "adminMetrics" : "metrics"},
             {"summary", "Prometheus metrics (text exposition format 0.0.4)"},
             {"tags", {"operations"}},
             {"responses", {{"200", plain_text("Every metric family with HELP and TYPE.")}}}};
  if (admin) {
    op["security"] = security_of("admin_token");
    op["responses"]["401"] = unauthorized_response("Missing or invalid admin token.");
  } else {
    op["description"] = "On the public listener only when admin.metrics_on_public_port is set.";
    op["security"] = json::array();
    op["responses"]["404"] = error_response("Not answered with another method or path.");
  }
  return op.dump();
}

std::string openapi_json(bool admin) {
  json op
      = {{"operationId", admin ? "adminOpenapi" : "openapi"},
         {"summary", admin ? "This document (the admin listener's routes)"
                           : "This document (the public listener's routes)"},
         {"description", "The same text as `switchboard openapi"
                             + std::string{admin ? " --admin" : ""} + "` prints."},
         {"tags", {"operations"}},
         {"responses", {{"200", ok_response("The OpenAPI 3.1 document.", {{"type", "object"}})}}}};
  if (admin) {
    op["security"] = security_of("admin_token");
    op["responses"]["401"] = unauthorized_response("Missing or invalid admin token.");
  } else {
    op["security"] = json::array();
    op["responses"]["404"] = error_response("Not answered with another method or path.");
  }
  return op.dump();
}

std::string whatsapp_verify() {
  auto op = webhook("verifyWhatsappWebhook", "WhatsApp Cloud API webhook verification",
                    "Meta's GET when the webhook URL is configured: the challenge is echoed when "
                    "hub.verify_token equals whatsapp.verify_token.",
                    "webhooks", json::array());
  auto q = [](const char* name) {
    return json{
        {"name", name}, {"in", "query"}, {"required", true}, {"schema", {{"type", "string"}}}};
  };
  op["parameters"] = {q("hub.mode"), q("hub.verify_token"), q("hub.challenge")};
  op["responses"]
      = {{"200", plain_text("hub.challenge, as it came.")},
         {"403", error_response("hub.mode is not subscribe or the token does not match.")}};
  return op.dump();
}

std::string whatsapp_webhook() {
  json message
      = {{"type", "object"},
         {"required", {"id", "type"}},
         {"properties",
          {{"from", {{"type", "string"}}},
           {"id", {{"type", "string"}}},
           {"timestamp", {{"type", "string"}}},
           {"type", {{"type", "string"}}},
           {"text", {{"type", "object"}, {"properties", {{"body", {{"type", "string"}}}}}}}}}};
  json status = {{"type", "object"},
                 {"required", {"id", "status"}},
                 {"properties",
                  {{"id", {{"type", "string"}}},
                   {"status", {{"type", "string"}}},
                   {"recipient_id", {{"type", "string"}}},
                   {"pricing", {{"type", "object"}}},
                   {"errors", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};
  json value = {{"type", "object"},
                {"properties",
                 {{"messaging_product", {{"const", "whatsapp"}}},
                  {"metadata",
                   {{"type", "object"},
                    {"properties",
                     {{"display_phone_number", {{"type", "string"}}},
                      {"phone_number_id", {{"type", "string"}}}}}}},
                  {"contacts", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                  {"messages", {{"type", "array"}, {"items", message}}},
                  {"statuses", {{"type", "array"}, {"items", status}}}}}};
  json body = {
      {"type", "object"},
      {"required", {"object", "entry"}},
      {"properties",
       {{"object", {{"const", "whatsapp_business_account"}}},
        {"entry",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"properties",
             {{"id", {{"type", "string"}}},
              {"changes",
               {{"type", "array"},
                {"items",
                 {{"type", "object"},
                  {"properties", {{"field", {{"type", "string"}}}, {"value", value}}}}}}}}}}}}}}}};
  auto op = webhook("receiveWhatsappWebhook", "WhatsApp Cloud API messages and statuses",
                    "Meta pushes messages and delivery statuses here (configure this URL as the "
                    "app's webhook callback).",
                    "webhooks", security_of("whatsapp_signature"));
  op["requestBody"] = {{"required", true}, {"content", json_content(body)}};
  op["responses"]
      = {{"200", ok_response("Every event stored (or a duplicate), or nothing to store.",
                             status_schema({"ok", "ignored", "duplicate", "accepted"}))},
         {"400", error_response("Malformed payload; the reason says what is wrong.")},
         {"401", signature_failed("X-Hub-Signature-256")},
         {"413", too_large()},
         {"503", unavailable()}};
  return op.dump();
}

std::string twilio_inbound() {
  json body = {{"type", "object"},
               {"required", {"MessageSid", "From", "To"}},
               {"properties",
                string_props({"MessageSid", "SmsSid", "AccountSid", "MessagingServiceSid", "From",
                              "To", "Body", "NumMedia", "NumSegments", "ApiVersion"})}};
  auto op = webhook("receiveTwilioSms", "Twilio inbound SMS",
                    "Twilio's incoming-message webhook (the number's \"A message comes in\" URL).",
                    "webhooks", security_of("twilio_signature"));
  op["requestBody"] = {{"required", true}, {"content", form_content(body)}};
  op["responses"]
      = {{"200",
          {{"description", "Stored (or a duplicate): an empty TwiML response; the answer "
                           "goes out through the REST API."},
           {"content", {{"text/xml", {{"schema", {{"type", "string"}}}}}}}}},
         {"400", error_response("Malformed parameters; the reason names the field.")},
         {"401", signature_failed("X-Twilio-Signature")},
         {"403", error_response("AccountSid is not this account's.")},
         {"413", too_large()},
         {"503", unavailable()}};
  return op.dump();
}

std::string twilio_status() {
  json body = {{"type", "object"},
               {"required", {"MessageSid", "MessageStatus"}},
               {"properties",
                string_props({"MessageSid", "SmsSid", "MessageStatus", "SmsStatus", "AccountSid",
                              "From", "To", "ErrorCode", "ErrorMessage", "ApiVersion"})}};
  auto op = webhook("receiveTwilioStatus", "Twilio message status callback",
                    "The StatusCallback URL given with each message we send.", "webhooks",
                    security_of("twilio_signature"));
  op["requestBody"] = {{"required", true}, {"content", form_content(body)}};
  op["responses"] = {{"200", stored_response()},
                     {"400", error_response("Malformed parameters; the reason names the field.")},
                     {"401", signature_failed("X-Twilio-Signature")},
                     {"413", too_large()},
                     {"503", unavailable()}};
  return op.dump();
}

std::string mtn_inbound() {
  json body = {{"type", "object"},
               {"required", {"id", "from", "message"}},
               {"properties", string_props({"id", "from", "to", "message", "timestamp"})}};
  auto op = webhook("receiveMtnSms", "MTN inbound SMS", "MTN's inbound SMS notification.",
                    "webhooks", security_of("mtn_signature"));
  op["requestBody"] = {{"required", true}, {"content", json_content(body)}};
  op["responses"] = {{"200", stored_response()},
                     {"400", error_response("Malformed payload; the reason names the field.")},
                     {"401", signature_failed("X-MTN-Signature")},
                     {"413", too_large()},
                     {"503", unavailable()}};
  return op.dump();
}

std::string call_ended() {
  json body
      = {{"type", "object"},
         {"required", {"call_id", "phone_number", "summary"}},
         {"properties",
          {{"call_id", {{"type", "string"}, {"maxLength", 200}}},
           {"phone_number", {{"type", "string"}, {"description", "E.164 or national."}}},
           {"summary", {{"type", "string"}}},
           {"outcome", {{"type", {"string", "null"}}}},
           {"language", {{"type", {"string", "null"}}}},
           {"transcript", {{"type", {"string", "null"}}}},
           {"customer_name", {{"type", {"string", "null"}}}},
           {"has_whatsapp", {{"type", {"boolean", "null"}}}},
           {"allows_sms", {{"type", {"boolean", "null"}}}},
           {"action_items", {{"type", {"array", "null"}}, {"items", {{"type", "string"}}}}}}}};
  json accepted
      = {{"type", "object"},
         {"properties",
          {{"session_id", {{"type", "integer"}}}, {"correlation_id", {{"type", "string"}}}}}};
  auto op = webhook("callEnded", "A voice call ended: send its summary",
                    "The voice agent posts each finished call; retries of a call_id get the same "
                    "answer.",
                    "voice", security_of("voice_token"));
  op["requestBody"] = {{"required", true}, {"content", json_content(body)}};
  op["responses"]
      = {{"202", ok_response("Stored; the summary goes out on WhatsApp or SMS.", accepted)},
         {"400", error_response("Malformed body; the reason names the field.")},
         {"401", unauthorized_response("Missing or invalid bearer token.")},
         {"413", too_large()},
         {"429", rate_limited_response()},
         {"503", unavailable()}};
  return op.dump();
}

std::string chatwoot_webhook() {
  json body = {{"type", "object"},
               {"required", {"event"}},
               {"properties",
                {{"event", {{"type", "string"}, {"examples", {"message_created"}}}},
                 {"id", {{"type", "integer"}}},
                 {"content", {{"type", {"string", "null"}}}},
                 {"message_type", {{"type", {"string", "integer"}}}},
                 {"private", {{"type", "boolean"}}},
                 {"account", {{"type", "object"}}},
                 {"conversation", {{"type", "object"}}},
                 {"sender", {{"type", "object"}}}}}};
  auto op = webhook("receiveChatwootWebhook", "Chatwoot agent bot events",
                    "Chatwoot's agent-bot webhook (only when chatwoot.enabled). "
                    "X-Chatwoot-Timestamp and X-Chatwoot-Delivery come with the signature.",
                    "webhooks", security_of("chatwoot_signature"));
  op["requestBody"] = {{"required", true}, {"content", json_content(body)}};
  op["responses"] = {{"200", stored_response()},
                     {"400", error_response("Malformed payload; the reason says what is wrong.")},
                     {"401", signature_failed("X-Chatwoot-Signature (or a stale timestamp)")},
                     {"413", too_large()},
                     {"503", unavailable()}};
  return op.dump();
}

std::string telegram_webhook() {
  json body = {{"type", "object"},
               {"required", {"update_id"}},
               {"properties",
                {{"update_id", {{"type", "integer"}}},
                 {"message", {{"type", "object"}}},
                 {"edited_message", {{"type", "object"}}},
                 {"channel_post", {{"type", "object"}}}}}};
  auto op = webhook("receiveTelegramUpdate", "Telegram bot updates",
                    "The URL `switchboard telegram set-webhook` registers (only when "
                    "telegram.enabled).",
                    "webhooks", security_of("telegram_secret"));
  op["requestBody"] = {{"required", true}, {"content", json_content(body)}};
  op["responses"] = {{"200", stored_response()},
                     {"400", error_response("Malformed update; the reason says what is wrong.")},
                     {"401", signature_failed("X-Telegram-Bot-Api-Secret-Token")},
                     {"413", too_large()},
                     {"503", unavailable()}};
  return op.dump();
}

namespace {

json mcp_common(json op) {
  op["tags"] = {"mcp"};
  op["security"] = security_of("api_token");
  op["responses"]["400"] = error_response("Malformed request (or Mcp-Session-Id missing).");
  op["responses"]["401"] = unauthorized_response("Missing or invalid bearer token (api.token).");
  op["responses"]["403"] = error_response("The Origin header is not server.public_url.");
  op["responses"]["404"]
      = ok_response("Unknown or expired Mcp-Session-Id: start a new session with initialize.",
                    {{"type", "object"}});
  return op;
}

json session_param(bool required) {
  return {{"name", "Mcp-Session-Id"},
          {"in", "header"},
          {"required", required},
          {"description", "The session the initialize answer named."},
          {"schema", {{"type", "string"}}}};
}

} // namespace

std::string mcp_post() {
  json rpc = {{"type", "object"},
              {"required", {"jsonrpc"}},
              {"properties",
               {{"jsonrpc", {{"const", "2.0"}}},
                {"id", {{"type", {"string", "integer"}}}},
                {"method", {{"type", "string"}}},
                {"params", {{"type", "object"}}},
                {"result", {{"type", "object"}}},
                {"error", {{"type", "object"}}}}}};
  json op = {
      {"operationId", "mcpPost"},
      {"summary", "MCP Streamable HTTP (revision 2025-06-18): one JSON-RPC message"},
      {"description", "initialize opens a session (Mcp-Session-Id in the answer); later "
                      "messages carry it. GET (a server-sent event stream) is not offered: "
                      "405."},
      {"parameters",
       {session_param(false),
        {{"name", "MCP-Protocol-Version"},
         {"in", "header"},
         {"required", false},
         {"schema", {{"type", "string"}, {"examples", {"2025-06-18"}}}}}}},
      {"requestBody", {{"required", true}, {"content", json_content(rpc)}}},
      {"responses",
       {{"200",
         {{"description", "The JSON-RPC answer."},
          {"headers",
           {{"Mcp-Session-Id",
             {{"description", "On the answer to initialize."}, {"schema", {{"type", "string"}}}}}}},
          {"content", json_content(rpc)}}},
        {"202", {{"description", "A notification or response was accepted."}}},
        {"406", error_response("Accept does not admit application/json.")},
        {"413", too_large()},
        {"415", error_response("Content-Type is not application/json.")}}}};
  return mcp_common(std::move(op)).dump();
}

std::string mcp_delete() {
  json op = {{"operationId", "mcpDelete"},
             {"summary", "End an MCP session"},
             {"parameters", {session_param(true)}},
             {"responses", {{"204", {{"description", "The session is closed."}}}}}};
  return mcp_common(std::move(op)).dump();
}

namespace {

json admin_op(const char* id, const char* summary, json ok) {
  return {{"operationId", id},
          {"summary", summary},
          {"tags", {"admin"}},
          {"security", security_of("admin_token")},
          {"responses",
           {{"200", std::move(ok)},
            {"401", unauthorized_response("Missing or invalid admin token.")}}}};
}

json level_schema() {
  return {{"type", "object"},
          {"required", {"level"}},
          {"properties",
           {{"level", {{"type", "string"}, {"enum", {"debug", "info", "warn", "error"}}}}}}};
}

json drain_schema() {
  return {{"type", "object"},
          {"required", {"draining"}},
          {"properties", {{"draining", {{"type", "boolean"}}}}}};
}

} // namespace

std::string admin_log_level_get() {
  return admin_op("getLogLevel", "The log level", ok_response("The level.", level_schema())).dump();
}

std::string admin_log_level_put() {
  auto op = admin_op("setLogLevel", "Change the log level (until restart)",
                     ok_response("The new level.", level_schema()));
  op["requestBody"] = {{"required", true}, {"content", json_content(level_schema())}};
  op["responses"]["400"] = error_response("The body is not {\"level\": string}.");
  op["responses"]["413"] = error_response("The body is larger than 4 KiB.");
  op["responses"]["422"] = error_response("Not one of debug, info, warn, error.");
  return op.dump();
}

std::string admin_status() {
  json status = {
      {"type", "object"},
      {"required", {"draining", "log_level"}},
      {"properties", {{"draining", {{"type", "boolean"}}}, {"log_level", {{"type", "string"}}}}}};
  return admin_op("getStatus", "Whether the server drains, and its log level",
                  ok_response("The status.", status))
      .dump();
}

std::string admin_drain(bool start) {
  auto op = start ? admin_op("startDrain", "Drain: /readyz fails on both listeners",
                             ok_response("Draining; requests are still served.", drain_schema()))
                  : admin_op("stopDrain", "Cancel a drain: /readyz follows the database again",
                             ok_response("Not draining.", drain_schema()));
  return op.dump();
}

std::string bench_static() {
  return json{{"operationId", "benchStatic"},
              {"summary", "A constant answer (benchmarks only, bench.enabled)"},
              {"tags", {"bench"}},
              {"security", json::array()},
              {"responses",
               {{"200", {{"description", "A constant body."}}},
                {"404", error_response("Not answered with another method or path.")}}}}
      .dump();
}

std::string bench_signed_noop() {
  return json{{"operationId", "benchSignedNoop"},
              {"summary", "Verify a signature and store nothing (benchmarks only)"},
              {"tags", {"bench"}},
              {"security", security_of("whatsapp_signature")},
              {"responses",
               {{"200", {{"description", "Verified."}}},
                {"400", error_response("The body is not JSON.")},
                {"401", signature_failed("X-Hub-Signature-256")},
                {"413", too_large()}}}}
      .dump();
}

} // namespace openapi_ops

} // namespace switchboard::http
