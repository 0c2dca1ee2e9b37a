#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <curl/curl.h>
#include <pthread.h>

#include "http/server.hpp"
#include "sim/sim.hpp"

namespace {

using switchboard::sim::options;

/// Splits "host:port" (the port after the last colon; "[v6]:port" keeps the brackets off).
bool parse_listen(const std::string& text, std::string& host, uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos)
    return false;
  auto h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']')
    h = h.substr(1, h.size() - 2);
  try {
    auto p = std::stoul(text.substr(colon + 1));
    if (p > 65535)
      return false;
    host = h.empty() ? "127.0.0.1" : h;
    port = static_cast<uint16_t>(p);
    return true;
  } catch (...) {
    return false;
  }
}

void from_env(const char* name, std::string& out) {
  if (const char* v = std::getenv(name); v && *v)
    out = v;
}

int usage_error(const std::string& what) {
  std::fprintf(stderr, "switchboard-sim: %s (see --help)\n", what.c_str());
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  options opts;
  auto& c = opts.creds;
  from_env("SWITCHBOARD_WHATSAPP_ACCESS_TOKEN", c.whatsapp_access_token);
  from_env("SWITCHBOARD_WHATSAPP_APP_SECRET", c.whatsapp_app_secret);
  from_env("SWITCHBOARD_SMS_TWILIO_ACCOUNT_SID", c.twilio_account_sid);
  from_env("SWITCHBOARD_SMS_TWILIO_AUTH_TOKEN", c.twilio_auth_token);
  from_env("SWITCHBOARD_SMS_MTN_CLIENT_ID", c.mtn_client_id);
  from_env("SWITCHBOARD_SMS_MTN_CLIENT_SECRET", c.mtn_client_secret);
  from_env("SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET", c.mtn_webhook_secret);
  from_env("SWITCHBOARD_TELEGRAM_BOT_TOKEN", c.telegram_bot_token);
  from_env("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET", c.telegram_webhook_secret);
  from_env("SWITCHBOARD_CHATWOOT_API_TOKEN", c.chatwoot_bot_token); // the deprecated name
  from_env("SWITCHBOARD_CHATWOOT_BOT_TOKEN", c.chatwoot_bot_token);
  from_env("SWITCHBOARD_CHATWOOT_USER_TOKEN", c.chatwoot_user_token);
  from_env("SWITCHBOARD_CHATWOOT_WEBHOOK_SECRET", c.chatwoot_webhook_secret);
  from_env("SWITCHBOARD_LLM_API_KEY", c.llm_api_key);
  from_env("SWITCHBOARD_SERVER_PUBLIC_URL", opts.public_url);

  struct text_flag {
    const char* name;
    std::string* out;
  };
  const std::vector<text_flag> text_flags{
      {"--server-url", &opts.server_url},
      {"--public-url", &opts.public_url},
      {"--whatsapp-status-url", &opts.whatsapp_status_url},
      {"--whatsapp-access-token", &c.whatsapp_access_token},
      {"--whatsapp-app-secret", &c.whatsapp_app_secret},
      {"--twilio-account-sid", &c.twilio_account_sid},
      {"--twilio-auth-token", &c.twilio_auth_token},
      {"--mtn-client-id", &c.mtn_client_id},
      {"--mtn-client-secret", &c.mtn_client_secret},
      {"--mtn-webhook-secret", &c.mtn_webhook_secret},
      {"--telegram-bot-token", &c.telegram_bot_token},
      {"--telegram-webhook-secret", &c.telegram_webhook_secret},
      {"--chatwoot-api-token", &c.chatwoot_bot_token},
      {"--chatwoot-bot-token", &c.chatwoot_bot_token},
      {"--chatwoot-user-token", &c.chatwoot_user_token},
      {"--chatwoot-webhook-secret", &c.chatwoot_webhook_secret},
      {"--llm-api-key", &c.llm_api_key},
  };

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto next = [&]() -> bool {
      if (has_value)
        return true;
      if (i + 1 >= argc)
        return false;
      value = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << switchboard::sim::help_text();
      return 0;
    }
    if (arg == "--version") {
      std::cout << "switchboard-sim " << SB_VERSION << "\n";
      return 0;
    }
    if (arg == "--verbose") {
      opts.verbose = true;
      continue;
    }
    if (arg == "--listen" || arg == "--smtp-listen") {
      if (!next())
        return usage_error(arg + " needs HOST:PORT");
      bool ok = arg == "--listen" ? parse_listen(value, opts.http_address, opts.http_port)
                                  : parse_listen(value, opts.smtp_address, opts.smtp_port);
      if (!ok)
        return usage_error("invalid " + arg + " '" + value + "'");
      continue;
    }
    if (arg == "--threads" || arg == "--max-records" || arg == "--mtn-token-ttl") {
      if (!next())
        return usage_error(arg + " needs a number");
      unsigned long n = 0;
      try {
        n = std::stoul(value);
      } catch (...) {
        return usage_error("invalid " + arg + " '" + value + "'");
      }
      if (arg == "--threads")
        opts.http_threads = n == 0 ? 1 : n;
      else if (arg == "--max-records")
        opts.max_records = n == 0 ? 1 : n;
      else
        opts.mtn_token_ttl = std::chrono::seconds{n};
      continue;
    }
    bool matched = false;
    for (auto& f : text_flags) {
      if (arg == f.name) {
        if (!next())
          return usage_error(arg + " needs a value");
        *f.out = value;
        matched = true;
        break;
      }
    }
    if (!matched)
      return usage_error("unknown option '" + arg + "'");
  }
  while (!opts.server_url.empty() && opts.server_url.back() == '/')
    opts.server_url.pop_back();
  while (!opts.public_url.empty() && opts.public_url.back() == '/')
    opts.public_url.pop_back();

  // Every thread inherits this mask; the main thread alone waits for the signals.
  auto signals = switchboard::http::block_termination_signals();
  curl_global_init(CURL_GLOBAL_DEFAULT);

  int rc = 0;
  try {
    switchboard::sim::sim_core sim{opts};
    sim.start();
    std::fprintf(stdout, "{\"event\":\"ready\",\"http_port\":%u,\"smtp_port\":%u}\n",
                 static_cast<unsigned>(sim.http_port()), static_cast<unsigned>(sim.smtp_port()));
    std::fflush(stdout);
    std::fprintf(stderr,
                 "switchboard-sim: listening on http://%s:%u and smtp://%s:%u; deliveries "
                 "go to %s\n",
                 opts.http_address.c_str(), static_cast<unsigned>(sim.http_port()),
                 opts.smtp_address.c_str(), static_cast<unsigned>(sim.smtp_port()),
                 opts.server_url.c_str());
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "switchboard-sim: signal %d, shutting down\n", sig);
    sim.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "switchboard-sim: %s\n", e.what());
    rc = 1;
  }
  curl_global_cleanup();
  return rc;
}
