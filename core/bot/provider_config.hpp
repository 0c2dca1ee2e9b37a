#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace switchboard::core {

/// The channels a provider can be notified on (values of notify_via), in documentation order.
const std::vector<std::string>& notify_via_values();

/// A provider's notification settings for Chatwoot hand-offs, as validated from the API.
struct notification_config {
  int64_t chatwoot_account_id = 0;
  std::string chatwoot_portal_slug;
  std::string notify_via; ///< telegram | sms | email
  std::optional<int64_t> telegram_chat_id;
  std::optional<std::string> notify_phone; ///< E.164
  std::optional<std::string> notify_email;
};

/// One message per offending field, keyed by the field's name (sorted, so answers are stable).
using field_errors = std::map<std::string, std::string>;

/// A PUT body read into a config; `config` is meaningful only when `errors` is empty.
struct notification_config_input {
  notification_config config;
  field_errors errors;
};

/// Reads and validates a PUT body (a JSON object): required fields, types, formats, the field
/// notify_via needs, and unknown fields (each named). The read-only fields of the GET answer
/// (provider_id, created_at, updated_at) are accepted and ignored, so a fetched config can be
/// sent back as it is. null counts as absent.
notification_config_input parse_notification_config(const nlohmann::json& body);

/// The config's fields as JSON; absent optional fields are null.
nlohmann::json to_json(const notification_config& c);

/// JSON Schema (2020-12, as OpenAPI 3.1 uses it) of the config as GET answers and PUT takes it;
/// read-only fields are marked readOnly.
nlohmann::json notification_config_schema();

/// Whether `text` is an E.164 phone number ("+", then 8-15 digits, the first not 0).
bool is_e164(std::string_view text);

/// Whether `text` is a Chatwoot Help Center portal slug (1-100 of A-Z a-z 0-9 _ -, starting
/// with a letter or digit).
bool is_portal_slug(std::string_view text);

/// Whether `text` looks like an email address (one "@", both sides non-empty, no whitespace or
/// control characters, at most 254 bytes).
bool is_email_address(std::string_view text);

/// A provider API key: `key` is shown once; only `prefix` and `hash` are ever stored.
struct api_key {
  std::string key;    ///< "sbk_" + 8 hex + "_" + 56 hex (256 random bits)
  std::string prefix; ///< "sbk_" + the first 8 hex: finds the row, shown in listings
  std::string hash;   ///< lower-case hex SHA-256 of the whole key
};

/// Generates a new API key from 256 cryptographically random bits.
api_key generate_api_key();

/// The prefix of a well-formed key, or nullopt (the caller answers 401 without a lookup).
std::optional<std::string> api_key_prefix(std::string_view key);

/// Lower-case hex SHA-256 of a key, the form it is stored and compared in.
std::string api_key_hash(std::string_view key);

/// Why a provider name is refused ("" when it is fine): 1-200 characters of well-formed UTF-8,
/// no control characters, not only spaces.
std::string provider_name_problem(std::string_view name);

} // namespace switchboard::core
