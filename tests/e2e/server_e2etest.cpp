#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "config/settings.hpp"
#include "tests/support/stack.hpp"

using namespace switchboard;
using namespace std::chrono_literals;

namespace {

test::stack_options no_sim() {
  test::stack_options o;
  o.with_sim = false;
  return o;
}

using env_list = std::vector<std::pair<std::string, std::string>>;

/// Runs `switchboard ARGS...` to completion; returns its exit status.
int run(std::vector<std::string> args, env_list env, std::string& out, std::string& err) {
  test::process_options po;
  po.program = test::binary_path("app/switchboard");
  po.args = std::move(args);
  po.env = std::move(env);
  po.ready_event = ""; // run to completion
  po.capture_stderr = true;
  test::child_process p{po};
  auto rc = p.wait(30s);
  out = p.stdout_output();
  err = p.stderr_output();
  return rc.value_or(-1);
}

/// The secrets the embedded default config needs (it enables every provider).
env_list provider_secrets(const std::string& dsn) {
  return {
      {"SWITCHBOARD_DATABASE_DSN", dsn},
      {"SWITCHBOARD_VOICE_TOKEN", "v"},
      {"SWITCHBOARD_API_TOKEN", "a"},
      {"SWITCHBOARD_WHATSAPP_ACCESS_TOKEN", "w"},
      {"SWITCHBOARD_WHATSAPP_APP_SECRET", "w"},
      {"SWITCHBOARD_WHATSAPP_VERIFY_TOKEN", "w"},
      {"SWITCHBOARD_SMS_MTN_CLIENT_SECRET", "m"},
      {"SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET", "m"},
      {"SWITCHBOARD_LLM_API_KEY", "l"},
      {"SWITCHBOARD_TELEGRAM_BOT_TOKEN", "1:t"},
      {"SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET", "t"},
      {"SWITCHBOARD_CHATWOOT_BOT_TOKEN", "bot-secret-value"},
  };
}

} // namespace

