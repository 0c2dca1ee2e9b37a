#include <catch2/catch.hpp>

#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "actors/metrics.hpp"
#include "actors/runtime.hpp"
#include "core/log.hpp"
#include "core/omni/tools.hpp"
#include "http/app.hpp"
#include "http/provider_api.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard;
using nlohmann::json;
using operation_set = std::set<std::pair<std::string, std::string>>;

namespace {

http::route make_route(std::string method, std::string pattern, std::string openapi = {}) {
  return {std::move(method),
          std::move(pattern),
          "test",
          0,
          [](http::request&&, const http::path_params&, http::responder res) {
            res(http::response::make(204, ""));
          },
          std::move(openapi)};
}

json operation(const std::string& id) {
  return {{"operationId", id}, {"responses", {{"204", {{"description", "done"}}}}}};
}

/// A table with the tools routes (documented by the built-in table) plus `extra`.
http::route_table table_with(std::vector<http::route> extra) {
  http::route_table t;
  t.add(make_route("GET", "/api/v1/tools", http::tools_list_operation().dump()));
  t.add(make_route("POST", "/api/v1/tools/{name}", http::tools_call_operation().dump()));
  t.add(make_route("GET", "/healthz", operation("healthz").dump()));
  for (auto& r : extra)
    t.add(std::move(r));
  return t;
}

operation_set routes_of(const http::route_table& t) {
  operation_set out;
  for (const auto& r : t.routes())
    out.emplace(r.method, r.pattern);
  return out;
}

/// Every operation has a 4xx answer, tags and security; operationIds are unique.
void check_operations(const json& doc) {
  const auto& schemes = doc.at("components").at("securitySchemes");
  std::set<std::string> ids;
  for (const auto& [path, item] : doc["paths"].items())
    for (const auto& [method, op] : item.items()) {
      INFO(method << " " << path);
      CHECK(ids.insert(op.at("operationId").get<std::string>()).second);
      CHECK_FALSE(op.at("responses").empty());
      bool has_4xx = false;
      for (const auto& [code, r] : op["responses"].items())
        has_4xx = has_4xx || code[0] == '4';
      CHECK(has_4xx);
      CHECK(op.at("summary").is_string());
      REQUIRE(op.at("tags").is_array());
      for (const auto& t : op["tags"]) {
        bool declared = false;
        for (const auto& d : doc.at("tags"))
          declared = declared || d.at("name") == t;
        CHECK(declared);
      }
      REQUIRE(op.at("security").is_array());
      for (const auto& requirement : op["security"]) {
        REQUIRE(requirement.is_object());
        for (const auto& [name, scopes] : requirement.items())
          CHECK(schemes.contains(name));
      }
      // A 401 of a bearer scheme says so in WWW-Authenticate.
      for (const auto& requirement : op["security"])
        for (const auto& [name, scopes] : requirement.items())
          if (schemes.at(name).value("scheme", "") == "bearer") {
            REQUIRE(op.at("responses").contains("401"));
            CHECK(op.at("responses")
                      .at("401")
                      .value("headers", json::object())
                      .contains("WWW-Authenticate"));
          }
    }
}

/// The server's real route table: the actor runtime and the HTTP app built as `serve` builds
/// them, with a database that cannot be reached (nothing here touches it).
struct offline_app {
  config::settings cfg;
  std::unique_ptr<actors::runtime> rt;
  std::unique_ptr<http::app> app;

  offline_app() {
    core::set_log_level(core::log_level::error);
    cfg.database.dsn = "host=/nonexistent/switchboard-unit-test dbname=none connect_timeout=1";
    cfg.database.reconnect_backoff = std::chrono::milliseconds{60000};
    cfg.server.port = 0;
    rt = std::make_unique<actors::runtime>(cfg, std::make_shared<actors::metrics>());
    app = std::make_unique<http::app>(cfg, *rt);
  }
  ~offline_app() {
    app.reset();
    rt->shutdown();
    core::set_log_level(core::log_level::info);
  }
};

/// Every "$ref" in a document (none are expected: operations are self-contained).
void collect_refs(const json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == "$ref")
        out.push_back(v.dump());
      collect_refs(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j)
      collect_refs(v, out);
  }
}

} // namespace

