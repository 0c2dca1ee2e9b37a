#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include <unistd.h>

#include "config/settings.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard;

namespace {

std::map<std::string, std::string> fake_env;

std::optional<std::string> lookup(const char* name) {
  auto it = fake_env.find(name);
  if (it == fake_env.end())
    return std::nullopt;
  return it->second;
}

/// The secrets the embedded default config needs (it enables every provider).
void set_default_secrets() {
  fake_env = {
      {"SWITCHBOARD_VOICE_TOKEN", "voice-token"},
      {"SWITCHBOARD_API_TOKEN", "api-token"},
      {"SWITCHBOARD_WHATSAPP_ACCESS_TOKEN", "wa-access"},
      {"SWITCHBOARD_WHATSAPP_APP_SECRET", "wa-secret"},
      {"SWITCHBOARD_WHATSAPP_VERIFY_TOKEN", "wa-verify"},
      {"SWITCHBOARD_SMS_MTN_CLIENT_SECRET", "mtn-secret"},
      {"SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET", "mtn-hook"},
      {"SWITCHBOARD_LLM_API_KEY", "llm-key"},
      {"SWITCHBOARD_TELEGRAM_BOT_TOKEN", "123:abc"},
      {"SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET", "tg-secret"},
      {"SWITCHBOARD_CHATWOOT_BOT_TOKEN", "cw-bot-token"},
      {"SWITCHBOARD_CHATWOOT_USER_TOKEN", "cw-user-token"},
  };
}

std::string reason(const caf::error& err) {
  return core::reason_of(err);
}

} // namespace

TEST_CASE("the embedded default config loads with secrets from the environment", "[config]") {
  set_default_secrets();
  auto s = config::load_settings("", lookup);
  REQUIRE(s);
  CHECK(s->whatsapp.access_token == "wa-access");
  CHECK(s->sms.provider == "mtn");
  CHECK(s->database.dsn.find("127.0.0.1:54329") != std::string::npos);
  CHECK(s->whatsapp.base_url == "http://127.0.0.1:18080");
  CHECK(s->session.ttl == std::chrono::hours{24});
  // One list of hand-off phrases: the bot's (core/bot/phrases.hpp).
  CHECK(s->chatwoot.handoff_phrases == core::default_handoff_phrases());
}

TEST_CASE("a missing secret of an enabled provider is a config error naming key and variable",
          "[config]") {
  set_default_secrets();
  fake_env.erase("SWITCHBOARD_SMS_MTN_CLIENT_SECRET");
  auto s = config::load_settings("", lookup);
  REQUIRE_FALSE(s);
  CHECK(core::code_of(s.error()) == core::sb_error::invalid_argument);
  CHECK(reason(s.error()).find("sms.mtn.client_secret") != std::string::npos);
  CHECK(reason(s.error()).find("SWITCHBOARD_SMS_MTN_CLIENT_SECRET") != std::string::npos);
  CHECK(reason(s.error()).find('\n') == std::string::npos);
}

TEST_CASE("a disabled provider needs no secrets", "[config]") {
  set_default_secrets();
  fake_env.erase("SWITCHBOARD_TELEGRAM_BOT_TOKEN");
  fake_env["SWITCHBOARD_TELEGRAM_ENABLED"] = "false";
  auto s = config::load_settings("", lookup);
  REQUIRE(s);
  CHECK_FALSE(s->telegram.enabled);
}

TEST_CASE("unknown keys, wrong types and bad TOML are refused with the key named", "[config]") {
  set_default_secrets();
  auto unknown = config::load_settings_text("[server]\nprot = 80\n", lookup, "x.toml");
  REQUIRE_FALSE(unknown);
  CHECK(reason(unknown.error()) == "x.toml: server.prot: unknown key");

  auto unknown_section = config::load_settings_text("[severs]\nport = 80\n", lookup, "x.toml");
  REQUIRE_FALSE(unknown_section);
  CHECK(reason(unknown_section.error()) == "x.toml: severs.port: unknown key");

  auto wrong_type = config::load_settings_text("[server]\nport = \"80\"\n", lookup, "x.toml");
  REQUIRE_FALSE(wrong_type);
  CHECK(reason(wrong_type.error()).find("server.port: expected an integer") != std::string::npos);

  auto out_of_range = config::load_settings_text("[server]\nport = 70000\n", lookup, "x.toml");
  REQUIRE_FALSE(out_of_range);
  CHECK(reason(out_of_range.error()).find("server.port") != std::string::npos);

  auto broken = config::load_settings_text("[server\n", lookup, "x.toml");
  REQUIRE_FALSE(broken);
  CHECK(core::code_of(broken.error()) == core::sb_error::malformed);
  CHECK(reason(broken.error()).rfind("x.toml:1:", 0) == 0);

  auto bad_enum = config::load_settings_text("[sms]\nprovider = \"nokia\"\n", lookup, "x.toml");
  REQUIRE_FALSE(bad_enum);
  CHECK(reason(bad_enum.error()).find("sms.provider") != std::string::npos);
}

