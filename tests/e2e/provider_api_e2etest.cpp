#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <set>

#include <soci/soci.h>

#include "actors/metrics.hpp"
#include "actors/runtime.hpp"
#include "config/settings.hpp"
#include "core/log.hpp"
#include "http/app.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/stack.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* config_path = "/api/v1/providers/me/notification-config";

/// What a CLI run printed and returned.
struct cli_result {
  int code = -1;
  std::string out;
  std::string err;
};

/// Runs `switchboard ARGS...` as a process with the server's configuration (every SWITCHBOARD_*
/// variable the stack gave it, plus `extra`).
cli_result run_cli(const test::stack& s, std::vector<std::string> args,
                   std::vector<std::pair<std::string, std::string>> extra = {}) {
  test::process_options po;
  po.program = test::binary_path("app/switchboard");
  po.args = std::move(args);
  po.working_dir = SB_SOURCE_DIR;
  std::map<std::string, std::string> env;
  for (const auto& k : config::known_keys())
    if (auto v = s.env(k.env); !v.empty())
      env[k.env] = v;
  for (auto& [k, v] : extra)
    env[k] = v;
  po.env.assign(env.begin(), env.end());
  po.ready_event = "";
  po.capture_stderr = true;
  test::child_process p{po};
  cli_result r;
  auto code = p.wait(30s);
  REQUIRE(code);
  r.code = *code;
  r.out = p.stdout_output();
  r.err = p.stderr_output();
  return r;
}

/// The API keys printed in a text.
std::vector<std::string> keys_in(const std::string& text) {
  static const std::regex key{"sbk_[0-9a-f]{8}_[0-9a-f]{56}"};
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), key); it != std::sregex_iterator();
       ++it)
    out.push_back(it->str());
  return out;
}

/// A `key: value` line of the CLI's output.
std::string line_value(const std::string& text, const std::string& key) {
  auto pos = text.find(key + ": ");
  REQUIRE(pos != std::string::npos);
  auto start = pos + key.size() + 2;
  return text.substr(start, text.find('\n', start) - start);
}

/// Creates a provider through the CLI; returns its id and key.
std::pair<std::string, std::string> create_provider(const test::stack& s, const std::string& name) {
  auto r = run_cli(s, {"provider", "create", "--name", name});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto keys = keys_in(r.out);
  REQUIRE(keys.size() == 1);
  return {line_value(r.out, "provider_id"), keys[0]};
}

test::http_result get_config(const test::stack& s, const std::string& key) {
  return test::http_get(s.url(config_path), {test::bearer_auth(key)});
}

test::http_result put_config(const test::stack& s, const std::string& key, std::string body,
                             bool with_auth = true) {
  test::http_request req;
  req.method = "PUT";
  req.url = s.url(config_path);
  req.body = std::move(body);
  req.headers = {{"Content-Type", "application/json"}};
  if (with_auth)
    req.headers.push_back(test::bearer_auth(key));
  return test::http_call(req);
}

json sms_config(int64_t account) {
  return {{"chatwoot_account_id", account},
          {"chatwoot_portal_slug", "acme-help"},
          {"notify_via", "sms"},
          {"notify_phone", "+250788123456"}};
}

const test::stack* settings_source = nullptr;

std::optional<std::string> stack_env(const char* name) {
  auto v = settings_source->env(name);
  return v.empty() ? std::nullopt : std::optional<std::string>{v};
}

/// Every route of the server's public listener (admin = false) or admin listener, as the server
/// builds them from the stack's settings.
std::set<std::pair<std::string, std::string>> server_routes(const test::stack& s, bool admin) {
  settings_source = &s;
  auto cfg = config::load_settings_text(config::embedded_default_config(), stack_env, "default");
  if (!cfg)
    FAIL("the server's settings do not load: " << core::reason_of(cfg.error()));
  cfg->database.dsn = "host=/nonexistent/switchboard-e2e dbname=none connect_timeout=1";
  cfg->database.reconnect_backoff = 60s;
  core::set_log_level(core::log_level::error);
  std::set<std::pair<std::string, std::string>> out;
  {
    actors::runtime rt{*cfg, std::make_shared<actors::metrics>()};
    {
      http::app a{*cfg, rt};
      out = test::openapi_operations(json::parse(a.openapi(admin)));
      if (!admin) // and the table itself: the document has every route of it
        for (const auto& r : a.routes().routes())
          CHECK(out.count({r.method, r.pattern}) == 1);
    }
    rt.shutdown();
  }
  core::set_log_level(core::log_level::info);
  return out;
}

} // namespace

