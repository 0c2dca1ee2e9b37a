#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "config/keys.hpp"
#include "config/settings.hpp"

namespace switchboard::config {

using core::sb_error;
using keys::bounds;
using keys::field;
using keys::fields_of;
using keys::is_secret;
using keys::is_text;
using keys::kind;
using keys::section_docs;

namespace {

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

/// Appends every invalid value to `errs` and every missing required key to `missing` (its path
/// to `missing_keys`).
void validate(settings& s, std::vector<std::string>& errs, std::vector<std::string>& missing,
              std::vector<std::string>& missing_keys) {
  auto bad = [&](const char* key, const std::string& what) {
    errs.push_back(std::string{"config: "} + key + ": " + what);
  };
  auto req = [&](const std::string& v, const char* key, const std::string& when = "") {
    if (v.empty()) {
      missing.push_back(std::string{"config: "} + key + ": required" + when + " (set "
                        + env_name(key) + ")");
      missing_keys.push_back(key);
    }
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
  if (s.admin.enabled && s.admin.port != 0 && s.admin.port == s.server.port)
    bad("admin.port", "must differ from server.port (is " + std::to_string(s.admin.port) + ")");
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
    // Not `path` itself: C++17 lambdas cannot capture a structured binding (clang refuses).
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&key = path](const field& f) { return key == f.path; });
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
  std::vector<std::string> missing, missing_keys;
  validate(s, r.errors, missing, missing_keys);
  // A misspelt key also shows up as a missing one: the missing ones wait until no value is wrong.
  if (r.errors.empty()) {
    r.errors = std::move(missing);
    r.missing_keys = std::move(missing_keys);
  }
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
      "`switchboard example-config` from the key table (config/keys.cpp) and the defaults "
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
