#include "app/commands.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include "providers/telegram/codec.hpp"
#include "storage/db.hpp"
#include "storage/migrator.hpp"
#include "storage/providers.hpp"

namespace switchboard::app {

namespace {

constexpr const char* provider_usage = R"(Usage:
  switchboard provider create --name NAME     create a provider; prints its API key once
  switchboard provider rotate-key --id ID     issue a new key; the old one stops working
  switchboard provider revoke-key --id ID     remove the key; the provider cannot authenticate
  switchboard provider list                   id, name, key prefix, whether a key is active
Needs only the database (database.dsn, SWITCHBOARD_DATABASE_DSN), migrated.
)";

/// One subcommand's usage line, for `provider SUB --help`.
struct subcommand_help {
  const char* name;
  const char* text;
};

constexpr subcommand_help provider_subcommands[] = {
    {"create", "Usage: switchboard [--config FILE] provider create --name NAME\n"
               "  creates a provider and prints its API key once (store it: it cannot be "
               "recovered)\n"},
    {"rotate-key", "Usage: switchboard [--config FILE] provider rotate-key --id ID\n"
                   "  issues a new API key and prints it once; the old key stops working\n"},
    {"revoke-key", "Usage: switchboard [--config FILE] provider revoke-key --id ID\n"
                   "  removes the provider's key: it can no longer authenticate\n"},
    {"list", "Usage: switchboard [--config FILE] provider list\n"
             "  prints id, name, key prefix, whether a key is active and when it was created "
             "(never a key)\n"},
};

constexpr const char* telegram_usage = R"(Usage:
  switchboard telegram set-webhook --url URL [--allowed-updates TYPE,TYPE...]
      registers URL with Telegram's setWebhook, with telegram.webhook_secret as secret token
)";

/// Exit codes.
constexpr int ok = 0;
constexpr int failed = 1;
constexpr int bad_usage = 2;

int fail(const std::string& msg, int code = failed) {
  std::cerr << "switchboard: " << msg << std::endl;
  return code;
}

int usage_error(const std::string& msg, const char* usage) {
  std::cerr << "switchboard: " << msg << "\n" << usage;
  return bad_usage;
}

/// `--name value` and `--name=value` options after the subcommand; nullopt (after printing why)
/// on an unknown option, a missing value or a stray argument.
std::optional<std::map<std::string, std::string>>
parse_options(const std::vector<std::string>& args, const std::vector<std::string>& allowed,
              const char* usage) {
  std::map<std::string, std::string> out;
  for (std::size_t i = 1; i < args.size(); ++i) {
    auto a = args[i];
    std::string name = a;
    std::optional<std::string> value;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      usage_error("unexpected argument '" + a + "'", usage);
      return std::nullopt;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        usage_error(name + " needs a value", usage);
        return std::nullopt;
      }
      value = args[++i];
    }
    out[name] = *value;
  }
  return out;
}

std::optional<int64_t> parse_id(const std::string& text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  auto id = std::stoll(text);
  return id > 0 ? std::optional<int64_t>{id} : std::nullopt;
}

std::string iso_or_dash(const std::optional<storage::time_point>& t) {
  return t ? storage::iso8601(*t) : "-";
}

/// Provider names are free text: keep tabs and line breaks out of the listing's columns.
std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\t' || c == '\n' || c == '\r')
      c = ' ';
  return text;
}

void print_issued(const storage::issued_key& k) {
  std::cout << "provider_id: " << k.provider.id << "\n"
            << "name: " << one_line(k.provider.name) << "\n"
            << "key_prefix: " << k.provider.key_prefix << "\n"
            << "api_key: " << k.key << std::endl;
  std::cerr << "switchboard: store the API key now: it is shown only once and cannot be "
               "recovered (rotate-key issues a new one)"
            << std::endl;
}

