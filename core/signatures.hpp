#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/form.hpp"

namespace switchboard::core {

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

/// X-Hub-Signature-256 (WhatsApp Cloud API): "sha256=" + hex HMAC-SHA256(app_secret, raw body).
std::string hub_signature(std::string_view app_secret, std::string_view raw_body);

/// Verifies X-Hub-Signature-256 over the raw body, in constant time.
bool verify_hub_signature(std::string_view app_secret, std::string_view raw_body,
                          std::string_view header);

/// X-MTN-Signature: hex HMAC-SHA256(secret, raw body).
std::string mtn_signature(std::string_view secret, std::string_view raw_body);

/// Verifies X-MTN-Signature (hex, either case, optional "sha256=" prefix).
bool verify_mtn_signature(std::string_view secret, std::string_view raw_body,
                          std::string_view header);

/// X-Chatwoot-Signature: "sha256=" + hex HMAC-SHA256(secret, "{timestamp}.{raw body}").
std::string chatwoot_signature(std::string_view secret, std::string_view timestamp,
                               std::string_view raw_body);

/// Verifies X-Chatwoot-Signature and that X-Chatwoot-Timestamp is within `tolerance_s` of `now`.
bool verify_chatwoot_signature(std::string_view secret, std::string_view timestamp,
                               std::string_view raw_body, std::string_view header, int64_t now_unix,
                               int64_t tolerance_s = 300);

/// Verifies X-Chatwoot-Signature against each of `secrets` (account, API-inbox and agent-bot
/// webhooks have their own; an old and a new one during a rotation): every secret is checked in
/// constant time, without stopping at the first match. An empty list never verifies.
bool verify_chatwoot_signature(const std::vector<std::string>& secrets, std::string_view timestamp,
                               std::string_view raw_body, std::string_view header, int64_t now_unix,
                               int64_t tolerance_s = 300);

/// The Chatwoot webhook secrets configured: `single` (chatwoot.webhook_secret) and the
/// comma-separated `comma_separated` (chatwoot.webhook_secrets), trimmed, without empty entries
/// or repeats.
std::vector<std::string> chatwoot_webhook_secrets(std::string_view single,
                                                  std::string_view comma_separated);

/// Verifies a shared secret token header (Telegram's X-Telegram-Bot-Api-Secret-Token, bearer
/// tokens) in constant time; an empty expected value never verifies.
bool verify_secret_token(std::string_view expected, std::string_view presented);

} // namespace switchboard::core