TEST_CASE("the outbox retry schedule is a list of delays; the breaker's keys are checked",
          "[config]") {
  using std::chrono::milliseconds;
  set_default_secrets();
  auto defaults = config::load_settings("", lookup);
  REQUIRE(defaults);
  CHECK(defaults->retry.schedule.size() == 6);
  CHECK(defaults->retry.schedule.front() == milliseconds{5000});
  CHECK(defaults->retry.summary_horizon == std::chrono::hours{24});
  CHECK(defaults->circuit.failure_threshold == 5);

  // (Read with check_settings_text: the providers' required keys are missing from these texts.)
  auto load = [](const std::string& text) {
    auto r = config::check_settings_text(text, lookup, "x.toml");
    for (auto& e : r.errors)
      CHECK(e.find("retry.") == std::string::npos);
    return std::optional<config::settings>{r.loaded};
  };
  auto listed = load("[retry]\nschedule_ms = [200, 500, 1000]\n"
                     "reply_horizon_s = 120\n[circuit]\ncooldown_ms = 500\n");
  REQUIRE(listed);
  CHECK(listed->retry.schedule
        == std::vector<milliseconds>{milliseconds{200}, milliseconds{500}, milliseconds{1000}});
  CHECK(listed->retry.reply_horizon == std::chrono::seconds{120});
  CHECK(listed->circuit.cooldown == milliseconds{500});

  auto one = load("[retry]\nschedule_ms = 250\n");
  REQUIRE(one);
  CHECK(one->retry.schedule == std::vector<milliseconds>{milliseconds{250}});

  for (auto* bad : {"[]", "[1, \"2\"]", "[-5]", "\"5s\""}) {
    INFO(bad);
    auto r = config::load_settings_text(std::string{"[retry]\nschedule_ms = "} + bad + "\n", lookup,
                                        "x.toml");
    REQUIRE_FALSE(r);
    CHECK(reason(r.error()).find("retry.schedule_ms: expected") != std::string::npos);
  }
  auto zero = config::load_settings_text("[retry]\nschedule_ms = [100, 0]\n", lookup, "x.toml");
  REQUIRE_FALSE(zero);
  CHECK(reason(zero.error()).find("retry.schedule_ms: must be from 1") != std::string::npos);

  auto inverted = config::load_settings_text(
      "[circuit]\ncooldown_ms = 60000\nmax_cooldown_ms = 1000\n", lookup, "x.toml");
  REQUIRE_FALSE(inverted);
  CHECK(reason(inverted.error()).find("circuit.cooldown_ms: must be at most") != std::string::npos);

  fake_env["SWITCHBOARD_RETRY_SCHEDULE_MS"] = "[100, 300]";
  auto env = config::load_settings("", lookup);
  REQUIRE(env);
  CHECK(env->retry.schedule == std::vector<milliseconds>{milliseconds{100}, milliseconds{300}});
}

TEST_CASE("environment overrides are typed like the key", "[config]") {
  set_default_secrets();
  fake_env["SWITCHBOARD_SERVER_PORT"] = "9090";
  fake_env["SWITCHBOARD_CHATWOOT_HANDOFF_PHRASES"] = "[\"humano\", \"agente\"]";
  fake_env["SWITCHBOARD_CHATWOOT_CONFIDENCE_THRESHOLD"] = "0.7";
  auto s = config::load_settings("", lookup);
  REQUIRE(s);
  CHECK(s->server.port == 9090);
  CHECK(s->chatwoot.handoff_phrases == std::vector<std::string>{"humano", "agente"});
  CHECK(s->chatwoot.confidence_threshold == Approx(0.7));

  fake_env["SWITCHBOARD_SERVER_PORT"] = "many";
  auto bad = config::load_settings("", lookup);
  REQUIRE_FALSE(bad);
  CHECK(reason(bad.error()).find("SWITCHBOARD_SERVER_PORT") != std::string::npos);
}

TEST_CASE("check-config output redacts secrets", "[config]") {
  set_default_secrets();
  auto s = config::load_settings("", lookup);
  REQUIRE(s);
  auto text = config::describe(*s);
  CHECK(text.find("wa-secret") == std::string::npos);
  CHECK(text.find("whatsapp.app_secret = \"<redacted>\"") != std::string::npos);
  CHECK(text.find("server.port = 8080") != std::string::npos);
}

