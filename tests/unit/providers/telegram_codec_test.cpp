#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "core/omni/format.hpp"
#include "providers/telegram/codec.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;
using json = nlohmann::json;
using switchboard::test::fixture_json;
using switchboard::test::fixture_path;
using switchboard::test::read_fixture;

namespace {

struct expected_update {
  int64_t update_id;
  telegram_update_kind kind;
  int64_t message_id;
  int64_t chat_id;
  std::string chat_type;
  std::optional<int64_t> from_id;
  std::string from_name;
  std::string text;
  bool is_caption = false;
  std::optional<int64_t> reply_to = std::nullopt;
  std::optional<int64_t> thread = std::nullopt;
};

// Expected values read off each fixture by hand.
const std::map<std::string, expected_update> update_fixtures = {
    {"update_channel_post__aiogram_wrapped.json",
     {123456792, telegram_update_kind::channel_post, 123432, -1001065170817, "channel",
      std::nullopt, "", "Hi, world!"}},
    {"update_edited_message_private__aiogram_wrapped.json",
     {123456791, telegram_update_kind::edited_message, 12345, 12345678, "private", 12345678,
      "FirstName LastName", "hi there (edited)"}},
    {"update_forum_topic_reply__teloxide_wrapped.json",
     {306197400, telegram_update_kind::message, 5, -1001847508954, "supergroup", 1253681278,
      "вафель'", "blah", false, 4, 4}},
    {"update_private_photo__aiogram_wrapped.json",
     {123456793, telegram_update_kind::message, 12345, 12345678, "private", 12345678,
      "FirstName LastName", "photo description", true}},
    {"update_private_reply_to_message__aiogram_wrapped.json",
     {123456790, telegram_update_kind::message, 12345, 12345678, "private", 12345678,
      "FirstName LastName", "Reply to quoted message", false, 11223}},
    {"update_private_text_2__teloxide.json",
     {306197398, telegram_update_kind::message, 154, 408258968, "private", 408258968, "Hirrolot",
      "4"}},
    {"update_private_text__aiogram.json",
     {123456789, telegram_update_kind::message, 11223, 12345678, "private", 12345678,
      "FirstName LastName", "Hi, world!"}},
    {"update_private_text__teloxide.json",
     {892252934, telegram_update_kind::message, 6557, 218485655, "private", 218485655, "Waffle",
      "hello there"}},
    {"update_private_unicode_text__teloxide_wrapped.json",
     {306197399, telegram_update_kind::message, 199785, 250918540, "private", 250918540,
      "Андрей Власов", "Лол кек 😂"}},
    {"update_private_voice__aiogram_wrapped.json",
     {123456794, telegram_update_kind::message, 12345, 12345678, "private", 12345678,
      "FirstName LastName", ""}},
    {"update_supergroup_pinned_message__teloxide.json",
     {845402291, telegram_update_kind::message, 20225, -1001276785818, "supergroup", 408258968,
      "Hirrolot", ""}},
    {"update_supergroup_reply_to_message__teloxide.json",
     {439432600, telegram_update_kind::message, 134546, -1001293752024, "supergroup", 5964236329,
      "the Cable Guy", "/report", false, 134545, 134545}},
};

telegram_update parse_ok(const std::string& body) {
  auto up = parse_telegram_update(body);
  if (!up)
    FAIL(reason_of(up.error()));
  return *up;
}

std::string reason_for(std::string_view body) {
  auto up = parse_telegram_update(body);
  REQUIRE_FALSE(up);
  CHECK(code_of(up.error()) == sb_error::malformed);
  return reason_of(up.error());
}

telegram_message message_of(const std::string& text) {
  json msg = {
      {"message_id", 1}, {"date", 0}, {"chat", {{"id", 5}, {"type", "private"}}}, {"text", text}};
  auto m = parse_telegram_message(msg);
  REQUIRE(m);
  return *m;
}

} // namespace

