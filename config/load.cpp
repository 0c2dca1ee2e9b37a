#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "config/settings.hpp"

namespace switchboard::config {

using core::sb_error;

namespace {

enum class kind {
  text,
  secret,
  path,
  boolean,
  u16,
  size,
  integer,
  real,
  ms,
  sec,
  text_list,
  ms_list
};

/// Inclusive bounds of a numeric key; lo > hi: none.
struct bounds {
  double lo;
  double hi;
};
constexpr bounds none{1, 0};

/// One configuration key bound to a member of `settings`.
struct field {
  const char* path;
  kind k;
  void* target;
  bounds range;
  const char* doc; ///< one line for the example config
};

/// A section's header comment in the example config.
struct section_doc {
  const char* name;
  const char* doc;
};

const std::vector<section_doc>& section_docs() {
  static const std::vector<section_doc> docs{
      {"server", "HTTP edge: listener, limits and deadlines."},
      {"database", "PostgreSQL connection and pool."},
      {"storage", "Storage actor: group commit."},
      {"actors", "Actor system."},
      {"session", "Omnichannel sessions."},
      {"inbox",
       "The durable inbox: every verified inbound event is a row before its webhook is answered."},
      {"retry",
       "Retries of provider calls. base_ms .. horizon_s: in-process retries of one call (LLM, "
       "Chatwoot, Telegram API). Outbound messages are retried durably (from the outbox) on "
       "schedule_ms until their kind's horizon, then marked failed."},
      {"circuit",
       "Per-provider circuit breakers: after failure_threshold consecutive provider-side failures "
       "(5xx, 408, 429, timeouts, connection errors) sends to that provider wait, unattempted, "
       "for the cool-down; then one probe send decides."},
      {"http_client", "Outbound HTTP client."},
      {"http_client.max_in_flight",
       "Per-provider bulkheads, overriding http_client.max_in_flight_per_provider (0 = that). "
       "Size each at least its channel's own max_in_flight, so sends do not queue twice."},
      {"voice", "Voice AI webhooks."},
      {"whatsapp", "WhatsApp Cloud API."},
      {"sms", "SMS channel and its provider."},
      {"sms.mtn", "MTN SMS v3."},
      {"sms.twilio", "Twilio Messages API."},
      {"llm", "OpenAI-compatible chat completions."},
      {"telegram", "Telegram Bot API."},
      {"chatwoot",
       "Chatwoot support bot. Two tokens: the agent bot's (Settings > Bots) may only post messages "
       "and toggle status; Help Center reads need a user's (Profile settings > Access token)."},
      {"smtp", "SMTP for email notifications."},
      {"api", "The /api/v1/tools API."},
      {"log", "Logging."},
  };
  return docs;
}

bool is_secret(const field& f) {
  return f.k == kind::secret;
}

bool is_text(kind k) {
  return k == kind::text || k == kind::secret || k == kind::path;
}

std::vector<field> fields_of(settings& s) {
  // One entry (one line) a key: path, kind, member, bounds (numbers; `none` otherwise), meaning.
  // The default is the member's initializer in settings.hpp. To add a key: the member there, a
  // line here in its section's place, then regenerate the example
  // (build/app/switchboard example-config > config/switchboard.example.toml); a unit test fails
  // until the committed example matches. Cross-key rules and "required when" go in validate().
  // clang-format off
  return {
      {"server.listen_address", kind::text, &s.server.listen_address, none, "address to bind (\"0.0.0.0\": every interface)"},
      {"server.port", kind::u16, &s.server.port, {0, 65535}, "0 = any free port (printed at start)"},
      {"server.threads", kind::size, &s.server.threads, {1, 256}, "HTTP I/O threads"},
      {"server.max_connections", kind::size, &s.server.max_connections, {1, 1000000}, "more are answered 503 and closed"},
      {"server.max_header_bytes", kind::size, &s.server.max_header_bytes, {1024, 1048576}, "larger headers: 431"},
      {"server.body_limit", kind::size, &s.server.body_limit, {1024, 1073741824}, "default body limit (413 before reading past it)"},
      {"server.webhook_body_limit", kind::size, &s.server.webhook_body_limit, {1024, 67108864}, "body limit of /webhooks/* routes"},
      {"server.header_timeout_ms", kind::ms, &s.server.header_timeout, {100, 600000}, "from a request's first byte to the end of its header"},
      {"server.body_timeout_ms", kind::ms, &s.server.body_timeout, {100, 3600000}, "reading the body"},
      {"server.idle_timeout_ms", kind::ms, &s.server.idle_timeout, {100, 3600000}, "keep-alive wait for the next request"},
      {"server.handler_timeout_ms", kind::ms, &s.server.handler_timeout, {100, 600000}, "a request not answered by then gets 503"},
      {"server.shutdown_drain_ms", kind::ms, &s.server.shutdown_drain, {0, 600000}, "SIGTERM: time given to in-flight requests"},
      {"server.public_url", kind::text, &s.server.public_url, none, "our URL as providers see it (Twilio signatures cover it)"},
      {"server.bench_routes", kind::boolean, &s.server.bench_routes, none, "/bench/static and /bench/signed-noop, for scripts/bench only"},
      {"database.dsn", kind::secret, &s.database.dsn, none, "libpq DSN or URI"},
      {"database.pool_size", kind::size, &s.database.pool_size, {1, 256}, "connections, one per storage worker"},
      {"database.migrate_on_start", kind::boolean, &s.database.migrate_on_start, none, "apply pending migrations when `serve` starts"},
      {"database.connect_timeout_s", kind::sec, &s.database.connect_timeout, {1, 600}, "waiting for the database at start"},
      {"database.reconnect_backoff_ms", kind::ms, &s.database.reconnect_backoff, {1, 60000}, "first delay between reconnect attempts (doubles, max 30 s)"},
      {"storage.max_batch", kind::size, &s.storage.max_batch, {1, 100000}, "writes per group-commit transaction"},
      {"storage.yield_workers", kind::size, &s.storage.yield_workers, {1, 256}, "pool connections writes may use while processing yields to acknowledgements"},
      {"storage.ingest_workers", kind::size, &s.storage.ingest_workers, {1, 64}, "connections of their own (besides the pool) storing webhooks"},
      {"storage.flush_delay_ms", kind::ms, &s.storage.flush_delay, {0, 1000}, "how long a write may wait for others to join its batch"},
      {"storage.request_timeout_ms", kind::ms, &s.storage.request_timeout, {100, 600000}, "a storage request not answered by then fails"},
      {"actors.scheduler_threads", kind::size, &s.actors.scheduler_threads, {1, 256}, "CAF worker threads (policy: sharing)"},
      {"actors.processing_nice", kind::integer, &s.actors.processing_nice, {0, 19}, "nice value added to processing threads, so acknowledgements get the CPU first (0: same priority)"},
      {"actors.idle_passivate_s", kind::sec, &s.actors.idle_passivate, {1, 604800}, "session/conversation actors idle this long are stopped"},
      {"session.ttl_s", kind::sec, &s.session.ttl, {1, 2592000}, "session expiry after the last activity"},
      {"session.sweep_interval_s", kind::sec, &s.session.sweep_interval, {1, 86400}, "how often expired sessions are closed in the database"},
      {"session.whatsapp_window_s", kind::sec, &s.session.whatsapp_window, {1, 86400}, "free-form WhatsApp only within this time of the user's last message (Meta: 24 h)"},
      {"session.coalesce_ms", kind::ms, &s.session.coalesce, {0, 60000}, "messages of one user within this window get one answer (one LLM call)"},
      {"inbox.shards", kind::size, &s.inbox.shards, {1, 65536}, "virtual shards entities hash to; fixed for the life of a cluster"},
      {"inbox.poll_interval_ms", kind::ms, &s.inbox.poll_interval, {10, 600000}, "how often pending rows whose wake-up was lost are looked for"},
      {"inbox.poll_grace_ms", kind::ms, &s.inbox.poll_grace, {0, 3600000}, "pending rows younger than this are left to their wake-up"},
      {"inbox.retention_s", kind::sec, &s.inbox.retention, {60, 31536000}, "processed rows are kept this long: the dedupe window"},
      {"inbox.accept_batch", kind::size, &s.inbox.accept_batch, {1, 100000}, "most inbound messages one set-based accept takes"},
      {"inbox.max_active", kind::size, &s.inbox.max_active, {1, 1000000}, "sessions/conversations processing at once; more wait in the inbox"},
      {"inbox.yield_rate", kind::size, &s.inbox.yield_rate, {0, 10000000}, "while webhooks arrive faster than this a second, processing yields (acks first)"},
      {"inbox.yield_backlog", kind::size, &s.inbox.yield_backlog, {0, 1000000}, "or while more than this many wait to be stored"},
      {"inbox.yield_latency_ms", kind::ms, &s.inbox.yield_latency, {0, 60000}, "or for a second after an acknowledgement took longer than this (0: off)"},
      {"inbox.min_active", kind::size, &s.inbox.min_active, {0, 1000000}, "while yielding, no new entity beyond this many (at most max_active)"},
      {"retry.base_ms", kind::ms, &s.retry.base, {1, 600000}, "first retry delay (exponential, full jitter; at most max_delay_ms)"},
      {"retry.max_delay_ms", kind::ms, &s.retry.max_delay, {1, 3600000}, "cap of one delay"},
      {"retry.horizon_s", kind::sec, &s.retry.horizon, {1, 604800}, "an in-process call gives up after this long"},
      {"retry.max_attempts", kind::integer, &s.retry.max_attempts, {1, 100}, "attempts of one provider call at most"},
      {"retry.schedule_ms", kind::ms_list, &s.retry.schedule, {1, 86400000}, "outbox rows: delay after each failed attempt (the last repeats), jittered down by up to 25 %"},
      {"retry.summary_horizon_s", kind::sec, &s.retry.summary_horizon, {1, 2592000}, "a post-call summary is retried this long after it was queued, then failed"},
      {"retry.reply_horizon_s", kind::sec, &s.retry.reply_horizon, {1, 2592000}, "a reply to a live chat: then failed (a WhatsApp reply goes by SMS instead when it can)"},
      {"retry.outbox_horizon_s", kind::sec, &s.retry.outbox_horizon, {1, 2592000}, "other outbound messages and hand-off notifications"},
      {"circuit.failure_threshold", kind::integer, &s.circuit.failure_threshold, {1, 100000}, "consecutive provider-side failures that open a provider's breaker"},
      {"circuit.cooldown_ms", kind::ms, &s.circuit.cooldown, {1, 86400000}, "an open breaker holds sends back this long, then lets one probe through"},
      {"circuit.max_cooldown_ms", kind::ms, &s.circuit.max_cooldown, {1, 86400000}, "each failed probe doubles the cool-down, up to this"},
      {"http_client.connect_timeout_ms", kind::ms, &s.http_client.connect_timeout, {100, 120000}, "connecting to a provider"},
      {"http_client.total_timeout_ms", kind::ms, &s.http_client.total_timeout, {100, 600000}, "one provider call, connect to last byte"},
      {"http_client.max_connections", kind::size, &s.http_client.max_connections, {1, 100000}, "outbound connections at once, all providers (rate x latency)"},
      {"http_client.max_in_flight_per_provider", kind::size, &s.http_client.max_in_flight_per_provider, {1, 100000}, "one provider's calls at once (its bulkhead: a hung provider holds no more); more wait in its own queue"},
      {"http_client.max_in_flight.whatsapp", kind::size, &s.http_client.max_in_flight.whatsapp, {0, 100000}, "WhatsApp Cloud API calls at once (sends, typing indicators)"},
      {"http_client.max_in_flight.mtn", kind::size, &s.http_client.max_in_flight.mtn, {0, 100000}, "MTN calls at once (sends, OAuth tokens)"},
      {"http_client.max_in_flight.twilio", kind::size, &s.http_client.max_in_flight.twilio, {0, 100000}, "Twilio calls at once"},
      {"http_client.max_in_flight.llm", kind::size, &s.http_client.max_in_flight.llm, {0, 100000}, "LLM completions at once"},
      {"http_client.max_in_flight.telegram", kind::size, &s.http_client.max_in_flight.telegram, {0, 100000}, "Telegram Bot API calls at once"},
      {"http_client.max_in_flight.chatwoot", kind::size, &s.http_client.max_in_flight.chatwoot, {0, 100000}, "Chatwoot API calls at once"},
      {"http_client.max_in_flight.smtp", kind::size, &s.http_client.max_in_flight.smtp, {0, 100000}, "SMTP sessions at once"},
      {"voice.token", kind::secret, &s.voice.token, none, "bearer token of POST /webhooks/voice/call-ended"},
      {"whatsapp.enabled", kind::boolean, &s.whatsapp.enabled, none, "the WhatsApp Cloud API channel"},
      {"whatsapp.base_url", kind::text, &s.whatsapp.base_url, none, "Graph API"},
      {"whatsapp.api_version", kind::text, &s.whatsapp.api_version, none, "Graph API version in the URL"},
      {"whatsapp.phone_number_id", kind::text, &s.whatsapp.phone_number_id, none, "the business number's id (required when enabled)"},
      {"whatsapp.access_token", kind::secret, &s.whatsapp.access_token, none, "Cloud API bearer token"},
      {"whatsapp.app_secret", kind::secret, &s.whatsapp.app_secret, none, "verifies X-Hub-Signature-256"},
      {"whatsapp.verify_token", kind::secret, &s.whatsapp.verify_token, none, "GET /webhooks/whatsapp handshake"},
      {"whatsapp.template_name", kind::text, &s.whatsapp.template_name, none, "approved template for summaries outside the 24 h window (\"\" = SMS only)"},
      {"whatsapp.template_language", kind::text, &s.whatsapp.template_language, none, "the template's language code"},
      {"whatsapp.max_in_flight", kind::size, &s.whatsapp.max_in_flight, {1, 100000}, "sends awaiting Meta's answer at once"},
      {"whatsapp.rate_per_s", kind::real, &s.whatsapp.rate_per_s, {0, 100000}, "Meta's default throughput per business number; 0 = no limit"},
      {"whatsapp.typing_indicator", kind::boolean, &s.whatsapp.typing_indicator, none, "mark an inbound text read with the typing indicator before the LLM answers it"},
      {"sms.enabled", kind::boolean, &s.sms.enabled, none, "the SMS channel"},
      {"sms.provider", kind::text, &s.sms.provider, none, "mtn | twilio"},
      {"sms.max_segments", kind::size, &s.sms.max_segments, {1, 10}, "summaries and replies are cut (with an ellipsis) to fit"},
      {"sms.mtn.base_url", kind::text, &s.sms.mtn.base_url, none, "MTN API"},
      {"sms.mtn.token_path", kind::text, &s.sms.mtn.token_path, none, "OAuth2 client-credentials token endpoint"},
      {"sms.mtn.client_id", kind::text, &s.sms.mtn.client_id, none, "OAuth2 client id (required with provider mtn)"},
      {"sms.mtn.client_secret", kind::secret, &s.sms.mtn.client_secret, none, "OAuth2 client secret"},
      {"sms.mtn.sender_address", kind::text, &s.sms.mtn.sender_address, none, "sender id or short code (required with provider mtn)"},
      {"sms.mtn.webhook_secret", kind::secret, &s.sms.mtn.webhook_secret, none, "verifies X-MTN-Signature of inbound SMS"},
      {"sms.mtn.max_in_flight", kind::size, &s.sms.mtn.max_in_flight, {1, 100000}, "sends awaiting MTN's answer at once"},
      {"sms.mtn.rate_per_s", kind::real, &s.sms.mtn.rate_per_s, {0, 100000}, "sends per second at most; 0 = no limit"},
      {"sms.twilio.base_url", kind::text, &s.sms.twilio.base_url, none, "Twilio API"},
      {"sms.twilio.account_sid", kind::text, &s.sms.twilio.account_sid, none, "AC... (required with provider twilio)"},
      {"sms.twilio.auth_token", kind::secret, &s.sms.twilio.auth_token, none, "basic auth and X-Twilio-Signature"},
      {"sms.twilio.from_number", kind::text, &s.sms.twilio.from_number, none, "E.164 sender, or:"},
      {"sms.twilio.messaging_service_sid", kind::text, &s.sms.twilio.messaging_service_sid, none, "MG... messaging service"},
      {"sms.twilio.max_in_flight", kind::size, &s.sms.twilio.max_in_flight, {1, 100000}, "sends awaiting Twilio's answer at once"},
      {"sms.twilio.rate_per_s", kind::real, &s.sms.twilio.rate_per_s, {0, 100000}, "sends per second at most (Twilio queues beyond); 0 = no limit"},
      {"llm.enabled", kind::boolean, &s.llm.enabled, none, "off: the built-in deterministic responder answers"},
      {"llm.base_url", kind::text, &s.llm.base_url, none, "OpenAI-compatible chat completions"},
      {"llm.model", kind::text, &s.llm.model, none, "model name"},
      {"llm.api_key", kind::secret, &s.llm.api_key, none, "bearer token of the LLM API"},
      {"llm.timeout_ms", kind::ms, &s.llm.timeout, {100, 600000}, "one completion"},
      {"llm.max_in_flight", kind::size, &s.llm.max_in_flight, {1, 100000}, "completions awaiting the LLM at once; more wait their turn"},
      {"llm.max_tool_rounds", kind::integer, &s.llm.max_tool_rounds, {1, 16}, "tool-call rounds per answer at most"},
      {"llm.system_prompt_file", kind::path, &s.llm.system_prompt_file, none, "post-call follow-up prompt; \"\" = built-in copy of config/prompts/post_call_followup.txt; relative: from this file's folder"},
      {"llm.bot_prompt_file", kind::path, &s.llm.bot_prompt_file, none, "support-bot prompt; \"\" = built-in copy of config/prompts/support_bot.txt; relative: from this file's folder"},
      {"telegram.enabled", kind::boolean, &s.telegram.enabled, none, "the Telegram bot (hand-off notifications and provider replies)"},
      {"telegram.base_url", kind::text, &s.telegram.base_url, none, "Bot API"},
      {"telegram.bot_token", kind::secret, &s.telegram.bot_token, none, "the bot's token from @BotFather"},
      {"telegram.webhook_secret", kind::secret, &s.telegram.webhook_secret, none, "X-Telegram-Bot-Api-Secret-Token: 1 to 256 of A-Z a-z 0-9 _ -"},
      {"chatwoot.enabled", kind::boolean, &s.chatwoot.enabled, none, "the Chatwoot support bot"},
      {"chatwoot.base_url", kind::text, &s.chatwoot.base_url, none, "your Chatwoot (e.g. https://app.chatwoot.com)"},
      {"chatwoot.bot_token", kind::secret, &s.chatwoot.bot_token, none, "the agent bot's access token: posts replies and private notes, toggles status"},
      {"chatwoot.user_token", kind::secret, &s.chatwoot.user_token, none, "an agent's or admin's access token: reads the Help Center (bot tokens may not)"},
      {"chatwoot.api_token", kind::secret, &s.chatwoot.api_token, none, "deprecated: read as chatwoot.bot_token when that is not set"},
      {"chatwoot.webhook_secret", kind::secret, &s.chatwoot.webhook_secret, none, "optional; when set, X-Chatwoot-Signature is required"},
      {"chatwoot.webhook_secrets", kind::secret, &s.chatwoot.webhook_secrets, none, "more accepted secrets, comma-separated (account, API-inbox and agent-bot webhooks each have their own; rotation)"},
      {"chatwoot.article_cache_ttl_s", kind::sec, &s.chatwoot.article_cache_ttl, {0, 86400}, "Help Center articles are cached per portal (served stale while refreshing)"},
      {"chatwoot.confidence_threshold", kind::real, &s.chatwoot.confidence_threshold, {0, 1}, "answers below it are handed to a human"},
      {"chatwoot.min_score", kind::real, &s.chatwoot.min_score, {0, 100}, "best article below this BM25 score: hand over"},
      {"chatwoot.top_articles", kind::size, &s.chatwoot.top_articles, {1, 20}, "articles given to the LLM"},
      {"chatwoot.handoff_phrases", kind::text_list, &s.chatwoot.handoff_phrases, none, "a customer message with one of these goes to a human"},
      {"chatwoot.handoff_sms_max_segments", kind::size, &s.chatwoot.handoff_sms_max_segments, {1, 10}, "hand-off notifications by SMS are cut to fit"},
      {"smtp.enabled", kind::boolean, &s.smtp.enabled, none, "email notifications"},
      {"smtp.url", kind::text, &s.smtp.url, none, "smtp:// or smtps://host:port"},
      {"smtp.from", kind::text, &s.smtp.from, none, "sender address"},
      {"smtp.username", kind::text, &s.smtp.username, none, "\"\" = no authentication"},
      {"smtp.password", kind::secret, &s.smtp.password, none, "SMTP password"},
      {"api.token", kind::secret, &s.api.token, none, "bearer token of /api/v1/tools"},
      {"log.level", kind::text, &s.log.level, none, "debug | info | warn | error"},
  };
  // clang-format on
}

std::string env_name(const std::string& path) {
  std::string out = "SWITCHBOARD_";
  for (char c : path)
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string key_error(const std::string& origin, const std::string& key, const std::string& what) {
  return origin + ": " + key + ": " + what;
}

/// Assigns a TOML value to a field; the error names the key and the expected type. A relative
/// path is taken from `base_dir`.
std::optional<std::string> assign(const field& f, const toml::node& node, const std::string& origin,
                                  const std::string& base_dir = "") {
  auto want = [&](const char* type) {
    return key_error(origin, f.path, std::string{"expected "} + type);
  };
  auto as_int = [&](int64_t lo, int64_t hi) -> std::optional<int64_t> {
    auto v = node.value<int64_t>();
    if (!v || *v < lo || *v > hi)
      return std::nullopt;
    return v;
  };
  switch (f.k) {
  case kind::text:
  case kind::secret:
  case kind::path:
    if (auto v = node.value<std::string>(); v && node.is_string()) {
      auto& out = *static_cast<std::string*>(f.target);
      out = *v;
      if (f.k == kind::path && !out.empty() && !base_dir.empty()
          && std::filesystem::path{out}.is_relative())
        out = (std::filesystem::path{base_dir} / out).lexically_normal().string();
      return std::nullopt;
    }
    return want("a string");
  case kind::boolean:
    if (node.is_boolean()) {
      *static_cast<bool*>(f.target) = *node.value<bool>();
      return std::nullopt;
    }
    return want("true or false");
  case kind::u16:
    if (auto v = node.is_integer() ? as_int(0, 65535) : std::nullopt) {
      *static_cast<uint16_t*>(f.target) = static_cast<uint16_t>(*v);
      return std::nullopt;
    }
    return want("an integer from 0 to 65535");
  case kind::size:
    if (auto v = node.is_integer() ? as_int(0, INT64_MAX) : std::nullopt) {
      *static_cast<std::size_t*>(f.target) = static_cast<std::size_t>(*v);
      return std::nullopt;
    }
    return want("a non-negative integer");
  case kind::integer:
    if (auto v = node.is_integer() ? as_int(INT32_MIN, INT32_MAX) : std::nullopt) {
      *static_cast<int*>(f.target) = static_cast<int>(*v);
      return std::nullopt;
    }
    return want("an integer");
  case kind::real:
    if (node.is_number()) {
      *static_cast<double*>(f.target) = *node.value<double>();
      return std::nullopt;
    }
    return want("a number");
  case kind::ms:
    if (auto v = node.is_integer() ? as_int(0, INT64_MAX) : std::nullopt) {
      *static_cast<milliseconds*>(f.target) = milliseconds{*v};
      return std::nullopt;
    }
    return want("a non-negative integer (milliseconds)");
  case kind::sec:
    if (auto v = node.is_integer() ? as_int(0, INT64_MAX) : std::nullopt) {
      *static_cast<seconds*>(f.target) = seconds{*v};
      return std::nullopt;
    }
    return want("a non-negative integer (seconds)");
  case kind::text_list: {
    auto arr = node.as_array();
    if (!arr)
      return want("an array of strings");
    std::vector<std::string> out;
    for (auto& el : *arr) {
      if (!el.is_string())
        return want("an array of strings");
      out.push_back(*el.value<std::string>());
    }
    *static_cast<std::vector<std::string>*>(f.target) = std::move(out);
    return std::nullopt;
  }
  case kind::ms_list: {
    if (auto v = node.is_integer() ? as_int(0, INT64_MAX) : std::nullopt) {
      // One number: the same delay every time.
      *static_cast<std::vector<milliseconds>*>(f.target) = {milliseconds{*v}};
      return std::nullopt;
    }
    auto arr = node.as_array();
    if (!arr || arr->empty())
      return want("a non-empty array of non-negative integers (milliseconds)");
    std::vector<milliseconds> out;
    for (auto& el : *arr) {
      auto v = el.value<int64_t>();
      if (!el.is_integer() || !v || *v < 0)
        return want("a non-empty array of non-negative integers (milliseconds)");
      out.emplace_back(*v);
    }
    *static_cast<std::vector<milliseconds>*>(f.target) = std::move(out);
    return std::nullopt;
  }
  }
  return want("a value");
}

/// Parses an environment value for a field by reading it as a TOML value of the field's type.
std::optional<std::string> assign_env(const field& f, const std::string& name,
                                      const std::string& value) {
  if (is_text(f.k)) {
    *static_cast<std::string*>(f.target) = value;
    return std::nullopt;
  }
  try {
    auto tbl = toml::parse("v = " + value);
    if (auto node = tbl.get("v"))
      return assign(f, *node, "environment " + name);
  } catch (const toml::parse_error&) {
  }
  return key_error("environment " + name, f.path, "cannot parse '" + value + "'");
}

void collect_leaves(const toml::table& tbl, const std::string& prefix,
                    std::vector<std::pair<std::string, const toml::node*>>& out) {
  for (auto& [k, node] : tbl) {
    auto path = prefix.empty() ? std::string{k.str()} : prefix + "." + std::string{k.str()};
    if (auto sub = node.as_table())
      collect_leaves(*sub, path, out);
    else
      out.emplace_back(path, &node);
  }
}

bool is_http_url(const std::string& s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

/// A number as the config shows it: integers without a fraction, reals with one.
std::string number_text(double v, bool real) {
  std::ostringstream out;
  out.precision(15);
  out << v;
  auto text = out.str();
  if (real && text.find_first_of(".eEn") == std::string::npos)
    text += ".0";
  return text;
}

/// A field's value as a number, for its bounds.
std::optional<double> numeric_value(const field& f) {
  switch (f.k) {
  case kind::u16:
    return *static_cast<const uint16_t*>(f.target);
  case kind::size:
    return static_cast<double>(*static_cast<const std::size_t*>(f.target));
  case kind::integer:
    return *static_cast<const int*>(f.target);
  case kind::real:
    return *static_cast<const double*>(f.target);
  case kind::ms:
    return static_cast<double>(static_cast<const milliseconds*>(f.target)->count());
  case kind::sec:
    return static_cast<double>(static_cast<const seconds*>(f.target)->count());
  default:
    return std::nullopt;
  }
}

std::string range_text(const field& f) {
  bool real = f.k == kind::real;
  return number_text(f.range.lo, real) + " to " + number_text(f.range.hi, real);
}

/// Telegram's rule for secret_token: 1 to 256 characters of A-Z, a-z, 0-9, _ and -.
bool valid_telegram_secret(const std::string& s) {
  return !s.empty() && s.size() <= 256 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

/// Appends every invalid value to `errs` and every missing required key to `missing`.
void validate(settings& s, std::vector<std::string>& errs, std::vector<std::string>& missing) {
  auto bad = [&](const char* key, const std::string& what) {
    errs.push_back(std::string{"config: "} + key + ": " + what);
  };
  auto req = [&](const std::string& v, const char* key, const std::string& when = "") {
    if (v.empty())
      missing.push_back(std::string{"config: "} + key + ": required" + when + " (set "
                        + env_name(key) + ")");
  };
  for (auto& f : fields_of(s))
    if (f.range.lo <= f.range.hi)
      if (auto v = numeric_value(f); v && (*v < f.range.lo || *v > f.range.hi))
        bad(f.path,
            "must be from " + range_text(f) + " (is " + number_text(*v, f.k == kind::real) + ")");
  if (s.retry.base > s.retry.max_delay)
    bad("retry.base_ms", "must be at most retry.max_delay_ms");
  for (auto& f : fields_of(s))
    if (f.k == kind::ms_list && f.range.lo <= f.range.hi)
      for (auto v : *static_cast<const std::vector<milliseconds>*>(f.target))
        if (v.count() < f.range.lo || v.count() > f.range.hi)
          bad(f.path, "must be from " + range_text(f) + " (one delay is "
                          + std::to_string(v.count()) + ")");
  if (s.circuit.cooldown > s.circuit.max_cooldown)
    bad("circuit.cooldown_ms", "must be at most circuit.max_cooldown_ms");
  if (s.inbox.min_active > s.inbox.max_active)
    bad("inbox.min_active", "must be at most inbox.max_active");
  req(s.database.dsn, "database.dsn");
  req(s.voice.token, "voice.token");
  req(s.api.token, "api.token");
  if (!is_http_url(s.server.public_url))
    bad("server.public_url", "must start with http:// or https://");
  static const std::set<std::string> levels{"debug", "info", "warn", "error"};
  if (!levels.count(s.log.level))
    bad("log.level", "must be one of debug, info, warn, error");
  if (s.whatsapp.enabled) {
    std::string when = " when whatsapp.enabled = true";
    if (!is_http_url(s.whatsapp.base_url))
      bad("whatsapp.base_url", "must start with http:// or https://");
    req(s.whatsapp.phone_number_id, "whatsapp.phone_number_id", when);
    req(s.whatsapp.access_token, "whatsapp.access_token", when);
    req(s.whatsapp.app_secret, "whatsapp.app_secret", when);
    req(s.whatsapp.verify_token, "whatsapp.verify_token", when);
  }
  if (s.sms.provider != "mtn" && s.sms.provider != "twilio")
    bad("sms.provider", "must be \"mtn\" or \"twilio\"");
  if (s.sms.enabled && s.sms.provider == "mtn") {
    std::string when = " when sms.provider = \"mtn\"";
    if (!is_http_url(s.sms.mtn.base_url))
      bad("sms.mtn.base_url", "must start with http:// or https://");
    req(s.sms.mtn.client_id, "sms.mtn.client_id", when);
    req(s.sms.mtn.client_secret, "sms.mtn.client_secret", when);
    req(s.sms.mtn.sender_address, "sms.mtn.sender_address", when);
    req(s.sms.mtn.webhook_secret, "sms.mtn.webhook_secret", when);
  }
  if (s.sms.enabled && s.sms.provider == "twilio") {
    std::string when = " when sms.provider = \"twilio\"";
    if (!is_http_url(s.sms.twilio.base_url))
      bad("sms.twilio.base_url", "must start with http:// or https://");
    req(s.sms.twilio.account_sid, "sms.twilio.account_sid", when);
    req(s.sms.twilio.auth_token, "sms.twilio.auth_token", when);
    if (s.sms.twilio.from_number.empty() && s.sms.twilio.messaging_service_sid.empty())
      bad("sms.twilio.from_number", "from_number or messaging_service_sid is required" + when);
  }
  if (s.llm.enabled) {
    std::string when = " when llm.enabled = true";
    if (!is_http_url(s.llm.base_url))
      bad("llm.base_url", "must start with http:// or https://");
    req(s.llm.api_key, "llm.api_key", when);
    req(s.llm.model, "llm.model", when);
    for (auto [key, path] : {std::pair{"llm.system_prompt_file", &s.llm.system_prompt_file},
                             std::pair{"llm.bot_prompt_file", &s.llm.bot_prompt_file}})
      if (!path->empty() && !std::ifstream{*path})
        bad(key, "cannot read '" + *path + "'");
  }
  if (!s.telegram.webhook_secret.empty() && !valid_telegram_secret(s.telegram.webhook_secret))
    bad("telegram.webhook_secret",
        "must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's secret_token rule)");
  if (s.telegram.enabled) {
    std::string when = " when telegram.enabled = true";
    req(s.telegram.bot_token, "telegram.bot_token", when);
    req(s.telegram.webhook_secret, "telegram.webhook_secret", when);
  }
  if (s.chatwoot.enabled) {
    if (!is_http_url(s.chatwoot.base_url))
      bad("chatwoot.base_url", "must start with http:// or https://");
    req(s.chatwoot.bot_token, "chatwoot.bot_token", " when chatwoot.enabled = true");
  }
  if (s.smtp.enabled) {
    if (s.smtp.url.rfind("smtp://", 0) != 0 && s.smtp.url.rfind("smtps://", 0) != 0)
      bad("smtp.url", "must start with smtp:// or smtps://");
    req(s.smtp.from, "smtp.from", " when smtp.enabled = true");
  }
}

/// Reads the deprecated chatwoot.api_token as the bot token; says what to change.
void resolve_deprecated(settings& s, std::vector<std::string>& warnings) {
  auto& cw = s.chatwoot;
  if (cw.api_token.empty())
    return;
  if (cw.bot_token.empty()) {
    cw.bot_token = cw.api_token;
    warnings.push_back("config: chatwoot.api_token is deprecated: it is read as chatwoot.bot_token "
                       "(the agent bot's token); rename it to chatwoot.bot_token (set "
                       + env_name("chatwoot.bot_token") + ")");
  } else if (cw.api_token != cw.bot_token) {
    warnings.push_back(
        "config: chatwoot.api_token is deprecated and ignored: chatwoot.bot_token is set");
  }
}

void warn_likely_mistakes(const settings& s, std::vector<std::string>& warnings) {
  if (s.chatwoot.enabled && s.chatwoot.user_token.empty())
    warnings.push_back(
        "config: chatwoot.user_token is not set: Help Center reads use chatwoot.bot_token, which "
        "Chatwoot refuses (401) when it is an agent bot's token, and then every question is "
        "handed to a human; set "
        + env_name("chatwoot.user_token") + " to an agent's or administrator's access token");
  // A bulkhead as large as the whole pool isolates nothing.
  auto& hc = s.http_client;
  std::pair<const char*, std::size_t> bulkheads[]
      = {{"whatsapp", hc.max_in_flight.whatsapp}, {"mtn", hc.max_in_flight.mtn},
         {"twilio", hc.max_in_flight.twilio},     {"llm", hc.max_in_flight.llm},
         {"telegram", hc.max_in_flight.telegram}, {"chatwoot", hc.max_in_flight.chatwoot},
         {"smtp", hc.max_in_flight.smtp}};
  for (auto& [provider, n] : bulkheads)
    if ((n > 0 ? n : hc.max_in_flight_per_provider) >= hc.max_connections)
      warnings.push_back(std::string{"config: the "} + provider
                         + " bulkhead (http_client.max_in_flight." + provider
                         + ", else max_in_flight_per_provider) is not below "
                           "http_client.max_connections: a hung "
                         + provider + " can hold every outbound connection");
}

/// The value as TOML; secrets redacted when `redact`.
std::string value_text(const field& f, bool redact) {
  auto quote = [](const std::string& v) {
    std::string out = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    return out + '"';
  };
  switch (f.k) {
  case kind::secret: {
    auto& v = *static_cast<const std::string*>(f.target);
    return redact && !v.empty() ? "\"<redacted>\"" : quote(v);
  }
  case kind::text:
  case kind::path:
    return quote(*static_cast<const std::string*>(f.target));
  case kind::boolean:
    return *static_cast<const bool*>(f.target) ? "true" : "false";
  case kind::text_list: {
    std::string out = "[";
    bool first = true;
    for (auto& v : *static_cast<const std::vector<std::string>*>(f.target)) {
      out += (first ? "" : ", ") + quote(v);
      first = false;
    }
    return out + ']';
  }
  case kind::ms_list: {
    std::string out = "[";
    bool first = true;
    for (auto v : *static_cast<const std::vector<milliseconds>*>(f.target)) {
      out += (first ? "" : ", ") + std::to_string(v.count());
      first = false;
    }
    return out + ']';
  }
  default:
    return number_text(*numeric_value(f), f.k == kind::real);
  }
}

} // namespace

std::optional<std::string> process_env(const char* name) {
  if (auto v = std::getenv(name))
    return std::string{v};
  return std::nullopt;
}

load_report check_settings_text(const std::string& toml_text, env_lookup env,
                                const std::string& origin, const std::string& base_dir) {
  load_report r;
  auto& s = r.loaded;
  auto fields = fields_of(s);
  toml::table tbl;
  try {
    tbl = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ": " << e.description();
    r.errors.push_back(msg.str());
    r.code = sb_error::malformed;
    return r;
  }
  std::vector<std::pair<std::string, const toml::node*>> leaves;
  collect_leaves(tbl, "", leaves);
  for (auto& [path, node] : leaves) {
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const field& f) { return path == f.path; });
    if (it == fields.end())
      r.errors.push_back(key_error(origin, path, "unknown key"));
    else if (auto err = assign(*it, *node, origin, base_dir))
      r.errors.push_back(std::move(*err));
  }
  if (env) {
    for (auto& f : fields) {
      auto name = env_name(f.path);
      if (auto v = env(name.c_str()))
        if (auto err = assign_env(f, name, *v))
          r.errors.push_back(std::move(*err));
    }
  }
  resolve_deprecated(s, r.warnings);
  std::vector<std::string> missing;
  validate(s, r.errors, missing);
  // A misspelt key also shows up as a missing one: the missing ones wait until no value is wrong.
  if (r.errors.empty())
    r.errors = std::move(missing);
  warn_likely_mistakes(s, r.warnings);
  return r;
}

load_report check_settings(const std::string& path, env_lookup env) {
  if (path.empty())
    return check_settings_text(embedded_default_config(), env, "embedded default config");
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    load_report r;
    r.errors.push_back("config: cannot read '" + path + "'");
    r.code = sb_error::not_found;
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto dir = std::filesystem::path{path}.parent_path().string();
  return check_settings_text(text.str(), env, path, dir.empty() ? "." : dir);
}

namespace {

core::expected<settings> as_expected(load_report r) {
  if (r.errors.empty())
    return std::move(r.loaded);
  std::string text;
  for (auto& e : r.errors)
    text += (text.empty() ? "" : "\n") + e;
  return caf::make_error(r.code, std::move(text));
}

} // namespace

core::expected<settings> load_settings_text(const std::string& toml_text, env_lookup env,
                                            const std::string& origin,
                                            const std::string& base_dir) {
  return as_expected(check_settings_text(toml_text, env, origin, base_dir));
}

core::expected<settings> load_settings(const std::string& path, env_lookup env) {
  return as_expected(check_settings(path, env));
}

std::vector<key_info> known_keys() {
  settings s;
  std::vector<key_info> out;
  for (auto& f : fields_of(s))
    out.push_back({f.path, env_name(f.path), is_secret(f), f.doc, f.range.lo, f.range.hi});
  return out;
}

std::string describe(const settings& s_in) {
  settings s = s_in;
  std::string out;
  for (auto& f : fields_of(s))
    out += std::string{f.path} + " = " + value_text(f, true) + '\n';
  return out;
}

namespace {

/// Wraps `text` into `# ` comment lines of at most `width` characters.
std::string comment_lines(const std::string& text, std::size_t width) {
  std::string out, line;
  std::istringstream words{text};
  std::string w;
  while (words >> w) {
    if (!line.empty() && line.size() + 1 + w.size() > width - 2) {
      out += "# " + line + '\n';
      line.clear();
    }
    line += (line.empty() ? "" : " ") + w;
  }
  if (!line.empty())
    out += "# " + line + '\n';
  return out;
}

} // namespace

std::string example_config() {
  constexpr std::size_t width = 100;
  constexpr std::size_t comment_column = 34;
  std::string out = comment_lines(
      "Switchboard configuration: every key, with its default and meaning. Generated by "
      "`switchboard example-config` from the key table (config/load.cpp) and the defaults "
      "(config/settings.hpp): edit those, not this file.",
      width);
  out += "#\n"
         "#   switchboard serve --config my.toml\n"
         "#   switchboard check-config --config my.toml\n"
         "#\n";
  out += comment_lines(
      "Every key can be overridden from the environment as SWITCHBOARD_<SECTION>_<KEY>, e.g. "
      "SWITCHBOARD_SMS_MTN_CLIENT_SECRET for sms.mtn.client_secret. Keys marked (secret) must "
      "come from the environment in production: they are redacted by `check-config` and never "
      "logged. Durations carry their unit in the key name (_ms, _s); numbers show their allowed "
      "range in brackets. Unknown keys are an error.",
      width);
  settings s;
  std::string section;
  for (auto& f : fields_of(s)) {
    std::string path = f.path;
    auto dot = path.rfind('.');
    auto sec = path.substr(0, dot);
    auto leaf = path.substr(dot + 1);
    if (sec != section) {
      section = sec;
      out += "\n[" + sec + "]\n";
      for (auto& d : section_docs())
        if (sec == d.name)
          out += comment_lines(d.doc, width);
    }
    std::string doc = is_secret(f) ? std::string{"(secret) "} + f.doc : std::string{f.doc};
    if (f.range.lo <= f.range.hi)
      doc += " [" + range_text(f) + "]";
    auto line = leaf + " = " + value_text(f, false);
    if (std::max(line.size() + 1, comment_column) + 2 + doc.size() <= width) {
      line.resize(std::max(line.size() + 1, comment_column), ' ');
      out += line + "# " + doc + '\n';
    } else {
      out += comment_lines(doc, width) + line + '\n';
    }
  }
  return out;
}

std::string explain_credentials(const settings& s) {
  std::string out;
  auto state = [](const std::string& v) { return v.empty() ? "not set" : "set"; };
  if (s.chatwoot.enabled) {
    auto& cw = s.chatwoot;
    out += comment_lines(std::string{"chatwoot.bot_token ("} + state(cw.bot_token)
                             + "): the agent bot's access token (Chatwoot: Settings > Bots). Used "
                               "to post the bot's replies and private notes and to toggle a "
                               "conversation's status; Chatwoot lets a bot token call nothing "
                               "else.",
                         100);
    std::string reads = cw.user_token.empty()
                            ? "Not set: Help Center reads use chatwoot.bot_token, which Chatwoot "
                              "refuses when it belongs to an agent bot."
                            : "Used only for Help Center reads.";
    out += comment_lines(std::string{"chatwoot.user_token ("} + state(cw.user_token)
                             + "): an agent's or administrator's access token (Chatwoot: Profile "
                               "settings > Access token). Used to list the Help Center's portal "
                               "articles the bot answers from. "
                             + reads,
                         100);
  }
  return out;
}

} // namespace switchboard::config