TEST_CASE("provider keys from the CLI guard the notification-config API", "[provider_api]") {
  test::stack s;

  // create prints the key once, on stdout only.
  auto created = run_cli(s, {"provider", "create", "--name", "Acme Plumbing"});
  INFO(created.err);
  REQUIRE(created.code == 0);
  auto keys = keys_in(created.out);
  REQUIRE(keys.size() == 1);
  auto key = keys[0];
  CHECK(keys_in(created.err).empty());
  CHECK(created.err.find("shown only once") != std::string::npos);
  auto id = line_value(created.out, "provider_id");
  CHECK(line_value(created.out, "key_prefix") == key.substr(0, 12));

  // 401 without a valid key, before the body is looked at.
  auto none = test::http_get(s.url(config_path));
  CHECK(none.status == 401);
  CHECK(none.json().at("error") == "unauthorized");
  CHECK(none.header("WWW-Authenticate").rfind("Bearer", 0) == 0);
  CHECK(get_config(s, "sbk_not-a-key").status == 401);
  auto forged = key;
  forged.back() = forged.back() == '0' ? '1' : '0';
  CHECK(get_config(s, forged).status == 401);
  CHECK(put_config(s, key, "{not json", false).status == 401);
  CHECK(put_config(s, forged, "{not json").status == 401);

  // 404 until a config exists.
  auto missing = get_config(s, key);
  CHECK(missing.status == 404);
  CHECK(missing.json().at("error") == "not_found");

  // 400 for a body that is not a JSON object; 422 with one message per field.
  CHECK(put_config(s, key, "{not json").status == 400);
  CHECK(put_config(s, key, "[1, 2]").status == 400);
  auto bad = sms_config(7);
  bad["notify_phone"] = "0788123456";
  bad["notify_via"] = "pigeon";
  auto invalid = put_config(s, key, bad.dump());
  CHECK(invalid.status == 422);
  CHECK(invalid.json().at("error") == "invalid_argument");
  CHECK(invalid.json().at("errors")
        == json{{"notify_phone", "must be E.164, e.g. +250788123456"},
                {"notify_via", "must be one of telegram, sms, email"}});
  auto unknown = sms_config(7);
  unknown["notify_whatsapp"] = true;
  auto named = put_config(s, key, unknown.dump());
  CHECK(named.status == 422);
  CHECK(named.json().at("errors") == json{{"notify_whatsapp", "is not a known field"}});
  auto needs = sms_config(7);
  needs.erase("notify_phone");
  CHECK(put_config(s, key, needs.dump()).json().at("errors")
        == json{{"notify_phone", "is required when notify_via is sms"}});
  CHECK(get_config(s, key).status == 404); // nothing was stored

  // PUT then GET: the stored config round-trips.
  auto put = put_config(s, key, sms_config(7).dump());
  REQUIRE(put.status == 200);
  auto stored = put.json();
  CHECK(stored.at("provider_id") == std::stoll(id));
  CHECK(stored.at("chatwoot_account_id") == 7);
  CHECK(stored.at("notify_phone") == "+250788123456");
  CHECK(stored.at("telegram_chat_id").is_null());
  CHECK(stored.at("created_at").is_string());
  auto got = get_config(s, key);
  REQUIRE(got.status == 200);
  CHECK(got.json() == stored);
  // A fetched config can be sent back as it is; PUT replaces it as a whole.
  auto echoed = got.json();
  echoed["notify_via"] = "telegram";
  echoed["telegram_chat_id"] = -1001234567890;
  echoed["notify_phone"] = nullptr;
  auto replaced = put_config(s, key, echoed.dump());
  REQUIRE(replaced.status == 200);
  CHECK(replaced.json().at("notify_phone").is_null());
  CHECK(replaced.json().at("telegram_chat_id") == -1001234567890);
  CHECK(replaced.json().at("created_at") == stored.at("created_at"));
  {
    auto sql = s.db().connect();
    int rows = 0;
    *sql << "SELECT count(*) FROM provider_notification_config WHERE provider_id = " + id
                + " AND notify_via = 'telegram' AND notify_phone IS NULL",
        soci::into(rows);
    CHECK(rows == 1);
  }

  // Another provider cannot claim the same Chatwoot account.
  auto [other_id, other_key] = create_provider(s, "Other Co");
  auto claim = put_config(s, other_key, sms_config(7).dump());
  CHECK(claim.status == 409);
  CHECK(claim.json().at("error") == "conflict");
  CHECK(put_config(s, other_key, sms_config(8).dump()).status == 200);

  // list shows prefixes, never keys.
  auto listed = run_cli(s, {"provider", "list"});
  REQUIRE(listed.code == 0);
  CHECK(keys_in(listed.out).empty());
  CHECK(listed.out.find(key.substr(13)) == std::string::npos);
  CHECK(listed.out.find(id + "\tAcme Plumbing\t" + key.substr(0, 12) + "\tyes")
        != std::string::npos);
  CHECK(listed.out.find(other_id + "\tOther Co\t" + other_key.substr(0, 12) + "\tyes")
        != std::string::npos);

  // rotate-key: the old key is refused at once, the new one works.
  auto rotated = run_cli(s, {"provider", "rotate-key", "--id", id});
  REQUIRE(rotated.code == 0);
  auto new_keys = keys_in(rotated.out);
  REQUIRE(new_keys.size() == 1);
  auto new_key = new_keys[0];
  CHECK(new_key != key);
  CHECK(get_config(s, key).status == 401);
  CHECK(put_config(s, key, sms_config(7).dump()).status == 401);
  CHECK(get_config(s, new_key).status == 200);

  // revoke-key: refused at once; the other provider is untouched.
  auto revoked = run_cli(s, {"provider", "revoke-key", "--id", id});
  REQUIRE(revoked.code == 0);
  CHECK(revoked.out.find("key revoked") != std::string::npos);
  CHECK(get_config(s, new_key).status == 401);
  CHECK(get_config(s, other_key).status == 200);
  auto after = run_cli(s, {"provider", "list"});
  CHECK(after.out.find(id + "\tAcme Plumbing\t-\tno") != std::string::npos);

  // Failures and bad usage exit non-zero with a reason.
  auto unknown_id = run_cli(s, {"provider", "rotate-key", "--id", "999999"});
  CHECK(unknown_id.code == 1);
  CHECK(unknown_id.err.find("does not exist") != std::string::npos);
  CHECK(run_cli(s, {"provider", "create"}).code == 2);
  CHECK(run_cli(s, {"provider", "create", "--name", ""}).code == 2);
  CHECK(run_cli(s, {"provider", "revoke-key", "--id", "abc"}).code == 2);
  CHECK(run_cli(s, {"provider", "frobnicate"}).code == 2);
}