TEST_CASE("health, readiness and metrics over real HTTP", "[server]") {
  test::stack s{no_sim()};
  auto health = test::http_get(s.url("/healthz"));
  CHECK(health.status == 200);
  CHECK(health.json().at("status") == "ok");
  CHECK(health.header("X-Request-Id").size() == 16);

  auto ready = test::http_get(s.url("/readyz"));
  CHECK(ready.status == 200);
  CHECK(ready.json().at("database") == true);
  CHECK(ready.json().at("migrations") == true);

  auto metrics = test::http_get(s.url("/metrics"));
  CHECK(metrics.status == 200);
  CHECK(metrics.header("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
  CHECK(metrics.body.find("# TYPE switchboard_http_requests_total counter") != std::string::npos);
  CHECK(metrics.body.find(
            R"(switchboard_http_requests_total{method="GET",route="healthz",status="200"} 1)")
        != std::string::npos);
  CHECK(metrics.body.find("switchboard_http_request_duration_seconds_bucket{route=\"readyz\"")
        != std::string::npos);
  CHECK(metrics.body.find("switchboard_storage_workers_up 2") != std::string::npos);

  auto unknown = test::http_get(s.url("/nope"));
  CHECK(unknown.status == 404);
  CHECK(unknown.json().at("error") == "not_found");
  auto wrong_method = test::http_post(s.url("/healthz"), "{}");
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.header("Allow") == "GET");
}

TEST_CASE("readiness is 503 while the database is down and recovers", "[server]") {
  test::stack s{no_sim()};
  REQUIRE(test::http_get(s.url("/readyz")).status == 200);
  s.db().set_available(false);
  CHECK(test::eventually([&] { return test::http_get(s.url("/readyz")).status == 503; }));
  auto down = test::http_get(s.url("/readyz"));
  CHECK(down.json().at("database") == false);
  // The process stays alive and healthy.
  CHECK(test::http_get(s.url("/healthz")).status == 200);
  s.db().set_available(true);
  CHECK(test::eventually([&] { return test::http_get(s.url("/readyz")).status == 200; }, 15s));
}

TEST_CASE("SIGTERM stops the server cleanly with exit status 0", "[server]") {
  test::stack s{no_sim()};
  REQUIRE(test::http_get(s.url("/healthz")).status == 200);
  CHECK(s.stop_server() == 0);
  auto log = s.server().stderr_output();
  CHECK(log.find("\"msg\":\"shutting down\"") != std::string::npos);
  CHECK(log.find("\"msg\":\"stopped\"") != std::string::npos);
}

TEST_CASE("the binary's commands: check-config, migrate, bad configs", "[server]") {
  test::scratch_db db;
  auto secrets = provider_secrets(db.dsn());
  std::string out, err;

  CHECK(run({"check-config"}, secrets, out, err) == 0);
  CHECK(out.find("# configuration OK") != std::string::npos);
  CHECK(out.find("whatsapp.app_secret = \"<redacted>\"") != std::string::npos);

  auto missing = secrets;
  missing.erase(
      std::remove_if(missing.begin(), missing.end(),
                     [](auto& kv) { return kv.first == "SWITCHBOARD_SMS_MTN_CLIENT_SECRET"; }),
      missing.end());
  CHECK(run({"check-config"}, missing, out, err) == 2);
  CHECK(err
        == "switchboard: config: sms.mtn.client_secret: required when sms.provider = \"mtn\" "
           "(set SWITCHBOARD_SMS_MTN_CLIENT_SECRET)\n");

  auto path = std::string{SB_BINARY_DIR} + "/unknown-key-" + db.name() + ".toml";
  std::ofstream{path} << "[server]\nport = 1\ncolour = \"blue\"\n";
  CHECK(run({"check-config", "--config", path}, secrets, out, err) == 2);
  CHECK(err == "switchboard: " + path + ": server.colour: unknown key\n");
  std::remove(path.c_str());

  CHECK(run({"migrate"}, secrets, out, err) == 0);
  CHECK(out.find("already applied") != std::string::npos);
  CHECK(run({"migrate"}, secrets, out, err) == 0);
  CHECK(out.find("migrations: 0 applied") != std::string::npos);

  auto unreachable = secrets;
  for (auto& kv : unreachable)
    if (kv.first == "SWITCHBOARD_DATABASE_DSN")
      kv.second = "postgresql://x@127.0.0.1:9/x?connect_timeout=1";
  unreachable.emplace_back("SWITCHBOARD_DATABASE_CONNECT_TIMEOUT_S", "1");
  CHECK(run({"migrate"}, unreachable, out, err) == 1);
  CHECK(err.rfind("switchboard: database unreachable: ", 0) == 0);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1); // one line

  CHECK(run({"--version"}, {}, out, err) == 0);
  CHECK(out.rfind("switchboard ", 0) == 0);
  CHECK(run({"frobnicate"}, secrets, out, err) == 2);

  // --version: the project version and the git commit the binary was built from.
  CHECK(run({"--version"}, {}, out, err) == 0);
  CHECK(std::regex_match(out, std::regex{std::string{"switchboard "} + SB_VERSION
                                         + R"( \(commit ([0-9a-f]{4,40}|unknown)\)\n)"}));

  // Unknown options and stray arguments are usage errors (exit 2, a usage line), never ignored:
  // `switchboard --verbose` used to start serving.
  struct bad_usage {
    std::vector<std::string> args;
    std::string first_line;
  };
  for (const auto& [args, first_line] : std::vector<bad_usage>{
           {{"--bogus"}, "switchboard: unknown option '--bogus'"},
           {{"-V"}, "switchboard: unknown option '-V'"},
           {{"--verbose"}, "switchboard: unknown option '--verbose'"},
           {{"check-config", "extra"}, "switchboard: unexpected argument 'extra'"},
           {{"check-config", "--bogus"}, "switchboard: unknown option '--bogus'"},
           {{"migrate", "now"}, "switchboard: unexpected argument 'now'"},
           {{"serve", "--verbose"}, "switchboard: unknown option '--verbose'"},
           {{"example-config", "x"}, "switchboard: unexpected argument 'x'"},
           {{"--version", "serve"}, "switchboard: --version takes no command"},
           {{"provider", "list", "extra"}, "switchboard: unexpected argument 'extra'"},
           {{"--config"}, "switchboard: --config needs a file"},
       }) {
    std::string joined;
    for (auto& a : args)
      joined += a + " ";
    INFO("switchboard " << joined);
    CHECK(run(args, secrets, out, err) == 2);
    CHECK(err.substr(0, err.find('\n')) == first_line);
    CHECK(err.find("Usage:") != std::string::npos);
    CHECK(out.empty()); // nothing ran: no ready event, no listing
  }

  // --help per command, without a configuration or any secret.
  struct help_case {
    std::vector<std::string> args;
    std::string starts;
  };
  for (const auto& [args, starts] : std::vector<help_case>{
           {{"--help"}, "switchboard - omnichannel"},
           {{"serve", "--help"}, "Usage: switchboard [--config FILE] [serve]\n"},
           {{"migrate", "--help"}, "Usage: switchboard [--config FILE] migrate\n"},
           {{"--help", "migrate"}, "Usage: switchboard [--config FILE] migrate\n"},
           {{"check-config", "-h"}, "Usage: switchboard [--config FILE] check-config\n"},
           {{"example-config", "--help"}, "Usage: switchboard example-config\n"},
           {{"provider", "--help"}, "Usage:\n  switchboard provider create --name NAME"},
           {{"provider", "list", "--help"}, "Usage: switchboard [--config FILE] provider list\n"},
           {{"provider", "create", "--help"},
            "Usage: switchboard [--config FILE] provider create --name NAME\n"},
           {{"telegram", "set-webhook", "--help"}, "Usage:\n  switchboard telegram set-webhook"},
       }) {
    INFO(args.front() << " " << args.back());
    CHECK(run(args, {}, out, err) == 0);
    CHECK(out.rfind(starts, 0) == 0);
    CHECK(err.empty());
  }

  // migrate and provider need only the database: unset provider secrets do not stop them...
  env_list database_only{{"SWITCHBOARD_DATABASE_DSN", db.dsn()}};
  CHECK(run({"migrate"}, database_only, out, err) == 0);
  CHECK(out.find("migrations: 0 applied") != std::string::npos);
  CHECK(run({"provider", "list"}, database_only, out, err) == 0);
  CHECK(out.rfind("id\tname\tkey_prefix\tkey_active\tkey_created_at\n", 0) == 0);
  // ...but a wrong value still does, and so do the secrets for the commands that use them.
  auto wrong = database_only;
  wrong.emplace_back("SWITCHBOARD_SMS_MAX_SEGMENTS", "0");
  CHECK(run({"provider", "list"}, wrong, out, err) == 2);
  CHECK(err == "switchboard: config: sms.max_segments: must be from 1 to 10 (is 0)\n");
  CHECK(run({"check-config"}, database_only, out, err) == 2);
  CHECK(err.find("whatsapp.access_token: required") != std::string::npos);
}

