#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <soci/soci.h>

#include "actors/metrics.hpp"
#include "actors/runtime.hpp"
#include "app/commands.hpp"
#include "config/settings.hpp"
#include "core/log.hpp"
#include "http/app.hpp"
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
  switchboard --help | --version

Without --config the embedded default configuration is used: the private PostgreSQL of
scripts/pg and the provider simulator (switchboard-sim) on 127.0.0.1. Every key can be set from
the environment as SWITCHBOARD_<SECTION>_<KEY> (see config/switchboard.example.toml); secrets
must come from there.
)";

struct cli {
  std::string config_path;
  std::string command = "serve";
  std::vector<std::string> args;
};

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

int serve(const config::settings& s) {
  // Block the termination signals before any thread starts, so that every thread inherits the
  // mask and main() alone receives them through sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (s.database.migrate_on_start)
    if (auto rc = run_migrations(s, true); rc != 0)
      return rc;
  auto stats = std::make_shared<actors::metrics>();
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
  bool command_seen = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      return 0;
    }
    if (a == "--version") {
      std::cout << "switchboard " << SB_VERSION << std::endl;
      return 0;
    }
    if (a == "--config" || a == "-c") {
      if (i + 1 >= argc)
        return fail("--config needs a file");
      c.config_path = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      c.config_path = a.substr(9);
    } else if (!command_seen && a.rfind("-", 0) != 0) {
      c.command = a;
      command_seen = true;
    } else {
      c.args.push_back(a);
    }
  }
  if (c.command != "serve" && c.command != "migrate" && c.command != "check-config"
      && c.command != "example-config" && c.command != "provider" && c.command != "telegram")
    return fail("unknown command '" + c.command + "' (see --help)");
  if (c.command == "example-config") {
    std::cout << config::example_config();
    return 0;
  }

  auto report = config::check_settings(c.config_path);
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
