#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>

#include "core/bot/provider_config.hpp"
#include "core/crypto.hpp"

using namespace switchboard::core;
using nlohmann::json;

namespace {

json valid_sms() {
  return {{"chatwoot_account_id", 7},
          {"chatwoot_portal_slug", "acme-help"},
          {"notify_via", "sms"},
          {"notify_phone", "+250788123456"}};
}

} // namespace

TEST_CASE("a valid config is read with absent optional fields unset", "[provider_config]") {
  auto in = parse_notification_config(valid_sms());
  REQUIRE(in.errors.empty());
  CHECK(in.config.chatwoot_account_id == 7);
  CHECK(in.config.chatwoot_portal_slug == "acme-help");
  CHECK(in.config.notify_via == "sms");
  CHECK(in.config.notify_phone == std::optional<std::string>{"+250788123456"});
  CHECK_FALSE(in.config.telegram_chat_id);
  CHECK_FALSE(in.config.notify_email);

  auto tg = parse_notification_config({{"chatwoot_account_id", 1},
                                       {"chatwoot_portal_slug", "a"},
                                       {"notify_via", "telegram"},
                                       {"telegram_chat_id", -1001234567890},
                                       {"notify_email", nullptr}});
  REQUIRE(tg.errors.empty());
  CHECK(tg.config.telegram_chat_id == std::optional<int64_t>{-1001234567890});
  CHECK_FALSE(tg.config.notify_email);

  auto mail = parse_notification_config({{"chatwoot_account_id", 2},
                                         {"chatwoot_portal_slug", "A_1-b"},
                                         {"notify_via", "email"},
                                         {"notify_email", "ops@localhost"}});
  CHECK(mail.errors.empty());
}

TEST_CASE("invalid fields get one message each, as the issue shows", "[provider_config]") {
  auto body = valid_sms();
  body["notify_phone"] = "0788123456";
  body["notify_via"] = "pigeon";
  auto in = parse_notification_config(body);
  CHECK(json(in.errors)
        == json{{"notify_phone", "must be E.164, e.g. +250788123456"},
                {"notify_via", "must be one of telegram, sms, email"}});
}

TEST_CASE("required fields, types and formats are checked", "[provider_config]") {
  auto in = parse_notification_config(json::object());
  CHECK(in.errors.size() == 3);
  CHECK(in.errors.at("chatwoot_account_id") == "is required");
  CHECK(in.errors.at("chatwoot_portal_slug") == "is required");
  CHECK(in.errors.at("notify_via") == "is required");

  const std::pair<const char*, json> bad[] = {
      {"chatwoot_account_id", 0},
      {"chatwoot_account_id", -3},
      {"chatwoot_account_id", 1.5},
      {"chatwoot_account_id", "7"},
      {"chatwoot_account_id", json(18446744073709551615ull)},
      {"chatwoot_portal_slug", ""},
      {"chatwoot_portal_slug", "-starts-with-dash"},
      {"chatwoot_portal_slug", "has space"},
      {"chatwoot_portal_slug", std::string(101, 'a')},
      {"chatwoot_portal_slug", 12},
      {"notify_via", "SMS"},
      {"notify_via", json::array({"sms"})},
      {"notify_phone", "+0788123456"},
      {"notify_phone", "+2507"},
      {"notify_phone", "+2507881234567890"},
      {"notify_phone", "+250 788 123 456"},
      {"notify_phone", 250788123456},
      {"telegram_chat_id", 0},
      {"telegram_chat_id", "123"},
      {"notify_email", "no-at-sign"},
      {"notify_email", "two@@example.com"},
      {"notify_email", "a b@example.com"},
      {"notify_email", "@example.com"},
      {"notify_email", std::string(250, 'a') + "@x.io"},
  };
  for (const auto& [field, value] : bad) {
    auto body = valid_sms();
    body[field] = value;
    INFO(field << " = " << value.dump());
    auto res = parse_notification_config(body);
    CHECK(res.errors.size() == 1);
    CHECK(res.errors.count(field) == 1);
  }
}

TEST_CASE("the field notify_via needs must be present", "[provider_config]") {
  const std::pair<const char*, const char*> needs[]
      = {{"telegram", "telegram_chat_id"}, {"sms", "notify_phone"}, {"email", "notify_email"}};
  for (auto [via, field] : needs) {
    INFO(via);
    json body = {{"chatwoot_account_id", 7}, {"chatwoot_portal_slug", "acme"}, {"notify_via", via}};
    auto in = parse_notification_config(body);
    CHECK(json(in.errors) == json{{field, std::string{"is required when notify_via is "} + via}});
    body[field] = nullptr; // null is absent
    CHECK(parse_notification_config(body).errors.count(field) == 1);
  }
  // An invalid value is reported as invalid, not also as missing.
  auto body = valid_sms();
  body["notify_phone"] = "nope";
  CHECK(parse_notification_config(body).errors.at("notify_phone")
        == "must be E.164, e.g. +250788123456");
}

