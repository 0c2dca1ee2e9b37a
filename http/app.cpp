#include "http/app.hpp"

#include <nlohmann/json.hpp>

#include "actors/metrics.hpp"
#include "actors/runtime.hpp"
#include "core/log.hpp"
#include "http/bench_routes.hpp"
#include "http/bot_routes.hpp"
#include "http/edge.hpp"
#include "http/mcp.hpp"
#include "http/provider_api.hpp"
#include "http/webhooks.hpp"

namespace switchboard::http {

namespace {

/// The JSON access log line and the HTTP metrics of one request (either listener).
void record_access(actors::runtime& rt, const access_entry& e) {
  auto secs = static_cast<double>(e.duration.count()) / 1e6;
  rt.stats().http_request(e.route, e.method, e.status, secs);
  if (e.status == 401)
    rt.stats().auth_failure(e.route.empty() ? std::string_view{"unmatched"} : e.route);
  auto level = e.status >= 500 ? core::log_level::warn : core::log_level::info;
  if (!core::log_enabled(level))
    return;
  // Paths carry no PII (phone numbers and bodies travel in bodies, never in our paths).
  core::log(level, "http",
            {{"method", e.method},
             {"path", e.path},
             {"route", e.route},
             {"status", e.status},
             {"duration_ms", static_cast<double>(e.duration.count()) / 1000.0},
             {"bytes_in", e.bytes_in},
             {"bytes_out", e.bytes_out},
             {"request_id", e.request_id},
             {"remote", e.remote}});
}

} // namespace

app::app(const config::settings& s, actors::runtime& rt)
    : settings_(s), rt_(rt), api_limit_(std::make_unique<api_rate_limit>(s.api, rt.stats())) {
  add_routes();
  server_options opts;
  opts.address = s.server.listen_address;
  opts.port = s.server.port;
  opts.threads = s.server.threads;
  // Connections stay below the open-file limit, with room for the database and outbound pools
  // and the admin listener's few.
  auto files = raise_fd_limit();
  auto reserved
      = s.database.pool_size + s.storage.ingest_workers + s.http_client.max_connections + 64 + 64;
  opts.max_connections = std::min(s.server.max_connections,
                                  files > reserved + 16 ? files - reserved : std::size_t{16});
  opts.max_header_bytes = s.server.max_header_bytes;
  opts.default_body_limit = s.server.body_limit;
  opts.header_timeout = s.server.header_timeout;
  opts.body_timeout = s.server.body_timeout;
  opts.idle_timeout = s.server.idle_timeout;
  opts.handler_timeout = s.server.handler_timeout;
  auto admin_opts = opts; // the same deadlines and limits, its own address, port and cap
  opts.body_limit = [this](std::string_view method, std::string_view path) {
    return routes_.body_limit(method, path, settings_.server.body_limit);
  };
  opts.on_access = [this](const access_entry& e) { record_access(rt_, e); };
  server_ = std::make_unique<server>(std::move(opts), routes_.make_handler());
  if (s.admin.enabled) {
    if (s.admin.token.empty())
      core::log(core::log_level::warn,
                "admin.token is not set: the admin listener answers 401 on every route but "
                "/healthz and /readyz (set SWITCHBOARD_ADMIN_TOKEN)");
    add_admin_routes(admin_routes_, rt_, settings_, life_);
    admin_opts.address = s.admin.listen_address;
    admin_opts.port = s.admin.port;
    admin_opts.threads = 1;
    admin_opts.max_connections = 64;
    admin_opts.body_limit = [this](std::string_view method, std::string_view path) {
      return admin_routes_.body_limit(method, path, 4096);
    };
    admin_opts.on_access = [this](const access_entry& e) { record_access(rt_, e); };
    admin_ = std::make_unique<server>(std::move(admin_opts), admin_routes_.make_handler());
  }
}

app::~app() = default;

void app::start() {
  if (admin_)
    admin_->start();
  server_->start();
}

uint16_t app::port() const {
  return server_->port();
}

uint16_t app::admin_port() const {
  return admin_ ? admin_->port() : 0;
}

void app::begin_drain() {
  life_.draining = true;
}

void app::stop(std::chrono::milliseconds drain) {
  server_->stop(drain);
  if (admin_)
    admin_->stop(std::chrono::milliseconds{500});
}

void app::add_routes() {
  routes_.add({"GET", "/healthz", "healthz", 0, healthz_handler()});
  add_readiness_routes(routes_, rt_, life_);
  if (settings_.admin.metrics_on_public_port)
    routes_.add({"GET", "/metrics", "metrics", 0, metrics_handler(rt_)});
  add_omnichannel_routes(routes_, rt_, settings_, *api_limit_);
  add_bot_routes(routes_, rt_, settings_);
  add_mcp_routes(routes_, rt_, settings_);
  add_provider_routes(routes_, rt_, settings_, *api_limit_);
  add_bench_routes(routes_, settings_);
}

} // namespace switchboard::http
