#include "providers/whatsapp/signature.hpp"

#include "core/crypto.hpp"
#include "core/signatures.hpp"

namespace switchboard::providers {

using namespace core;

std::string hub_signature(std::string_view app_secret, std::string_view raw_body) {
  return "sha256=" + to_hex(hmac_sha256(app_secret, raw_body));
}

bool verify_hub_signature(std::string_view app_secret, std::string_view raw_body,
                          std::string_view header) {
  constexpr std::string_view prefix = "sha256=";
  if (app_secret.empty() || !starts_with(header, prefix))
    return false;
  return hex_digest_equal(to_hex(hmac_sha256(app_secret, raw_body)), header.substr(prefix.size()));
}

} // namespace switchboard::providers
