#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "providers/chatwoot/signature.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;
using switchboard::test::fixture_json;

TEST_CASE("Chatwoot signature: timestamp.body over raw bytes", "[signatures][chatwoot]") {
  const std::string secret = "whsec_test";
  // Raw bytes with JSON unicode escapes: re-serialising would turn \u003c into '<'.
  const std::string body
      = R"({"event":"message_created","content":"\u003cb\u003ehi\u003c/b\u003e"})";
  const std::string reserialised = R"({"content":"<b>hi</b>","event":"message_created"})";
  const std::string ts = "1717000000";
  const int64_t now = 1717000000;

  // The expected value is computed from its definition in the Chatwoot docs.
  auto expected = "sha256=" + to_hex(hmac_sha256(secret, ts + "." + body));
  CHECK(chatwoot_signature(secret, ts, body) == expected);
  // Signing the body alone gives a different digest.
  CHECK(expected != "sha256=" + to_hex(hmac_sha256(secret, body)));

  CHECK(verify_chatwoot_signature(secret, ts, body, expected, now));
  CHECK_FALSE(verify_chatwoot_signature(secret, ts, reserialised, expected, now));
  CHECK_FALSE(verify_chatwoot_signature(secret, "1717000001", body, expected, now));
  CHECK_FALSE(verify_chatwoot_signature("other", ts, body, expected, now));
  CHECK_FALSE(verify_chatwoot_signature("", ts, body, expected, now));
  CHECK_FALSE(verify_chatwoot_signature(secret, ts, body, expected.substr(7), now));
  CHECK_FALSE(verify_chatwoot_signature(secret, ts, body, "", now));

  SECTION("timestamp window is inclusive at +-tolerance") {
    CHECK(verify_chatwoot_signature(secret, ts, body, expected, now + 300));
    CHECK(verify_chatwoot_signature(secret, ts, body, expected, now - 300));
    CHECK_FALSE(verify_chatwoot_signature(secret, ts, body, expected, now + 301));
    CHECK_FALSE(verify_chatwoot_signature(secret, ts, body, expected, now - 301));
    CHECK(verify_chatwoot_signature(secret, ts, body, expected, now + 30, 30));
    CHECK_FALSE(verify_chatwoot_signature(secret, ts, body, expected, now + 31, 30));
  }

  SECTION("timestamp must be a plain integer") {
    for (std::string bad : {"", "-1717000000", "1717000000.5", " 1717000000", "1717000000 ",
                            "17170000x0", "+1717000000", "99999999999999999999999"}) {
      INFO(bad);
      auto sig = chatwoot_signature(secret, bad, body);
      CHECK_FALSE(verify_chatwoot_signature(secret, bad, body, sig, now));
    }
  }
}

TEST_CASE("Chatwoot signature against several secrets (one per webhook kind, rotation)",
          "[signatures][chatwoot]") {
  const std::string body = R"({"event":"message_created","id":1})";
  const std::string ts = "1717000000";
  const int64_t now = 1717000000;
  const std::vector<std::string> secrets{"account-secret", "api-inbox-secret", "agent-bot-secret"};
  for (const auto& secret : secrets) {
    INFO(secret);
    CHECK(verify_chatwoot_signature(secrets, ts, body, chatwoot_signature(secret, ts, body), now));
  }
  CHECK_FALSE(
      verify_chatwoot_signature(secrets, ts, body, chatwoot_signature("third", ts, body), now));
  CHECK_FALSE(verify_chatwoot_signature(std::vector<std::string>{}, ts, body,
                                        chatwoot_signature("", ts, body), now));
  // Each secret still gets the timestamp window.
  CHECK_FALSE(verify_chatwoot_signature(
      secrets, ts, body, chatwoot_signature("agent-bot-secret", ts, body), now + 301));

  SECTION("the configured list: the single key first, then the comma-separated one") {
    CHECK(chatwoot_webhook_secrets("", "").empty());
    CHECK(chatwoot_webhook_secrets("a", "") == std::vector<std::string>{"a"});
    CHECK(chatwoot_webhook_secrets("", "b") == std::vector<std::string>{"b"});
    CHECK(chatwoot_webhook_secrets("a", " b , c,,a, ") == std::vector<std::string>{"a", "b", "c"});
    CHECK(chatwoot_webhook_secrets(" ", ",").empty());
  }
}