/// Runs `fn` in a transaction on a migrated database; maps failures to a message and exit code.
template <class F> int with_database(const config::settings& s, F fn) {
  std::string error;
  auto sql = storage::open_session_patiently(s.database.dsn, s.database.connect_timeout, error);
  if (!sql)
    return fail("database unreachable: " + error);
  try {
    if (!storage::migrations_applied(*sql, storage::embedded_migrations()))
      return fail("the database is not migrated: run `switchboard migrate` first");
    soci::transaction tx{*sql};
    fn(*sql);
    tx.commit();
    return ok;
  } catch (const storage::domain_error& e) {
    return fail(e.what());
  } catch (const std::exception& e) {
    return fail(std::string{"database error: "} + e.what());
  }
}

// -- telegram ------------------------------------------------------------------------------------

/// Whether a URL's host is a loopback address (localhost, 127.0.0.0/8, [::1]).
bool loopback_url(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos)
    return false;
  auto rest = url.substr(scheme + 3);
  auto at = rest.find('@');
  auto slash = rest.find('/');
  if (at != std::string::npos && (slash == std::string::npos || at < slash))
    rest = rest.substr(at + 1);
  std::string host;
  if (!rest.empty() && rest[0] == '[') {
    host = rest.substr(0, rest.find(']') + 1);
  } else {
    host = rest.substr(0, rest.find_first_of(":/?#"));
  }
  if (host == "localhost" || host == "[::1]")
    return true;
  if (host.rfind("127.", 0) != 0)
    return false;
  // 127.a.b.c with numbers only.
  int dots = 0;
  for (char c : host) {
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      return false;
  }
  return dots == 3;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    auto item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (!item.empty())
      out.push_back(item);
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return out;
}

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

/// POSTs a JSON body with blocking libcurl; the status (0 on a transport error, with `error`).
long post_json(const config::settings& s, const std::string& url, const std::string& body,
               std::string& response, std::string& error) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* h = curl_easy_init();
  if (h == nullptr) {
    error = "libcurl could not start";
    return 0;
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(s.http_client.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(s.http_client.total_timeout.count()));
  auto rc = curl_easy_perform(h);
  long status = 0;
  if (rc == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  else
    error = errbuf[0] != '\0' ? std::string{errbuf} : std::string{curl_easy_strerror(rc)};
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  curl_global_cleanup();
  return status;
}

int set_webhook(const config::settings& s, const std::vector<std::string>& args) {
  auto opts = parse_options(args, {"--url", "--allowed-updates"}, telegram_usage);
  if (!opts)
    return bad_usage;
  auto url_it = opts->find("--url");
  if (url_it == opts->end() || url_it->second.empty())
    return usage_error("set-webhook needs --url", telegram_usage);
  const auto& url = url_it->second;
  if (s.telegram.bot_token.empty())
    return fail("telegram.bot_token is not set (SWITCHBOARD_TELEGRAM_BOT_TOKEN)");
  if (s.telegram.webhook_secret.empty())
    return fail("telegram.webhook_secret is not set (SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET): "
                "without it anyone could post updates to the webhook");
  std::vector<std::string> allowed;
  if (auto it = opts->find("--allowed-updates"); it != opts->end())
    allowed = split_list(it->second);

  // Telegram only calls https:// webhooks; the simulator on loopback may be given http://.
  bool plain = url.rfind("http://", 0) == 0;
  if (plain && !loopback_url(s.telegram.base_url))
    return fail("url: must be an https URL (http:// only when telegram.base_url is a loopback "
                "address, i.e. the simulator)");
  auto body = providers::telegram_set_webhook_body(plain ? "https://" + url.substr(7) : url,
                                                   s.telegram.webhook_secret, allowed);
  if (!body)
    return fail(core::reason_of(body.error()));
  std::string payload = *body;
  if (plain) {
    auto j = nlohmann::json::parse(payload);
    j["url"] = url;
    payload = j.dump();
  }

  auto base = s.telegram.base_url;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  std::string response;
  std::string error;
  auto status = post_json(s, base + "/bot" + s.telegram.bot_token + "/setWebhook", payload,
                          response, error);
  if (status == 0)
    return fail("setWebhook failed: " + error);
  auto result = providers::parse_telegram_ok_response(static_cast<int>(status), response);
  if (!result)
    return fail("setWebhook failed (HTTP " + std::to_string(status)
                + "): " + core::reason_of(result.error()));
  auto answer = nlohmann::json::parse(response, nullptr, false);
  std::string description = answer.is_object() ? answer.value("description", "") : "";
  std::cout << "webhook set: " << url << "\n";
  if (!description.empty())
    std::cout << "telegram: " << description << "\n";
  std::cout << std::flush;
  return ok;
}

} // namespace