TEST_CASE("the packaged configuration needs only the database and the two API tokens", "[server]") {
  // deploy/switchboard.toml is installed as /etc/switchboard/switchboard.toml: every channel off,
  // secrets from the environment (/etc/switchboard/switchboard.env).
  auto path = std::string{SB_SOURCE_DIR} + "/deploy/switchboard.toml";
  std::string out, err;
  CHECK(run({"check-config", "--config", path}, {}, out, err) == 2);
  CHECK(err
        == "switchboard: config: database.dsn: required (set SWITCHBOARD_DATABASE_DSN)\n"
           "switchboard: config: voice.token: required (set SWITCHBOARD_VOICE_TOKEN)\n"
           "switchboard: config: api.token: required (set SWITCHBOARD_API_TOKEN)\n");
  env_list env{{"SWITCHBOARD_DATABASE_DSN", "postgresql://x@127.0.0.1:9/x"},
               {"SWITCHBOARD_VOICE_TOKEN", "v"},
               {"SWITCHBOARD_API_TOKEN", "a"}};
  CHECK(run({"check-config", "--config", path}, env, out, err) == 0);
  CHECK(out.find("# configuration OK") != std::string::npos);
  CHECK(out.find("listen_address = \"127.0.0.1\"") != std::string::npos);

  // Every secret the configuration knows is named, commented out, in the shipped env file.
  std::ifstream in{std::string{SB_SOURCE_DIR} + "/deploy/switchboard.env"};
  std::string env_file{std::istreambuf_iterator<char>{in}, {}};
  REQUIRE(!env_file.empty());
  for (const auto& k : config::known_keys())
    if (k.secret && k.path != "chatwoot.api_token") { // deprecated
      INFO(k.env);
      CHECK(env_file.find("\n#" + k.env + "=") != std::string::npos);
    }
  std::istringstream lines{env_file};
  for (std::string line; std::getline(lines, line);)
    CHECK((line.empty() || line[0] == '#')); // no value is shipped
}

