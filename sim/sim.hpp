#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/server.hpp"

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace switchboard::sim {

/// JSON that keeps key order, so payloads are laid out like the providers' own.
using json = nlohmann::ordered_json;
using std::chrono::milliseconds;

/// Provider credentials. An empty value means the simulator accepts any value for it (an
/// Authorization header must still be present where the provider requires one).
struct credentials {
  std::string whatsapp_access_token;
  std::string whatsapp_app_secret;
  std::string twilio_account_sid;
  std::string twilio_auth_token;
  std::string mtn_client_id;
  std::string mtn_client_secret;
  std::string mtn_webhook_secret;
  std::string telegram_bot_token;
  std::string telegram_webhook_secret;
  std::string chatwoot_bot_token;  ///< an agent bot's token: only BOT_ACCESSIBLE_ENDPOINTS
  std::string chatwoot_user_token; ///< an agent's/admin's token: every endpoint
  std::string chatwoot_webhook_secret;
  std::string llm_api_key;
};

/// Start-up options, from the command line and the environment.
struct options {
  std::string http_address = "127.0.0.1";
  uint16_t http_port = 18080;
  std::string smtp_address = "127.0.0.1";
  uint16_t smtp_port = 18025;
  std::string server_url = "http://127.0.0.1:8080"; ///< default target of deliveries
  std::string public_url; ///< the server's public URL, when it differs (Twilio signs over it)
  std::size_t http_threads = 2;
  std::size_t max_records = 100000; ///< oldest recorded requests are dropped beyond this
  std::chrono::seconds mtn_token_ttl{3599};
  std::string whatsapp_status_url; ///< enables WhatsApp auto-status when not empty
  bool verbose = false;            ///< one stderr line per request
  credentials creds;
};

/// One request the simulator received, kept compact; GET /_sim/requests renders it as JSON
/// (parsing the body as JSON or form only then).
struct recorded_request {
  uint64_t seq = 0;
  std::string service; ///< provider, "smtp", or "unknown"
  std::string method;
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers; ///< as received
  std::string body;                                         ///< raw
  std::string remote;
  std::string received_at;
  int status = 0;       ///< what the simulator answered (0 = not answered: hang)
  std::string fault;    ///< "", "error", "hang" or "latency"
  std::string response; ///< the answer's body
  json extra;           ///< service-specific fields (the SMTP envelope)
};

/// One HTTP request the simulator makes to the server (a webhook).
struct outbound {
  std::string service; ///< provider, e.g. "whatsapp"
  std::string kind;    ///< e.g. "inbound", "status"
  std::string url;     ///< where it is sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  milliseconds timeout{10000};
};

/// What the server answered to an outbound request.
struct outbound_result {
  uint64_t id = 0;   ///< delivery id (see GET /_sim/deliveries)
  long status = 0;   ///< HTTP status, 0 when no answer
  std::string body;  ///< response body
  std::string error; ///< transport error, empty on an HTTP answer
  double duration_ms = 0;
};

/// The answer of a provider endpoint plus webhooks to deliver once it has been given.
struct handled {
  http::response res;
  std::vector<outbound> after;  ///< e.g. auto status callbacks, delivered in order
  milliseconds after_delay{50}; ///< wait after the response before delivering `after`
};

/// Fault injection settings of one service (see POST /_sim/faults).
struct fault_config {
  std::string path_contains;    ///< only requests whose path contains this (empty = all)
  int64_t latency_ms = 0;       ///< added before every answer
  double error_rate = 0;        ///< fraction of requests answered with error_status
  std::optional<uint64_t> seed; ///< with a seed, error_rate draws from a seeded RNG
  int error_status = 500;
  int64_t fail_next = 0; ///< the next N requests fail with error_status
  int retry_after = 1;   ///< seconds, sent with 429 answers
  bool hang = false;     ///< never answer any request
  int64_t hang_next = 0; ///< never answer the next N requests
  uint64_t seen = 0;     ///< matching requests so far (drives the deterministic rate)
  std::mt19937_64 rng;
};

/// How one request is to be treated, decided by the fault settings.
struct fault_decision {
  enum class action { none, error, hang } what = action::none;
  int status = 0;
  int retry_after = 0;
  milliseconds latency{0};
};

/// A Telegram chat the simulator knows: its Chat object, message counter and messages.
struct telegram_chat {
  json chat; ///< Chat object
  json user; ///< User object of the private chat's peer
  int64_t next_message_id = 1;
  std::map<int64_t, json> messages; ///< message_id -> Message object (both directions)
  bool blocked = false;             ///< sendMessage answers 403 "bot was blocked by the user"
};

/// One scripted answer of the LLM endpoint.
struct llm_script_entry {
  json spec; ///< {"content"} | {"tool_calls"} | {"status","body","headers"}
  int64_t remaining = 1;
};

/// How the WhatsApp endpoint answers sends to one recipient (POST /_sim/whatsapp/rules): with
/// one of Meta's per-user error codes, synchronously (HTTP 400 with the Graph error) or the way
/// Meta reports it later (200 with a wamid, then a "failed" status webhook).
struct whatsapp_rule {
  int64_t code = 0;
  bool async = false;
  int64_t remaining = -1; ///< sends it still applies to; -1: every one
};

/// Provider-side state kept in memory; guarded by sim_core::mtx.
struct provider_state {
  // WhatsApp
  std::map<std::string, whatsapp_rule> whatsapp_rules; ///< wa_id (digits) -> rule
  std::string whatsapp_status_url;
  std::vector<std::string> whatsapp_auto_statuses{"sent", "delivered"};
  milliseconds whatsapp_auto_delay{50};
  std::map<std::string, std::string> wamid_recipient; ///< wamid -> wa_id
  std::set<std::string> inbound_wamids;               ///< ids of the inbound messages sent
  uint64_t wamid_counter = 0;
  // Twilio
  bool twilio_auto_status = true;
  std::vector<std::string> twilio_auto_statuses{"sent", "delivered"};
  milliseconds twilio_auto_delay{50};
  std::map<std::string, json> twilio_messages; ///< sid -> Message resource (+ "_callback")
  // MTN
  std::map<std::string, std::chrono::steady_clock::time_point> mtn_tokens;
  // Telegram
  std::string telegram_webhook_url;
  std::string telegram_secret_token;
  int64_t telegram_next_update_id = 900000001;
  std::map<std::string, telegram_chat> telegram_chats; ///< by chat id as text
  // Chatwoot
  std::map<std::string, json> chatwoot_conversations;         ///< "account/conversation" -> state
  std::map<std::string, std::vector<json>> chatwoot_articles; ///< portal slug -> articles
  int64_t chatwoot_next_message_id = 1001;
  int64_t chatwoot_next_article_id = 1;
  // OpenAI
  std::deque<llm_script_entry> llm_script;
  uint64_t llm_counter = 0;
  // Shared
  uint64_t id_counter = 0;
};

class sim_core;

/// One control route under /_sim/: an exact method and path, and the handler that answers it.
/// sim_core::handle_control looks a request up in a table of these.
struct control_route {
  std::string method;
  std::string path;
  std::function<void(sim_core& sim, const http::request& req, http::responder& respond)> handle;
};

/// The simulator's shared machinery: recording, faults, timers, the delivery worker and the
/// provider state. Provider handlers and the SMTP sink run on I/O threads and must not block:
/// they take `mtx` only for short critical sections and defer waiting to timers and the worker.
class sim_core {
public:
  explicit sim_core(options opts);
  ~sim_core();
  sim_core(const sim_core&) = delete;
  sim_core& operator=(const sim_core&) = delete;

  /// Binds the HTTP and SMTP listeners and starts every thread; throws std::runtime_error.
  void start();
  /// Answers hung requests, stops the listeners and joins every thread.
  void stop();
  /// Bound HTTP port (after start).
  uint16_t http_port() const;
  /// Bound SMTP port (after start).
  uint16_t smtp_port() const;

  /// The start-up options.
  const options& opts() const { return opts_; }
  /// Default target of deliveries (--server-url, or POST /_sim/config).
  std::string server_url() const;
  /// The server's public URL, empty when it is the server URL (--public-url, POST /_sim/config).
  std::string public_url() const;

  /// Appends a recorded request (seq and received_at are set here) and returns its seq.
  uint64_t record(recorded_request entry);
  /// Sets the answer (status, fault if any, body) of a recorded request.
  void set_record_result(uint64_t seq, int status, std::string_view fault,
                         std::string_view response = {});
  /// Decides how the next request of `service` with `path` is treated.
  fault_decision decide_fault(const std::string& service, std::string_view path);
  /// Runs `fn` on the timer thread after `delay`.
  void run_after(milliseconds delay, std::function<void()> fn);
  /// Delivers requests in order on the delivery worker, then calls `done` there with the results.
  void deliver(std::vector<outbound> reqs,
               std::function<void(std::vector<outbound_result>)> done = nullptr);
  /// Keeps a hung request's responder (answered with 503 on reset or shutdown).
  void hold(http::responder r);
  /// A new unique number (ids, counters).
  uint64_t next_id();

  /// Lock of `state`.
  std::mutex mtx;
  /// Provider state; lock `mtx` first.
  provider_state state;

  struct impl;

private:
  void handle(http::request&& req, http::responder respond);
  void handle_control(http::request&& req, http::responder respond);
  /// The simulator's own control routes (health, requests, deliveries, faults, reset, config,
  /// help).
  static std::vector<control_route> own_routes();

  options opts_;
  mutable std::mutex url_mtx_;
  std::string server_url_;
  std::string public_url_;
  std::unique_ptr<impl> impl_;
};

/// Services that have endpoints (and fault settings).
const std::vector<std::string>& known_services();

/// Which provider a request path belongs to; empty when none.
std::string service_for_path(std::string_view path);

/// Handles one provider request that was not faulted; called on an I/O thread.
handled handle_provider(sim_core& sim, const std::string& service, const http::request& req);

/// The provider's own error answer for an injected failure with this HTTP status.
http::response provider_error(const std::string& service, int status, int retry_after,
                              const http::request& req);

/// The providers' control routes under /_sim/{provider}/ (inbound messages, statuses, scripts,
/// articles...).
std::vector<control_route> provider_control_routes();

/// Resets provider state (conversations, scripts, tokens, chats...).
void reset_provider_state(provider_state& state, const options& opts);

/// The --help text, which documents every route and the LLM rules.
std::string help_text();

/// Current time as RFC 3339 UTC with milliseconds.
std::string now_iso8601();

/// ASCII upper case.
std::string upper(std::string_view text);

/// `text` without leading and trailing blanks (space, tab, CR, LF).
std::string trim(std::string_view text);

/// Current Unix time in seconds.
int64_t now_unix();

/// JSON answer with the given status.
http::response json_response(int status, const json& body);

/// The SMTP sink (RFC 5321 subset); records every message through the sim_core.
class smtp_sink {
public:
  /// A sink that will listen on address:port, running on `io`.
  smtp_sink(sim_core& sim, boost::asio::io_context& io, std::string address, uint16_t port);
  ~smtp_sink();
  smtp_sink(const smtp_sink&) = delete;
  smtp_sink& operator=(const smtp_sink&) = delete;

  /// Binds and starts accepting; throws std::runtime_error.
  void start();
  /// Stops accepting.
  void stop();
  /// Bound port.
  uint16_t port() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace switchboard::sim
