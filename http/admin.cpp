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
#include "http/openapi_ops.hpp"

namespace switchboard::http {

namespace {

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

route_handler healthz_handler() {
  return [](request&&, const path_params&, responder respond) {
    respond(response::make(200, R"({"status":"ok"})"));
  };
}

route_handler metrics_handler(actors::runtime& rt) {
  return [r = &rt](request&&, const path_params&, responder respond) {
    respond(response::make(200, r->stats().render(), "text/plain; version=0.0.4; charset=utf-8"));
  };
}

void add_readiness_routes(route_table& routes, actors::runtime& rt, const lifecycle& life) {
  auto* r = &rt;
  auto* l = &life;
  routes.add({"GET", "/readyz", "readyz", 0,
              [r, l](request&&, const path_params&, responder respond) {
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
                  if (rd.clustered) {
                    // A node whose leases lapsed processes nothing: not ready until renewed.
                    body["cluster"] = {{"leases_healthy", rd.leases_healthy},
                                       {"shards_owned", rd.shards_owned}};
                    ok = ok && rd.leases_healthy;
                  }
                  body["status"] = ok ? "ready" : "not_ready";
                  respond(response::make(ok ? 200 : 503, body.dump()));
                });
              },
              openapi_ops::readyz(false)});
}

void add_admin_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg,
                      lifecycle& life) {
  auto* l = &life;
  routes.add(
      {"GET", "/healthz", "admin_healthz", 0, healthz_handler(), openapi_ops::healthz(false)});
  add_readiness_routes(routes, rt, life);
  routes.add({"GET", "/metrics", "admin_metrics", 0, admin_authenticated(cfg, metrics_handler(rt)),
              openapi_ops::metrics(true)});
  routes.add(
      {"GET", "/admin/v1/log-level", "admin_log_level", 0,
       admin_authenticated(
           cfg,
           [](request&&, const path_params&, responder respond) {
             respond(response::make(
                 200, nlohmann::json{{"level", core::log_level_name(core::current_log_level())}}
                          .dump()));
           }),
       openapi_ops::admin_log_level_get()});
  routes.add({"PUT", "/admin/v1/log-level", "admin_log_level", 4096,
              admin_authenticated(
                  cfg,
                  [](request&& req, const path_params&, responder respond) {
                    std::string why;
                    auto j = core::parse_untrusted_json(req.body, &why);
                    if (j.is_discarded() || !j.is_object() || !j.contains("level")
                        || !j["level"].is_string()) {
                      respond(
                          response::error(400, "malformed",
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
                    auto before = core::log_level_name(core::current_log_level());
                    core::set_log_level(core::parse_log_level(text));
                    core::log(core::log_level::warn, "log level changed",
                              {{"from", before}, {"to", text}});
                    respond(response::make(200, nlohmann::json{{"level", text}}.dump()));
                  }),
              openapi_ops::admin_log_level_put()});
  routes.add(
      {"GET", "/admin/v1/status", "admin_status", 0,
       admin_authenticated(
           cfg,
           [l](request&&, const path_params&, responder respond) {
             respond(response::make(
                 200, nlohmann::json{{"draining", l->draining.load()},
                                     {"log_level", core::log_level_name(core::current_log_level())}}
                          .dump()));
           }),
       openapi_ops::admin_status()});
  // Drain: /readyz fails on both listeners so the load balancer moves traffic away; whatever
  // still arrives is stored and processed as usual (refusing it would only make providers
  // retry). With the cluster's shard leases, this is also where shards are handed over.
  routes.add({"POST", "/admin/v1/drain", "admin_drain", 0,
              admin_authenticated(cfg,
                                  [l](request&&, const path_params&, responder respond) {
                                    bool was = l->draining.exchange(true);
                                    if (!was)
                                      core::log(core::log_level::warn,
                                                "draining: /readyz now fails");
                                    respond(response::make(200, R"({"draining":true})"));
                                  }),
              openapi_ops::admin_drain(true)});
  routes.add({"DELETE", "/admin/v1/drain", "admin_drain", 0,
              admin_authenticated(cfg,
                                  [l](request&&, const path_params&, responder respond) {
                                    if (l->draining.exchange(false))
                                      core::log(core::log_level::warn,
                                                "drain cancelled: /readyz follows the database");
                                    respond(response::make(200, R"({"draining":false})"));
                                  }),
              openapi_ops::admin_drain(false)});
  add_console_api_routes(routes, rt, cfg, life);
  add_console_static_routes(routes);
}

} // namespace switchboard::http
