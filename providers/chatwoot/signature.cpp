#include "providers/chatwoot/signature.hpp"

#include <optional>

#include "core/crypto.hpp"
#include "core/signatures.hpp"

namespace switchboard::providers {

using namespace core;

namespace {

/// Parses 1..18 ASCII digits (fits int64 without overflow).
std::optional<int64_t> parse_unix_seconds(std::string_view text) {
  if (text.empty() || text.size() > 18)
    return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

} // namespace

std::string chatwoot_signature(std::string_view secret, std::string_view timestamp,
                               std::string_view raw_body) {
  std::string payload;
  payload.reserve(timestamp.size() + 1 + raw_body.size());
  payload += timestamp;
  payload += '.';
  payload += raw_body;
  return "sha256=" + to_hex(hmac_sha256(secret, payload));
}

bool verify_chatwoot_signature(std::string_view secret, std::string_view timestamp,
                               std::string_view raw_body, std::string_view header, int64_t now_unix,
                               int64_t tolerance_s) {
  constexpr std::string_view prefix = "sha256=";
  if (secret.empty() || tolerance_s < 0 || now_unix < 0 || !starts_with(header, prefix))
    return false;
  auto ts = parse_unix_seconds(timestamp);
  if (!ts)
    return false;
  // 0 <= now_unix and 0 <= ts < 10^18, so the difference cannot overflow.
  auto age = now_unix - *ts;
  if (age > tolerance_s || age < -tolerance_s)
    return false;
  auto expected = chatwoot_signature(secret, timestamp, raw_body);
  return hex_digest_equal(std::string_view{expected}.substr(prefix.size()),
                          header.substr(prefix.size()));
}

bool verify_chatwoot_signature(const std::vector<std::string>& secrets, std::string_view timestamp,
                               std::string_view raw_body, std::string_view header, int64_t now_unix,
                               int64_t tolerance_s) {
  // Every secret is tried (no early exit), so the time taken does not tell which one matched.
  bool ok = false;
  for (const auto& secret : secrets)
    ok |= verify_chatwoot_signature(secret, timestamp, raw_body, header, now_unix, tolerance_s);
  return ok;
}

std::vector<std::string> chatwoot_webhook_secrets(std::string_view single,
                                                  std::string_view comma_separated) {
  std::vector<std::string> out;
  auto add = [&out](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
      s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
      s.remove_suffix(1);
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end())
      out.emplace_back(s);
  };
  add(single);
  while (!comma_separated.empty()) {
    auto comma = comma_separated.find(',');
    add(comma_separated.substr(0, comma));
    if (comma == std::string_view::npos)
      break;
    comma_separated.remove_prefix(comma + 1);
  }
  return out;
}

} // namespace switchboard::providers