bool wants_help(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "help")
    return true;
  return std::any_of(args.begin(), args.end(),
                     [](const std::string& a) { return a == "--help" || a == "-h"; });
}

std::string provider_help(const std::vector<std::string>& args) {
  if (!args.empty())
    for (const auto& sub : provider_subcommands)
      if (args[0] == sub.name)
        return sub.text;
  return provider_usage;
}

std::string telegram_help(const std::vector<std::string>& args) {
  return telegram_usage;
}

int run_provider_command(const config::settings& s, const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << provider_help(args);
    return ok;
  }
  if (args.empty())
    return usage_error("provider needs a subcommand", provider_usage);
  const auto& sub = args[0];
  if (sub == "create") {
    auto opts = parse_options(args, {"--name"}, provider_usage);
    if (!opts)
      return bad_usage;
    if (opts->count("--name") == 0)
      return usage_error("create needs --name", provider_usage);
    auto name = opts->at("--name");
    if (auto problem = core::provider_name_problem(name); !problem.empty())
      return usage_error("--name " + problem, provider_usage);
    return with_database(
        s, [&](soci::session& sql) { print_issued(storage::create_provider(sql, name)); });
  }
  if (sub == "rotate-key" || sub == "revoke-key") {
    auto opts = parse_options(args, {"--id"}, provider_usage);
    if (!opts)
      return bad_usage;
    std::optional<int64_t> id;
    if (auto it = opts->find("--id"); it != opts->end())
      id = parse_id(it->second);
    if (!id)
      return usage_error(sub + " needs --id with a provider id", provider_usage);
    if (sub == "rotate-key")
      return with_database(
          s, [&](soci::session& sql) { print_issued(storage::rotate_provider_key(sql, *id)); });
    return with_database(s, [&](soci::session& sql) {
      bool had = storage::revoke_provider_key(sql, *id);
      std::cout << "provider " << *id << ": " << (had ? "key revoked" : "had no active key")
                << std::endl;
    });
  }
  if (sub == "list") {
    if (!parse_options(args, {}, provider_usage))
      return bad_usage;
    return with_database(s, [](soci::session& sql) {
      std::cout << "id\tname\tkey_prefix\tkey_active\tkey_created_at\n";
      for (const auto& p : storage::list_providers(sql))
        std::cout << p.id << "\t" << one_line(p.name) << "\t"
                  << (p.key_prefix.empty() ? "-" : p.key_prefix) << "\t"
                  << (p.key_active ? "yes" : "no") << "\t" << iso_or_dash(p.key_created_at) << "\n";
      std::cout << std::flush;
    });
  }
  return usage_error("unknown provider subcommand '" + sub + "'", provider_usage);
}

int run_telegram_command(const config::settings& s, const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << telegram_help(args);
    return ok;
  }
  if (args.empty())
    return usage_error("telegram needs a subcommand", telegram_usage);
  if (args[0] == "set-webhook")
    return set_webhook(s, args);
  return usage_error("unknown telegram subcommand '" + args[0] + "'", telegram_usage);
}

} // namespace switchboard::app
