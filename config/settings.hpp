#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bot/phrases.hpp"
#include "core/error.hpp"

namespace switchboard::config {

using std::chrono::milliseconds;
using std::chrono::seconds;

/// HTTP edge: listener, limits and deadlines.
struct server_settings {
  std::string listen_address = "127.0.0.1";
  uint16_t port = 8080;
  std::size_t threads = 2;
  std::size_t max_connections = 10000;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t body_limit = 1024 * 1024;        ///< default for routes without their own
  std::size_t webhook_body_limit = 256 * 1024; ///< provider webhooks
  milliseconds header_timeout{10000};
  milliseconds body_timeout{30000};
  milliseconds idle_timeout{75000};
  milliseconds handler_timeout{30000};
  milliseconds shutdown_drain{10000};
  /// SIGTERM: /readyz fails at once, requests are still served this long (so a load balancer
  /// stops sending first), then the drain starts.
  milliseconds shutdown_grace{5000};
  std::string public_url = "http://127.0.0.1:8080"; ///< as providers see us (Twilio signatures)
  bool bench_routes = false; ///< expose /bench/static and /bench/signed-noop (benchmarks only)
};

/// PostgreSQL connection and pool.
struct database_settings {
  std::string dsn;
  std::size_t pool_size = 4;
  bool migrate_on_start = true;
  seconds connect_timeout{5};
  milliseconds reconnect_backoff{500};
};

/// Storage actor: group commit.
struct storage_settings {
  std::size_t max_batch = 256;
  /// Connections (and threads) of their own that store webhooks, besides database.pool_size:
  /// the acknowledgement path never waits for processing.
  std::size_t ingest_workers = 2;
  /// While processing yields to the acknowledgement path (inbox.yield_*), writes and batch jobs
  /// use at most this many pool connections.
  std::size_t yield_workers = 1;
  milliseconds flush_delay{1};
  milliseconds request_timeout{10000};
};

/// Actor system.
struct actor_settings {
  std::size_t scheduler_threads = 2;
  seconds idle_passivate{300};
  /// The nice value (added to the server's) of every thread that processes (the CAF scheduler,
  /// the HTTP client; not the storage workers, which hold row locks): under contention the kernel
  /// gives the acknowledgement path (the HTTP threads and the ingest workers) the CPU first, and
  /// processing what is left but never nothing. 0: all threads alike.
  int processing_nice = 10;
};

/// Omnichannel sessions.
struct session_settings {
  seconds ttl{24 * 3600};
  seconds sweep_interval{60};
  seconds whatsapp_window{24 * 3600};
  /// Inbound messages of one user arriving within this window of the first one are answered
  /// together, with one LLM call.
  milliseconds coalesce{1500};
  /// Answers (LLM calls and the replies they send) per user: a token bucket of reply_burst
  /// answers refilled at reply_rate_per_min; messages beyond wait in the burst and get one answer
  /// when a token frees up. reply_burst 0: no limit.
  std::size_t reply_burst = 5;
  double reply_rate_per_min = 10;
};

/// The durable inbox: every verified inbound event is a row before its webhook is answered.
struct inbox_settings {
  std::size_t shards = 256;         ///< virtual shards entities hash to (fixed per cluster)
  milliseconds poll_interval{500};  ///< how often rows whose wake-up was lost are looked for
  milliseconds poll_grace{2000};    ///< rows younger than this are left to their wake-up
  seconds retention{7 * 24 * 3600}; ///< processed rows are kept this long (the dedupe window)
  std::size_t accept_batch = 200;   ///< most messages of one user one accept takes
  std::size_t max_active = 4096;    ///< entities (sessions, conversations) processing at once
  /// While webhooks arrive faster than yield_rate a second, or more than yield_backlog wait to
  /// be stored, processing takes no new entity beyond min_active live ones: the
  /// acknowledgements come first; the rows wait in the inbox. While only yield_latency is
  /// exceeded, min_active working ones (entities waiting for their gathering window or reply
  /// token do not count: actors/router.hpp).
  std::size_t yield_rate = 3000;
  std::size_t yield_backlog = 64;
  milliseconds yield_latency{10}; ///< or while 2 % of acknowledgements take longer (0: off)
  std::size_t min_active = 64;
};

/// The cluster: nodes sharing one database, each shard (inbox.shards) owned by one node through
/// a lease with epoch fencing. Off: the node processes every shard, as a single node does.
struct cluster_settings {
  bool enabled = false;
  milliseconds lease_ttl{4000}; ///< a lease lasts this long; renewed every TTL/4
  std::string address;          ///< this node's internal address, announced to the others
  bool wake_hints = true;       ///< LISTEN/NOTIFY: owners poll rows stored elsewhere at once
};

/// Retention: rows past their horizon are deleted by the sweeper, in small batches (0 = kept
/// forever). Processed inbox rows follow inbox.retention (the dedupe window).
struct retention_settings {
  seconds delivery_log{90 * 24 * 3600};  ///< final delivery-log rows, then closed sessions
  seconds notifications{90 * 24 * 3600}; ///< hand-off notifications (final), the bot's questions
  seconds parked_status{7 * 24 * 3600};  ///< status callbacks whose send was never recorded
  std::size_t batch_rows = 1000;         ///< rows one DELETE takes (one short transaction)
  std::size_t max_batches = 20;          ///< batches per table per sweep
};

/// Retries of provider calls: in-process ones of one call (LLM, Chatwoot, Telegram API), and the
/// durable schedule of outbound messages (outbox rows), each kind until its horizon.
struct retry_settings {
  milliseconds base{500};
  milliseconds max_delay{30000};
  seconds horizon{300};
  int max_attempts = 8;
  /// Delay after each failed attempt of an outbox row, the last repeating (Svix's schedule).
  std::vector<milliseconds> schedule{milliseconds{5000},     milliseconds{300000},
                                     milliseconds{1800000},  milliseconds{7200000},
                                     milliseconds{18000000}, milliseconds{36000000}};
  seconds summary_horizon{86400}; ///< a post-call summary is worth delivering for a day
  seconds reply_horizon{600};     ///< a live-chat reply: then failed (WhatsApp: SMS instead)
  seconds outbox_horizon{21600};  ///< other outbound messages and hand-off notifications
};

/// Per-provider circuit breakers of the channel adapters.
struct circuit_settings {
  int failure_threshold = 5;         ///< consecutive provider-side failures that open it
  milliseconds cooldown{30000};      ///< open this long, then one probe
  milliseconds max_cooldown{300000}; ///< a failed probe doubles the cool-down, up to this
};

/// Outbound HTTP client.
struct http_client_settings {
  milliseconds connect_timeout{3000};
  milliseconds total_timeout{15000};
  /// Connections open at once, all providers together: sized for rate x latency (1,000 sends in
  /// flight is 10 k/s at 100 ms); each provider's own share is its bulkhead below.
  std::size_t max_connections = 1024;
  /// A provider's bulkhead: its calls in flight at once, so a hung provider holds at most this
  /// many connections; its calls beyond wait in its own queue (the wait counts against
  /// total_timeout_ms), never behind another provider's.
  std::size_t max_in_flight_per_provider = 256;
  /// Per-provider bulkheads (0 = max_in_flight_per_provider); sized at least the channel's own
  /// max_in_flight, so sends do not queue twice.
  struct per_provider {
    std::size_t whatsapp = 0;
    std::size_t mtn = 512;
    std::size_t twilio = 512;
    std::size_t llm = 512;
    std::size_t telegram = 0;
    std::size_t chatwoot = 0;
    std::size_t smtp = 0;
  } max_in_flight;
};

/// Voice AI webhooks.
struct voice_settings {
  std::string token; ///< bearer token of POST /webhooks/voice/call-ended
};

/// WhatsApp Cloud API.
struct whatsapp_settings {
  bool enabled = true;
  std::string base_url = "https://graph.facebook.com";
  std::string api_version = "v21.0";
  std::string phone_number_id;
  std::string access_token;
  std::string app_secret;
  std::string verify_token;
  std::string template_name;
  std::string template_language = "en";
  std::size_t max_in_flight = 256; ///< sends awaiting Meta's answer at once
  double rate_per_s = 80;          ///< Meta's default throughput per business number; 0 = none
  bool typing_indicator
      = true; ///< mark an inbound text read, with "typing…", before the LLM answers
};

/// MTN SMS v3.
struct mtn_settings {
  std::string base_url = "https://api.mtn.com";
  std::string token_path = "/v1/oauth/access_token";
  std::string client_id;
  std::string client_secret;
  std::string sender_address;
  std::string webhook_secret;
  std::size_t max_in_flight = 512; ///< sends awaiting MTN's answer at once
  double rate_per_s = 0;           ///< sends per second at most; 0 = no limit
};

/// Twilio Messages API.
struct twilio_settings {
  std::string base_url = "https://api.twilio.com";
  std::string account_sid;
  std::string auth_token;
  std::string from_number;
  std::string messaging_service_sid;
  std::size_t max_in_flight = 512; ///< sends awaiting Twilio's answer at once
  double rate_per_s = 0;           ///< sends per second at most (Twilio queues beyond); 0 = none
};

/// SMS channel and its provider.
struct sms_settings {
  bool enabled = true;
  std::string provider = "mtn"; ///< mtn | twilio
  std::size_t max_segments = 3;
  mtn_settings mtn;
  twilio_settings twilio;
};

/// OpenAI-compatible chat completions.
struct llm_settings {
  bool enabled = false;
  std::string base_url = "https://api.openai.com";
  std::string model = "gpt-4o-mini";
  std::string api_key;
  milliseconds timeout{20000};
  std::size_t max_in_flight = 512; ///< completions awaiting the LLM at once; more wait their turn
  int max_tool_rounds = 4;
  /// Prompt files; "" = the built-in copy. A relative path in a config file is read from that
  /// file's folder.
  std::string system_prompt_file;
  std::string bot_prompt_file;
};

/// Telegram Bot API.
struct telegram_settings {
  bool enabled = false;
  std::string base_url = "https://api.telegram.org";
  std::string bot_token;
  std::string webhook_secret;
};

/// Chatwoot support bot.
struct chatwoot_settings {
  bool enabled = false;
  std::string base_url = "http://127.0.0.1:3000";
  /// The agent bot's access token: posts messages and toggles status (Chatwoot lets an agent-bot
  /// token call only its BOT_ACCESSIBLE_ENDPOINTS).
  std::string bot_token;
  /// An agent's or administrator's access token: reads the Help Center (portal articles).
  std::string user_token;
  std::string api_token;      ///< deprecated name of bot_token, read when bot_token is empty
  std::string webhook_secret; ///< optional; when set, webhooks must be signed
  /// More secrets, comma-separated (one per webhook kind, or old and new while rotating); a
  /// signature by any of these or webhook_secret is accepted.
  std::string webhook_secrets;
  seconds article_cache_ttl{300};
  double confidence_threshold = 0.55;
  double min_score = 0.5;
  std::size_t top_articles = 3;
  std::vector<std::string> handoff_phrases = core::default_handoff_phrases();
  std::size_t handoff_sms_max_segments = 2; ///< segments a hand-off notification by SMS may use
  /// Bot answers (LLM calls and their replies) per conversation: a token bucket of reply_burst
  /// answers refilled at reply_rate_per_min; questions beyond wait and get one answer together
  /// when a token frees up. reply_burst 0: no limit.
  std::size_t reply_burst = 5;
  double reply_rate_per_min = 10;

