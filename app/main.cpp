#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <soci/soci.h>

#include "actors/metrics.hpp"
#include "actors/runtime.hpp"
#include "app/build_info.hpp"
#include "app/commands.hpp"
#include "config/settings.hpp"
#include "core/log.hpp"
#include "http/app.hpp"
#include "http/server.hpp"
#include "storage/db.hpp"
#include "storage/migrator.hpp"

using namespace switchboard;

namespace {

constexpr const char* usage = R"(switchboard - omnichannel notification and support-bot server

Usage:
  switchboard [--config FILE] [serve]        run the server (default command)
  switchboard [--config FILE] migrate        apply pending database migrations and exit
  switchboard [--config FILE] check-config   validate the configuration, print it (secrets
                                             redacted) with what each credential is for, and
                                             exit non-zero listing every problem
  switchboard example-config                 print the example configuration: every key with
                                             its default and meaning
  switchboard [--config FILE] provider create --name NAME | rotate-key --id ID |
                                       revoke-key --id ID | list
                                             manage providers and their API keys (a new key
                                             is printed once)
  switchboard [--config FILE] telegram set-webhook --url URL
                                             register the Telegram webhook with the secret token
  switchboard COMMAND --help                 a command's usage (provider SUBCOMMAND --help)
  switchboard --help | --version             this text | version and git commit

Without --config the embedded default configuration is used: the private PostgreSQL of
scripts/pg and the provider simulator (switchboard-sim) on 127.0.0.1. Every key can be set from
the environment as SWITCHBOARD_<SECTION>_<KEY> (see config/switchboard.example.toml); secrets
must come from there.
)";

/// One command: its usage text (for `COMMAND --help` and usage errors) and whether it needs only
/// the database's settings rather than every enabled provider's secrets.
struct command_info {
  const char* name;
  const char* usage;
  bool database_only;
};

constexpr command_info commands[] = {
    {"serve",
     "Usage: switchboard [--config FILE] [serve]\n"
     "  runs the server until SIGTERM or SIGINT (then drains in-flight requests and exits 0);\n"
     "  prints {\"event\":\"ready\",\"port\":N} on stdout once listening\n",
     false},
    {"migrate",
     "Usage: switchboard [--config FILE] migrate\n"
     "  applies pending database migrations and exits; needs only database.dsn\n",
     true},
    {"check-config",
     "Usage: switchboard [--config FILE] check-config\n"
     "  validates the configuration, prints it (secrets redacted) with what each credential is\n"
     "  for, and exits 2 listing every problem\n",
     false},
    {"example-config",
     "Usage: switchboard example-config\n"
     "  prints the example configuration: every key with its default and meaning\n",
     false},
    {"openapi",
     "Usage: switchboard [--config FILE] openapi [--admin]\n"
     "  prints the OpenAPI 3.1 document GET /openapi.json serves (with --admin: the admin\n"
     "  listener's, GET /admin/v1/openapi.json), offline: no listener, no database\n",
     false},
    {"provider", nullptr, true},
    {"telegram", nullptr, false},
};

constexpr const char* usage_line
    = "Usage: switchboard [--config FILE] [COMMAND] [ARGS...] (switchboard --help lists them)\n";

const command_info* find_command(const std::string& name) {
  for (const auto& c : commands)
    if (name == c.name)
      return &c;
  return nullptr;
}

struct cli {
  std::string config_path;
  std::string command = "serve";
  std::vector<std::string> args;
  bool help = false;
  bool version = false;
  bool command_seen = false;
};

/// Prints why the command line is wrong, and how it should look; exit status 2.
int usage_error(const std::string& msg, const char* usage = usage_line) {
  std::cerr << "switchboard: " << msg << "\n" << usage;
  std::cerr.flush();
  return 2;
}

std::string unexpected(const std::string& arg) {
  return (arg.size() > 1 && arg[0] == '-' ? "unknown option '" : "unexpected argument '") + arg
         + "'";
}

