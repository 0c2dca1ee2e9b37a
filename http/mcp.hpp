#pragma once

// The Model Context Protocol server at /mcp: Streamable HTTP transport, revision 2025-06-18
// (JSON-RPC 2.0 over POST answered with application/json; no SSE stream, so GET is 405).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/settings.hpp"
#include "http/routes.hpp"

namespace switchboard::actors {
class runtime;
}

namespace switchboard::http {

/// The protocol revision served (the answer to every initialize; no batches in it).
inline constexpr const char* mcp_protocol_version = "2025-06-18";

/// The tools served over MCP, in MCP's tools/list format ({name, title, description,
/// inputSchema, annotations}): the seven of core::tool_definitions, then
/// core::read_only_tool_definitions.
const nlohmann::json& mcp_tools();

/// Limits and policy of the MCP endpoint.
struct mcp_options {
  std::string token; ///< the bearer token (api.token, as /api/v1/tools)
  /// Sessions kept at most: at the cap, initialize drops expired ones, then the least recently
  /// used one (its client gets 404 and initializes again, as the spec says).
  std::size_t max_sessions = 1024;
  /// A session unused this long is gone (404).
  std::chrono::milliseconds session_idle{std::chrono::minutes{30}};
  /// Origins allowed besides loopback ones (http(s)://localhost, 127.0.0.1, [::1], any port);
  /// a request carrying another Origin is refused with 403 (DNS rebinding).
  std::vector<std::string> allowed_origins;
};

/// The answer of a tool run: an HTTP-like status and the JSON body of /api/v1/tools
/// ({"result": ...} on 200, {"error", "reason"} otherwise).
using mcp_tool_done = std::function<void(int status, std::string body)>;

/// Runs a tool whose arguments passed core::validate_tool_arguments; answers `done` once, from
/// any thread, without blocking the caller.
using mcp_tool_runner = std::function<void(const std::string& name, const nlohmann::json& args,
                                           const std::string& correlation_id, mcp_tool_done done)>;

/// The MCP endpoint: Origin check, bearer authentication, sessions (Mcp-Session-Id), JSON-RPC
/// dispatch (initialize, ping, tools/list, tools/call; notifications and client responses get
/// 202). Thread-safe; tool calls go to the runner and answer later.
class mcp_endpoint {
public:
  using clock = std::function<std::chrono::steady_clock::time_point()>;

  mcp_endpoint(mcp_options opts, mcp_tool_runner run, clock now = {});
  ~mcp_endpoint();
  mcp_endpoint(const mcp_endpoint&) = delete;
  mcp_endpoint& operator=(const mcp_endpoint&) = delete;

  /// POST /mcp: one JSON-RPC message.
  void post(request&& req, responder respond);
  /// DELETE /mcp: ends the session named by Mcp-Session-Id (204; 404 when unknown).
  void remove(request&& req, responder respond);
  /// Sessions held now.
  std::size_t sessions() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

/// Adds POST and DELETE /mcp (GET answers 405 through the route table), running tools through
/// the runtime: the session tools as POST /api/v1/tools/{name} does, the read-only ones through
/// runtime::run_read_only_tool.
void add_mcp_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg);

} // namespace switchboard::http
