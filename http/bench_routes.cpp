#include "http/bench_routes.hpp"

#include <nlohmann/json.hpp>

#include "http/openapi_ops.hpp"
#include "providers/whatsapp/signature.hpp"

namespace switchboard::http {

void add_bench_routes(route_table& routes, const config::settings& cfg) {
  if (!cfg.server.bench_routes)
    return;
  routes.add({"GET", "/bench/static", "bench_static", 0,
              [](request&&, const path_params&, responder respond) {
                respond(response::make(200, R"({"status":"ok"})"));
              },
              openapi_ops::bench_static()});
  auto* c = &cfg;
  routes.add({"POST", "/bench/signed-noop", "bench_signed_noop", cfg.server.webhook_body_limit,
              [c](request&& req, const path_params&, responder respond) {
                if (!providers::verify_hub_signature(c->whatsapp.app_secret, req.body,
                                                     req.headers.get("X-Hub-Signature-256"))) {
                  respond(response::error(401, "unauthorized", "invalid X-Hub-Signature-256"));
                  return;
                }
                auto j = nlohmann::json::parse(req.body, nullptr, false);
                if (j.is_discarded()) {
                  respond(response::error(400, "malformed", "the body must be JSON"));
                  return;
                }
                respond(response::make(200, R"({"status":"ok"})"));
              },
              openapi_ops::bench_signed_noop()});
}

} // namespace switchboard::http