TEST_CASE("every update_*.json fixture parses to the expected fields", "[telegram]") {
  std::size_t seen = 0;
  for (auto& entry : std::filesystem::directory_iterator(fixture_path("telegram"))) {
    auto name = entry.path().filename().string();
    if (name.rfind("update_", 0) != 0)
      continue;
    ++seen;
    INFO(name);
    auto i = update_fixtures.find(name);
    REQUIRE(i != update_fixtures.end()); // a new fixture needs an expectation here
    const auto& want = i->second;
    auto up = parse_ok(read_fixture("telegram/" + name));
    CHECK(up.update_id == want.update_id);
    CHECK(up.kind == want.kind);
    REQUIRE(up.message);
    const auto& m = *up.message;
    CHECK(m.message_id == want.message_id);
    CHECK(m.chat_id == want.chat_id);
    CHECK(m.chat_type == want.chat_type);
    CHECK(m.from_id == want.from_id);
    CHECK(m.from_name == want.from_name);
    CHECK(m.text == want.text);
    CHECK(m.is_caption == want.is_caption);
    CHECK(m.reply_to_message_id == want.reply_to);
    CHECK(m.reply_to_chat_id
          == (want.reply_to ? std::optional<int64_t>{want.chat_id} : std::nullopt));
    CHECK(m.message_thread_id == want.thread);
    CHECK_FALSE(m.is_start);
    CHECK(m.date > 1500000000);
  }
  CHECK(seen == update_fixtures.size());
}

TEST_CASE("teloxide test updates and messages all parse", "[telegram]") {
  auto all = fixture_json("telegram/teloxide_core_test_updates.json");
  REQUIRE(all.size() == 7);
  for (auto& [name, value] : all.items()) {
    INFO(name);
    if (name.rfind("update_", 0) == 0) {
      auto up = parse_ok(value.dump());
      CHECK(up.update_id == value["update_id"].get<int64_t>());
      CHECK(up.kind == telegram_update_kind::message);
      REQUIRE(up.message);
      CHECK(up.message->message_id == value["message"]["message_id"].get<int64_t>());
      CHECK(up.message->chat_id == value["message"]["chat"]["id"].get<int64_t>());
    } else {
      auto m = parse_telegram_message(value);
      REQUIRE(m);
      CHECK(m->message_id == value["message_id"].get<int64_t>());
    }
  }
  // The story message has neither text nor caption; the /report reply points at it.
  auto story = parse_ok(all["update_supergroup_story_message__update.rs_fn_issue_1107_0"].dump());
  CHECK(story.message->text.empty());
  CHECK(story.message->from_username == "WertCrypto");
  auto report = parse_ok(
      all["update_supergroup_reply_to_message_command__update.rs_fn_issue_1107_1"].dump());
  CHECK(report.message->reply_to_message_id == 134545);
  CHECK_FALSE(report.message->is_start);
}

TEST_CASE("aiogram dataset messages parse, including REPLY_MESSAGE and channel posts",
          "[telegram]") {
  auto data = fixture_json("telegram/aiogram_v2_tests_types_dataset.json");
  std::size_t messages = 0;
  for (auto& [name, value] : data.items()) {
    if (!value.is_object() || !value.contains("message_id") || !value.contains("chat"))
      continue;
    INFO(name);
    ++messages;
    auto m = parse_telegram_message(value);
    REQUIRE(m);
    CHECK(m->message_id == value["message_id"].get<int64_t>());
    CHECK(m->chat_id == value["chat"]["id"].get<int64_t>());
    if (value.contains("text"))
      CHECK(m->text == value["text"].get<std::string>());
    else if (value.contains("caption"))
      CHECK(m->text == value["caption"].get<std::string>());
    else
      CHECK(m->text.empty());
  }
  CHECK(messages == 22);
  auto reply = parse_telegram_message(data["REPLY_MESSAGE"]);
  REQUIRE(reply);
  CHECK(reply->reply_to_message_id == 11223);
  CHECK(reply->reply_to_chat_id == 12345678);
  CHECK(reply->from_username == "username");
  auto channel = parse_telegram_message(data["MESSAGE_FROM_CHANNEL"]);
  REQUIRE(channel);
  CHECK_FALSE(channel->from_id); // "from": null
  CHECK(channel->chat_type == "channel");
  auto update = parse_ok(data["UPDATE"].dump());
  CHECK(update.update_id == 123456789);
}

