#include <catch2/catch.hpp>

#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/omni/tools.hpp"
#include "http/mcp.hpp"

using namespace switchboard;
using nlohmann::json;

namespace {

constexpr const char* token = "mcp-test-token";

/// A tool run the fake runner saw.
struct seen_call {
  std::string name;
  json args;
  std::string correlation_id;
};

/// An endpoint over a fake runner and a hand-moved clock.
struct fixture {
  std::chrono::steady_clock::time_point t{std::chrono::hours{1}};
  std::vector<seen_call> calls;
  /// What the runner answers (status, body).
  int status = 200;
  std::string body = R"({"result":{"status":"active","context":{"order_id":"A17"}}})";
  std::unique_ptr<http::mcp_endpoint> ep;

  explicit fixture(http::mcp_options o = {}) {
    o.token = token;
    if (o.allowed_origins.empty())
      o.allowed_origins = {"https://switchboard.example.com/"};
    ep = std::make_unique<http::mcp_endpoint>(
        o,
        [this](const std::string& name, const json& args, const std::string& corr,
               http::mcp_tool_done done) {
          calls.push_back({name, args, corr});
          done(status, body);
        },
        [this] { return t; });
  }

  static http::request make(std::string method, std::string body, const std::string& sid = {}) {
    http::request r;
    r.method = std::move(method);
    r.path = r.target = "/mcp";
    r.body = std::move(body);
    r.request_id = "req-1";
    r.headers.add("Authorization", std::string{"Bearer "} + token);
    r.headers.add("Content-Type", "application/json");
    r.headers.add("Accept", "application/json, text/event-stream");
    if (!sid.empty())
      r.headers.add("Mcp-Session-Id", sid);
    return r;
  }

  http::response post(http::request r) {
    std::optional<http::response> out;
    ep->post(std::move(r), [&](http::response x) { out = std::move(x); });
    REQUIRE(out);
    return *out;
  }

  http::response post(const json& msg, const std::string& sid) {
    return post(make("POST", msg.dump(), sid));
  }

  http::response remove(const std::string& sid) {
    std::optional<http::response> out;
    ep->remove(make("DELETE", "", sid), [&](http::response x) { out = std::move(x); });
    REQUIRE(out);
    return *out;
  }

  /// The answer to an initialize asking for `version`.
  http::response init(const std::string& version, json id = 1) {
    return post(json{{"jsonrpc", "2.0"},
                     {"id", id},
                     {"method", "initialize"},
                     {"params",
                      {{"protocolVersion", version},
                       {"capabilities", json::object()},
                       {"clientInfo", {{"name", "test"}, {"version", "1"}}}}}},
                "");
  }

  /// Initializes a session and returns its id.
  std::string initialize() {
    auto r = init("2025-06-18");
    REQUIRE(r.status == 200);
    auto sid = std::string{r.headers.get("Mcp-Session-Id")};
    REQUIRE_FALSE(sid.empty());
    return sid;
  }

  json call(const std::string& sid, const std::string& method, json params = json::object(),
            json id = 2) {
    auto r
        = post(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}, sid);
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(r.content_type == "application/json");
    auto j = json::parse(r.body);
    CHECK(j["jsonrpc"] == "2.0");
    CHECK(j["id"] == id);
    return j;
  }
};

json request(const std::string& method, json params = json::object(), json id = 7) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

int error_code(const http::response& r) {
  return json::parse(r.body)["error"]["code"].get<int>();
}

} // namespace

TEST_CASE("MCP initialize negotiates 2025-06-18 and issues a session id", "[mcp]") {
  fixture f;
  auto r = f.init("2025-11-25", "init-1");
  REQUIRE(r.status == 200);
  auto sid = std::string{r.headers.get("Mcp-Session-Id")};
  CHECK(sid.size() == 32);
  for (char c : sid)
    CHECK((c >= 0x21 && c <= 0x7e));
  auto j = json::parse(r.body);
  CHECK(j["id"] == "init-1");
  CHECK(j["result"]["protocolVersion"] == "2025-06-18");
  CHECK(j["result"]["serverInfo"]["name"] == "switchboard");
  CHECK(j["result"]["serverInfo"]["version"] == SB_VERSION);
  CHECK(j["result"]["capabilities"]["tools"].is_object());
  CHECK(f.ep->sessions() == 1);
  // Two sessions never share an id.
  CHECK(f.initialize() != sid);

  SECTION("initialize without a protocolVersion is invalid params") {
    auto bad = f.post(request("initialize", {{"capabilities", json::object()}}), "");
    CHECK(bad.status == 200);
    CHECK(error_code(bad) == -32602);
  }
}

