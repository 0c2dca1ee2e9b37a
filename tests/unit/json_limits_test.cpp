#include <catch2/catch.hpp>

#include <string>

#include "core/events.hpp"
#include "core/json_fields.hpp"
#include "providers/chatwoot/codec.hpp"
#include "providers/openai/codec.hpp"
#include "providers/telegram/codec.hpp"
#include "providers/whatsapp/codec.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;

TEST_CASE("untrusted JSON: nesting is limited before parsing, strings do not count", "[json]") {
  CHECK(json_depth("{}") == 1);
  CHECK(json_depth(R"({"a":[1,{"b":[]}]})") == 4);
  CHECK(json_depth(R"({"a":"[[[[{{{{"})") == 1);      // brackets inside a string
  CHECK(json_depth(R"({"a":"\"[[[[","b":[]})") == 2); // an escaped quote keeps the string open
  CHECK(json_depth(R"(["\\",[[]]])") == 3);           // an escaped backslash ends before the quote
  CHECK(json_depth("42") == 0);

  auto nested = [](std::size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  CHECK_FALSE(parse_untrusted_json(nested(max_json_depth)).is_discarded());
  std::string why;
  CHECK(parse_untrusted_json(nested(max_json_depth + 1), &why).is_discarded());
  CHECK(why.find("deeper than 32") != std::string::npos);
  // 10,000 and 1,000,000 levels are refused without recursion (and quickly).
  CHECK(parse_untrusted_json(nested(10000)).is_discarded());
  CHECK(json_depth(std::string(1000000, '{'), max_json_depth) == max_json_depth + 1);
  why.clear();
  CHECK(parse_untrusted_json("{", &why).is_discarded());
  CHECK(why == "not valid JSON");
}

TEST_CASE("untrusted JSON: a raw NUL byte is refused, not taken for the end of the text",
          "[json]") {
  using namespace std::string_literals;
  // Found by tests/fuzz/json_fuzz: nlohmann's parser stops at a NUL, so a document followed by
  // a NUL and anything (here: more brackets) was accepted, the rest silently ignored.
  auto fuzzed = "{\"a\":\"[[,{{{{\"}\0\x0c{{{\"}\0"s;
  std::string why;
  CHECK(parse_untrusted_json(fuzzed, &why).is_discarded());
  CHECK(why == "not valid JSON (a raw NUL byte)");
  CHECK(parse_untrusted_json("{\"a\":1}\0"s).is_discarded());
  CHECK(parse_untrusted_json("{\"a\":\"x\0y\"}"s).is_discarded());
  // The escape is a NUL inside a string, and valid.
  CHECK(parse_untrusted_json(R"({"a":"x\u0000y"})").at("a") == "x\0y"s);

  // Every codec refuses it the same way.
  auto malformed = [](const caf::error& err) { return code_of(err) == sb_error::malformed; };
  auto wa = R"({"object":"whatsapp_business_account","entry":[]})"s + '\0' + "junk";
  REQUIRE(parse_whatsapp_webhook(wa.substr(0, wa.find('\0'))));
  CHECK(malformed(parse_whatsapp_webhook(wa).error()));
  auto tg = R"({"update_id":1})"s + '\0' + "junk";
  REQUIRE(parse_telegram_update(tg.substr(0, tg.find('\0'))));
  CHECK(malformed(parse_telegram_update(tg).error()));
  CHECK(malformed(
      parse_telegram_send_response(200, R"({"ok":true,"result":{"message_id":1}})"s + '\0')
          .error()));
  auto cw = R"({"event":"webwidget_triggered"})"s + '\0' + "junk";
  REQUIRE(parse_chatwoot_webhook(cw.substr(0, cw.find('\0'))));
  CHECK(malformed(parse_chatwoot_webhook(cw).error()));
  CHECK(malformed(parse_chatwoot_articles(R"({"payload":[]})"s + '\0').error()));
  auto llm = R"({"choices":[{"message":{"content":"hi"}}]})"s + '\0' + "junk";
  REQUIRE(parse_llm_response(llm.substr(0, llm.find('\0'))));
  CHECK(malformed(parse_llm_response(llm).error()));
  auto inbox = R"({"channel":"sms","text":"hi"})"s + '\0' + "junk";
  REQUIRE(decode_inbound_message(inbox.substr(0, inbox.find('\0'))));
  CHECK(malformed(decode_inbound_message(inbox).error()));
}

TEST_CASE("a codec's optional string field: the text, empty when absent or null, an error naming "
          "the field when of another type",
          "[json]") {
  using namespace switchboard::core::json_fields;
  auto obj = nlohmann::json::parse(R"({"a":"x","n":null,"i":3,"o":{}})");
  CHECK(opt_string(obj, "a") == "x");
  CHECK(opt_string(obj, "n").empty());
  CHECK(opt_string(obj, "missing").empty());
  CHECK(opt_string(nlohmann::json::array(), "a").empty());
  for (const char* key : {"i", "o"}) {
    try {
      opt_string(obj, key, "conversation");
      FAIL("no field_error for " << key);
    } catch (const field_error& e) {
      CHECK(e.reason == std::string{"conversation."} + key + ": expected a string");
    }
  }
}
