#pragma once

// What the provider codec tests share.

#include <catch2/catch.hpp>

#include "core/error.hpp"

namespace switchboard::test {

/// The error of a result that must have failed (the test stops when it did not).
template <class T> caf::error error_of(const core::expected<T>& res) {
  REQUIRE_FALSE(res);
  return res.error();
}

} // namespace switchboard::test
