#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::core {

/// Raw HMAC-SHA256 digest (32 bytes) of `data` keyed by `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Raw HMAC-SHA1 digest (20 bytes); Twilio request signatures use it.
std::string hmac_sha1(std::string_view key, std::string_view data);

/// Raw SHA-256 digest (32 bytes).
std::string sha256(std::string_view data);

/// Lower-case hex of raw bytes.
std::string to_hex(std::string_view bytes);

/// Standard base64 (with padding) of raw bytes.
std::string base64_encode(std::string_view bytes);

/// Decodes standard base64; nullopt on invalid input.
std::optional<std::string> base64_decode(std::string_view text);

/// Compares two strings in time independent of where they differ (length is not secret).
bool constant_time_equal(std::string_view a, std::string_view b);

/// `n` cryptographically random bytes, hex-encoded (2n characters).
std::string random_hex(std::size_t n);

} // namespace switchboard::core
