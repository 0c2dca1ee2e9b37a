#include "core/phone.hpp"

#include <algorithm>
#include <cctype>

#include "core/text/sms.hpp"

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

namespace {

/// Length of the ITU-T E.164 country calling code that `digits` starts with (1, 2 or 3).
/// One-digit codes: 1 (NANP) and 7; the two-digit ones are listed; every other code has three.
std::size_t calling_code_length(std::string_view digits) {
  if (digits.empty())
    return 0;
  if (digits[0] == '1' || digits[0] == '7')
    return 1;
  if (digits.size() < 2)
    return digits.size();
  static constexpr std::string_view two_digit[]
      = {"20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
         "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
         "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"};
  for (auto code : two_digit)
    if (digits.substr(0, 2) == code)
      return 2;
  return std::min<std::size_t>(3, digits.size());
}

} // namespace

std::string mask_phone(std::string_view phone) {
  auto all_digits = [](std::string_view s) {
    return !s.empty()
           && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (phone.size() > 1 && phone[0] == '+' && all_digits(phone.substr(1))) {
    auto digits = phone.substr(1);
    auto code = calling_code_length(digits);
    auto national = digits.size() - code;
    std::size_t tail = national >= 7 ? 3 : 2;
    if (national >= tail + 4)
      return std::string{"+"}
          .append(digits.substr(0, code))
          .append("***")
          .append(digits.substr(digits.size() - tail));
  }
  // Not an E.164 number (or too short to show anything of it): at most 2 + 2 characters,
  // never more than half, counted in code points so the result stays valid UTF-8.
  auto cps = decode_utf8(phone);
  auto n = cps.size();
  auto visible = std::min<std::size_t>(n / 2, 4);
  auto tail = visible / 2;
  auto head = visible - tail;
  std::u32string out = cps.substr(0, head) + U"***" + cps.substr(n - tail);
  return encode_utf8(out);
}

std::string mask_text(std::string_view text) {
  auto n = count_code_points(text);
  return "[" + std::to_string(n) + (n == 1 ? " char]" : " chars]");
}

} // namespace switchboard::core