/// Splits the command line: --config anywhere, --help and --version before the command, then
/// the command and its arguments. A string is the usage error, if any.
std::optional<std::string> parse(int argc, char** argv, cli& c) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" || a == "-c") {
      if (i + 1 >= argc)
        return std::string{"--config needs a file"};
      c.config_path = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      c.config_path = a.substr(9);
    } else if (c.command_seen) {
      c.args.push_back(a);
    } else if (a == "--help" || a == "-h") {
      c.help = true;
    } else if (a == "--version") {
      c.version = true;
    } else if (!a.empty() && a[0] == '-') {
      return unexpected(a);
    } else {
      c.command = a;
      c.command_seen = true;
    }
  }
  if (c.version && (c.help || c.command_seen))
    return std::string{"--version takes no command"};
  return std::nullopt;
}

int fail(const std::string& msg, int code = 2) {
  std::cerr << "switchboard: " << msg << std::endl;
  return code;
}

int run_migrations(const config::settings& s, bool quiet) {
  std::string error;
  auto sql = storage::open_session_patiently(s.database.dsn, s.database.connect_timeout, error);
  if (!sql)
    return fail("database unreachable: " + error, 1);
  auto report = storage::migrate(*sql, storage::embedded_migrations());
  if (!report)
    return fail("migration failed: " + core::reason_of(report.error()), 1);
  for (auto& name : report->applied)
    core::log(core::log_level::info, "migration applied", {{"name", name}});
  for (auto& name : report->unknown)
    core::log(core::log_level::warn, "database has a migration this binary does not know",
              {{"name", name}});
  if (!quiet)
    std::cout << "migrations: " << report->applied.size() << " applied, " << report->already_applied
              << " already applied" << std::endl;
  return 0;
}

/// `openapi [--admin]`: the route tables built as `serve` builds them, from the same settings,
/// with a database that cannot be reached and no listener bound; prints one document.
int print_openapi(config::settings s, bool admin) {
  s.database.dsn = "host=/nonexistent/switchboard-openapi dbname=none connect_timeout=1";
  s.database.reconnect_backoff = std::chrono::milliseconds{60000};
  s.database.migrate_on_start = false;
  s.admin.enabled = s.admin.enabled || admin;
  auto level = core::current_log_level();
  core::set_log_level(core::log_level::error);
  std::string text;
  {
    actors::runtime rt{s, std::make_shared<actors::metrics>()};
    try {
      http::app edge{s, rt};
      text = edge.openapi(admin);
    } catch (const std::exception& e) {
      rt.shutdown();
      return fail(e.what(), 1);
    }
    rt.shutdown();
  }
  core::set_log_level(level);
  std::cout << text << std::endl;
  return 0;
}