TEST_CASE("/start is recognised with payloads and bot mentions only", "[telegram]") {
  CHECK(message_of("/start").is_start);
  CHECK(message_of("/start").start_payload.empty());
  auto deep = message_of("/start  ref-42 ");
  CHECK(deep.is_start);
  CHECK(deep.start_payload == "ref-42");
  auto mention = message_of("/start@acme_support_bot abc");
  CHECK(mention.is_start);
  CHECK(mention.start_payload == "abc");
  CHECK(message_of("/start@acme_support_bot").is_start);
  CHECK_FALSE(message_of("/startle").is_start);
  CHECK_FALSE(message_of("/stop").is_start);
  CHECK_FALSE(message_of(" /start").is_start);
  CHECK_FALSE(message_of("please /start").is_start);
  // A caption is not a command.
  json photo
      = {{"message_id", 1}, {"chat", {{"id", 5}, {"type", "private"}}}, {"caption", "/start"}};
  auto m = parse_telegram_message(photo);
  REQUIRE(m);
  CHECK(m->is_caption);
  CHECK_FALSE(m->is_start);
}

TEST_CASE("updates without a message are kept as kind other", "[telegram]") {
  auto up = parse_ok(
      R"({"update_id": 10, "callback_query": {"id": "4382", "from": {"id": 1, "is_bot": false, "first_name": "A"}, "data": "x"}})");
  CHECK(up.update_id == 10);
  CHECK(up.kind == telegram_update_kind::other);
  CHECK_FALSE(up.message);
  CHECK(to_string(up.kind) == "other");
}

TEST_CASE("malformed updates give reasons naming the field", "[telegram]") {
  CHECK_THAT(reason_for(""), Catch::Contains("invalid JSON"));
  CHECK_THAT(reason_for("{\"update_id\": 1, \"message\": {\"text\": \"\xC3\x28\"}}"),
             Catch::Contains("invalid JSON"));
  CHECK(reason_for("[]") == "body: expected a JSON object");
  CHECK(reason_for("{}") == "update_id: missing");
  CHECK(reason_for(R"({"update_id": "1"})") == "update_id: expected an integer");
  CHECK(reason_for(R"({"update_id": 1, "message": 5})") == "message: expected an object");
  CHECK(reason_for(R"({"update_id": 1, "message": {"chat": {"id": 1}}})")
        == "message.message_id: missing");
  CHECK(reason_for(R"({"update_id": 1, "message": {"message_id": 1}})") == "message.chat: missing");
  CHECK(reason_for(R"({"update_id": 1, "edited_message": {"message_id": 1, "chat": {"id": "x"}}})")
        == "edited_message.chat.id: expected an integer");
  CHECK(
      reason_for(R"({"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "text": 5}})")
      == "message.text: expected a string");
  CHECK(
      reason_for(
          R"({"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "from": {"first_name": "A"}}})")
      == "message.from.id: missing");
  CHECK(
      reason_for(
          R"({"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "reply_to_message": {"chat": {"id": 1}}}})")
      == "message.reply_to_message.message_id: missing");
}

TEST_CASE("html escaping for parse_mode HTML", "[telegram]") {
  CHECK(telegram_html_escape("a < b && c > \"d\" 'e'")
        == "a &lt; b &amp;&amp; c &gt; &quot;d&quot; 'e'");
  CHECK(telegram_html_escape("Лол 😂") == "Лол 😂");
  CHECK(telegram_html_escape("") == "");
}