TEST_CASE("MCP notifications and client responses get 202 with no body", "[mcp]") {
  fixture f;
  auto sid = f.initialize();
  auto r = f.post(json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, sid);
  CHECK(r.status == 202);
  CHECK(r.body.empty());
  auto cancelled = f.post(json{{"jsonrpc", "2.0"},
                               {"method", "notifications/cancelled"},
                               {"params", {{"requestId", 3}}}},
                          sid);
  CHECK(cancelled.status == 202);
  auto answer = f.post(json{{"jsonrpc", "2.0"}, {"id", 9}, {"result", json::object()}}, sid);
  CHECK(answer.status == 202);
  CHECK(answer.body.empty());
}

TEST_CASE("MCP ping and tools/list", "[mcp]") {
  fixture f;
  auto sid = f.initialize();
  CHECK(f.call(sid, "ping")["result"] == json::object());
  auto list = f.call(sid, "tools/list", json::object(), "list")["result"];
  CHECK_FALSE(list.contains("nextCursor"));
  const auto& tools = list["tools"];
  std::vector<std::string> names;
  for (const auto& t : tools) {
    names.push_back(t["name"].get<std::string>());
    CHECK(t["description"].is_string());
    CHECK(t["inputSchema"]["type"] == "object");
    CHECK(t["inputSchema"]["properties"].is_object());
    CHECK(t["annotations"]["readOnlyHint"].is_boolean());
  }
  auto expected = core::tool_names();
  expected.push_back("help_center_search");
  expected.push_back("conversation_get_state");
  CHECK(names == expected);
  CHECK(tools[0]["inputSchema"] == core::tool_definitions()[0]["function"]["parameters"]);
  CHECK(tools[7]["annotations"]["readOnlyHint"] == true);
  CHECK(tools[0]["annotations"]["readOnlyHint"] == false);
}

TEST_CASE("MCP tools/call runs the tool and returns text and structuredContent", "[mcp]") {
  fixture f;
  auto sid = f.initialize();
  json args{{"phone_number", "+250788123456"}, {"context", {{"order_id", "A17"}}}};
  auto j = f.call(sid, "tools/call", {{"name", "session_add_context"}, {"arguments", args}});
  REQUIRE(f.calls.size() == 1);
  CHECK(f.calls[0].name == "session_add_context");
  CHECK(f.calls[0].args == args);
  CHECK(f.calls[0].correlation_id == "req-1");
  auto& res = j["result"];
  CHECK(res["isError"] == false);
  CHECK(res["structuredContent"]["context"]["order_id"] == "A17");
  REQUIRE(res["content"].size() == 1);
  CHECK(res["content"][0]["type"] == "text");
  CHECK(json::parse(res["content"][0]["text"].get<std::string>()) == res["structuredContent"]);

  SECTION("a result that is not an object is wrapped") {
    f.body = R"({"result":[1,2]})";
    auto k = f.call(
        sid, "tools/call",
        {{"name", "session_get_context"}, {"arguments", {{"phone_number", "+250788123456"}}}});
    CHECK(k["result"]["structuredContent"] == json{{"result", {1, 2}}});
  }
  SECTION("a failing tool is a result with isError, not a JSON-RPC error") {
    f.status = 503;
    f.body = R"({"error":"unavailable","reason":"the database is unavailable"})";
    auto k = f.call(
        sid, "tools/call",
        {{"name", "session_get_context"}, {"arguments", {{"phone_number", "+250788123456"}}}});
    CHECK_FALSE(k.contains("error"));
    CHECK(k["result"]["isError"] == true);
    CHECK(k["result"]["content"][0]["text"] == "the database is unavailable");
    CHECK(k["result"]["structuredContent"]["error"] == "unavailable");
  }
  SECTION("arguments failing the schema are a tool error naming the argument; nothing runs") {
    auto k = f.call(sid, "tools/call",
                    {{"name", "session_get_context"}, {"arguments", {{"phone_number", "12"}}}});
    CHECK(k["result"]["isError"] == true);
    CHECK(k["result"]["content"][0]["text"].get<std::string>().rfind("phone_number: must match", 0)
          == 0);
    CHECK(k["result"]["structuredContent"]["error"] == "invalid_argument");
    CHECK(f.calls.size() == 1);
  }
  SECTION("the read-only tools validate their integers") {
    auto k = f.call(sid, "tools/call",
                    {{"name", "help_center_search"},
                     {"arguments", {{"account_id", 7}, {"query", "password"}, {"limit", 11}}}});
    CHECK(k["result"]["isError"] == true);
    CHECK(k["result"]["content"][0]["text"] == "limit: must be at most 10");
    auto ok = f.call(sid, "tools/call",
                     {{"name", "conversation_get_state"},
                      {"arguments", {{"account_id", 7}, {"conversation_id", 42}}}});
    CHECK(ok["result"]["isError"] == false);
    CHECK(f.calls.back().name == "conversation_get_state");
  }
}

