#pragma once

// UTF-8 decoding and encoding for untrusted text (SMS segmentation, formatting, search).

#include <cstddef>
#include <string>
#include <string_view>

namespace switchboard::core {

/// Decodes UTF-8 into code points; each byte of an invalid, overlong, truncated or surrogate
/// sequence becomes U+FFFD, so untrusted text never makes the caller fail.
std::u32string decode_utf8(std::string_view text);

/// Encodes code points as UTF-8 (surrogates and values above U+10FFFF become U+FFFD).
std::string encode_utf8(std::u32string_view code_points);

/// True when `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

/// `text` with every invalid UTF-8 sequence replaced by U+FFFD; valid text is returned as is.
std::string sanitize_utf8(std::string_view text);

/// Number of code points in `text` (invalid bytes count one each).
std::size_t count_code_points(std::string_view text);

} // namespace switchboard::core
