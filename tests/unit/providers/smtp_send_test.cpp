// providers/smtp/send.cpp: the SMTP transfer of an email notification and how the server's reply
// code reads (2xx sent, 4xx later and the server's trouble, 5xx refused for good).

#include <catch2/catch.hpp>

#include "providers/provider.hpp"
#include "tests/unit/providers/common.hpp"

using namespace switchboard;
using namespace switchboard::providers;

namespace {

std::shared_ptr<provider> smtp() {
  config::settings cfg;
  cfg.smtp.url = "smtps://mail.example:465";
  cfg.smtp.from = "bot@example.com";
  cfg.smtp.username = "bot";
  cfg.smtp.password = "pw";
  return test::provider_named("smtp", cfg);
}

core::http_reply code(long status) {
  return core::http_reply{status, {}, "", 1000};
}

} // namespace

TEST_CASE("SMTP provider: a mail transfer from the configured sender", "[providers][smtp]") {
  auto p = smtp();
  CHECK(p->service() == "smtp");
  send_request s;
  s.recipient = "provider@example.org";
  s.subject = "A customer asks for a human";
  s.body = "Open the conversation in Chatwoot.";
  s.correlation_id = "corr-9";
  auto call = p->build_send(s);
  REQUIRE(call);
  REQUIRE(std::holds_alternative<core::mail_call>(*call));
  const auto& mail = std::get<core::mail_call>(*call);
  CHECK(mail.url == "smtps://mail.example:465");
  CHECK(mail.from == "bot@example.com");
  CHECK(mail.to == std::vector<std::string>{"provider@example.org"});
  CHECK(mail.username == "bot");
  CHECK(mail.password == "pw");
  CHECK(mail.correlation_id == "corr-9");
  CHECK_THAT(mail.payload, Catch::Contains("Subject: A customer asks for a human\r\n"));
  CHECK_THAT(mail.payload, Catch::Contains("To: provider@example.org\r\n"));
  CHECK_THAT(mail.payload, Catch::Contains("Open the conversation in Chatwoot."));

  s.recipient = "not an address\r\nBcc: x@example.com";
  auto bad = p->build_send(s);
  REQUIRE_FALSE(bad);
  CHECK(core::code_of(bad.error()) == core::sb_error::invalid_argument);
}

TEST_CASE("SMTP provider: reply codes", "[providers][smtp]") {
  auto p = smtp();
  auto sent = p->parse_send_answer(code(250));
  REQUIRE(sent);
  CHECK(sent->empty());
  auto later = p->parse_send_answer(code(451));
  REQUIRE_FALSE(later);
  CHECK(core::code_of(later.error()) == core::sb_error::provider_transient);
  CHECK(core::reason_of(later.error()) == "SMTP answered 451");
  CHECK(p->health_of(code(451)) == core::call_outcome::failure);
  auto refused = p->parse_send_answer(code(550));
  REQUIRE_FALSE(refused);
  CHECK(core::code_of(refused.error()) == core::sb_error::provider_rejected);
  CHECK(p->health_of(code(550)) == core::call_outcome::success);
}
