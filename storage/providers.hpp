#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/bot/provider_config.hpp"
#include "storage/omnichannel.hpp"

namespace soci {
class session;
}

namespace switchboard::storage {

/// A provider as listings show it: never its key, only the key's prefix and whether one is active.
struct provider_row {
  int64_t id = 0;
  std::string name;
  std::string key_prefix; ///< empty when no key is active
  bool key_active = false;
  std::optional<time_point> key_created_at;
  time_point created_at;
};

/// A provider with a key just issued: the only moment the key itself is known.
struct issued_key {
  provider_row provider;
  std::string key;
};

/// Creates a provider with a fresh API key (only its prefix and hash are stored).
/// sb_error::invalid_argument when the name is refused.
issued_key create_provider(soci::session& sql, const std::string& name);

/// Replaces a provider's API key by a fresh one; the old key stops working when the transaction
/// commits. sb_error::not_found for an unknown provider.
issued_key rotate_provider_key(soci::session& sql, int64_t provider_id);

/// Removes a provider's API key; returns whether one was active. sb_error::not_found for an
/// unknown provider.
bool revoke_provider_key(soci::session& sql, int64_t provider_id);

/// The provider with this id.
std::optional<provider_row> find_provider(soci::session& sql, int64_t provider_id);

/// Every provider, by id.
std::vector<provider_row> list_providers(soci::session& sql);

/// The provider an API key belongs to: found by the key's prefix, the key's hash compared in
/// constant time. nullopt for a malformed, unknown, rotated or revoked key. With `lock`, the
/// provider row is share-locked until the transaction ends, so a concurrent rotation or
/// revocation waits for the caller's write.
std::optional<int64_t> authenticate_provider(soci::session& sql, std::string_view key,
                                             bool lock = false);

/// A stored notification config and its timestamps.
struct notification_config_row {
  int64_t provider_id = 0;
  core::notification_config config;
  time_point created_at;
  time_point updated_at;
};

/// The notification config of a provider, if it has one.
std::optional<notification_config_row> find_notification_config(soci::session& sql,
                                                                int64_t provider_id);

/// The notification config owning a Chatwoot account (whom to notify about its conversations).
std::optional<notification_config_row>
find_notification_config_by_account(soci::session& sql, int64_t chatwoot_account_id);

/// Creates or replaces a provider's notification config (absent optional fields become NULL).
/// sb_error::conflict when the Chatwoot account belongs to another provider; the database's
/// constraints (FK to providers, notify_via values, the field notify_via needs, formats) refuse
/// what the caller did not validate.
notification_config_row put_notification_config(soci::session& sql, int64_t provider_id,
                                                const core::notification_config& config);

// -- the provider API's flows (one transaction each; the storage actor runs them) ------------

/// What a 401 of the provider API says.
inline constexpr const char* provider_key_refused
    = "missing, invalid, rotated or revoked provider API key";

/// The provider of an API key; sb_error::bad_signature (401) for a key that is not active.
/// With `lock`, the provider row is share-locked as in authenticate_provider. 1 round trip.
int64_t require_provider(soci::session& sql, std::string_view key, bool lock);

/// The provider's notification config as the API shows it ({provider_id, created_at,
/// updated_at, fields...}); sb_error::not_found when it has none yet. 2 round trips.
nlohmann::json provider_config_of_key(soci::session& sql, std::string_view key);

/// Creates or replaces the key's provider's notification config, checking the key again under
/// a share lock (a key revoked since the caller checked it writes nothing); the stored config as
/// the API shows it. 2 round trips.
nlohmann::json put_provider_config_of_key(soci::session& sql, std::string_view key,
                                          const core::notification_config& config);

} // namespace switchboard::storage
