#pragma once

// The MTN webhook signature (X-MTN-Signature).

#include <string>
#include <string_view>

namespace switchboard::providers {

/// X-MTN-Signature: hex HMAC-SHA256(secret, raw body).
std::string mtn_signature(std::string_view secret, std::string_view raw_body);

/// Verifies X-MTN-Signature (hex, either case, optional "sha256=" prefix).
bool verify_mtn_signature(std::string_view secret, std::string_view raw_body,
                          std::string_view header);

} // namespace switchboard::providers