TEST_CASE("the example config documents every key and loads", "[config]") {
  auto text = test::read_file(std::string{SB_SOURCE_DIR} + "/config/switchboard.example.toml");
  // Every known key appears as `key =` inside its section.
  for (auto& key : config::known_keys()) {
    auto dot = key.path.rfind('.');
    auto section = "[" + key.path.substr(0, dot) + "]";
    auto leaf = key.path.substr(dot + 1);
    auto at = text.find("\n" + section + "\n");
    INFO(key.path);
    REQUIRE(at != std::string::npos);
    auto next = text.find("\n[", at + 1);
    auto body = text.substr(at, next == std::string::npos ? std::string::npos : next - at);
    CHECK(std::regex_search(body, std::regex{"\n" + leaf + " = "}));
    CHECK_FALSE(key.doc.empty());
  }
  set_default_secrets();
  fake_env["SWITCHBOARD_DATABASE_DSN"] = "postgresql://x@127.0.0.1/x";
  fake_env["SWITCHBOARD_WHATSAPP_PHONE_NUMBER_ID"] = "100000000000001";
  fake_env["SWITCHBOARD_SMS_MTN_CLIENT_ID"] = "client";
  fake_env["SWITCHBOARD_SMS_MTN_SENDER_ADDRESS"] = "SWITCHBRD";
  auto s = config::load_settings_text(text, lookup, "example");
  INFO((s ? std::string{} : reason(s.error())));
  REQUIRE(s);
  CHECK(s->server.listen_address == "127.0.0.1");
}

TEST_CASE("the committed example config is the generated one, and says the code's defaults",
          "[config]") {
  auto committed = test::read_file(std::string{SB_SOURCE_DIR} + "/config/switchboard.example.toml");
  // Regenerate with: build/app/switchboard example-config > config/switchboard.example.toml
  CHECK(committed == config::example_config());
  // Read back without environment, every key has exactly the built-in default.
  auto r = config::check_settings_text(committed, nullptr, "example");
  for (auto& e : r.errors) {
    INFO(e);
    CHECK(e.find(": required") != std::string::npos); // secrets and ids have no default
  }
  CHECK(config::describe(r.loaded) == config::describe(config::settings{}));
  CHECK(committed.find("listen_address = \"127.0.0.1\"") != std::string::npos);
  CHECK(committed.find("base_url = \"http://127.0.0.1:3000\"") != std::string::npos);
  CHECK(committed.find("confidence_threshold = 0.55") != std::string::npos);
  CHECK(committed.find("[0.0 to 1.0]") != std::string::npos);
}

TEST_CASE("every problem of a config is reported in one run", "[config]") {
  set_default_secrets();
  fake_env.erase("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET"); // the file's value counts
  auto text = "[chatwoot]\nconfidence_threshold = 1.5\n"
              "[telegram]\nwebhook_secret = \"not allowed!\"\n"
              "[server]\ncolour = \"blue\"\n";
  auto r = config::check_settings_text(text, lookup, "x.toml");
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0] == "x.toml: server.colour: unknown key");
  CHECK(r.errors[1] == "config: chatwoot.confidence_threshold: must be from 0.0 to 1.0 (is 1.5)");
  CHECK(r.errors[2].rfind("config: telegram.webhook_secret: must be 1 to 256 characters of A-Z", 0)
        == 0);
  auto s = config::load_settings_text(text, lookup, "x.toml");
  REQUIRE_FALSE(s);
  auto text_of = reason(s.error());
  CHECK(std::count(text_of.begin(), text_of.end(), '\n') == 2); // one line each
  CHECK(text_of.find("server.colour") != std::string::npos);
  CHECK(text_of.find("chatwoot.confidence_threshold") != std::string::npos);
  CHECK(text_of.find("telegram.webhook_secret") != std::string::npos);
}

TEST_CASE("every numeric key is checked against its range", "[config]") {
  std::size_t ranged = 0;
  for (auto& key : config::known_keys()) {
    if (key.min > key.max)
      continue;
    ++ranged;
    INFO(key.path);
    auto number = [](double v) {
      std::ostringstream out;
      out.precision(15);
      out << v;
      return out.str();
    };
    auto reported = [&](const config::load_report& r, const std::string& what) {
      return std::any_of(r.errors.begin(), r.errors.end(), [&](const std::string& e) {
        return e.find(key.path + ": " + what) != std::string::npos;
      });
    };
    set_default_secrets();
    fake_env[key.env] = number(key.max + 1);
    // 65536 is no port at all: the type check refuses it first.
    CHECK(reported(config::check_settings("", lookup),
                   key.path == "server.port" || key.path == "admin.port" ? "expected an integer"
                                                                         : "must be from"));
    if (key.min > 0) {
      fake_env[key.env] = number(key.min - 1);
      CHECK(reported(config::check_settings("", lookup), "must be from"));
    }
    fake_env[key.env] = number(key.min);
    CHECK_FALSE(reported(config::check_settings("", lookup), "must be from"));
    fake_env[key.env] = number(key.max);
    CHECK_FALSE(reported(config::check_settings("", lookup), "must be from"));
  }
  CHECK(ranged > 50);
}

