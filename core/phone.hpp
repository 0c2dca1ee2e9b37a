#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace switchboard::core {

/// Normalises a phone number to E.164 ("+" and 8-15 digits, the first not 0). Accepts a leading
/// "+" or none (a WhatsApp wa_id such as "250788123456"), the "whatsapp:" and "tel:" prefixes
/// Twilio and OneAPI use, and spaces, dashes, dots and parentheses as separators. National
/// numbers ("0788...") are refused: core knows no default country. Reasons never echo the input.
expected<std::string> normalize_phone(std::string_view raw);

/// Masks a phone number for logs: "+250788123456" -> "+250788***456". At most 10 characters
/// stay visible and at least 3 are hidden, so short inputs never appear whole.
std::string mask_phone(std::string_view phone);

/// Replaces message text in logs by its length in code points, e.g. "[42 chars]".
std::string mask_text(std::string_view text);

} // namespace switchboard::core
