#include "http/app.hpp"

#include <nlohmann/json.hpp>

#include "actors/metrics.hpp"
#include "actors/runtime.hpp"
#include "core/log.hpp"
#include "http/bench_routes.hpp"
#include "http/bot_routes.hpp"
#include "http/mcp.hpp"
#include "http/provider_api.hpp"
#include "http/webhooks.hpp"

namespace switchboard::http {

app::app(const config::settings& s, actors::runtime& rt) : settings_(s), rt_(rt) {
  add_routes();
  server_options opts;
  opts.address = s.server.listen_address;
  opts.port = s.server.port;
  opts.threads = s.server.threads;
  // Connections stay below the open-file limit, with room for the database and outbound pools.
  auto files = raise_fd_limit();
  auto reserved
      = s.database.pool_size + s.storage.ingest_workers + s.http_client.max_connections + 64;
  opts.max_connections = std::min(s.server.max_connections,
                                  files > reserved + 16 ? files - reserved : std::size_t{16});
  opts.max_header_bytes = s.server.max_header_bytes;
  opts.default_body_limit = s.server.body_limit;
  opts.header_timeout = s.server.header_timeout;
  opts.body_timeout = s.server.body_timeout;
  opts.idle_timeout = s.server.idle_timeout;
  opts.handler_timeout = s.server.handler_timeout;
  opts.body_limit = [this](std::string_view method, std::string_view path) {
    return routes_.body_limit(method, path, settings_.server.body_limit);
  };
  opts.on_access = [this](const access_entry& e) {
    auto secs = static_cast<double>(e.duration.count()) / 1e6;
    rt_.stats().http_request(e.route, e.method, e.status, secs);
    if (e.status == 401)
      rt_.stats().auth_failure(e.route.empty() ? std::string_view{"unmatched"} : e.route);
    auto level = e.status >= 500 ? core::log_level::warn : core::log_level::info;
    if (!core::log_enabled(level))
      return;
    // Paths carry no PII (phone numbers and bodies travel in bodies, never in our paths).
    char dur[32];
    std::snprintf(dur, sizeof(dur), "%.3f", static_cast<double>(e.duration.count()) / 1000.0);
    core::log(level, "http",
              {{"method", e.method},
               {"path", e.path},
               {"route", e.route},
               {"status", std::to_string(e.status)},
               {"duration_ms", dur},
               {"bytes_in", std::to_string(e.bytes_in)},
               {"bytes_out", std::to_string(e.bytes_out)},
               {"request_id", e.request_id},
               {"remote", e.remote}});
  };
  server_ = std::make_unique<server>(std::move(opts), routes_.make_handler());
}

app::~app() = default;

void app::start() {
  server_->start();
}

uint16_t app::port() const {
  return server_->port();
}

void app::stop(std::chrono::milliseconds drain) {
  server_->stop(drain);
}

void app::add_routes() {
  routes_.add(
      {"GET", "/healthz", "healthz", 0, [](request&&, const path_params&, responder respond) {
         respond(response::make(200, R"({"status":"ok"})"));
       }});
  routes_.add(
      {"GET", "/readyz", "readyz", 0, [this](request&&, const path_params&, responder respond) {
         rt_.check_readiness([respond](actors::readiness r) {
           nlohmann::json body{{"database", r.database},
                               {"migrations", r.migrations},
                               {"storage_workers_up", r.workers_up}};
           bool ok = r.database && r.migrations;
           body["status"] = ok ? "ready" : "not_ready";
           respond(response::make(ok ? 200 : 503, body.dump()));
         });
       }});
  routes_.add(
      {"GET", "/metrics", "metrics", 0, [this](request&&, const path_params&, responder respond) {
         respond(
             response::make(200, rt_.stats().render(), "text/plain; version=0.0.4; charset=utf-8"));
       }});
  add_omnichannel_routes(routes_, rt_, settings_);
  add_bot_routes(routes_, rt_, settings_);
  add_mcp_routes(routes_, rt_, settings_);
  add_provider_routes(routes_, rt_, settings_);
  add_bench_routes(routes_, settings_);
}

} // namespace switchboard::http