TEST_CASE("sendMessage body matches the Bot API shape", "[telegram]") {
  auto responses = fixture_json("telegram/bot_api_responses.json");
  const auto& sample = responses["reconstructed"]["sendMessage_request_reply_in_private_chat"];
  auto body = telegram_send_message_body(sample["chat_id"].get<int64_t>(),
                                         sample["text"].get<std::string>(),
                                         sample["reply_parameters"]["message_id"].get<int64_t>());
  REQUIRE(body);
  auto j = json::parse(*body);
  CHECK(j["chat_id"] == sample["chat_id"]);
  CHECK(j["text"] == sample["text"]);
  CHECK(j["reply_parameters"]["message_id"] == sample["reply_parameters"]["message_id"]);
  CHECK(j["reply_parameters"]["allow_sending_without_reply"] == true);
  CHECK(j["parse_mode"] == "HTML");
  CHECK(j["link_preview_options"] == json{{"is_disabled", true}});
  CHECK_FALSE(j.contains("reply_to_message_id")); // deprecated in favour of reply_parameters

  auto plain = telegram_send_message_body(-1001065170817, telegram_html_escape("<b>hi</b>"));
  REQUIRE(plain);
  auto p = json::parse(*plain);
  CHECK(p["chat_id"] == -1001065170817);
  CHECK(p["text"] == "&lt;b&gt;hi&lt;/b&gt;");
  CHECK_FALSE(p.contains("reply_parameters"));

  auto empty = telegram_send_message_body(1, "");
  REQUIRE_FALSE(empty);
  CHECK(code_of(empty.error()) == sb_error::invalid_argument);
  CHECK(reason_of(empty.error()) == "text: must not be empty");
  auto bad = telegram_send_message_body(1, "\xFF");
  REQUIRE_FALSE(bad);
  CHECK(reason_of(bad.error()) == "text: invalid UTF-8");
}

TEST_CASE("setWebhook body", "[telegram]") {
  auto body = telegram_set_webhook_body("https://sb.example.com/webhooks/telegram", "s3cr3t_T-1",
                                        {"message", "edited_message"});
  REQUIRE(body);
  CHECK(json::parse(*body)
        == json{{"url", "https://sb.example.com/webhooks/telegram"},
                {"secret_token", "s3cr3t_T-1"},
                {"allowed_updates", {"message", "edited_message"}}});
  auto no_filter = telegram_set_webhook_body("https://x.example/t", "abc", {});
  REQUIRE(no_filter);
  CHECK_FALSE(json::parse(*no_filter).contains("allowed_updates"));
  auto reason = [](std::string_view url, std::string_view token) {
    auto r = telegram_set_webhook_body(url, token, {});
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == sb_error::invalid_argument);
    return reason_of(r.error());
  };
  CHECK_THAT(reason("https://x.example/t", ""), Catch::StartsWith("secret_token:"));
  CHECK_THAT(reason("https://x.example/t", std::string(257, 'a')),
             Catch::StartsWith("secret_token:"));
  CHECK_THAT(reason("https://x.example/t", "has space"), Catch::StartsWith("secret_token:"));
  CHECK_THAT(reason("http://x.example/t", "abc"), Catch::StartsWith("url:"));
  CHECK(telegram_set_webhook_body("https://x.example/t", std::string(256, 'a'), {}));
}

