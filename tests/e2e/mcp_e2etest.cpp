#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <soci/soci.h>

#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"
#include "tests/support/stack.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int64_t account = 7;
constexpr const char* portal = "help";
constexpr const char* customer = "+250788123456";
const std::string client_dir = std::string{SB_SOURCE_DIR} + "/tests/mcp-client";

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

/// The fixture Help Center in the simulator's portal, and a provider owning `account` whose
/// notification config names that portal (hand-offs are announced on Telegram).
void help_center(test::stack& s) {
  test::load_help_center(s, portal);
  auto sql = s.db().connect();
  *sql << "INSERT INTO providers (name) VALUES ('Acme Repairs')";
  long long id = 0;
  *sql << "SELECT id FROM providers WHERE name = 'Acme Repairs'", soci::into(id);
  std::string slug = portal;
  *sql << "INSERT INTO provider_notification_config (provider_id, chatwoot_account_id, "
          "chatwoot_portal_slug, notify_via, telegram_chat_id) VALUES (:id, :a, :p, 'telegram', "
          "555001)",
      soci::use(id), soci::use(account), soci::use(slug);
}

/// Runs the SDK client against the server; its JSON output.
json run_client(test::stack& s, const std::string& key, int64_t conversation) {
  test::process_options po;
  po.program = "node";
  po.args = {client_dir + "/client.mjs",
             s.url("/mcp"),
             key,
             customer,
             std::to_string(account),
             "How do I reset my password?",
             std::to_string(conversation)};
  po.ready_event = "";
  po.capture_stderr = true;
  test::child_process node{po};
  auto status = node.wait(90s);
  INFO("client stderr: " << node.stderr_output());
  INFO("client stdout: " << node.stdout_output());
  REQUIRE(status);
  REQUIRE(*status == 0);
  // The client prints one JSON line, last.
  auto out = node.stdout_output();
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  auto line
      = out.substr(out.find_last_of('\n') == std::string::npos ? 0 : out.find_last_of('\n') + 1);
  return json::parse(line);
}

} // namespace

TEST_CASE("a real MCP client (the TypeScript SDK) lists and calls the tools over /mcp", "[mcp]") {
  // The client's packages come from `npm ci` in tests/mcp-client (scripts/bootstrap runs it).
  if (!exists(client_dir + "/node_modules/@modelcontextprotocol/sdk/package.json"))
    FAIL("the MCP client's packages are not installed: run `npm ci` in "
         << client_dir << " (scripts/bootstrap does it); node must be on PATH");

  test::stack s;
  help_center(s);
  // A conversation the bot handed off (the customer asked for a human): its state is readable.
  auto asked = test::http_post_json(s.sim_url("/_sim/chatwoot/webhook"),
                                    {{"path", "/webhooks/chatwoot?account_id=7"},
                                     {"event", "message_created"},
                                     {"account_id", account},
                                     {"conversation_id", 101},
                                     {"content", "I want to talk to a human"},
                                     {"message_type", "incoming"},
                                     {"sender_name", "Aline"},
                                     {"status", "pending"}});
  REQUIRE(asked.status < 300);
  REQUIRE(test::eventually([&] {
    auto sql = s.db().connect();
    int n = 0;
    *sql << "SELECT count(*) FROM chatwoot_conversations WHERE bot_state = 'handed_off'",
        soci::into(n);
    return n == 1;
  }));

  auto out = run_client(s, s.env("SWITCHBOARD_API_TOKEN"), 101);
  INFO(out.dump(2).substr(0, 8000));

  CHECK(out["protocol_version"] == "2025-06-18");
  CHECK(out["server"]["name"] == "switchboard");
  CHECK(out["capabilities"].contains("tools"));
  CHECK(out["session_id"].get<std::string>().size() == 32);
  CHECK(out["ping"] == json::object());
  std::vector<std::string> names;
  for (auto& t : out["tools"])
    names.push_back(t["name"].get<std::string>());
  CHECK(names
        == std::vector<std::string>{
            "messaging_send_dual_channel", "messaging_send_whatsapp", "messaging_send_sms",
            "session_get_or_create", "session_update_status", "session_add_context",
            "session_get_context", "help_center_search", "conversation_get_state"});
  CHECK(out["tools"][0]["inputSchema"]["required"] == json{"phone_number", "message"});

  // A session tool wrote the context; read back through MCP, the tools API and the database.
  CHECK(out["add_context"]["isError"] == false);
  CHECK(out["add_context"]["structuredContent"]["context"]["order_id"] == "A17");
  CHECK(out["get_context"]["structuredContent"]["context"]
        == json{{"order_id", "A17"}, {"via", "mcp"}});
  auto api = test::http_post_json(s.url("/api/v1/tools/session_get_context"),
                                  {{"phone_number", customer}},
                                  {test::bearer_auth(s.env("SWITCHBOARD_API_TOKEN"))});
  CHECK(api.json()["result"]["context"]["via"] == "mcp");
  {
    auto sql = s.db().connect();
    std::string via;
    *sql << "SELECT context->>'via' FROM omnichannel_sessions WHERE status <> 'closed'",
        soci::into(via);
    CHECK(via == "mcp");
  }

  // The Help Center search finds the password article in the provider's portal.
  auto& search = out["search"];
  CHECK(search["isError"] == false);
  CHECK(search["structuredContent"]["portal"] == portal);
  auto hits = search["structuredContent"]["articles"];
  REQUIRE_FALSE(hits.empty());
  CHECK(hits.size() <= 2);
  CHECK(hits[0]["article_id"] == 104);
  CHECK(hits[0]["title"] == "Resetting your password");
  CHECK(hits[0]["url"].get<std::string>().find("104-resetting-your-password") != std::string::npos);
  CHECK(hits[0]["relevance"].get<double>() > 0.0);
  CHECK_FALSE(hits[0]["excerpt"].get<std::string>().empty());

  // The handed-off conversation, as the bot recorded it.
  auto& conv = out["conversation"]["structuredContent"];
  CHECK(out["conversation"]["isError"] == false);
  CHECK(conv["status"] == "open");
  CHECK(conv["bot_state"] == "handed_off");
  CHECK(conv["escalation_reason"].get<std::string>().find("human") != std::string::npos);
  CHECK(conv["handoff_count"] == 1);
  CHECK(conv["notification"]["channel"] == "telegram");
  CHECK(out["unknown_conversation"]["isError"] == true);
  CHECK(out["unknown_conversation"]["structuredContent"]["error"] == "not_found");

  // Bad arguments are a tool error the model can read; an unknown tool is a protocol error.
  CHECK(out["invalid"]["isError"] == true);
  CHECK(out["invalid"]["content"][0]["text"].get<std::string>().find("phone_number")
        != std::string::npos);
  CHECK(out["unknown"]["rpc_error"]["code"] == -32602);

  // The client ended its session: the id is gone.
  CHECK(out["terminated"] == true);
  auto after
      = test::http_post_json(s.url("/mcp"), {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}},
                             {test::bearer_auth(s.env("SWITCHBOARD_API_TOKEN")),
                              {"Mcp-Session-Id", out["session_id"].get<std::string>()}});
  CHECK(after.status == 404);
}

