#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace switchboard::http {

// OpenAPI 3.1 building blocks and the operation objects (route::openapi) of every route outside
// the provider API: webhooks, operations endpoints, /mcp, the admin listener and the benchmark
// routes. Each operation has an operationId, tags, security, a 4xx response and the responses
// its handler (and http::server: 413, 503 with Retry-After) gives.

nlohmann::json error_schema();
nlohmann::json json_content(nlohmann::json schema);
nlohmann::json error_response(const char* description);
/// 401 with the WWW-Authenticate header the route sends.
nlohmann::json unauthorized_response(const char* description);
/// 429 from the per-key limit, with Retry-After.
nlohmann::json rate_limited_response();
/// Every security scheme either listener uses (openapi_document keeps the ones it references).
nlohmann::json security_schemes();

/// Operation objects (JSON text, for route::openapi).
namespace openapi_ops {
std::string healthz(bool admin);
std::string readyz(bool admin);
std::string metrics(bool admin);
std::string openapi_json(bool admin);
std::string whatsapp_verify();
std::string whatsapp_webhook();
std::string twilio_inbound();
std::string twilio_status();
std::string mtn_inbound();
std::string call_ended();
std::string chatwoot_webhook();
std::string telegram_webhook();
std::string mcp_post();
std::string mcp_delete();
std::string admin_log_level_get();
std::string admin_log_level_put();
std::string admin_status();
std::string admin_drain(bool start);
/// GET /console (redirect) or GET /console/{file} (the embedded console's files), admin listener.
std::string console_static(bool file);
std::string bench_static();
std::string bench_signed_noop();
} // namespace openapi_ops

} // namespace switchboard::http