TEST_CASE("the Telegram secret token: 1 to 256 of A-Z a-z 0-9 _ -", "[config]") {
  set_default_secrets();
  fake_env["SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET"] = "Ok_secret-123";
  CHECK(config::load_settings("", lookup));
  fake_env["SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET"] = std::string(256, 'a');
  CHECK(config::load_settings("", lookup));
  for (auto bad : {std::string(257, 'a'), std::string{"with space"}, std::string{"dot.ted"},
                   std::string{"caf\xc3\xa9"}}) {
    INFO(bad);
    fake_env["SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET"] = bad;
    auto s = config::load_settings("", lookup);
    REQUIRE_FALSE(s);
    CHECK(reason(s.error()).find("telegram.webhook_secret: must be 1 to 256 characters")
          != std::string::npos);
  }
  fake_env["SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET"] = "";
  auto empty = config::load_settings("", lookup);
  REQUIRE_FALSE(empty);
  CHECK(reason(empty.error()).find("telegram.webhook_secret: required") != std::string::npos);
}

TEST_CASE("relative prompt files are read from the config file's folder", "[config]") {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("sb-config-" + std::to_string(::getpid()));
  fs::create_directories(dir / "prompts");
  std::ofstream{dir / "prompts" / "bot.txt"} << "Be brief.\n";
  std::ofstream{dir / "sb.toml"} << "[llm]\nenabled = true\nbot_prompt_file = \"prompts/bot.txt\"\n"
                                    "system_prompt_file = \"/nonexistent/abs.txt\"\n";
  set_default_secrets();
  // The working directory is not the config's folder: a cwd-relative read would fail.
  REQUIRE(fs::current_path() != dir);
  auto r = config::check_settings((dir / "sb.toml").string(), lookup);
  CHECK(r.loaded.llm.bot_prompt_file == (dir / "prompts" / "bot.txt").string());
  CHECK(r.loaded.llm.system_prompt_file == "/nonexistent/abs.txt"); // absolute: as written
  bool bot_prompt_error = false, abs_error = false;
  for (auto& e : r.errors) {
    bot_prompt_error |= e.find("llm.bot_prompt_file") != std::string::npos;
    abs_error |= e.find("llm.system_prompt_file: cannot read '/nonexistent/abs.txt'")
                 != std::string::npos;
  }
  CHECK_FALSE(bot_prompt_error);
  CHECK(abs_error);
  fs::remove_all(dir);
}

TEST_CASE("Chatwoot: the bot token posts, the user token reads the Help Center", "[config]") {
  set_default_secrets();
  auto s = config::check_settings("", lookup);
  REQUIRE(s.errors.empty());
  CHECK(s.loaded.chatwoot.bot_token == "cw-bot-token");
  CHECK(s.loaded.chatwoot.help_center_token() == "cw-user-token");
  CHECK(s.warnings.empty());
  // The comment lines, joined back into sentences.
  auto explained
      = std::regex_replace(config::explain_credentials(s.loaded), std::regex{"\n# "}, " ");
  INFO(explained);
  CHECK(explained.find("# chatwoot.bot_token (set): the agent bot's access token")
        != std::string::npos);
  CHECK(explained.find("post the bot's replies and private notes and to toggle a")
        != std::string::npos);
  CHECK(explained.find("chatwoot.user_token (set): an agent's or administrator's access token")
        != std::string::npos);
  CHECK(explained.find("Used only for Help Center reads.") != std::string::npos);
  CHECK(explained.find("cw-") == std::string::npos); // secrets are never printed

  SECTION("without a user token, reads fall back to the bot token, and check-config says so") {
    fake_env.erase("SWITCHBOARD_CHATWOOT_USER_TOKEN");
    auto r = config::check_settings("", lookup);
    REQUIRE(r.errors.empty());
    CHECK(r.loaded.chatwoot.help_center_token() == "cw-bot-token");
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("chatwoot.user_token is not set") != std::string::npos);
    CHECK(r.warnings[0].find("SWITCHBOARD_CHATWOOT_USER_TOKEN") != std::string::npos);
    auto text = std::regex_replace(config::explain_credentials(r.loaded), std::regex{"\n# "}, " ");
    CHECK(text.find("chatwoot.user_token (not set)") != std::string::npos);
    CHECK(text.find("Help Center reads use chatwoot.bot_token") != std::string::npos);
  }
  SECTION("the deprecated chatwoot.api_token is read as the bot token, with a note") {
    fake_env.erase("SWITCHBOARD_CHATWOOT_BOT_TOKEN");
    fake_env["SWITCHBOARD_CHATWOOT_API_TOKEN"] = "old-token";
    auto r = config::check_settings("", lookup);
    REQUIRE(r.errors.empty());
    CHECK(r.loaded.chatwoot.bot_token == "old-token");
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0]
          == "config: chatwoot.api_token is deprecated: it is read as chatwoot.bot_token (the "
             "agent bot's token); rename it to chatwoot.bot_token (set "
             "SWITCHBOARD_CHATWOOT_BOT_TOKEN)");
  }
  SECTION("no bot token at all is an error naming the new key") {
    fake_env.erase("SWITCHBOARD_CHATWOOT_BOT_TOKEN");
    auto r = config::load_settings("", lookup);
    REQUIRE_FALSE(r);
    CHECK(reason(r.error())
          == "config: chatwoot.bot_token: required when chatwoot.enabled = true (set "
             "SWITCHBOARD_CHATWOOT_BOT_TOKEN)");
  }
}

