#pragma once

// What the provider codec tests share.

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "config/settings.hpp"
#include "core/error.hpp"
#include "providers/provider.hpp"

namespace switchboard::test {

/// The error of a result that must have failed (the test stops when it did not).
template <class T> caf::error error_of(const core::expected<T>& res) {
  REQUIRE_FALSE(res);
  return res.error();
}

/// The registered provider `name` over `cfg` (the test stops when there is none).
inline std::shared_ptr<providers::provider> provider_named(const std::string& name,
                                                           const config::settings& cfg) {
  auto p = providers::make_provider(name, cfg);
  REQUIRE(p);
  return p;
}

/// A send of `body` to `recipient` (delivery row `delivery_id`, correlation `correlation_id`).
inline providers::send_request send_of(int64_t delivery_id, std::string recipient, std::string body,
                                       std::string correlation_id) {
  providers::send_request s;
  s.delivery_id = delivery_id;
  s.recipient = std::move(recipient);
  s.body = std::move(body);
  s.correlation_id = std::move(correlation_id);
  return s;
}

} // namespace switchboard::test