TEST_CASE("Bot API responses map to message ids and errors", "[telegram]") {
  auto r = fixture_json("telegram/bot_api_responses.json");
  const auto& v = r["verbatim"];
  const auto& rec = r["reconstructed"];

  auto sent = parse_telegram_send_response(200, rec["sendMessage_success"].dump());
  REQUIRE(sent);
  CHECK(*sent == 11224);
  CHECK(parse_telegram_ok_response(200, v["ok_true_result"].dump()));

  struct {
    const char* name;
    int status;
    sb_error code;
    std::optional<int64_t> retry_after;
    const char* reason;
  } cases[] = {
      {"error_bot_blocked_with_error_code",
       403,
       sb_error::provider_rejected,
       {},
       "Forbidden: bot was blocked by the user"},
      {"error_chat_not_found_with_error_code",
       400,
       sb_error::provider_rejected,
       {},
       "Bad Request: chat not found"},
      {"error_unauthorized", 401, sb_error::provider_rejected, {}, "Unauthorized"},
      {"error_too_many_requests_with_error_code", 429, sb_error::provider_transient, 5,
       "retry after 5 s: Too Many Requests: retry after 5"},
  };
  for (auto& c : cases) {
    INFO(c.name);
    auto res = parse_telegram_send_response(c.status, rec[c.name].dump());
    REQUIRE_FALSE(res);
    CHECK(code_of(res.error()) == c.code);
    CHECK(reason_of(res.error()) == c.reason);
    CHECK(telegram_retry_after(res.error()) == c.retry_after);
    // The provider code is the context's second element (see core/delivery.hpp).
    REQUIRE(res.error().context().match_element<int64_t>(1));
    CHECK(res.error().context().get_as<int64_t>(1) == c.status);
  }
  // teloxide's verbatim bodies have no error_code; the HTTP status and parameters decide.
  auto blocked = parse_telegram_send_response(403, v["error_bot_blocked"].dump());
  REQUIRE_FALSE(blocked);
  CHECK(code_of(blocked.error()) == sb_error::provider_rejected);
  CHECK(reason_of(blocked.error()) == "Forbidden: bot was blocked by the user");
  auto retry = parse_telegram_send_response(429, v["error_retry_after"].dump());
  REQUIRE_FALSE(retry);
  CHECK(code_of(retry.error()) == sb_error::provider_transient);
  CHECK(telegram_retry_after(retry.error()) == 123456);
  auto migrated = parse_telegram_send_response(400, v["error_migrate_to_chat_id"].dump());
  REQUIRE_FALSE(migrated);
  CHECK(code_of(migrated.error()) == sb_error::provider_rejected);
  CHECK_THAT(reason_of(migrated.error()), Catch::StartsWith("chat migrated to 123456"));
  CHECK_FALSE(telegram_retry_after(migrated.error()));
}

TEST_CASE("Bot API transport failures and odd bodies", "[telegram]") {
  auto gateway = parse_telegram_send_response(502, "<html>Bad Gateway</html>");
  REQUIRE_FALSE(gateway);
  CHECK(code_of(gateway.error()) == sb_error::provider_transient);
  CHECK(reason_of(gateway.error()) == "HTTP 502 without a JSON body");
  auto internal = parse_telegram_send_response(
      500, R"({"ok": false, "error_code": 500, "description": "Internal Server Error"})");
  REQUIRE_FALSE(internal);
  CHECK(code_of(internal.error()) == sb_error::provider_transient);
  auto garbage = parse_telegram_send_response(200, "not json");
  REQUIRE_FALSE(garbage);
  CHECK(code_of(garbage.error()) == sb_error::malformed);
  auto no_result = parse_telegram_send_response(200, R"({"ok": true})");
  REQUIRE_FALSE(no_result);
  CHECK(reason_of(no_result.error()) == "result: missing");
  auto true_result = parse_telegram_send_response(200, R"({"ok": true, "result": true})");
  REQUIRE_FALSE(true_result);
  CHECK(code_of(true_result.error()) == sb_error::malformed);
  auto no_id = parse_telegram_send_response(200, R"({"ok": true, "result": {"chat": {"id": 1}}})");
  REQUIRE_FALSE(no_id);
  CHECK(reason_of(no_id.error()) == "result.message_id: missing");
  // 429 without parameters still means "slow down": retry after a second.
  auto limited = parse_telegram_send_response(
      429, R"({"ok": false, "error_code": 429, "description": "Too Many Requests"})");
  REQUIRE_FALSE(limited);
  CHECK(code_of(limited.error()) == sb_error::provider_transient);
  CHECK(telegram_retry_after(limited.error()) == 1);
  // ok:false with a 200 status is still a failure.
  auto odd = parse_telegram_ok_response(
      200, R"({"ok": false, "description": "Bad Request: bad webhook"})");
  REQUIRE_FALSE(odd);
  CHECK(code_of(odd.error()) == sb_error::provider_rejected);
  // Errors of other kinds carry no retry_after.
  CHECK_FALSE(
      telegram_retry_after(caf::make_error(sb_error::provider_transient, std::string{"x"})));
  CHECK_FALSE(telegram_retry_after(caf::error{}));
}