TEST_CASE("check-config lists every problem and what each Chatwoot token is for; example-config "
          "prints the committed example",
          "[server]") {
  auto secrets = provider_secrets("postgresql://x@127.0.0.1:9/x");
  std::string out, err;
  CHECK(run({"check-config"}, secrets, out, err) == 0);
  CHECK(out.find("chatwoot.bot_token = \"<redacted>\"") != std::string::npos);
  CHECK(out.find("# chatwoot.bot_token (set): the agent bot's access token") != std::string::npos);
  CHECK(out.find("# chatwoot.user_token (not set)") != std::string::npos);
  CHECK(out.find("# warning: config: chatwoot.user_token is not set") != std::string::npos);
  CHECK(out.find("bot-secret-value") == std::string::npos);
  CHECK(out.find("# configuration OK") != std::string::npos);

  auto bad = secrets;
  bad.emplace_back("SWITCHBOARD_CHATWOOT_CONFIDENCE_THRESHOLD", "1.5");
  for (auto& kv : bad)
    if (kv.first == "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET")
      kv.second = "has spaces";
  bad.emplace_back("SWITCHBOARD_SMS_MAX_SEGMENTS", "0");
  CHECK(run({"check-config"}, bad, out, err) == 2);
  INFO(err);
  CHECK(std::count(err.begin(), err.end(), '\n') == 3);
  CHECK(err.find("switchboard: config: chatwoot.confidence_threshold: must be from 0.0 to 1.0")
        != std::string::npos);
  CHECK(err.find("switchboard: config: telegram.webhook_secret: must be 1 to 256 characters")
        != std::string::npos);
  CHECK(err.find("switchboard: config: sms.max_segments: must be from 1 to 10 (is 0)")
        != std::string::npos);

  CHECK(run({"example-config"}, {}, out, err) == 0);
  std::ifstream in{std::string{SB_SOURCE_DIR} + "/config/switchboard.example.toml"};
  std::string committed{std::istreambuf_iterator<char>{in}, {}};
  CHECK(out == committed);
}

namespace {

/// Each thread of a process: its name and nice value (/proc/PID/task/TID/stat, field 19).
std::vector<std::pair<std::string, int>> threads_of(int pid) {
  std::vector<std::pair<std::string, int>> out;
  for (auto& task : std::filesystem::directory_iterator{"/proc/" + std::to_string(pid) + "/task"}) {
    std::ifstream st{task.path() / "stat"};
    if (!st)
      continue; // the thread ended meanwhile
    std::string line{std::istreambuf_iterator<char>{st}, {}};
    auto open = line.find('('), close = line.rfind(')');
    REQUIRE(open != std::string::npos);
    REQUIRE(close != std::string::npos);
    std::istringstream rest{line.substr(close + 2)};
    std::string field;
    for (int i = 3; i <= 19; ++i) // fields after "pid (comm)" start at 3; nice is 19
      rest >> field;
    out.emplace_back(line.substr(open + 1, close - open - 1), std::stoi(field));
  }
  return out;
}

} // namespace

TEST_CASE("processing threads run below the acknowledgement path's priority", "[server]") {
  auto opts = no_sim();
  opts.env = {{"SWITCHBOARD_STORAGE_INGEST_WORKERS", "3"},
              {"SWITCHBOARD_DATABASE_POOL_SIZE", "2"},
              {"SWITCHBOARD_ACTORS_PROCESSING_NICE", "7"}};
  test::stack s{opts};
  int base = getpriority(PRIO_PROCESS, 0); // the server inherits this process's nice value
  if (base + 7 > 19)
    WARN("this test runs at nice " << base << ": the processing threads cannot go lower");
  auto threads = threads_of(s.server().pid());
  int ack_caf = 0, niced_caf = 0, other = 0;
  for (auto& [name, nice] : threads) {
    INFO(name << " " << nice);
    if (name.rfind("caf.", 0) == 0) {
      CHECK((nice == base || nice == std::min(19, base + 7)));
      (nice == base ? ack_caf : niced_caf)++;
    } else {
      CHECK(nice == base); // main and the HTTP server's threads
      ++other;
    }
  }
  // The ingest workers (3) and the storage workers (2), which hold row locks between statements
  // and so must not be descheduled while others wait on them.
  CHECK(ack_caf == 3 + 2);
  CHECK(niced_caf >= 2); // the scheduler, the clock
  CHECK(other >= 2);
}

TEST_CASE("the test stack starts the server on another port when its port was taken meanwhile",
          "[server]") {
  // A listener holds a port; the stack is told to use it, as if another socket had taken the
  // port the stack chose between choosing it and the server's bind.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor taken{ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  auto busy = taken.local_endpoint().port();
  auto o = no_sim();
  o.env = {{"SWITCHBOARD_SERVER_PORT", std::to_string(busy)}};
  test::stack s{o};
  CHECK(s.port() != busy);
  CHECK(s.env("SWITCHBOARD_SERVER_PUBLIC_URL") == "http://127.0.0.1:" + std::to_string(s.port()));
  CHECK(test::http_get(s.url("/healthz")).status == 200);
}
