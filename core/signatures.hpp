#pragma once

// What every webhook signature check shares: constant-time digest and token comparison. Each
// provider's own scheme lives in providers/<name>/signature.hpp.

#include <string>
#include <string_view>

namespace switchboard::core {

/// Whether `text` begins with `prefix` (a signature header's "sha256=").
bool starts_with(std::string_view text, std::string_view prefix);

/// `text` with A-Z lowered (URL schemes and hosts, hex digests).
std::string ascii_lower(std::string_view text);

/// Compares a presented hex digest (any case) with the expected lower-case one. The length is
/// not secret; the content comparison is constant-time.
bool hex_digest_equal(std::string_view expected_lower, std::string_view presented);

/// Verifies a shared secret token header (Telegram's X-Telegram-Bot-Api-Secret-Token, bearer
/// tokens) in constant time; an empty expected value never verifies.
bool verify_secret_token(std::string_view expected, std::string_view presented);

} // namespace switchboard::core
