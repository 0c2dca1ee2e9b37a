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

/// Masks a phone number for logs. An E.164 number keeps its country calling code and its last
/// 3 digits (2 when the national number is short): "+250788123456" -> "+250***456",
/// "+14155550123" -> "+1***123"; at least 4 digits are always hidden. Anything else (a
/// WhatsApp user id, a username) shows at most 2 leading and 2 trailing characters and never
/// more than half of itself: "12345" -> "1***5". The hidden run is always "***", so the
/// length is not shown either.
std::string mask_phone(std::string_view phone);

/// Replaces message text in logs by its length in code points, e.g. "[42 chars]".
std::string mask_text(std::string_view text);

} // namespace switchboard::core