TEST_CASE("MCP protocol errors are JSON-RPC errors with the standard codes", "[mcp]") {
  fixture f;
  auto sid = f.initialize();

  SECTION("parse error: 400, -32700, id null") {
    auto r = f.post(fixture::make("POST", "{\"jsonrpc\": \"2.0\", ", sid));
    CHECK(r.status == 400);
    auto j = json::parse(r.body);
    CHECK(j["error"]["code"] == -32700);
    CHECK(j["id"].is_null());
  }
  SECTION("invalid request: not an object, wrong jsonrpc, null id, no method") {
    CHECK(error_code(f.post(fixture::make("POST", "42", sid))) == -32600);
    auto r = f.post(json{{"jsonrpc", "1.0"}, {"id", 1}, {"method", "ping"}}, sid);
    CHECK(r.status == 400);
    CHECK(error_code(r) == -32600);
    CHECK(error_code(f.post(json{{"jsonrpc", "2.0"}, {"id", nullptr}, {"method", "ping"}}, sid))
          == -32600);
    CHECK(error_code(f.post(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", 5}}, sid)) == -32600);
  }
  SECTION("batches are refused: 2025-06-18 removed them") {
    json batch
        = json::array({request("ping", json::object(), 1), request("ping", json::object(), 2)});
    auto r = f.post(batch, sid);
    CHECK(r.status == 400);
    CHECK(error_code(r) == -32600);
  }
  SECTION("method not found: -32601") {
    auto j = f.call(sid, "resources/list");
    CHECK(j["error"]["code"] == -32601);
  }
  SECTION("invalid params: unknown tool, missing name, arguments not an object") {
    CHECK(f.call(sid, "tools/call", {{"name", "messaging_send_fax"}})["error"]["code"] == -32602);
    CHECK(f.call(sid, "tools/call", {{"arguments", json::object()}})["error"]["code"] == -32602);
    CHECK(f.call(sid, "tools/call",
                 {{"name", "session_get_context"}, {"arguments", "x"}})["error"]["code"]
          == -32602);
    auto r = f.post(json{{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/list"}, {"params", {1}}},
                    sid);
    CHECK(error_code(r) == -32602);
    CHECK(f.calls.empty());
  }
  SECTION("an unsupported MCP-Protocol-Version header is 400") {
    auto req = fixture::make("POST", request("ping").dump(), sid);
    req.headers.add("MCP-Protocol-Version", "2099-01-01");
    CHECK(f.post(std::move(req)).status == 400);
    auto ok = fixture::make("POST", request("ping").dump(), sid);
    ok.headers.add("MCP-Protocol-Version", "2025-06-18");
    CHECK(f.post(std::move(ok)).status == 200);
  }
  SECTION("the body must be JSON and the client must accept JSON") {
    auto req = fixture::make("POST", request("ping").dump(), sid);
    req.headers.items.erase(req.headers.items.begin() + 1); // Content-Type
    req.headers.add("Content-Type", "text/plain");
    CHECK(f.post(std::move(req)).status == 415);
    auto sse_only = fixture::make("POST", request("ping").dump(), sid);
    sse_only.headers.items.erase(sse_only.headers.items.begin() + 2); // Accept
    sse_only.headers.add("Accept", "text/event-stream");
    CHECK(f.post(std::move(sse_only)).status == 406);
  }
}

TEST_CASE("MCP sessions: required, 404 when unknown, ended by DELETE, expire when idle", "[mcp]") {
  fixture f;
  SECTION("a request without Mcp-Session-Id is 400") {
    auto r = f.post(request("ping"), "");
    CHECK(r.status == 400);
  }
  SECTION("an unknown session is 404") {
    auto r = f.post(request("tools/list"), "00000000000000000000000000000000");
    CHECK(r.status == 404);
    CHECK(json::parse(r.body)["error"]["code"].is_number_integer());
  }
  SECTION("DELETE ends the session; then it is 404") {
    auto sid = f.initialize();
    CHECK(f.remove(sid).status == 204);
    CHECK(f.ep->sessions() == 0);
    CHECK(f.post(request("ping"), sid).status == 404);
    CHECK(f.remove(sid).status == 404);
  }
  SECTION("an idle session expires; use keeps it alive") {
    auto sid = f.initialize();
    f.t += std::chrono::minutes{29};
    CHECK(f.post(request("ping"), sid).status == 200);
    f.t += std::chrono::minutes{29};
    CHECK(f.post(request("ping"), sid).status == 200);
    f.t += std::chrono::minutes{31};
    CHECK(f.post(request("ping"), sid).status == 404);
    CHECK(f.ep->sessions() == 0);
  }
}

TEST_CASE("MCP sessions are bounded: the least recently used goes first", "[mcp]") {
  http::mcp_options o;
  o.max_sessions = 3;
  fixture f{o};
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(f.initialize());
    f.t += std::chrono::seconds{1};
  }
  CHECK(f.post(request("ping"), ids[0]).status == 200); // ids[1] is now the least recent
  for (int i = 0; i < 100; ++i)
    f.initialize();
  CHECK(f.ep->sessions() == 3);
  CHECK(f.post(request("ping"), ids[1]).status == 404);

  SECTION("at the cap every expired session is dropped at once") {
    http::mcp_options small;
    small.max_sessions = 3;
    fixture g{small};
    auto a = g.initialize();
    auto b = g.initialize();
    g.t += std::chrono::hours{1};
    auto c = g.initialize();
    CHECK(g.ep->sessions() == 3);
    auto d = g.initialize();
    CHECK(g.ep->sessions() == 2);
    CHECK(g.post(request("ping"), c).status == 200);
    CHECK(g.post(request("ping"), d).status == 200);
    CHECK(g.post(request("ping"), a).status == 404);
  }
}

TEST_CASE("MCP needs the bearer token: 401 with WWW-Authenticate", "[mcp]") {
  fixture f;
  auto sid = f.initialize();
  for (std::string auth : {"", "Bearer wrong", "Basic bWNwOnRlc3Q="}) {
    INFO(auth);
    auto req = fixture::make("POST", request("tools/list").dump(), sid);
    req.headers.items.erase(req.headers.items.begin()); // Authorization
    if (!auth.empty())
      req.headers.add("Authorization", auth);
    auto r = f.post(std::move(req));
    CHECK(r.status == 401);
    CHECK(r.headers.get("WWW-Authenticate").rfind("Bearer realm=", 0) == 0);
  }
  auto del = fixture::make("DELETE", "", sid);
  del.headers.items.erase(del.headers.items.begin());
  std::optional<http::response> out;
  f.ep->remove(std::move(del), [&](http::response x) { out = std::move(x); });
  REQUIRE(out);
  CHECK(out->status == 401);
  CHECK(f.ep->sessions() == 1);
}

TEST_CASE("MCP refuses foreign Origins (DNS rebinding) and allows loopback and public_url",
          "[mcp]") {
  fixture f;
  auto with_origin = [&](const std::string& origin) {
    auto req
        = fixture::make("POST", request("initialize", {{"protocolVersion", "2025-06-18"}}).dump());
    req.headers.add("Origin", origin);
    return f.post(std::move(req)).status;
  };
  CHECK(with_origin("http://evil.example") == 403);
  CHECK(with_origin("http://localhost.evil.example") == 403);
  CHECK(with_origin("http://127.0.0.1.nip.io:8080") == 403);
  CHECK(with_origin("null") == 403);
  CHECK(with_origin("https://switchboard.example.com.evil.example") == 403);
  CHECK(f.ep->sessions() == 0);
  CHECK(with_origin("http://localhost:6274") == 200);
  CHECK(with_origin("http://127.0.0.1:8080") == 200);
  CHECK(with_origin("http://[::1]:3000") == 200);
  CHECK(with_origin("https://switchboard.example.com") == 200);
  CHECK(with_origin("HTTPS://Switchboard.Example.com") == 200);
}
