#include "providers/mtn/signature.hpp"

#include "core/crypto.hpp"
#include "core/signatures.hpp"

namespace switchboard::providers {

using namespace core;

std::string mtn_signature(std::string_view secret, std::string_view raw_body) {
  return to_hex(hmac_sha256(secret, raw_body));
}

bool verify_mtn_signature(std::string_view secret, std::string_view raw_body,
                          std::string_view header) {
  constexpr std::string_view prefix = "sha256=";
  if (secret.empty())
    return false;
  if (starts_with(header, prefix))
    header.remove_prefix(prefix.size());
  return hex_digest_equal(mtn_signature(secret, raw_body), header);
}

} // namespace switchboard::providers