TEST_CASE("the OpenAPI document lists every route of the server", "[openapi]") {
  offline_app a;
  const auto& routes = a.app->routes();
  auto doc = json::parse(a.app->openapi(false));

  CHECK(doc.at("openapi").get<std::string>().rfind("3.1.", 0) == 0);
  CHECK(doc.at("info").at("title").is_string());
  CHECK(doc.at("info").at("version") == SB_VERSION);
  CHECK(doc.at("info").at("license") == json{{"name", "Apache-2.0"}, {"identifier", "Apache-2.0"}});
  REQUIRE(doc.at("servers").size() == 1);
  auto ops = test::openapi_operations(doc);
  CHECK(ops == routes_of(routes));
  for (const auto& expected : operation_set{{"GET", "/api/v1/providers/me/notification-config"},
                                            {"PUT", "/api/v1/providers/me/notification-config"},
                                            {"GET", "/api/v1/tools"},
                                            {"POST", "/api/v1/tools/{name}"},
                                            {"GET", "/healthz"},
                                            {"GET", "/readyz"},
                                            {"GET", "/openapi.json"},
                                            {"POST", "/mcp"},
                                            {"DELETE", "/mcp"},
                                            {"GET", "/webhooks/whatsapp"},
                                            {"POST", "/webhooks/whatsapp"},
                                            {"POST", "/webhooks/sms/twilio"},
                                            {"POST", "/webhooks/sms/twilio/status"},
                                            {"POST", "/webhooks/sms/mtn"},
                                            {"POST", "/webhooks/voice/call-ended"}}) {
    INFO(expected.first << " " << expected.second);
    CHECK(ops.count(expected) == 1);
  }
  check_operations(doc);

  // The webhooks: signature schemes, form-encoded Twilio bodies, 503 with Retry-After.
  auto& whatsapp = doc["paths"]["/webhooks/whatsapp"]["post"];
  CHECK(whatsapp["security"] == json::array({{{"whatsapp_signature", json::array()}}}));
  CHECK(doc["components"]["securitySchemes"]["whatsapp_signature"]["name"]
        == "X-Hub-Signature-256");
  CHECK(whatsapp["responses"]["503"]["headers"].contains("Retry-After"));
  CHECK(whatsapp["responses"].contains("413"));
  CHECK(doc["paths"]["/webhooks/sms/twilio"]["post"]["requestBody"]["content"].contains(
      "application/x-www-form-urlencoded"));
  CHECK(doc["components"]["securitySchemes"]["twilio_signature"]["name"] == "X-Twilio-Signature");
  CHECK(doc["paths"]["/mcp"]["delete"]["parameters"][0]["name"] == "Mcp-Session-Id");
  // The admin listener's routes are in their own document.
  CHECK(doc["paths"].count("/admin/v1/status") == 0);

  std::vector<std::string> refs;
  collect_refs(doc, refs);
  CHECK(refs.empty());

  // The provider API takes the provider key; the tools call takes the API token.
  auto& config_get = doc["paths"]["/api/v1/providers/me/notification-config"]["get"];
  CHECK(config_get["security"] == json::array({{{"provider_key", json::array()}}}));
  auto& call = doc["paths"]["/api/v1/tools/{name}"]["post"];
  CHECK(call["security"] == json::array({{{"api_token", json::array()}}}));
  REQUIRE(call["parameters"].size() == 1);
  CHECK(call["parameters"][0]["in"] == "path");
  CHECK(call["parameters"][0]["schema"]["enum"] == json(core::tool_names()));
  auto variants = call["requestBody"]["content"]["application/json"]["schema"]["anyOf"];
  REQUIRE(variants.size() == core::tool_definitions().size());
  for (std::size_t i = 0; i < variants.size(); ++i) {
    auto expected = core::tool_definitions()[i]["function"]["parameters"];
    CHECK(variants[i]["title"] == core::tool_definitions()[i]["function"]["name"]);
    CHECK(variants[i]["properties"] == expected["properties"]);
    CHECK(variants[i]["required"] == expected["required"]);
  }

  // GET /openapi.json serves this document.
  http::path_params none;
  auto served = routes.match("GET", "/openapi.json", none);
  REQUIRE(served != nullptr);
  http::response answer;
  served->handler(http::request{}, none, [&](http::response r) { answer = std::move(r); });
  CHECK(answer.status == 200);
  CHECK(answer.content_type == "application/json");
  CHECK(json::parse(answer.body) == doc);
}

