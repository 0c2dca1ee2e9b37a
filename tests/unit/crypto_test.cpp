#include <catch2/catch.hpp>

#include "core/crypto.hpp"

using namespace switchboard::core;

TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2", "[crypto]") {
  CHECK(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?"))
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("HMAC-SHA1 matches RFC 2202 test case 2", "[crypto]") {
  CHECK(to_hex(hmac_sha1("Jefe", "what do ya want for nothing?"))
        == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST_CASE("base64 round-trips and rejects garbage", "[crypto]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_decode("Zg==").value() == "f");
  CHECK(base64_decode("Zm8=").value() == "fo");
  CHECK(base64_decode("Zm9vYmFy").value() == "foobar");
  CHECK_FALSE(base64_decode("Zm9").has_value());
  CHECK_FALSE(base64_decode("Zm9*").has_value());
}

TEST_CASE("constant_time_equal compares content and length", "[crypto]") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK(random_hex(8).size() == 16);
  CHECK(random_hex(8) != random_hex(8));
}
