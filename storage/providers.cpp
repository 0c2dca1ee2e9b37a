#include "storage/providers.hpp"

#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include "core/crypto.hpp"
#include "storage/db.hpp"

namespace switchboard::storage {

using core::sb_error;

namespace {

/// Key prefixes are 32 random bits and unique: a collision is retried with a fresh key.
constexpr int key_attempts = 8;

constexpr const char* provider_columns
    = "id, name, coalesce(api_key_prefix, ''), (api_key_hash IS NOT NULL)::int, "
      "coalesce((extract(epoch FROM api_key_created_at) * 1000)::bigint, -1), "
      "(extract(epoch FROM created_at) * 1000)::bigint";

constexpr const char* insert_provider_sql
    = "INSERT INTO providers (name, api_key_prefix, api_key_hash, api_key_created_at) "
      "VALUES (:n, :p, :h, now()) ON CONFLICT (api_key_prefix) DO NOTHING RETURNING id";

constexpr const char* lock_provider_sql
    = "SELECT (api_key_hash IS NOT NULL)::int FROM providers WHERE id = :id FOR UPDATE";

constexpr const char* prefix_taken_sql = "SELECT count(*) FROM providers WHERE api_key_prefix = :p";

constexpr const char* set_key_sql
    = "UPDATE providers SET api_key_prefix = :p, api_key_hash = :h, api_key_created_at = now(), "
      "updated_at = now() WHERE id = :id";

constexpr const char* revoke_key_sql
    = "UPDATE providers SET api_key_prefix = NULL, api_key_hash = NULL, api_key_created_at = NULL, "
      "updated_at = now() WHERE id = :id";

constexpr const char* key_of_prefix_sql
    = "SELECT id, api_key_hash FROM providers WHERE api_key_prefix = :p AND api_key_hash IS NOT "
      "NULL";

constexpr const char* config_columns
    = "provider_id, chatwoot_account_id, chatwoot_portal_slug, notify_via, "
      "(telegram_chat_id IS NOT NULL)::int, coalesce(telegram_chat_id, 0), "
      "coalesce(notify_phone, ''), coalesce(notify_email, ''), "
      "(extract(epoch FROM created_at) * 1000)::bigint, "
      "(extract(epoch FROM updated_at) * 1000)::bigint";

constexpr const char* account_owner_sql
    = "SELECT provider_id FROM provider_notification_config WHERE chatwoot_account_id = :a";

constexpr const char* upsert_config_sql
    = "INSERT INTO provider_notification_config (provider_id, chatwoot_account_id, "
      "chatwoot_portal_slug, notify_via, telegram_chat_id, notify_phone, notify_email) "
      "VALUES (:pid, :acc, :slug, :via, CASE WHEN :has_tg::int = 1 THEN :tg::bigint END, "
      "nullif(:ph, ''), nullif(:em, '')) "
      "ON CONFLICT (provider_id) DO UPDATE SET chatwoot_account_id = excluded.chatwoot_account_id, "
      "chatwoot_portal_slug = excluded.chatwoot_portal_slug, notify_via = excluded.notify_via, "
      "telegram_chat_id = excluded.telegram_chat_id, notify_phone = excluded.notify_phone, "
      "notify_email = excluded.notify_email, updated_at = now() RETURNING ";

provider_row read_provider(const soci::row& r) {
  provider_row p;
  p.id = r.get<long long>(0);
  p.name = r.get<std::string>(1);
  p.key_prefix = r.get<std::string>(2);
  p.key_active = r.get<int>(3) != 0;
  if (auto at = r.get<long long>(4); at >= 0)
    p.key_created_at = from_ms(at);
  p.created_at = from_ms(r.get<long long>(5));
  return p;
}

notification_config_row read_config(const soci::row& r) {
  notification_config_row c;
  c.provider_id = r.get<long long>(0);
  c.config.chatwoot_account_id = r.get<long long>(1);
  c.config.chatwoot_portal_slug = r.get<std::string>(2);
  c.config.notify_via = r.get<std::string>(3);
  if (r.get<int>(4) != 0)
    c.config.telegram_chat_id = r.get<long long>(5);
  if (auto phone = r.get<std::string>(6); !phone.empty())
    c.config.notify_phone = std::move(phone);
  if (auto email = r.get<std::string>(7); !email.empty())
    c.config.notify_email = std::move(email);
  c.created_at = from_ms(r.get<long long>(8));
  c.updated_at = from_ms(r.get<long long>(9));
  return c;
}

std::optional<notification_config_row> config_where(soci::session& sql, const char* column,
                                                    long long key) {
  soci::rowset<soci::row> rows
      = (sql.prepare << std::string{"SELECT "} + config_columns
                            + " FROM provider_notification_config WHERE " + column + " = :k",
         soci::use(key));
  for (auto& r : rows)
    return read_config(r);
  return std::nullopt;
}

bool prefix_taken(soci::session& sql, const std::string& prefix) {
  std::string p = prefix;
  int n = 0;
  sql << prefix_taken_sql, soci::use(p), soci::into(n);
  return n > 0;
}

provider_row require_provider(soci::session& sql, int64_t id) {
  auto p = find_provider(sql, id);
  if (!p)
    throw domain_error(sb_error::internal, "provider vanished inside its transaction");
  return *p;
}

} // namespace

issued_key create_provider(soci::session& sql, const std::string& name) {
  if (auto problem = core::provider_name_problem(name); !problem.empty())
    throw domain_error(sb_error::invalid_argument, "name: " + problem);
  for (int attempt = 0; attempt < key_attempts; ++attempt) {
    auto k = core::generate_api_key();
    std::string n = name;
    long long id = 0;
    soci::indicator ind = soci::i_null;
    sql << insert_provider_sql, soci::use(n), soci::use(k.prefix), soci::use(k.hash),
        soci::into(id, ind);
    if (!sql.got_data() || ind != soci::i_ok)
      continue; // the prefix is taken; try another key
    return issued_key{require_provider(sql, id), std::move(k.key)};
  }
  throw domain_error(sb_error::internal, "could not generate an unused API key prefix");
}

namespace {

/// Locks a provider row; whether it holds an active key. sb_error::not_found when it is absent.
int lock_provider(soci::session& sql, int64_t provider_id) {
  long long id = provider_id;
  int active = 0;
  sql << lock_provider_sql, soci::use(id), soci::into(active);
  if (!sql.got_data())
    throw domain_error(sb_error::not_found,
                       "provider " + std::to_string(provider_id) + " does not exist");
  return active;
}

} // namespace

issued_key rotate_provider_key(soci::session& sql, int64_t provider_id) {
  long long id = provider_id;
  lock_provider(sql, provider_id);
  for (int attempt = 0; attempt < key_attempts; ++attempt) {
    auto k = core::generate_api_key();
    if (prefix_taken(sql, k.prefix))
      continue;
    sql << set_key_sql, soci::use(k.prefix), soci::use(k.hash), soci::use(id);
    return issued_key{require_provider(sql, provider_id), std::move(k.key)};
  }
  throw domain_error(sb_error::internal, "could not generate an unused API key prefix");
}

bool revoke_provider_key(soci::session& sql, int64_t provider_id) {
  long long id = provider_id;
  int active = lock_provider(sql, provider_id);
  sql << revoke_key_sql, soci::use(id);
  return active != 0;
}

std::optional<provider_row> find_provider(soci::session& sql, int64_t provider_id) {
  long long id = provider_id;
  soci::rowset<soci::row> rows = (sql.prepare << std::string{"SELECT "} + provider_columns
                                                     + " FROM providers WHERE id = :id",
                                  soci::use(id));
  for (auto& r : rows)
    return read_provider(r);
  return std::nullopt;
}

std::vector<provider_row> list_providers(soci::session& sql) {
  std::vector<provider_row> out;
  soci::rowset<soci::row> rows
      = (sql.prepare << std::string{"SELECT "} + provider_columns + " FROM providers ORDER BY id");
  for (auto& r : rows)
    out.push_back(read_provider(r));
  return out;
}

std::optional<int64_t> authenticate_provider(soci::session& sql, std::string_view key, bool lock) {
  auto prefix = core::api_key_prefix(key);
  if (!prefix)
    return std::nullopt;
  std::string query = key_of_prefix_sql;
  if (lock)
    query += " FOR SHARE";
  long long id = 0;
  std::string stored;
  sql << query, soci::use(*prefix), soci::into(id), soci::into(stored);
  if (!sql.got_data())
    return std::nullopt;
  if (!core::constant_time_equal(core::api_key_hash(key), stored))
    return std::nullopt;
  return id;
}

std::optional<notification_config_row> find_notification_config(soci::session& sql,
                                                                int64_t provider_id) {
  return config_where(sql, "provider_id", provider_id);
}

std::optional<notification_config_row>
find_notification_config_by_account(soci::session& sql, int64_t chatwoot_account_id) {
  return config_where(sql, "chatwoot_account_id", chatwoot_account_id);
}

notification_config_row put_notification_config(soci::session& sql, int64_t provider_id,
                                                const core::notification_config& config) {
  long long pid = provider_id;
  long long account = config.chatwoot_account_id;
  // A friendly answer for the common case; a concurrent claim still hits the unique constraint
  // (mapped to the same conflict).
  long long owner = 0;
  sql << account_owner_sql, soci::use(account), soci::into(owner);
  if (sql.got_data() && owner != pid)
    throw domain_error(sb_error::conflict, "chatwoot_account_id: account " + std::to_string(account)
                                               + " belongs to another provider");
  std::string slug = config.chatwoot_portal_slug;
  std::string via = config.notify_via;
  int has_tg = config.telegram_chat_id ? 1 : 0;
  long long tg = config.telegram_chat_id.value_or(0);
  std::string phone = config.notify_phone.value_or("");
  std::string email = config.notify_email.value_or("");
  soci::rowset<soci::row> rows
      = (sql.prepare << std::string{upsert_config_sql} + config_columns, soci::use(pid),
         soci::use(account), soci::use(slug), soci::use(via), soci::use(has_tg), soci::use(tg),
         soci::use(phone), soci::use(email));
  for (auto& r : rows)
    return read_config(r);
  throw domain_error(sb_error::internal, "notification config upsert returned no row");
}

namespace {

nlohmann::json config_json(const notification_config_row& row) {
  auto j = core::to_json(row.config);
  j["provider_id"] = row.provider_id;
  j["created_at"] = iso8601(row.created_at);
  j["updated_at"] = iso8601(row.updated_at);
  return j;
}

} // namespace

int64_t require_provider(soci::session& sql, std::string_view key, bool lock) {
  auto id = authenticate_provider(sql, key, lock);
  if (!id)
    throw domain_error(core::sb_error::bad_signature, provider_key_refused);
  return *id;
}

nlohmann::json provider_config_of_key(soci::session& sql, std::string_view key) {
  auto row = find_notification_config(sql, require_provider(sql, key, false));
  if (!row)
    throw domain_error(core::sb_error::not_found, "no notification config yet: PUT one first");
  return config_json(*row);
}

nlohmann::json put_provider_config_of_key(soci::session& sql, std::string_view key,
                                          const core::notification_config& config) {
  return config_json(put_notification_config(sql, require_provider(sql, key, true), config));
}

} // namespace switchboard::storage
