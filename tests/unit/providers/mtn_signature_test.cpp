#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "providers/mtn/signature.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;
using switchboard::test::fixture_json;

TEST_CASE("MTN signature: hex, optional prefix, either case", "[signatures][mtn]") {
  // RFC 4231 test case 2 (key "Jefe") gives an independent expected digest.
  const std::string body = "what do ya want for nothing?";
  const std::string hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  CHECK(mtn_signature("Jefe", body) == hex);
  CHECK(verify_mtn_signature("Jefe", body, hex));
  CHECK(verify_mtn_signature("Jefe", body, "sha256=" + hex));
  std::string upper = hex;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  CHECK(verify_mtn_signature("Jefe", body, upper));
  CHECK(verify_mtn_signature("Jefe", body, "sha256=" + upper));
  CHECK_FALSE(verify_mtn_signature("Jefe", body + " ", hex));
  CHECK_FALSE(verify_mtn_signature("jefe", body, hex));
  CHECK_FALSE(verify_mtn_signature("", body, hex));
  CHECK_FALSE(verify_mtn_signature("Jefe", body, ""));
  CHECK_FALSE(verify_mtn_signature("Jefe", body, "sha256="));
  CHECK_FALSE(verify_mtn_signature("Jefe", body, hex.substr(1)));
  CHECK_FALSE(verify_mtn_signature("Jefe", body, base64_encode(hmac_sha256("Jefe", body))));
}
