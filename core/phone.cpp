#include "core/phone.hpp"

#include <algorithm>
#include <cctype>

#include "core/sms.hpp"

namespace switchboard::core {

namespace {

constexpr std::size_t min_digits = 8;
constexpr std::size_t max_digits = 15;

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size())
    return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i])
      return false;
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

caf::error invalid(std::string reason) {
  return caf::make_error(sb_error::invalid_argument, std::move(reason));
}

} // namespace

expected<std::string> normalize_phone(std::string_view raw) {
  auto text = trim(raw);
  for (std::string_view prefix : {"whatsapp:", "tel:"}) {
    if (iequals_prefix(text, prefix)) {
      text.remove_prefix(prefix.size());
      text = trim(text);
      break;
    }
  }
  if (text.empty())
    return invalid("empty phone number");
  if (text.front() == '+')
    text.remove_prefix(1);
  std::string digits;
  for (char c : text) {
    if (c >= '0' && c <= '9')
      digits += c;
    else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')')
      continue;
    else if (c == '+')
      return invalid("'+' is only allowed at the start of a phone number");
    else
      return invalid("phone number contains a character other than digits and separators");
  }
  if (digits.empty())
    return invalid("phone number has no digits");
  if (digits.front() == '0')
    return invalid("phone number must start with a country code, not 0");
  if (digits.size() < min_digits || digits.size() > max_digits)
    return invalid("phone number has " + std::to_string(digits.size())
                   + " digits; E.164 allows 8 to 15");
  return "+" + digits;
}

std::string mask_phone(std::string_view phone) {
  auto cps = decode_utf8(phone);
  auto n = cps.size();
  if (n <= 3)
    return "***";
  // 13 characters ("+250788123456") keep 7 + 3; shorter inputs hide at least 3.
  auto visible = std::min<std::size_t>(n - 3, 10);
  auto tail = std::min<std::size_t>(3, visible / 2);
  auto head = visible - tail;
  std::u32string out = cps.substr(0, head) + U"***" + cps.substr(n - tail);
  return encode_utf8(out);
}

std::string mask_text(std::string_view text) {
  auto n = count_code_points(text);
  return "[" + std::to_string(n) + (n == 1 ? " char]" : " chars]");
}

} // namespace switchboard::core