TEST_CASE("the admin listener's OpenAPI document lists every admin route", "[openapi]") {
  offline_app a;
  auto doc = json::parse(a.app->openapi(true));
  CHECK(doc.at("info").at("title") == "Switchboard admin API");
  CHECK(doc.at("info").at("license").at("identifier") == "Apache-2.0");
  auto ops = test::openapi_operations(doc);
  for (const auto& expected : operation_set{{"GET", "/admin/v1/log-level"},
                                            {"PUT", "/admin/v1/log-level"},
                                            {"GET", "/admin/v1/status"},
                                            {"POST", "/admin/v1/drain"},
                                            {"DELETE", "/admin/v1/drain"},
                                            {"GET", "/admin/v1/openapi.json"},
                                            {"GET", "/metrics"},
                                            {"GET", "/healthz"},
                                            {"GET", "/readyz"},
                                            {"GET", "/admin/v1/deliveries"},
                                            {"POST", "/admin/v1/deliveries/{id}/requeue"}}) {
    INFO(expected.first << " " << expected.second);
    CHECK(ops.count(expected) == 1);
  }
  CHECK(ops.count({"POST", "/mcp"}) == 0);
  check_operations(doc);
  CHECK(doc["components"]["securitySchemes"].size() == 1); // admin_token only
}

TEST_CASE("an undocumented route stops the document", "[openapi]") {
  auto t = table_with({make_route("GET", "/api/v1/undocumented")});
  REQUIRE_THROWS_WITH(http::openapi_document(t),
                      Catch::Contains("GET /api/v1/undocumented: no OpenAPI documentation"));
  // Routes outside /api/ need documentation too, and are published.
  auto webhook = table_with({make_route("POST", "/webhooks/new")});
  REQUIRE_THROWS_WITH(http::openapi_document(webhook),
                      Catch::Contains("POST /webhooks/new: no OpenAPI documentation"));
  auto fine = table_with({make_route("GET", "/internal/thing", operation("thing").dump())});
  auto doc = http::openapi_document(fine);
  CHECK(test::openapi_operations(doc) == routes_of(fine));
}

TEST_CASE("malformed documentation is refused", "[openapi]") {
  auto check = [](http::route r, const std::string& problem) {
    auto t = table_with({});
    t.add(std::move(r));
    INFO(problem);
    REQUIRE_THROWS_WITH(http::openapi_document(t), Catch::Contains(problem));
  };
  check(make_route("GET", "/api/v1/a", "{not json"),
        "GET /api/v1/a: documentation is not valid JSON");
  check(make_route("GET", "/api/v1/a", "[1]"), "GET /api/v1/a: documentation is not a JSON object");
  check(make_route("GET", "/api/v1/a", json{{"operationId", "a"}}.dump()),
        "GET /api/v1/a: no responses");
  check(make_route("GET", "/api/v1/a", json{{"responses", {{"200", {}}}}}.dump()),
        "GET /api/v1/a: no operationId");
  check(make_route("GET", "/api/v1/a", operation("callTool").dump()),
        "operationId callTool is used twice");
  auto op = operation("a");
  op["security"] = json::array({{{"basic", json::array()}}});
  check(make_route("GET", "/api/v1/a", op.dump()), "GET /api/v1/a: unknown security scheme basic");
  op = operation("a");
  op["parameters"] = json::array({{{"name", "id"}, {"in", "path"}, {"required", true}}});
  check(make_route("GET", "/api/v1/a", op.dump()),
        "GET /api/v1/a: path parameter id is not in the path");

  auto twice = table_with({make_route("GET", "/api/v1/a", operation("a1").dump()),
                           make_route("GET", "/api/v1/a", operation("a2").dump())});
  REQUIRE_THROWS_WITH(http::openapi_document(twice),
                      Catch::Contains("GET /api/v1/a: registered twice"));
}

TEST_CASE("path parameters are declared from the route pattern", "[openapi]") {
  auto op = operation("part");
  op["parameters"] = json::array(
      {{{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "integer"}}}},
       {{"name", "verbose"}, {"in", "query"}, {"schema", {{"type", "boolean"}}}}});
  auto t = table_with({make_route("GET", "/api/v1/things/{id}/parts/{part}", op.dump())});
  auto doc = http::openapi_document(t);
  auto params = doc["paths"]["/api/v1/things/{id}/parts/{part}"]["get"]["parameters"];
  REQUIRE(params.size() == 3);
  CHECK(params[0]["schema"]["type"] == "integer"); // the declared one is kept as it is
  CHECK(
      params[2]
      == json{
          {"name", "part"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
  CHECK_FALSE(doc["paths"]["/api/v1/tools"]["get"].contains("parameters"));
}
