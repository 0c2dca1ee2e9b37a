#include <catch2/catch.hpp>

#include "core/phone.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using switchboard::test::fixture_json;

TEST_CASE("normalize_phone accepts the shapes providers send", "[phone]") {
  const std::pair<const char*, const char*> cases[] = {
      {"+250788123456", "+250788123456"},
      {"250788123456", "+250788123456"},         // WhatsApp wa_id
      {"whatsapp:+14155238886", "+14155238886"}, // Twilio WhatsApp address
      {"WhatsApp:+14155238886", "+14155238886"},
      {"tel:+250788123456", "+250788123456"}, // OneAPI-style address
      {"+1 (415) 555-0123", "+14155550123"},
      {"+44 20.7946.0958", "+442079460958"},
      {"  +250 788 123 456  ", "+250788123456"},
      {"12345678", "+12345678"},               // 8 digits: shortest allowed
      {"123456789012345", "+123456789012345"}, // 15 digits: longest allowed
  };
  for (auto [in, out] : cases) {
    INFO(in);
    auto res = normalize_phone(in);
    REQUIRE(res);
    CHECK(*res == out);
  }
}

TEST_CASE("normalize_phone normalises the fixture senders", "[phone]") {
  // wa_id values from real WhatsApp webhooks and E.164 values from Twilio's examples.
  auto wa = fixture_json("whatsapp/inbound_text.json");
  auto wa_id = wa["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"].get<std::string>();
  CHECK(normalize_phone(wa_id).value() == "+" + wa_id);
  auto tw = fixture_json("twilio/messages_api_examples.json");
  auto to = tw["create_message_request_form"]["To"].get<std::string>();
  CHECK(normalize_phone(to).value() == to);
}

TEST_CASE("normalize_phone refuses invalid numbers with a reason", "[phone]") {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"whatsapp:", "empty"},
      {"+", "no digits"},
      {"0788123456", "country code"}, // national format
      {"+0788123456", "country code"},
      {"1234567", "7 digits"},
      {"1234567890123456", "16 digits"},
      {"+25078812345a", "character"},
      {"+250+788123456", "'+'"},
      {"250788123456;DROP", "character"},
      {"+250\xE2\x80\x8B"
       "788123456",
       "character"}, // zero-width space
  };
  for (auto [in, fragment] : cases) {
    INFO(in);
    auto res = normalize_phone(in);
    REQUIRE_FALSE(res);
    CHECK(code_of(res.error()) == sb_error::invalid_argument);
    CHECK_THAT(reason_of(res.error()), Catch::Contains(fragment));
    // The reason never echoes the number (it may be logged).
    CHECK(reason_of(res.error()).find("788123") == std::string::npos);
  }
}

TEST_CASE("mask_phone keeps the country code and the last digits, and hides the rest", "[phone]") {
  CHECK(mask_phone("+250788123456") == "+250***456"); // Rwanda: 3-digit code
  CHECK(mask_phone("+14155550123") == "+1***123");    // NANP: 1-digit code
  CHECK(mask_phone("+447911123456") == "+44***456");  // UK: 2-digit code
  CHECK(mask_phone("+79161234567") == "+7***567");
  CHECK(mask_phone("+123456789012345") == "+1***345");
  CHECK(mask_phone("+250781234") == "+250***34"); // short national number: last 2
  // Too short to keep the code and a tail with 4 digits hidden: at most half is shown.
  CHECK(mask_phone("+12345678") == "+1***678");
  CHECK(mask_phone("+2501234") == "+2***34");
  CHECK(mask_phone("12345") == "1***5");
  CHECK(mask_phone("1234") == "1***4");
  CHECK(mask_phone("123") == "1***");
  CHECK(mask_phone("") == "***");
  CHECK(mask_phone("wa-user-123456") == "wa***56");
  // Of any E.164 number of 9 to 15 digits, at least 4 digits are hidden, the country code
  // stays, and the length is not shown.
  for (std::size_t n = 9; n <= 15; ++n) {
    std::string phone = "+250" + std::string(n - 3, '7');
    auto masked = mask_phone(phone);
    INFO(phone << " -> " << masked);
    REQUIRE(masked.rfind("+250***", 0) == 0);
    auto shown_digits = masked.size() - 4; // minus "+" and "***"
    CHECK(shown_digits + 4 <= n);
  }
  for (std::size_t n = 0; n < 30; ++n) {
    std::string id = std::string(n, 'x');
    auto masked = mask_phone(id);
    INFO(id << " -> " << masked);
    CHECK(masked.find("***") != std::string::npos);
    CHECK(masked.size() - 3 <= n / 2);
  }
  // Non-ASCII input is masked by code point, so the result stays valid UTF-8.
  CHECK(mask_phone("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9") == "\xC3\xA9***\xC3\xA9");
}

TEST_CASE("mask_text reports only the length", "[phone]") {
  CHECK(mask_text("") == "[0 chars]");
  CHECK(mask_text("a") == "[1 char]");
  CHECK(mask_text("hello world") == "[11 chars]");
  CHECK(mask_text("h\xC3\xA9llo \xF0\x9F\x98\x80") == "[7 chars]");
  CHECK(mask_text(std::string(42, 'x')) == "[42 chars]");
}