TEST_CASE("unknown fields are named; read-only fields of a GET answer are ignored",
          "[provider_config]") {
  auto body = valid_sms();
  body["notify_sms"] = true;
  body["Notify_via"] = "sms";
  auto in = parse_notification_config(body);
  CHECK(json(in.errors)
        == json{{"Notify_via", "is not a known field"}, {"notify_sms", "is not a known field"}});

  auto echoed = valid_sms();
  echoed["provider_id"] = 3;
  echoed["created_at"] = "2026-01-01T00:00:00.000Z";
  echoed["updated_at"] = "2026-01-01T00:00:00.000Z";
  CHECK(parse_notification_config(echoed).errors.empty());

  CHECK(parse_notification_config(json::array()).errors.count("body") == 1);
}

TEST_CASE("to_json round-trips through parse_notification_config", "[provider_config]") {
  auto in = parse_notification_config(valid_sms());
  REQUIRE(in.errors.empty());
  auto j = to_json(in.config);
  CHECK(j["telegram_chat_id"].is_null());
  CHECK(j["notify_email"].is_null());
  CHECK(j["notify_phone"] == "+250788123456");
  auto again = parse_notification_config(j);
  REQUIRE(again.errors.empty());
  CHECK(to_json(again.config) == j);
}

TEST_CASE("the schema names the same fields and values the validation uses", "[provider_config]") {
  auto schema = notification_config_schema();
  std::set<std::string> props;
  for (const auto& [k, v] : schema["properties"].items())
    props.insert(k);
  CHECK(props
        == std::set<std::string>{"provider_id", "chatwoot_account_id", "chatwoot_portal_slug",
                                 "notify_via", "telegram_chat_id", "notify_phone", "notify_email",
                                 "created_at", "updated_at"});
  CHECK(schema["properties"]["notify_via"]["enum"] == json(notify_via_values()));
  CHECK(schema["additionalProperties"] == false);
  // Every property of the schema is known to the validation; anything else is not.
  for (const auto& name : props) {
    INFO(name);
    auto body = valid_sms();
    body[name] = nullptr;
    auto errors = parse_notification_config(body).errors;
    CHECK((errors.count(name) == 0 || errors.at(name) != "is not a known field"));
  }
  auto body = valid_sms();
  body["telegram"] = nullptr;
  CHECK(parse_notification_config(body).errors.at("telegram") == "is not a known field");
}

TEST_CASE("API keys: 256 random bits, a non-secret prefix, stored as a SHA-256 hex hash",
          "[provider_config]") {
  auto k = generate_api_key();
  REQUIRE(k.key.size() == 4 + 8 + 1 + 56);
  CHECK(k.key.rfind("sbk_", 0) == 0);
  CHECK(k.prefix == k.key.substr(0, 12));
  CHECK(k.key[12] == '_');
  CHECK(k.hash == to_hex(sha256(k.key)));
  CHECK(k.hash.size() == 64);
  CHECK(api_key_hash(k.key) == k.hash);
  CHECK(api_key_prefix(k.key) == std::optional<std::string>{k.prefix});
  CHECK(k.hash.find(k.key.substr(13)) == std::string::npos);

  auto other = generate_api_key();
  CHECK(other.key != k.key);
  CHECK(other.hash != k.hash);

  CHECK_FALSE(api_key_prefix(""));
  CHECK_FALSE(api_key_prefix(k.prefix));
  CHECK_FALSE(api_key_prefix(k.key + "0"));
  CHECK_FALSE(api_key_prefix(k.key.substr(0, k.key.size() - 1)));
  auto upper = k.key;
  upper[20] = 'G';
  CHECK_FALSE(api_key_prefix(upper));
  auto no_scheme = "xbk_" + k.key.substr(4);
  CHECK_FALSE(api_key_prefix(no_scheme));
  auto no_separator = k.key;
  no_separator[12] = '-';
  CHECK_FALSE(api_key_prefix(no_separator));
}

TEST_CASE("provider names", "[provider_config]") {
  CHECK(provider_name_problem("Acme Plumbing").empty());
  CHECK(provider_name_problem("Café Kigali").empty());
  CHECK(provider_name_problem(std::string(200, 'x')).empty());
  CHECK_FALSE(provider_name_problem("").empty());
  CHECK_FALSE(provider_name_problem("   ").empty());
  CHECK_FALSE(provider_name_problem(std::string(201, 'x')).empty());
  CHECK_FALSE(provider_name_problem("tab\there").empty());
  CHECK_FALSE(provider_name_problem("\xff\xfe").empty());
}

TEST_CASE("format predicates", "[provider_config]") {
  CHECK(is_e164("+250788123456"));
  CHECK(is_e164("+12345678"));
  CHECK(is_e164("+123456789012345"));
  CHECK_FALSE(is_e164("+1234567"));
  CHECK_FALSE(is_e164("+1234567890123456"));
  CHECK_FALSE(is_e164("250788123456"));
  CHECK(is_portal_slug("a"));
  CHECK(is_portal_slug("9lives_help-center"));
  CHECK_FALSE(is_portal_slug("_a"));
  CHECK_FALSE(is_portal_slug("a/b"));
  CHECK(is_email_address("support@example.com"));
  CHECK_FALSE(is_email_address("support@"));
  CHECK_FALSE(is_email_address("support@exa\nmple.com"));
}