TEST_CASE("SMS segment caps and the typing indicator are keys with defaults and ranges",
          "[config]") {
  set_default_secrets();
  auto s = config::load_settings("", lookup);
  REQUIRE(s);
  CHECK(s->sms.max_segments == 3);
  CHECK(s->chatwoot.handoff_sms_max_segments == 2);
  CHECK(s->whatsapp.typing_indicator);
  fake_env["SWITCHBOARD_CHATWOOT_HANDOFF_SMS_MAX_SEGMENTS"] = "5";
  fake_env["SWITCHBOARD_WHATSAPP_TYPING_INDICATOR"] = "false";
  s = config::load_settings("", lookup);
  REQUIRE(s);
  CHECK(s->chatwoot.handoff_sms_max_segments == 5);
  CHECK_FALSE(s->whatsapp.typing_indicator);
  for (auto bad : {"0", "11"}) {
    fake_env["SWITCHBOARD_CHATWOOT_HANDOFF_SMS_MAX_SEGMENTS"] = bad;
    auto r = config::load_settings("", lookup);
    REQUIRE_FALSE(r);
    CHECK(reason(r.error()).find("chatwoot.handoff_sms_max_segments") != std::string::npos);
  }
}

TEST_CASE("per-provider bulkheads: a default, overrides, and a warning when one isolates nothing",
          "[config][bulkheads]") {
  set_default_secrets();
  auto s = config::check_settings("", lookup);
  REQUIRE(s.errors.empty());
  CHECK(s.warnings.empty()); // the defaults leave every bulkhead below the pool
  CHECK(s.loaded.http_client.max_in_flight_per_provider == 256);
  CHECK(s.loaded.http_client.max_in_flight.whatsapp == 0); // 0: the default
  CHECK(s.loaded.http_client.max_in_flight.llm == 512);

  fake_env["SWITCHBOARD_HTTP_CLIENT_MAX_IN_FLIGHT_WHATSAPP"] = "4";
  fake_env["SWITCHBOARD_HTTP_CLIENT_MAX_IN_FLIGHT_PER_PROVIDER"] = "32";
  auto r = config::check_settings("", lookup);
  REQUIRE(r.errors.empty());
  CHECK(r.loaded.http_client.max_in_flight.whatsapp == 4);
  CHECK(r.loaded.http_client.max_in_flight_per_provider == 32);
  CHECK(r.warnings.empty());

  fake_env["SWITCHBOARD_HTTP_CLIENT_MAX_CONNECTIONS"] = "32";
  auto w = config::check_settings("", lookup);
  REQUIRE(w.errors.empty());
  // Every provider but WhatsApp (4) has 32 or more, the whole pool.
  CHECK(w.warnings.size() == 6);
  CHECK(std::none_of(w.warnings.begin(), w.warnings.end(), [](const std::string& m) {
    return m.find("the whatsapp bulkhead") != std::string::npos;
  }));
  CHECK(std::any_of(w.warnings.begin(), w.warnings.end(), [](const std::string& m) {
    return m.find("a hung mtn can hold every outbound connection") != std::string::npos;
  }));
}
