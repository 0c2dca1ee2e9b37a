#pragma once

// Meta's webhook signature (X-Hub-Signature-256).

#include <string>
#include <string_view>

namespace switchboard::providers {

/// X-Hub-Signature-256 (WhatsApp Cloud API): "sha256=" + hex HMAC-SHA256(app_secret, raw body).
std::string hub_signature(std::string_view app_secret, std::string_view raw_body);

/// Verifies X-Hub-Signature-256 over the raw body, in constant time.
bool verify_hub_signature(std::string_view app_secret, std::string_view raw_body,
                          std::string_view header);

} // namespace switchboard::providers
