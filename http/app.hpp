#pragma once

#include <memory>
#include <string>

#include "config/settings.hpp"
#include "http/admin.hpp"
#include "http/routes.hpp"
#include "http/server.hpp"

namespace switchboard::actors {
class runtime;
}

namespace switchboard::http {

class api_rate_limit;

/// The Switchboard HTTP edge: routes bound to the actor runtime, the public server with the
/// configured limits, the admin listener ([admin]), the JSON access log and the HTTP metrics.
class app {
public:
  app(const config::settings& s, actors::runtime& rt);
  ~app();

  /// Binds and starts serving (both listeners); throws std::runtime_error when a port cannot be
  /// bound.
  void start();
  /// The bound port.
  uint16_t port() const;
  /// The admin listener's bound port (0 when admin.enabled = false).
  uint16_t admin_port() const;
  /// From now on /readyz answers 503 on both listeners; requests are still served.
  void begin_drain();
  /// Stops accepting and drains in-flight requests.
  void stop(std::chrono::milliseconds drain);
  /// The route table (for the OpenAPI document and tests).
  const route_table& routes() const { return routes_; }

  /// The OpenAPI document served on a listener (GET /openapi.json, GET /admin/v1/openapi.json;
  /// empty when the admin listener is off), as `switchboard openapi [--admin]` prints it.
  const std::string& openapi(bool admin) const;

private:
  void add_routes();
  std::shared_ptr<std::string> serve_openapi(route_table& routes, const char* path,
                                             const char* label, bool admin);

  const config::settings& settings_;
  actors::runtime& rt_;
  lifecycle life_;
  std::unique_ptr<api_rate_limit> api_limit_;
  route_table routes_;
  route_table admin_routes_;
  std::shared_ptr<std::string> public_openapi_;
  std::shared_ptr<std::string> admin_openapi_;
  std::unique_ptr<server> server_;
  std::unique_ptr<server> admin_;
};

} // namespace switchboard::http