TEST_CASE("/openapi.json documents every route of the server, as `switchboard openapi` prints it",
          "[provider_api][openapi]") {
  test::stack s;
  auto res = test::http_get(s.url("/openapi.json"));
  REQUIRE(res.status == 200);
  CHECK(res.header("Content-Type").rfind("application/json", 0) == 0);
  auto doc = res.json();
  CHECK(doc.at("openapi").get<std::string>().rfind("3.", 0) == 0);
  CHECK(doc.at("info").at("title").is_string());

  auto documented = test::openapi_operations(doc);
  for (const auto& [path, item] : doc.at("paths").items())
    for (const auto& [method, op] : item.items())
      CHECK(op.contains("responses"));
  CHECK(documented == server_routes(s, false));
  CHECK(documented.count({"PUT", config_path}) == 1);
  CHECK(documented.count({"POST", "/api/v1/tools/{name}"}) == 1);
  CHECK(documented.count({"POST", "/webhooks/whatsapp"}) == 1);
  CHECK(documented.count({"POST", "/mcp"}) == 1);
  CHECK(documented.count({"GET", "/openapi.json"}) == 1);

  // The CLI prints the same document, offline, from the same settings.
  auto cli = run_cli(s, {"openapi"});
  INFO(cli.err);
  REQUIRE(cli.code == 0);
  CHECK(json::parse(cli.out) == doc);

  // The admin listener serves its own document (admin token), equal to `openapi --admin`.
  auto admin = test::http_get(s.admin_url("/admin/v1/openapi.json"),
                              {test::bearer_auth(s.env("SWITCHBOARD_ADMIN_TOKEN"))});
  REQUIRE(admin.status == 200);
  CHECK(run_cli(s, {"openapi", "--bogus"}).code == 2);
  auto admin_cli = run_cli(s, {"openapi", "--admin"});
  REQUIRE(admin_cli.code == 0);
  CHECK(json::parse(admin_cli.out) == admin.json());
  CHECK(test::http_get(s.admin_url("/admin/v1/openapi.json")).status == 401);
  auto admin_documented = test::openapi_operations(admin.json());
  CHECK(admin_documented == server_routes(s, true));
  CHECK(admin_documented.count({"PUT", "/admin/v1/log-level"}) == 1);

  // A 401 of a bearer route names the scheme, as documented.
  test::http_request call;
  call.method = "POST";
  call.url = s.url("/api/v1/tools/session_get_context");
  call.body = "{}";
  auto refused = test::http_call(call);
  CHECK(refused.status == 401);
  CHECK(refused.header("WWW-Authenticate").rfind("Bearer", 0) == 0);
  CHECK(doc["paths"]["/api/v1/tools/{name}"]["post"]["responses"]["401"]["headers"].contains(
      "WWW-Authenticate"));

  // And the server answers each of them (no 404 "no route", no 405).
  for (const auto& [method, path] : documented) {
    if (path == "/openapi.json")
      continue;
    auto concrete = std::regex_replace(path, std::regex{"\\{[^}]+\\}"}, "session_get_context");
    test::http_request req;
    req.method = method;
    req.url = s.url(concrete);
    req.body = method == "GET" ? "" : "{}";
    auto answer = test::http_call(req);
    INFO(method << " " << concrete << " -> " << answer.status << " " << answer.body);
    CHECK(answer.status != 405);
    CHECK(answer.body.find("no route for") == std::string::npos);
  }
}

