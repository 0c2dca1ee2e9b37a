#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "providers/whatsapp/signature.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;
using switchboard::test::fixture_json;
using switchboard::test::read_fixture;

TEST_CASE("WhatsApp hub signature: every fixture vector", "[signatures][whatsapp]") {
  auto doc = fixture_json("whatsapp/signature_vectors.json");
  auto secret = doc.at("app_secret").get<std::string>();
  int checked = 0;
  for (auto& v : doc.at("vectors")) {
    auto name = v.at("name").get<std::string>();
    INFO(name);
    auto body = v.contains("body_file")
                    ? read_fixture("whatsapp/" + v.at("body_file").get<std::string>())
                    : v.at("body_inline").get<std::string>();
    const auto& headers = v.at("headers");
    std::string header = headers.contains("X-Hub-Signature-256")
                             ? headers.at("X-Hub-Signature-256").get<std::string>()
                             : std::string{};
    if (v.at("valid").is_null()) {
      // Policy: hex digits are accepted in either case (the digest is the same value).
      CHECK(verify_hub_signature(secret, body, header));
    } else {
      CHECK(verify_hub_signature(secret, body, header) == v.at("valid").get<bool>());
    }
    // The legacy SHA-1 header is never accepted in place of the SHA-256 one.
    if (headers.contains("X-Hub-Signature"))
      CHECK_FALSE(
          verify_hub_signature(secret, body, headers.at("X-Hub-Signature").get<std::string>()));
    ++checked;
  }
  CHECK(checked == 7);
}

TEST_CASE("WhatsApp hub signature: computing matches the real delivery", "[signatures][whatsapp]") {
  auto doc = fixture_json("whatsapp/signature_vectors.json");
  auto secret = doc.at("app_secret").get<std::string>();
  auto body = read_fixture("whatsapp/signed_body_pywa_real_delivery.json");
  auto expected
      = doc.at("vectors").at(0).at("headers").at("X-Hub-Signature-256").get<std::string>();
  CHECK(hub_signature(secret, body) == expected);
  CHECK_FALSE(verify_hub_signature("", body, expected));
  CHECK_FALSE(verify_hub_signature(secret, body, expected.substr(7))); // no prefix
  CHECK_FALSE(verify_hub_signature(secret, body, "SHA256=" + expected.substr(7)));
  CHECK_FALSE(verify_hub_signature(secret, body, expected + "0"));         // too long
  CHECK_FALSE(verify_hub_signature(secret, body, expected.substr(0, 70))); // too short
  auto non_hex = expected;
  non_hex.back() = 'g';
  CHECK_FALSE(verify_hub_signature(secret, body, non_hex));
  CHECK_FALSE(verify_hub_signature(secret, body + "\n", expected)); // trailing newline matters
}
