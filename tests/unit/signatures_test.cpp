#include <catch2/catch.hpp>

#include "core/signatures.hpp"

using namespace switchboard::core;

TEST_CASE("Secret token comparison", "[signatures]") {
  CHECK(verify_secret_token("s3cr3t", "s3cr3t"));
  CHECK_FALSE(verify_secret_token("s3cr3t", "s3cr3T"));
  CHECK_FALSE(verify_secret_token("s3cr3t", "s3cr3t "));
  CHECK_FALSE(verify_secret_token("s3cr3t", ""));
  CHECK_FALSE(verify_secret_token("", ""));
}