  /// The token of Help Center reads: user_token, else bot_token (refused by Chatwoot when it
  /// belongs to an agent bot).
  const std::string& help_center_token() const {
    return user_token.empty() ? bot_token : user_token;
  }
};

/// SMTP for email notifications.
struct smtp_settings {
  bool enabled = false;
  std::string url = "smtp://127.0.0.1:25";
  std::string from = "switchboard@localhost";
  std::string username;
  std::string password;
};

/// Bearer token for the /api/v1/tools API.
struct api_settings {
  std::string token;
  /// Per-key token buckets of the authenticated APIs (/api/v1/*, the voice call-ended API): burst
  /// calls in a row, refilled at rate_per_s; beyond, 429 with Retry-After. rate_per_s 0: no limit.
  double rate_per_s = 20;
  std::size_t burst = 40;
  std::size_t max_keys = 10000; ///< buckets kept at most (idle ones are forgotten first)
};

/// The admin listener: /metrics, readiness and runtime controls, off the public port.
struct admin_settings {
  bool enabled = true;
  std::string listen_address = "127.0.0.1"; ///< loopback: operators reach it through SSH/VPN
  uint16_t port = 8081;                     ///< 0 = any free port (printed at start)
  std::string token;                        ///< bearer of every admin route but the health ones
  bool metrics_on_public_port = false;      ///< also serve /metrics on the public listener
};

/// Logging.
struct log_settings {
  std::string level = "info"; ///< debug | info | warn | error
};

/// Everything the server reads from its configuration.
struct settings {
  server_settings server;
  database_settings database;
  storage_settings storage;
  actor_settings actors;
  session_settings session;
  inbox_settings inbox;
  cluster_settings cluster;
  retention_settings retention;
  retry_settings retry;
  circuit_settings circuit;
  http_client_settings http_client;
  voice_settings voice;
  whatsapp_settings whatsapp;
  sms_settings sms;
  llm_settings llm;
  telegram_settings telegram;
  chatwoot_settings chatwoot;
  smtp_settings smtp;
  api_settings api;
  admin_settings admin;
  log_settings log;
};

/// Looks up an environment variable; injectable for tests.
using env_lookup = std::optional<std::string> (*)(const char* name);

/// The process environment.
std::optional<std::string> process_env(const char* name);

/// Everything loading a configuration found: the settings (over the built-in defaults) and
/// every problem, not only the first.
struct load_report {
  settings loaded;                   ///< as far as it could be read (defaults where not)
  std::vector<std::string> errors;   ///< one line each ("config: key: what"); empty = usable
  std::vector<std::string> warnings; ///< deprecated keys and likely mistakes; the server starts
  /// When every error is a required key left unset: those keys, one per error, in order (a
  /// command that needs only some keys, such as the database's, may ignore the others).
  std::vector<std::string> missing_keys;
  core::sb_error code = core::sb_error::invalid_argument; ///< of the first error
};

/// Loads settings from TOML text (over the built-in defaults), then applies environment
/// overrides (SWITCHBOARD_<SECTION>_<KEY>) and validates. Every invalid value (unknown key, wrong
/// type, out of range) is reported; keys that are required but missing are reported when no
/// value is invalid (a misspelt key shows up as both). Relative file paths in the text are read
/// from `base_dir` (the config file's folder; "" = the working directory).
load_report check_settings_text(const std::string& toml_text, env_lookup env,
                                const std::string& origin = "config",
                                const std::string& base_dir = "");

/// check_settings_text over a file, or over the embedded default config when `path` is empty.
load_report check_settings(const std::string& path, env_lookup env = process_env);

/// check_settings_text as one result: the settings, or an error listing every problem, one a
/// line.
core::expected<settings> load_settings_text(const std::string& toml_text, env_lookup env,
                                            const std::string& origin = "config",
                                            const std::string& base_dir = "");

/// Loads settings from a file, or from the embedded default config when `path` is empty.
core::expected<settings> load_settings(const std::string& path, env_lookup env = process_env);

/// The embedded default configuration (private PostgreSQL, local provider simulator).
const std::string& embedded_default_config();

/// One documented configuration key.
struct key_info {
  std::string path; ///< e.g. "sms.mtn.client_secret"
  std::string env;  ///< e.g. "SWITCHBOARD_SMS_MTN_CLIENT_SECRET"
  bool secret;      ///< never logged; must come from the environment in production
  std::string doc;  ///< its meaning, one line
  double min = 1;   ///< inclusive bounds of a number; min > max: none
  double max = 0;
};

/// Every key the loader accepts.
std::vector<key_info> known_keys();

/// The settings as TOML-like `key = value` lines with secrets redacted (for check-config).
std::string describe(const settings& s);

/// The example configuration: every key of the key table with its default, range and meaning,
/// as TOML (`switchboard example-config`; committed as config/switchboard.example.toml).
std::string example_config();

/// What each credential of the enabled integrations is used for, as `# ` comment lines (for
/// check-config): which Chatwoot token posts and which one reads the Help Center.
std::string explain_credentials(const settings& s);

} // namespace switchboard::config
