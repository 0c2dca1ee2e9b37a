#include "http/mcp.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "actors/runtime.hpp"
#include "core/crypto.hpp"
#include "core/json_fields.hpp"
#include "core/omni/tools.hpp"
#include "core/signatures.hpp"
#include "http/edge.hpp"
#include "http/openapi_ops.hpp"

namespace switchboard::http {

using nlohmann::json;

namespace {

// JSON-RPC 2.0 error codes, and the one MCP's SDKs use for an unknown session.
constexpr int parse_error = -32700;
constexpr int invalid_request = -32600;
constexpr int method_not_found = -32601;
constexpr int invalid_params = -32602;
constexpr int session_not_found = -32001;

constexpr const char* session_header = "Mcp-Session-Id";

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json rpc_error(const json& id, int code, std::string message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json rpc_result(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

response json_response(int status, const json& body) {
  return response::make(status, dump(body));
}

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// "scheme://host[:port]" of a URL or an Origin, lower case, without path; empty when it is
/// neither http nor https.
std::string origin_of(std::string_view url) {
  auto u = lower(url);
  for (std::string_view scheme : {"http://", "https://"})
    if (u.compare(0, scheme.size(), scheme) == 0) {
      auto end = u.find_first_of("/?#", scheme.size());
      return u.substr(0, end);
    }
  return {};
}

/// The host of an origin ("[::1]" keeps its brackets).
std::string host_of(const std::string& origin) {
  auto start = origin.find("://") + 3;
  if (start < origin.size() && origin[start] == '[') {
    auto close = origin.find(']', start);
    return close == std::string::npos ? std::string{} : origin.substr(start, close - start + 1);
  }
  auto colon = origin.find(':', start);
  return origin.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
}

/// Whether an Accept header admits application/json (absent: yes).
bool accepts_json(std::string_view accept) {
  if (accept.empty())
    return true;
  auto a = lower(accept);
  return a.find("application/json") != std::string::npos
         || a.find("application/*") != std::string::npos || a.find("*/*") != std::string::npos;
}

json make_mcp_tools() {
  json tools = json::array();
  auto add = [&tools](const json& defs, bool all_read_only) {
    for (const auto& d : defs) {
      const auto& fn = d["function"];
      auto name = fn["name"].get<std::string>();
      bool read_only = all_read_only || name == "session_get_context";
      bool sends = name.rfind("messaging_", 0) == 0;
      tools.push_back({{"name", name},
                       {"description", fn["description"]},
                       {"inputSchema", fn["parameters"]},
                       {"annotations",
                        {{"readOnlyHint", read_only},
                         {"destructiveHint", false},
                         {"idempotentHint", read_only},
                         {"openWorldHint", sends}}}});
    }
  };
  add(core::tool_definitions(), false);
  add(core::read_only_tool_definitions(), true);
  return tools;
}

bool known_tool(const std::string& name) {
  for (const auto& t : mcp_tools())
    if (t["name"].get_ref<const std::string&>() == name)
      return true;
  return false;
}

/// The tools/call result for a runner's answer: the tool's result as text and as
/// structuredContent (an object: the result itself, or {"result": value}); a failure is a
/// result with isError (the model sees why), not a JSON-RPC error.
json call_result(int status, const std::string& body) {
  auto parsed = core::parse_untrusted_json(body);
  if (status == 200 && parsed.is_object() && parsed.contains("result")) {
    auto& r = parsed["result"];
    json structured = r.is_object() ? r : json{{"result", r}};
    return {{"content", {{{"type", "text"}, {"text", dump(r)}}}},
            {"structuredContent", std::move(structured)},
            {"isError", false}};
  }
  std::string text = parsed.is_object() && parsed.contains("reason") && parsed["reason"].is_string()
                         ? parsed["reason"].get<std::string>()
                         : "the tool failed (HTTP " + std::to_string(status) + ")";
  json structured = parsed.is_object()
                        ? parsed
                        : json{{"error", "internal"}, {"reason", text}, {"status", status}};
  return {{"content", {{{"type", "text"}, {"text", text}}}},
          {"structuredContent", std::move(structured)},
          {"isError", true}};
}

} // namespace

const nlohmann::json& mcp_tools() {
  static const json tools = make_mcp_tools();
  return tools;
}

struct mcp_endpoint::impl {
  using time_point = std::chrono::steady_clock::time_point;

  struct session {
    time_point last_used;
    bool initialized = false;
  };

  mcp_options opts;
  mcp_tool_runner run;
  clock now;
  mutable std::mutex mtx;
  std::unordered_map<std::string, session> sessions;

  /// 403 for a foreign Origin, 401 without the bearer token; nullopt when the request may go on.
  std::optional<response> refuse(const request& req) const {
    if (req.headers.has("Origin")) {
      auto origin = origin_of(req.headers.get("Origin"));
      auto host = origin.empty() ? std::string{} : host_of(origin);
      bool ok = host == "localhost" || host == "127.0.0.1" || host == "[::1]";
      for (const auto& allowed : opts.allowed_origins)
        ok = ok || (!origin.empty() && origin == origin_of(allowed));
      if (!ok)
        return json_response(
            403, rpc_error(nullptr, invalid_request,
                           "Origin not allowed: " + std::string{req.headers.get("Origin")}));
    }
    auto token = bearer_of(req);
    if (!core::verify_secret_token(opts.token, token)) {
      auto r = response::error(401, "unauthorized", "missing or invalid bearer token");
      r.headers.add("WWW-Authenticate",
                    token.empty() ? "Bearer realm=\"switchboard\""
                                  : "Bearer realm=\"switchboard\", error=\"invalid_token\"");
      return r;
    }
    return std::nullopt;
  }

  std::string open_session() {
    auto id = core::random_hex(16);
    std::lock_guard<std::mutex> guard{mtx};
    auto t = now();
    if (sessions.size() >= opts.max_sessions) {
      for (auto it = sessions.begin(); it != sessions.end();)
        it = t - it->second.last_used > opts.session_idle ? sessions.erase(it) : std::next(it);
    }
    while (!sessions.empty() && sessions.size() >= opts.max_sessions) {
      auto oldest = std::min_element(sessions.begin(), sessions.end(), [](auto& a, auto& b) {
        return a.second.last_used < b.second.last_used;
      });
      sessions.erase(oldest);
    }
    if (opts.max_sessions > 0)
      sessions[id] = session{t, false};
    return id;
  }

  /// Marks the session used; false when it is unknown or expired (then it is dropped).
  bool touch(const std::string& id, bool initialized) {
    std::lock_guard<std::mutex> guard{mtx};
    auto it = sessions.find(id);
    if (it == sessions.end())
      return false;
    auto t = now();
    if (t - it->second.last_used > opts.session_idle) {
      sessions.erase(it);
      return false;
    }
    it->second.last_used = t;
    it->second.initialized = it->second.initialized || initialized;
    return true;
  }

  bool close_session(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx};
    auto it = sessions.find(id);
    if (it == sessions.end())
      return false;
    bool live = now() - it->second.last_used <= opts.session_idle;
    sessions.erase(it);
    return live;
  }

  void initialize(const json& id, const json& params, responder& respond) {
    auto v = params.find("protocolVersion");
    if (v == params.end() || !v->is_string()) {
      respond(json_response(200, rpc_error(id, invalid_params,
                                           "initialize: params.protocolVersion must be a string")));
      return;
    }
    auto sid = open_session();
    json result{{"protocolVersion", mcp_protocol_version},
                {"capabilities", {{"tools", {{"listChanged", false}}}}},
                {"serverInfo",
                 {{"name", "switchboard"}, {"title", "Switchboard"}, {"version", SB_VERSION}}},
                {"instructions",
                 "Switchboard's session and messaging tools (WhatsApp/SMS sends and the customer "
                 "session of a phone number) and the support bot's read-only tools (Help Center "
                 "search, Chatwoot conversation state)."}};
    auto r = json_response(200, rpc_result(id, std::move(result)));
    r.headers.add(session_header, sid);
    respond(std::move(r));
  }

  void call_tool(const json& id, const json& params, const std::string& correlation_id,
                 responder respond) {
    auto n = params.find("name");
    if (n == params.end() || !n->is_string()) {
      respond(json_response(
          200, rpc_error(id, invalid_params, "tools/call: params.name must be a string")));
      return;
    }
    auto name = n->get<std::string>();
    json args = json::object();
    if (auto a = params.find("arguments"); a != params.end() && !a->is_null()) {
      if (!a->is_object()) {
        respond(json_response(
            200, rpc_error(id, invalid_params, "tools/call: params.arguments must be an object")));
        return;
      }
      args = *a;
    }
    if (!known_tool(name)) {
      respond(json_response(200, rpc_error(id, invalid_params, "Unknown tool: " + name)));
      return;
    }
    if (auto valid = core::validate_tool_arguments(name, args); !valid) {
      json body{{"error", "invalid_argument"}, {"reason", core::reason_of(valid.error())}};
      respond(json_response(200, rpc_result(id, call_result(422, dump(body)))));
      return;
    }
    run(name, args, correlation_id, [id, respond](int status, std::string body) {
      respond(json_response(200, rpc_result(id, call_result(status, body))));
    });
  }

  void dispatch(request&& req, responder respond) {
    if (!accepts_json(req.headers.get("Accept"))) {
      respond(response::error(406, "not_acceptable", "Accept must admit application/json"));
      return;
    }
    if (lower(req.headers.get("Content-Type")).find("application/json") == std::string::npos) {
      respond(
          response::error(415, "unsupported_media_type", "Content-Type must be application/json"));
      return;
    }
    std::string why;
    auto msg = core::parse_untrusted_json(req.body, &why);
    if (msg.is_discarded()) {
      respond(json_response(
          400, rpc_error(nullptr, parse_error, "Parse error" + (why.empty() ? "" : ": " + why))));
      return;
    }
    if (msg.is_array()) {
      respond(json_response(400, rpc_error(nullptr, invalid_request,
                                           std::string{"Invalid Request: protocol revision "}
                                               + mcp_protocol_version
                                               + " does not allow JSON-RPC batches")));
      return;
    }
    if (!msg.is_object()) {
      respond(json_response(
          400, rpc_error(nullptr, invalid_request, "Invalid Request: not a JSON-RPC message")));
      return;
    }
    auto idp = msg.find("id");
    bool has_id = idp != msg.end();
    json id = has_id && (idp->is_string() || idp->is_number_integer()) ? *idp : json{};
    auto jsonrpc = msg.find("jsonrpc");
    if (jsonrpc == msg.end() || *jsonrpc != "2.0") {
      respond(json_response(
          400, rpc_error(id, invalid_request, "Invalid Request: jsonrpc must be \"2.0\"")));
      return;
    }
    if (has_id && id.is_null()) {
      respond(json_response(
          400, rpc_error(nullptr, invalid_request,
                         "Invalid Request: id must be a string or an integer (not null)")));
      return;
    }
    auto method = msg.find("method");
    bool is_response = method == msg.end() && (msg.contains("result") || msg.contains("error"));
    if (!is_response && (method == msg.end() || !method->is_string())) {
      respond(json_response(
          400, rpc_error(id, invalid_request, "Invalid Request: method must be a string")));
      return;
    }
    json params = json::object();
    if (!is_response)
      if (auto p = msg.find("params"); p != msg.end() && !p->is_null()) {
        if (!p->is_object()) {
          respond(json_response(has_id ? 200 : 400,
                                rpc_error(id, invalid_params, "params must be an object")));
          return;
        }
        params = *p;
      }
    std::string name = is_response ? std::string{} : method->get<std::string>();

    if (name == "initialize") {
      if (!has_id) {
        respond(json_response(
            400, rpc_error(nullptr, invalid_request, "Invalid Request: initialize needs an id")));
        return;
      }
      initialize(id, params, respond);
      return;
    }
    if (auto v = req.headers.get("MCP-Protocol-Version"); !v.empty() && v != mcp_protocol_version) {
      respond(json_response(400, rpc_error(id, invalid_request,
                                           "Unsupported MCP-Protocol-Version: " + std::string{v}
                                               + " (supported: " + mcp_protocol_version + ")")));
      return;
    }
    auto sid = std::string{req.headers.get(session_header)};
    if (sid.empty()) {
      respond(json_response(400, rpc_error(id, invalid_request,
                                           "Bad Request: Mcp-Session-Id header is required "
                                           "(initialize first)")));
      return;
    }
    if (!touch(sid, name == "notifications/initialized")) {
      respond(json_response(404, rpc_error(id, session_not_found,
                                           "Session not found (unknown, ended or expired): "
                                           "initialize again")));
      return;
    }
    if (is_response || !has_id) {
      // Notifications (initialized, cancelled, ...) and answers to requests we never send.
      respond(response::make(202, "", "application/json"));
      return;
    }
    if (name == "ping") {
      respond(json_response(200, rpc_result(id, json::object())));
    } else if (name == "tools/list") {
      respond(json_response(200, rpc_result(id, {{"tools", mcp_tools()}})));
    } else if (name == "tools/call") {
      call_tool(id, params, req.request_id, std::move(respond));
    } else {
      respond(json_response(200, rpc_error(id, method_not_found, "Method not found: " + name)));
    }
  }
};

mcp_endpoint::mcp_endpoint(mcp_options opts, mcp_tool_runner run, clock now)
    : impl_(std::make_shared<impl>()) {
  impl_->opts = std::move(opts);
  impl_->run = std::move(run);
  impl_->now = now ? std::move(now) : clock{[] { return std::chrono::steady_clock::now(); }};
}

mcp_endpoint::~mcp_endpoint() = default;

void mcp_endpoint::post(request&& req, responder respond) {
  if (auto refused = impl_->refuse(req)) {
    respond(std::move(*refused));
    return;
  }
  impl_->dispatch(std::move(req), std::move(respond));
}

void mcp_endpoint::remove(request&& req, responder respond) {
  if (auto refused = impl_->refuse(req)) {
    respond(std::move(*refused));
    return;
  }
  auto sid = std::string{req.headers.get(session_header)};
  if (sid.empty()) {
    respond(response::error(400, "malformed", "Mcp-Session-Id header is required"));
    return;
  }
  if (!impl_->close_session(sid)) {
    respond(json_response(404, rpc_error(nullptr, session_not_found, "Session not found")));
    return;
  }
  respond(response::make(204, "", "application/json"));
}

std::size_t mcp_endpoint::sessions() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->sessions.size();
}

void add_mcp_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg) {
  mcp_options opts;
  opts.token = cfg.api.token;
  opts.allowed_origins.push_back(cfg.server.public_url);
  auto* r = &rt;
  auto run = [r](const std::string& name, const json& args, const std::string& correlation_id,
                 mcp_tool_done done) {
    auto answer = [done = std::move(done)](actors::edge_reply reply) {
      done(reply.status, std::move(reply.body));
    };
    auto names = core::tool_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      r->run_read_only_tool(name, args, std::move(answer));
      return;
    }
    actors::tool_request tr;
    tr.name = name;
    tr.arguments = dump(args);
    tr.phone = args.at("phone_number").get<std::string>();
    tr.correlation_id = correlation_id;
    r->submit(std::move(tr), std::move(answer));
  };
  auto endpoint = std::make_shared<mcp_endpoint>(std::move(opts), std::move(run));
  routes.add({"POST", "/mcp", "mcp", 64 * 1024,
              [endpoint](request&& req, const path_params&, responder res) {
                endpoint->post(std::move(req), std::move(res));
              },
              openapi_ops::mcp_post()});
  routes.add({"DELETE", "/mcp", "mcp", 0,
              [endpoint](request&& req, const path_params&, responder res) {
                endpoint->remove(std::move(req), std::move(res));
              },
              openapi_ops::mcp_delete()});
}

} // namespace switchboard::http