TEST_CASE("telegram set-webhook registers the URL with the secret token", "[provider_api]") {
  test::stack s;
  auto url = s.url("/webhooks/telegram");
  auto r = run_cli(s, {"telegram", "set-webhook", "--url", url});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("webhook set: " + url) != std::string::npos);
  CHECK(r.out.find("Webhook was set") != std::string::npos);
  CHECK(r.out.find(s.env("SWITCHBOARD_TELEGRAM_BOT_TOKEN")) == std::string::npos);

  json set_calls = json::array();
  auto recorded = s.sim_requests("telegram"); // alive for the loop
  for (auto& req : recorded["requests"])
    if (req["path"].get<std::string>().find("/setWebhook") != std::string::npos)
      set_calls.push_back(req);
  REQUIRE(set_calls.size() == 1);
  CHECK(set_calls[0]["path"] == "/bot" + s.env("SWITCHBOARD_TELEGRAM_BOT_TOKEN") + "/setWebhook");
  CHECK(set_calls[0]["json"]["url"] == url);
  CHECK(set_calls[0]["json"]["secret_token"] == s.env("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET"));
  auto hook = test::http_get(s.sim_url("/_sim/telegram/webhook")).json();
  CHECK(hook["url"] == url);
  CHECK(hook["secret_token"] == s.env("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET"));

  // Telegram refusing the call is a failure.
  auto refused = run_cli(s, {"telegram", "set-webhook", "--url", url},
                         {{"SWITCHBOARD_TELEGRAM_BOT_TOKEN", "999:wrong"}});
  CHECK(refused.code == 1);
  CHECK(refused.err.find("setWebhook failed") != std::string::npos);
  // http:// is for a loopback Bot API (the simulator) only; nothing is sent otherwise.
  auto plain = run_cli(s, {"telegram", "set-webhook", "--url", url},
                       {{"SWITCHBOARD_TELEGRAM_BASE_URL", "https://api.telegram.org"}});
  CHECK(plain.code == 1);
  CHECK(plain.err.find("must be an https URL") != std::string::npos);
  CHECK(run_cli(s, {"telegram", "set-webhook"}).code == 2);
}
