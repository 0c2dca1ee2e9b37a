#include <catch2/catch.hpp>

#include "core/bot/handoff.hpp"
#include "core/text/sms.hpp"

using namespace switchboard::core;

namespace {

handoff_notice notice() {
  handoff_notice n;
  n.account_id = 3;
  n.conversation_id = 42;
  n.conversation_url = "https://chat.example.com/app/accounts/3/conversations/42";
  n.customer_name = "Aline <admin>";
  n.last_message = "I want a human, the refund never arrived & I'm upset";
  n.reason = "The customer asked for a human.";
  return n;
}

} // namespace

TEST_CASE("Telegram hand-off text links, quotes, explains and escapes HTML", "[handoff]") {
  auto t = handoff_telegram_text(notice());
  CHECK(t.find("<b>Conversation #42 needs a human</b>") != std::string::npos);
  CHECK(t.find("Aline &lt;admin&gt;") != std::string::npos);
  CHECK(t.find("refund never arrived &amp; I'm upset") != std::string::npos);
  CHECK(t.find("href=\"https://chat.example.com/app/accounts/3/conversations/42\"")
        != std::string::npos);
  CHECK(t.find("Reply to this message") != std::string::npos);
}

TEST_CASE("SMS hand-off text stays within two segments whatever the message", "[handoff]") {
  auto n = notice();
  n.last_message = std::string(2000, 'x') + " 😀";
  auto s = handoff_sms_text(n, 2);
  CHECK(analyze_sms(s).segments <= 2);
  CHECK(s.find("#42") != std::string::npos);
  auto short_one = handoff_sms_text(notice(), 2);
  CHECK(analyze_sms(short_one).encoding == sms_encoding::gsm7);
  // One full stop between the reason and the quote, whether or not the reason ends with one.
  CHECK(short_one.find("asked for a human. Aline") != std::string::npos);
  CHECK(short_one.find("..") == std::string::npos);
  auto bare = notice();
  bare.reason = "Low confidence";
  CHECK(handoff_sms_text(bare, 2).find("Low confidence. Aline") != std::string::npos);
}

TEST_CASE("email hand-off has a subject and the link", "[handoff]") {
  auto e = handoff_email(notice());
  CHECK(e.subject == "Conversation #42 needs a human");
  CHECK(e.body.find("conversations/42") != std::string::npos);
  CHECK(e.body.find("> I want a human") != std::string::npos);
}