TEST_CASE("/mcp over HTTP: bearer required, foreign Origin refused, GET is 405", "[mcp]") {
  test::stack s;
  json init{{"jsonrpc", "2.0"},
            {"id", 1},
            {"method", "initialize"},
            {"params",
             {{"protocolVersion", "2025-06-18"},
              {"capabilities", json::object()},
              {"clientInfo", {{"name", "curl"}, {"version", "1"}}}}}};
  auto auth = test::bearer_auth(s.env("SWITCHBOARD_API_TOKEN"));
  auto anonymous = test::http_post_json(s.url("/mcp"), init);
  CHECK(anonymous.status == 401);
  CHECK(anonymous.header("WWW-Authenticate").rfind("Bearer", 0) == 0);
  auto wrong = test::http_post_json(s.url("/mcp"), init, {test::bearer_auth("sbk_wrong")});
  CHECK(wrong.status == 401);
  auto rebinding
      = test::http_post_json(s.url("/mcp"), init, {auth, {"Origin", "http://attacker.example"}});
  CHECK(rebinding.status == 403);
  auto ok = test::http_post_json(s.url("/mcp"), init, {auth, {"Origin", "http://localhost:6274"}});
  REQUIRE(ok.status == 200);
  auto sid = ok.header("Mcp-Session-Id");
  CHECK(sid.size() == 32);
  auto get = test::http_get(s.url("/mcp"), {auth, {"Mcp-Session-Id", sid}});
  CHECK(get.status == 405);
  CHECK(get.header("Allow").find("POST") != std::string::npos);
  auto parse = test::http_post(s.url("/mcp"), "{oops", "application/json",
                               {auth, {"Mcp-Session-Id", sid}});
  CHECK(parse.status == 400);
  CHECK(parse.json()["error"]["code"] == -32700);
  CHECK(test::http_delete(s.url("/mcp"), {auth, {"Mcp-Session-Id", sid}}).status == 204);
  CHECK(test::http_delete(s.url("/mcp"), {auth, {"Mcp-Session-Id", sid}}).status == 404);
}