int serve(const config::settings& s) {
  // Block the termination signals before any thread starts, so that every thread inherits the
  // mask and main() alone receives them through sigwait.
  auto signals = http::block_termination_signals();

  if (s.database.migrate_on_start)
    if (auto rc = run_migrations(s, true); rc != 0)
      return rc;
  auto stats = std::make_shared<actors::metrics>();
  stats->set_build(SB_VERSION, app::build_commit());
  actors::runtime rt{s, stats};
  if (!rt.wait_until_ready(s.database.connect_timeout))
    core::log(core::log_level::warn, "starting while the database is not ready; /readyz says so");
  std::unique_ptr<http::app> edge;
  try {
    edge = std::make_unique<http::app>(s, rt);
    edge->start();
  } catch (const std::exception& e) {
    return fail(e.what(), 1);
  }
  core::log(core::log_level::info, "listening",
            {{"address", s.server.listen_address},
             {"port", edge->port()},
             {"admin_address", s.admin.listen_address},
             {"admin_port", edge->admin_port()}});
  std::cout << R"({"event":"ready","port":)" << edge->port() << R"(,"admin_port":)"
            << edge->admin_port() << "}" << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  // As userver and Envoy do: readiness fails first, requests are still served for the grace
  // period (the load balancer stops sending), then the listeners drain. A second signal during
  // the grace period cuts it short.
  edge->begin_drain();
  core::log(core::log_level::info, "shutting down",
            {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"},
             {"grace_ms", s.server.shutdown_grace.count()}});
  if (s.server.shutdown_grace.count() > 0) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(s.server.shutdown_grace);
    timespec wait{static_cast<time_t>(ns.count() / 1000000000),
                  static_cast<long>(ns.count() % 1000000000)};
    if (sigtimedwait(&signals, nullptr, &wait) > 0)
      core::log(core::log_level::info, "second signal: grace period cut short");
  }
  edge->stop(s.server.shutdown_drain);
  if (!rt.flush_storage(s.storage.request_timeout))
    core::log(core::log_level::warn, "storage flush incomplete at shutdown");
  rt.shutdown();
  core::log(core::log_level::info, "stopped");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  cli c;
  if (auto problem = parse(argc, argv, c))
    return usage_error(*problem);
  if (c.version) {
    std::cout << "switchboard " << SB_VERSION << " (commit " << app::build_commit() << ")"
              << std::endl;
    return 0;
  }
  if (c.help && !c.command_seen) {
    std::cout << usage;
    return 0;
  }
  auto command = find_command(c.command);
  if (command == nullptr)
    return usage_error("unknown command '" + c.command + "'");
  // `provider` and `telegram` take subcommands; the others take nothing but --help.
  bool with_subcommands = command->usage == nullptr;
  if (c.help || app::wants_help(c.args)) {
    if (c.command == "provider")
      std::cout << app::provider_help(c.args);
    else if (c.command == "telegram")
      std::cout << app::telegram_help(c.args);
    else
      std::cout << command->usage;
    return 0;
  }
  bool admin_document = false;
  if (c.command == "openapi" && !c.args.empty() && c.args.front() == "--admin") {
    admin_document = true;
    c.args.erase(c.args.begin());
  }
  if (!with_subcommands && !c.args.empty())
    return usage_error(unexpected(c.args.front()), command->usage);
  if (c.command == "example-config") {
    std::cout << config::example_config();
    return 0;
  }

  auto report = config::check_settings(c.config_path);
  if (command->database_only && !report.missing_keys.empty()) {
    // Unset provider secrets do not stop a command that only talks to the database.
    std::vector<std::string> kept;
    for (std::size_t i = 0; i < report.errors.size(); ++i)
      if (i >= report.missing_keys.size() || report.missing_keys[i].rfind("database.", 0) == 0)
        kept.push_back(report.errors[i]);
    report.errors = std::move(kept);
  }
  if (c.command == "openapi") {
    // Unset secrets change no route: only the other errors stop the document.
    std::vector<std::string> kept;
    for (std::size_t i = 0; i < report.errors.size(); ++i)
      if (i >= report.missing_keys.size())
        kept.push_back(report.errors[i]);
    report.errors = std::move(kept);
  }
  if (!report.errors.empty()) {
    for (auto& e : report.errors)
      std::cerr << "switchboard: " << e << '\n';
    std::cerr.flush();
    return 2;
  }
  auto settings = &report.loaded;
  core::set_log_level(core::parse_log_level(settings->log.level));

  if (c.command == "check-config") {
    std::cout << config::describe(*settings);
    std::cout << config::explain_credentials(*settings);
    for (auto& w : report.warnings)
      std::cout << "# warning: " << w << '\n';
    std::cout << "# configuration OK" << std::endl;
    return 0;
  }
  if (c.command == "migrate")
    return run_migrations(*settings, false);
  if (c.command == "openapi")
    return print_openapi(*settings, admin_document);
  if (c.command == "provider") {
    if (settings->database.migrate_on_start)
      if (auto rc = run_migrations(*settings, true); rc != 0)
        return rc;
    return app::run_provider_command(*settings, c.args);
  }
  if (c.command == "telegram")
    return app::run_telegram_command(*settings, c.args);
  for (auto& w : report.warnings)
    core::log(core::log_level::warn, w);
  return serve(*settings);
}
