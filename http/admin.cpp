#include "http/admin.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

#include "actors/metrics.hpp"
#include "actors/runtime.hpp"
#include "core/json_fields.hpp"
#include "core/log.hpp"
#include "core/signatures.hpp"
#include "http/console_api.hpp"
#include "http/console_static.hpp"
#include "http/edge.hpp"

namespace switchboard::http {

namespace {

const char* level_name(core::log_level l) {
  switch (l) {
  case core::log_level::debug:
    return "debug";
  case core::log_level::info:
    return "info";
  case core::log_level::warn:
    return "warn";
  case core::log_level::error:
    return "error";
  }
  return "info";
}

core::log_level current_level() {
  for (auto l : {core::log_level::debug, core::log_level::info, core::log_level::warn})
    if (core::log_enabled(l))
      return l;
  return core::log_level::error;
}

response unauthorized(const config::settings& cfg) {
  auto r = response::error(401, "unauthorized",
                           cfg.admin.token.empty()
                               ? "admin.token is not set (SWITCHBOARD_ADMIN_TOKEN): the admin "
                                 "routes are closed"
                               : "missing or invalid admin token");
  r.headers.add("WWW-Authenticate", "Bearer realm=\"switchboard-admin\"");
  return r;
}

} // namespace

route_handler admin_authenticated(const config::settings& cfg, route_handler inner) {
  return [&cfg, inner = std::move(inner)](request&& req, const path_params& p, responder res) {
    if (!core::verify_secret_token(cfg.admin.token, bearer_of(req))) {
      res(unauthorized(cfg));
      return;
    }
    inner(std::move(req), p, std::move(res));
  };
}

void add_readiness_routes(route_table& routes, actors::runtime& rt, const lifecycle& life) {
  auto* r = &rt;
  auto* l = &life;
  routes.add(
      {"GET", "/readyz", "readyz", 0, [r, l](request&&, const path_params&, responder respond) {
         if (l->draining.load()) {
           // No database question: a draining process is not ready, whatever it holds.
           respond(response::make(503, R"({"status":"draining"})"));
           return;
         }
         r->check_readiness([respond](actors::readiness rd) {
           nlohmann::json body{{"database", rd.database},
                               {"migrations", rd.migrations},
                               {"storage_workers_up", rd.workers_up}};
           bool ok = rd.database && rd.migrations;
           body["status"] = ok ? "ready" : "not_ready";
           respond(response::make(ok ? 200 : 503, body.dump()));
         });
       }});
}

void add_admin_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg,
                      lifecycle& life) {
  auto* r = &rt;
  auto* l = &life;
  routes.add(
      {"GET", "/healthz", "admin_healthz", 0, [](request&&, const path_params&, responder respond) {
         respond(response::make(200, R"({"status":"ok"})"));
       }});
  add_readiness_routes(routes, rt, life);
  routes.add({"GET", "/metrics", "admin_metrics", 0,
              admin_authenticated(cfg, [r](request&&, const path_params&, responder respond) {
                respond(response::make(200, r->stats().render(),
                                       "text/plain; version=0.0.4; charset=utf-8"));
              })});
  routes.add({"GET", "/admin/v1/log-level", "admin_log_level", 0,
              admin_authenticated(cfg, [](request&&, const path_params&, responder respond) {
                respond(response::make(
                    200, nlohmann::json{{"level", level_name(current_level())}}.dump()));
              })});
  routes.add(
      {"PUT", "/admin/v1/log-level", "admin_log_level", 4096,
       admin_authenticated(cfg, [](request&& req, const path_params&, responder respond) {
         std::string why;
         auto j = core::parse_untrusted_json(req.body, &why);
         if (j.is_discarded() || !j.is_object() || !j.contains("level")
             || !j["level"].is_string()) {
           respond(response::error(400, "malformed",
                                   "the body must be {\"level\": \"debug|info|warn|error\"}"
                                       + (why.empty() ? "" : ": " + why)));
           return;
         }
         auto text = j["level"].get<std::string>();
         if (text != "debug" && text != "info" && text != "warn" && text != "error") {
           respond(response::error(422, "invalid_argument",
                                   "level must be one of debug, info, warn, error"));
           return;
         }
         auto before = level_name(current_level());
         core::set_log_level(core::parse_log_level(text));
         core::log(core::log_level::warn, "log level changed", {{"from", before}, {"to", text}});
         respond(response::make(200, nlohmann::json{{"level", text}}.dump()));
       })});
  routes.add({"GET", "/admin/v1/status", "admin_status", 0,
              admin_authenticated(cfg, [l](request&&, const path_params&, responder respond) {
                respond(
                    response::make(200, nlohmann::json{{"draining", l->draining.load()},
                                                       {"log_level", level_name(current_level())}}
                                            .dump()));
              })});
  // Drain: /readyz fails on both listeners so the load balancer moves traffic away; whatever
  // still arrives is stored and processed as usual (refusing it would only make providers
  // retry). With the cluster's shard leases, this is also where shards are handed over.
  routes.add({"POST", "/admin/v1/drain", "admin_drain", 0,
              admin_authenticated(cfg, [l](request&&, const path_params&, responder respond) {
                bool was = l->draining.exchange(true);
                if (!was)
                  core::log(core::log_level::warn, "draining: /readyz now fails");
                respond(response::make(200, R"({"draining":true})"));
              })});
  routes.add({"DELETE", "/admin/v1/drain", "admin_drain", 0,
              admin_authenticated(cfg, [l](request&&, const path_params&, responder respond) {
                if (l->draining.exchange(false))
                  core::log(core::log_level::warn, "drain cancelled: /readyz follows the database");
                respond(response::make(200, R"({"draining":false})"));
              })});
  add_console_api_routes(routes, rt, cfg, life);
  add_console_static_routes(routes);
}

} // namespace switchboard::http
