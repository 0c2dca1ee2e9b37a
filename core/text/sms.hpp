#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/text/utf8.hpp"

namespace switchboard::core {

/// Character set an SMS is sent in: GSM 03.38 7-bit default alphabet or UCS-2 (UTF-16).
enum class sms_encoding { gsm7, ucs2 };

/// "GSM-7" or "UCS-2", the names Twilio's segment calculator uses.
std::string to_string(sms_encoding x);

/// Septets a code point takes in GSM-7: 1 (basic table), 2 (escape + extension table), or 0
/// when it is not representable. `country` (ISO 3166 alpha-2) selects carrier rules: for "MY"
/// (Malaysia) only the ASCII part of the alphabet is GSM-7, as in Twilio's calculator.
std::size_t gsm7_septets(char32_t c, std::string_view country = {});

/// Size of an SMS body as a handset network sees it.
struct sms_info {
  sms_encoding encoding = sms_encoding::gsm7; ///< GSM-7 when every character is representable
  std::size_t segments = 1;                   ///< 160/153 septets or 70/67 UTF-16 units per segment
  std::size_t units = 0;                      ///< septets (GSM-7) or UTF-16 code units (UCS-2)
  std::size_t message_size_bits = 0;          ///< payload bits without user data headers
  std::size_t total_size_bits = 0; ///< payload plus a 48-bit UDH per segment when concatenated
  std::size_t code_points = 0;     ///< Unicode scalar values in the body
};

/// Encoding, segment count and bit sizes of `text` (UTF-8). Concatenated segments never split
/// a GSM escape pair or a UTF-16 surrogate pair. An empty body is one empty segment. `country`
/// as for gsm7_septets.
sms_info analyze_sms(std::string_view text, std::string_view country = {});

/// Shorthand for analyze_sms(text, country).segments.
std::size_t sms_segment_count(std::string_view text, std::string_view country = {});

/// The text of each segment, in order (UTF-8), split as analyze_sms counts them.
std::vector<std::string> split_sms(std::string_view text, std::string_view country = {});

/// Distinct characters (UTF-8, in order of first appearance) that force UCS-2.
std::vector<std::string> non_gsm_characters(std::string_view text, std::string_view country = {});

/// One row of Twilio's Smart Encoding table: a Unicode code point and its GSM-7 replacement.
using smart_encoding_entry = std::pair<char32_t, std::string_view>;

/// Twilio's Smart Encoding table (message-segment-calculator SmartEncodingMap), sorted by code
/// point.
const std::vector<smart_encoding_entry>& smart_encoding_table();

/// Replaces look-alike characters (curly quotes, dashes, full-width forms, odd spaces...) by
/// their GSM-7 equivalents so the text can stay GSM-7; other characters are kept.
std::string smart_encode(std::string_view text);

/// `text` unchanged when it fits in `max_segments` segments; otherwise cut on a word boundary
/// (on a code point boundary when there is none) with "..." appended when the result is GSM-7
/// and "…" when it is UCS-2. The result always fits and is valid UTF-8 (invalid input bytes
/// become U+FFFD); 0 segments gives "". `country` as for gsm7_septets.
std::string fit_sms(std::string_view text, std::size_t max_segments, std::string_view country = {});

} // namespace switchboard::core
