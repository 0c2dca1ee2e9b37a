#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/process.hpp"

namespace switchboard::test {

/// What to start for an end-to-end test.
struct stack_options {
  bool with_sim = true; ///< start switchboard-sim and point every provider at it
  std::string sms_provider = "mtn";
  /// Extra SWITCHBOARD_* variables for the server (override the defaults below).
  std::vector<std::pair<std::string, std::string>> env;
  bool capture_server_stderr = true;
};

/// A private stack: a scratch database, the provider simulator and the switchboard server as
/// processes on ephemeral ports, configured through the embedded default config plus
/// SWITCHBOARD_* environment variables holding freshly generated secrets.
class stack {
public:
  explicit stack(stack_options opts = {});
  ~stack();

  /// URL of a path on the server.
  std::string url(const std::string& path) const;
  /// URL of a path on the simulator.
  std::string sim_url(const std::string& path) const;
  /// The server's port.
  uint16_t port() const { return port_; }
  /// The admin listener's port (0 when it is off).
  uint16_t admin_port() const { return admin_port_; }
  /// http://127.0.0.1:<admin port><path>
  std::string admin_url(const std::string& path) const;
  /// The simulator's HTTP and SMTP ports.
  uint16_t sim_port() const { return sim_port_; }
  uint16_t smtp_port() const { return smtp_port_; }
  /// The value of a SWITCHBOARD_* variable given to the server (secrets included).
  std::string env(const std::string& name) const;
  /// The scratch database.
  const scratch_db& db() const { return db_; }
  /// The server process.
  child_process& server() { return *server_; }
  /// Stops the server (SIGTERM) and returns its exit status.
  int stop_server();
  /// Starts the server again with the same settings.
  void restart_server();
  /// Starts another server process on the same database and simulator, with the same settings
  /// but its own ports, plus `extra` SWITCHBOARD_* variables (a second node of a cluster). The
  /// caller owns it; its public port is ready().at("port").
  std::unique_ptr<child_process>
  start_node(const std::vector<std::pair<std::string, std::string>>& extra = {}) const;
  /// Recorded simulator requests of a service (since `since`).
  nlohmann::json sim_requests(const std::string& service, long since = 0) const;

private:
  void start_server();
  /// A free port for the server, and the public URL on it.
  void choose_server_port();

  stack_options opts_;
  scratch_db db_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<child_process> sim_;
  std::unique_ptr<child_process> server_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  uint16_t sim_port_ = 0;
  uint16_t smtp_port_ = 0;
};

/// The one integer a query returns (a count(*)): -1 when it returns NULL.
/// Recorded simulator requests of a service whose path contains `part`.
nlohmann::json sim_sent(const stack& s, const std::string& service, const std::string& part);

long long count(const stack& s, const std::string& query);

/// A signed MTN inbound webhook (one SMS from `from`) straight to the server.
http_result mtn_inbound(const stack& s, const std::string& id, const std::string& from,
                        const std::string& text);

/// The same, to the server listening on `port` (another node of the stack).
http_result mtn_inbound(uint16_t port, const stack& s, const std::string& id,
                        const std::string& from, const std::string& text);

/// POSTs a control request to the simulator and returns its JSON answer; throws unless 2xx.
nlohmann::json sim_control(const stack& s, const std::string& path, const nlohmann::json& body);

/// Loads the fixture Help Center (tests/fixtures/articles) into the simulator's Chatwoot portal
/// `portal`, replacing what it held.
void load_help_center(const stack& s, const std::string& portal);

/// A provider ("Acme Repairs") owning Chatwoot account `account` with Help Center portal
/// `portal`, notified of hand-offs via `via` (telegram: chat `telegram_chat`; sms: +250788000999;
/// email: desk@acme.example).
void configure_bot_provider(const stack& s, long long account, const std::string& portal,
                            const std::string& via, long long telegram_chat);

/// A free loopback port, bound and released: for a child that must be told its port up front
/// (it binds it right after).
uint16_t free_port();

/// Polls `pred` every 20 ms until it holds or `limit` passes; returns whether it held.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds limit = std::chrono::milliseconds{10000});

} // namespace switchboard::test
