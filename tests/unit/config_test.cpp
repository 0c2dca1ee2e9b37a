#include <catch2/catch.hpp>

#include <map>
#include <regex>

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
      {"SWITCHBOARD_CHATWOOT_API_TOKEN", "cw-token"},
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
  }
  set_default_secrets();
  fake_env["SWITCHBOARD_DATABASE_DSN"] = "postgresql://x@127.0.0.1/x";
  auto s = config::load_settings_text(text, lookup, "example");
  INFO((s ? std::string{} : reason(s.error())));
  REQUIRE(s);
  CHECK(s->server.listen_address == "0.0.0.0");
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
