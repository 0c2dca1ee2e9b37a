#include "config/keys.hpp"

namespace switchboard::config::keys {

const std::vector<section_doc>& section_docs() {
  static const std::vector<section_doc> docs{
      {"server", "HTTP edge: listener, limits and deadlines."},
      {"database", "PostgreSQL connection and pool."},
      {"storage", "Storage actor: group commit."},
      {"actors", "Actor system."},
      {"session", "Omnichannel sessions."},
      {"inbox",
       "The durable inbox: every verified inbound event is a row before its webhook is answered."},
      {"retention",
       "Rows past their horizon are deleted by the sweeper every session.sweep_interval_s, in "
       "batches (0 = keep forever). Processed inbox rows (the dedupe window) follow "
       "inbox.retention_s; queued sends, unanswered messages and open sessions are never deleted."},
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
      {"retention.delivery_log_s", kind::sec, &s.retention.delivery_log, {0, 315360000}, "delivery-log rows in a final state older than this go, then closed sessions left without rows (0: keep forever)"},
      {"retention.notifications_s", kind::sec, &s.retention.notifications, {0, 315360000}, "hand-off notifications sent, failed or skipped (0: keep forever)"},
      {"retention.parked_status_s", kind::sec, &s.retention.parked_status, {3600, 315360000}, "status callbacks parked for a send that was never recorded"},
      {"retention.batch_rows", kind::size, &s.retention.batch_rows, {1, 100000}, "rows one DELETE takes (one short transaction each)"},
      {"retention.max_batches", kind::size, &s.retention.max_batches, {1, 100000}, "batches per table per sweep (the rest waits for the next one)"},
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

} // namespace switchboard::config::keys
