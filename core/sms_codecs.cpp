#include "core/sms_codecs.hpp"

#include <algorithm>
#include <cctype>

#include "core/phone.hpp"
#include "core/retry.hpp"

namespace switchboard::core {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Whether `s` is an alphanumeric sender ID (GSM 03.38: at most 11 letters, digits, spaces).
bool is_alphanumeric_sender(std::string_view s) {
  if (s.empty() || s.size() > 11)
    return false;
  bool letter = false;
  for (char c : s) {
    if (std::isalpha(static_cast<unsigned char>(c)))
      letter = true;
    else if (!std::isdigit(static_cast<unsigned char>(c)) && c != ' ')
      return false;
  }
  return letter;
}

} // namespace

expected<std::string> normalize_sms_address(std::string_view raw) {
  auto phone = normalize_phone(raw);
  if (phone)
    return phone;
  std::string_view s = raw;
  if (!s.empty() && s.front() == '+')
    s.remove_prefix(1);
  if (all_digits(s) && s.size() >= 3 && s.size() <= 8)
    return std::string{s};
  if (is_alphanumeric_sender(raw))
    return std::string{raw};
  return phone.error();
}

std::optional<int64_t> parse_sms_decimal(std::string_view s) {
  if (!all_digits(s) || s.size() > 18)
    return std::nullopt;
  return std::stoll(std::string{s});
}

sb_error provider_failure_kind(int http_status) {
  return is_transient_http_status(http_status) ? sb_error::provider_transient
                                               : sb_error::provider_rejected;
}

} // namespace switchboard::core
