#pragma once

// Twilio's request validation (X-Twilio-Signature), form- and JSON-bodied.

#include <string>
#include <string_view>

#include "core/form.hpp"
#include "providers/common.hpp"

namespace switchboard::providers {

/// X-Twilio-Signature: base64(HMAC-SHA1(auth_token, url + sorted name+value pairs)).
std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& params);

/// Verifies X-Twilio-Signature the way Twilio's helper libraries do (with and without the
/// default port, credentials and WHATWG URL normalisation; sorted, de-duplicated values).
bool verify_twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& params, std::string_view signature);

/// X-Twilio-Signature of a JSON-bodied webhook: the URL (carrying bodySHA256=<hex sha256 of the
/// raw body> in its query) is signed with no parameters.
std::string twilio_json_signature(std::string_view auth_token, std::string_view url);

/// Verifies a JSON-bodied Twilio webhook: exactly one bodySHA256 query parameter equal to the
/// body's SHA-256 (hex, either case) and a signature over the URL variants Twilio accepts.
bool verify_twilio_json_signature(std::string_view auth_token, std::string_view url,
                                  std::string_view raw_body, std::string_view signature);

} // namespace switchboard::providers
