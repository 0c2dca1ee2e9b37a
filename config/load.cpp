#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "config/settings.hpp"

namespace switchboard::config {

using core::sb_error;

namespace {

enum class kind { text, boolean, u16, size, integer, real, ms, sec, text_list };

/// One configuration key bound to a member of `settings`.
struct field {
  const char* path;
  kind k;
  void* target;
  bool secret;
};

std::vector<field> fields_of(settings& s) {
  return {
      {"server.listen_address", kind::text, &s.server.listen_address, false},
      {"server.port", kind::u16, &s.server.port, false},
      {"server.threads", kind::size, &s.server.threads, false},
      {"server.max_connections", kind::size, &s.server.max_connections, false},
      {"server.max_header_bytes", kind::size, &s.server.max_header_bytes, false},
      {"server.body_limit", kind::size, &s.server.body_limit, false},
      {"server.webhook_body_limit", kind::size, &s.server.webhook_body_limit, false},
      {"server.header_timeout_ms", kind::ms, &s.server.header_timeout, false},
      {"server.body_timeout_ms", kind::ms, &s.server.body_timeout, false},
      {"server.idle_timeout_ms", kind::ms, &s.server.idle_timeout, false},
      {"server.handler_timeout_ms", kind::ms, &s.server.handler_timeout, false},
      {"server.shutdown_drain_ms", kind::ms, &s.server.shutdown_drain, false},
      {"server.public_url", kind::text, &s.server.public_url, false},
      {"server.bench_routes", kind::boolean, &s.server.bench_routes, false},
      {"database.dsn", kind::text, &s.database.dsn, true},
      {"database.pool_size", kind::size, &s.database.pool_size, false},
      {"database.migrate_on_start", kind::boolean, &s.database.migrate_on_start, false},
      {"database.connect_timeout_s", kind::sec, &s.database.connect_timeout, false},
      {"database.reconnect_backoff_ms", kind::ms, &s.database.reconnect_backoff, false},
      {"storage.max_batch", kind::size, &s.storage.max_batch, false},
      {"storage.ingest_workers", kind::size, &s.storage.ingest_workers, false},
      {"storage.flush_delay_ms", kind::ms, &s.storage.flush_delay, false},
      {"storage.request_timeout_ms", kind::ms, &s.storage.request_timeout, false},
      {"actors.scheduler_threads", kind::size, &s.actors.scheduler_threads, false},
      {"actors.idle_passivate_s", kind::sec, &s.actors.idle_passivate, false},
      {"session.ttl_s", kind::sec, &s.session.ttl, false},
      {"session.sweep_interval_s", kind::sec, &s.session.sweep_interval, false},
      {"session.whatsapp_window_s", kind::sec, &s.session.whatsapp_window, false},
      {"session.coalesce_ms", kind::ms, &s.session.coalesce, false},
      {"inbox.shards", kind::size, &s.inbox.shards, false},
      {"inbox.poll_interval_ms", kind::ms, &s.inbox.poll_interval, false},
      {"inbox.poll_grace_ms", kind::ms, &s.inbox.poll_grace, false},
      {"inbox.retention_s", kind::sec, &s.inbox.retention, false},
      {"inbox.accept_batch", kind::size, &s.inbox.accept_batch, false},
      {"inbox.max_active", kind::size, &s.inbox.max_active, false},
      {"inbox.yield_rate", kind::size, &s.inbox.yield_rate, false},
      {"inbox.yield_backlog", kind::size, &s.inbox.yield_backlog, false},
      {"inbox.min_active", kind::size, &s.inbox.min_active, false},
      {"retry.base_ms", kind::ms, &s.retry.base, false},
      {"retry.max_delay_ms", kind::ms, &s.retry.max_delay, false},
      {"retry.horizon_s", kind::sec, &s.retry.horizon, false},
      {"retry.max_attempts", kind::integer, &s.retry.max_attempts, false},
      {"http_client.connect_timeout_ms", kind::ms, &s.http_client.connect_timeout, false},
      {"http_client.total_timeout_ms", kind::ms, &s.http_client.total_timeout, false},
      {"http_client.max_connections", kind::size, &s.http_client.max_connections, false},
      {"voice.token", kind::text, &s.voice.token, true},
      {"whatsapp.enabled", kind::boolean, &s.whatsapp.enabled, false},
      {"whatsapp.base_url", kind::text, &s.whatsapp.base_url, false},
      {"whatsapp.api_version", kind::text, &s.whatsapp.api_version, false},
      {"whatsapp.phone_number_id", kind::text, &s.whatsapp.phone_number_id, false},
      {"whatsapp.access_token", kind::text, &s.whatsapp.access_token, true},
      {"whatsapp.app_secret", kind::text, &s.whatsapp.app_secret, true},
      {"whatsapp.verify_token", kind::text, &s.whatsapp.verify_token, true},
      {"whatsapp.template_name", kind::text, &s.whatsapp.template_name, false},
      {"whatsapp.template_language", kind::text, &s.whatsapp.template_language, false},
      {"whatsapp.max_in_flight", kind::size, &s.whatsapp.max_in_flight, false},
      {"whatsapp.rate_per_s", kind::real, &s.whatsapp.rate_per_s, false},
      {"whatsapp.typing_indicator", kind::boolean, &s.whatsapp.typing_indicator, false},
      {"sms.enabled", kind::boolean, &s.sms.enabled, false},
      {"sms.provider", kind::text, &s.sms.provider, false},
      {"sms.max_segments", kind::size, &s.sms.max_segments, false},
      {"sms.mtn.base_url", kind::text, &s.sms.mtn.base_url, false},
      {"sms.mtn.token_path", kind::text, &s.sms.mtn.token_path, false},
      {"sms.mtn.client_id", kind::text, &s.sms.mtn.client_id, false},
      {"sms.mtn.client_secret", kind::text, &s.sms.mtn.client_secret, true},
      {"sms.mtn.sender_address", kind::text, &s.sms.mtn.sender_address, false},
      {"sms.mtn.webhook_secret", kind::text, &s.sms.mtn.webhook_secret, true},
      {"sms.mtn.max_in_flight", kind::size, &s.sms.mtn.max_in_flight, false},
      {"sms.mtn.rate_per_s", kind::real, &s.sms.mtn.rate_per_s, false},
      {"sms.twilio.base_url", kind::text, &s.sms.twilio.base_url, false},
      {"sms.twilio.account_sid", kind::text, &s.sms.twilio.account_sid, false},
      {"sms.twilio.auth_token", kind::text, &s.sms.twilio.auth_token, true},
      {"sms.twilio.from_number", kind::text, &s.sms.twilio.from_number, false},
      {"sms.twilio.messaging_service_sid", kind::text, &s.sms.twilio.messaging_service_sid, false},
      {"sms.twilio.max_in_flight", kind::size, &s.sms.twilio.max_in_flight, false},
      {"sms.twilio.rate_per_s", kind::real, &s.sms.twilio.rate_per_s, false},
      {"llm.enabled", kind::boolean, &s.llm.enabled, false},
      {"llm.base_url", kind::text, &s.llm.base_url, false},
      {"llm.model", kind::text, &s.llm.model, false},
      {"llm.api_key", kind::text, &s.llm.api_key, true},
      {"llm.timeout_ms", kind::ms, &s.llm.timeout, false},
      {"llm.max_in_flight", kind::size, &s.llm.max_in_flight, false},
      {"llm.max_tool_rounds", kind::integer, &s.llm.max_tool_rounds, false},
      {"llm.system_prompt_file", kind::text, &s.llm.system_prompt_file, false},
      {"llm.bot_prompt_file", kind::text, &s.llm.bot_prompt_file, false},
      {"telegram.enabled", kind::boolean, &s.telegram.enabled, false},
      {"telegram.base_url", kind::text, &s.telegram.base_url, false},
      {"telegram.bot_token", kind::text, &s.telegram.bot_token, true},
      {"telegram.webhook_secret", kind::text, &s.telegram.webhook_secret, true},
      {"chatwoot.enabled", kind::boolean, &s.chatwoot.enabled, false},
      {"chatwoot.base_url", kind::text, &s.chatwoot.base_url, false},
      {"chatwoot.api_token", kind::text, &s.chatwoot.api_token, true},
      {"chatwoot.webhook_secret", kind::text, &s.chatwoot.webhook_secret, true},
      {"chatwoot.article_cache_ttl_s", kind::sec, &s.chatwoot.article_cache_ttl, false},
      {"chatwoot.confidence_threshold", kind::real, &s.chatwoot.confidence_threshold, false},
      {"chatwoot.min_score", kind::real, &s.chatwoot.min_score, false},
      {"chatwoot.top_articles", kind::size, &s.chatwoot.top_articles, false},
      {"chatwoot.handoff_phrases", kind::text_list, &s.chatwoot.handoff_phrases, false},
      {"chatwoot.handoff_sms_max_segments", kind::size, &s.chatwoot.handoff_sms_max_segments,
       false},
      {"smtp.enabled", kind::boolean, &s.smtp.enabled, false},
      {"smtp.url", kind::text, &s.smtp.url, false},
      {"smtp.from", kind::text, &s.smtp.from, false},
      {"smtp.username", kind::text, &s.smtp.username, false},
      {"smtp.password", kind::text, &s.smtp.password, true},
      {"api.token", kind::text, &s.api.token, true},
      {"log.level", kind::text, &s.log.level, false},
  };
}

std::string env_name(const std::string& path) {
  std::string out = "SWITCHBOARD_";
  for (char c : path)
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

caf::error key_error(const std::string& origin, const std::string& key, const std::string& what) {
  return caf::make_error(sb_error::invalid_argument, origin + ": " + key + ": " + what);
}

/// Assigns a TOML value to a field; the error names the key and the expected type.
caf::error assign(const field& f, const toml::node& node, const std::string& origin) {
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
    if (auto v = node.value<std::string>(); v && node.is_string()) {
      *static_cast<std::string*>(f.target) = *v;
      return {};
    }
    return want("a string");
  case kind::boolean:
    if (node.is_boolean()) {
      *static_cast<bool*>(f.target) = *node.value<bool>();
      return {};
    }
    return want("true or false");
  case kind::u16:
    if (auto v = node.is_integer() ? as_int(0, 65535) : std::nullopt) {
      *static_cast<uint16_t*>(f.target) = static_cast<uint16_t>(*v);
      return {};
    }
    return want("an integer from 0 to 65535");
  case kind::size:
    if (auto v = node.is_integer() ? as_int(0, INT64_MAX) : std::nullopt) {
      *static_cast<std::size_t*>(f.target) = static_cast<std::size_t>(*v);
      return {};
    }
    return want("a non-negative integer");
  case kind::integer:
    if (auto v = node.is_integer() ? as_int(INT32_MIN, INT32_MAX) : std::nullopt) {
      *static_cast<int*>(f.target) = static_cast<int>(*v);
      return {};
    }
    return want("an integer");
  case kind::real:
    if (node.is_number()) {
      *static_cast<double*>(f.target) = *node.value<double>();
      return {};
    }
    return want("a number");
  case kind::ms:
    if (auto v = node.is_integer() ? as_int(0, INT64_MAX) : std::nullopt) {
      *static_cast<milliseconds*>(f.target) = milliseconds{*v};
      return {};
    }
    return want("a non-negative integer (milliseconds)");
  case kind::sec:
    if (auto v = node.is_integer() ? as_int(0, INT64_MAX) : std::nullopt) {
      *static_cast<seconds*>(f.target) = seconds{*v};
      return {};
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
    return {};
  }
  }
  return want("a value");
}

/// Parses an environment value for a field by reading it as a TOML value of the field's type.
caf::error assign_env(const field& f, const std::string& name, const std::string& value) {
  if (f.k == kind::text) {
    *static_cast<std::string*>(f.target) = value;
    return {};
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
                    std::vector<std::pair<std::string, const toml::node*>>& out,
                    const std::set<std::string>& leaf_tables) {
  for (auto& [k, node] : tbl) {
    auto path = prefix.empty() ? std::string{k.str()} : prefix + "." + std::string{k.str()};
    if (auto sub = node.as_table(); sub && !leaf_tables.count(path))
      collect_leaves(*sub, path, out, leaf_tables);
    else
      out.emplace_back(path, &node);
  }
}

bool is_http_url(const std::string& s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

caf::error require(const std::string& value, const char* key, const std::string& when) {
  if (!value.empty())
    return {};
  return caf::make_error(sb_error::invalid_argument, std::string{"config: "} + key + ": required"
                                                         + when + " (set " + env_name(key) + ")");
}

caf::error validate(const settings& s) {
  auto bad = [](const char* key, const std::string& what) {
    return caf::make_error(sb_error::invalid_argument, std::string{"config: "} + key + ": " + what);
  };
  // Invalid values are reported before missing ones: they are the likelier typo.
  std::vector<caf::error> errs;
  std::vector<caf::error> missing;
  auto req = [&](const std::string& v, const char* key, const std::string& when = "") {
    if (auto e = require(v, key, when))
      missing.push_back(std::move(e));
  };
  req(s.database.dsn, "database.dsn");
  req(s.voice.token, "voice.token");
  req(s.api.token, "api.token");
  if (s.database.pool_size == 0)
    errs.push_back(bad("database.pool_size", "must be at least 1"));
  if (s.storage.max_batch == 0)
    errs.push_back(bad("storage.max_batch", "must be at least 1"));
  if (s.storage.ingest_workers == 0 || s.storage.ingest_workers > 64)
    errs.push_back(bad("storage.ingest_workers", "must be from 1 to 64"));
  if (s.server.threads == 0)
    errs.push_back(bad("server.threads", "must be at least 1"));
  if (s.actors.scheduler_threads == 0)
    errs.push_back(bad("actors.scheduler_threads", "must be at least 1"));
  if (s.session.ttl.count() == 0)
    errs.push_back(bad("session.ttl_s", "must be positive"));
  if (s.inbox.shards == 0 || s.inbox.shards > 65536)
    errs.push_back(bad("inbox.shards", "must be from 1 to 65536"));
  if (s.inbox.poll_interval.count() == 0)
    errs.push_back(bad("inbox.poll_interval_ms", "must be positive"));
  for (auto [key, rate] :
       {std::pair<const char*, double>{"whatsapp.rate_per_s", s.whatsapp.rate_per_s},
        {"sms.mtn.rate_per_s", s.sms.mtn.rate_per_s},
        {"sms.twilio.rate_per_s", s.sms.twilio.rate_per_s}})
    if (rate < 0)
      errs.push_back(bad(key, "must be 0 (no limit) or positive"));
  for (auto [key, n] :
       {std::pair<const char*, std::size_t>{"whatsapp.max_in_flight", s.whatsapp.max_in_flight},
        {"sms.mtn.max_in_flight", s.sms.mtn.max_in_flight},
        {"sms.twilio.max_in_flight", s.sms.twilio.max_in_flight}})
    if (n == 0)
      errs.push_back(bad(key, "must be at least 1"));
  if (s.inbox.max_active == 0)
    errs.push_back(bad("inbox.max_active", "must be at least 1"));
  if (s.inbox.accept_batch == 0)
    errs.push_back(bad("inbox.accept_batch", "must be at least 1"));
  if (!is_http_url(s.server.public_url))
    errs.push_back(bad("server.public_url", "must start with http:// or https://"));
  static const std::set<std::string> levels{"debug", "info", "warn", "error"};
  if (!levels.count(s.log.level))
    errs.push_back(bad("log.level", "must be one of debug, info, warn, error"));
  if (s.whatsapp.enabled) {
    std::string when = " when whatsapp.enabled = true";
    if (!is_http_url(s.whatsapp.base_url))
      errs.push_back(bad("whatsapp.base_url", "must start with http:// or https://"));
    req(s.whatsapp.phone_number_id, "whatsapp.phone_number_id", when);
    req(s.whatsapp.access_token, "whatsapp.access_token", when);
    req(s.whatsapp.app_secret, "whatsapp.app_secret", when);
    req(s.whatsapp.verify_token, "whatsapp.verify_token", when);
  }
  if (s.sms.provider != "mtn" && s.sms.provider != "twilio")
    errs.push_back(bad("sms.provider", "must be \"mtn\" or \"twilio\""));
  if (s.sms.max_segments == 0 || s.sms.max_segments > 10)
    errs.push_back(bad("sms.max_segments", "must be from 1 to 10"));
  if (s.chatwoot.handoff_sms_max_segments == 0 || s.chatwoot.handoff_sms_max_segments > 10)
    errs.push_back(bad("chatwoot.handoff_sms_max_segments", "must be from 1 to 10"));
  if (s.sms.enabled && s.sms.provider == "mtn") {
    std::string when = " when sms.provider = \"mtn\"";
    if (!is_http_url(s.sms.mtn.base_url))
      errs.push_back(bad("sms.mtn.base_url", "must start with http:// or https://"));
    req(s.sms.mtn.client_id, "sms.mtn.client_id", when);
    req(s.sms.mtn.client_secret, "sms.mtn.client_secret", when);
    req(s.sms.mtn.sender_address, "sms.mtn.sender_address", when);
    req(s.sms.mtn.webhook_secret, "sms.mtn.webhook_secret", when);
  }
  if (s.sms.enabled && s.sms.provider == "twilio") {
    std::string when = " when sms.provider = \"twilio\"";
    if (!is_http_url(s.sms.twilio.base_url))
      errs.push_back(bad("sms.twilio.base_url", "must start with http:// or https://"));
    req(s.sms.twilio.account_sid, "sms.twilio.account_sid", when);
    req(s.sms.twilio.auth_token, "sms.twilio.auth_token", when);
    if (s.sms.twilio.from_number.empty() && s.sms.twilio.messaging_service_sid.empty())
      errs.push_back(
          bad("sms.twilio.from_number", "from_number or messaging_service_sid is required" + when));
  }
  if (s.llm.enabled) {
    std::string when = " when llm.enabled = true";
    if (!is_http_url(s.llm.base_url))
      errs.push_back(bad("llm.base_url", "must start with http:// or https://"));
    req(s.llm.api_key, "llm.api_key", when);
    req(s.llm.model, "llm.model", when);
    if (s.llm.max_tool_rounds < 1 || s.llm.max_tool_rounds > 16)
      errs.push_back(bad("llm.max_tool_rounds", "must be from 1 to 16"));
    for (auto [key, path] : {std::pair{"llm.system_prompt_file", &s.llm.system_prompt_file},
                             std::pair{"llm.bot_prompt_file", &s.llm.bot_prompt_file}})
      if (!path->empty() && !std::ifstream{*path})
        errs.push_back(bad(key, "cannot read '" + *path + "'"));
  }
  if (s.telegram.enabled) {
    std::string when = " when telegram.enabled = true";
    req(s.telegram.bot_token, "telegram.bot_token", when);
    req(s.telegram.webhook_secret, "telegram.webhook_secret", when);
  }
  if (s.chatwoot.enabled) {
    if (!is_http_url(s.chatwoot.base_url))
      errs.push_back(bad("chatwoot.base_url", "must start with http:// or https://"));
    req(s.chatwoot.api_token, "chatwoot.api_token", " when chatwoot.enabled = true");
    if (s.chatwoot.confidence_threshold < 0 || s.chatwoot.confidence_threshold > 1)
      errs.push_back(bad("chatwoot.confidence_threshold", "must be from 0 to 1"));
    if (s.chatwoot.top_articles == 0)
      errs.push_back(bad("chatwoot.top_articles", "must be at least 1"));
  }
  if (s.smtp.enabled) {
    if (s.smtp.url.rfind("smtp://", 0) != 0 && s.smtp.url.rfind("smtps://", 0) != 0)
      errs.push_back(bad("smtp.url", "must start with smtp:// or smtps://"));
    req(s.smtp.from, "smtp.from", " when smtp.enabled = true");
  }
  if (!errs.empty())
    return std::move(errs.front());
  if (!missing.empty())
    return std::move(missing.front());
  return {};
}

} // namespace

std::optional<std::string> process_env(const char* name) {
  if (auto v = std::getenv(name))
    return std::string{v};
  return std::nullopt;
}

core::expected<settings> load_settings_text(const std::string& toml_text, env_lookup env,
                                            const std::string& origin) {
  settings s;
  auto fields = fields_of(s);
  std::set<std::string> leaf_tables;
  toml::table tbl;
  try {
    tbl = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ": " << e.description();
    return caf::make_error(sb_error::malformed, msg.str());
  }
  std::vector<std::pair<std::string, const toml::node*>> leaves;
  collect_leaves(tbl, "", leaves, leaf_tables);
  for (auto& [path, node] : leaves) {
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const field& f) { return path == f.path; });
    if (it == fields.end())
      return key_error(origin, path, "unknown key");
    if (auto err = assign(*it, *node, origin))
      return err;
  }
  if (env) {
    for (auto& f : fields) {
      auto name = env_name(f.path);
      if (auto v = env(name.c_str()))
        if (auto err = assign_env(f, name, *v))
          return err;
    }
  }
  if (auto err = validate(s))
    return err;
  return s;
}

core::expected<settings> load_settings(const std::string& path, env_lookup env) {
  if (path.empty())
    return load_settings_text(embedded_default_config(), env, "embedded default config");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return caf::make_error(sb_error::not_found, "config: cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return load_settings_text(text.str(), env, path);
}

std::vector<key_info> known_keys() {
  settings s;
  std::vector<key_info> out;
  for (auto& f : fields_of(s))
    out.push_back({f.path, env_name(f.path), f.secret});
  return out;
}

std::string describe(const settings& s_in) {
  settings s = s_in;
  std::ostringstream out;
  for (auto& f : fields_of(s)) {
    out << f.path << " = ";
    if (f.secret) {
      auto& v = *static_cast<std::string*>(f.target);
      out << (v.empty() ? "\"\"" : "\"<redacted>\"");
    } else {
      switch (f.k) {
      case kind::text:
        out << '"' << *static_cast<std::string*>(f.target) << '"';
        break;
      case kind::boolean:
        out << (*static_cast<bool*>(f.target) ? "true" : "false");
        break;
      case kind::u16:
        out << *static_cast<uint16_t*>(f.target);
        break;
      case kind::size:
        out << *static_cast<std::size_t*>(f.target);
        break;
      case kind::integer:
        out << *static_cast<int*>(f.target);
        break;
      case kind::real:
        out << *static_cast<double*>(f.target);
        break;
      case kind::ms:
        out << static_cast<milliseconds*>(f.target)->count();
        break;
      case kind::sec:
        out << static_cast<seconds*>(f.target)->count();
        break;
      case kind::text_list: {
        out << '[';
        bool first = true;
        for (auto& v : *static_cast<std::vector<std::string>*>(f.target)) {
          out << (first ? "" : ", ") << '"' << v << '"';
          first = false;
        }
        out << ']';
        break;
      }
      }
    }
    out << '\n';
  }
  return out.str();
}

} // namespace switchboard::config
