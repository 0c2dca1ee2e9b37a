#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <soci/soci.h>

#include "core/crypto.hpp"
#include "storage/db.hpp"
#include "storage/migrator.hpp"
#include "storage/providers.hpp"
#include "tests/support/pg.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace std::chrono_literals;

namespace {

struct migrated_db : test::migrated_db {
  /// The SQLSTATE a statement fails with ("" when it succeeds).
  std::string failure_of(const std::string& q) {
    try {
      exec_script(*sql, q);
      return "";
    } catch (const std::exception& e) {
      return sqlstate_of(e);
    }
  }

  /// The project error a repository call fails with (none when it succeeds).
  template <class F> core::sb_error error_of(F f) {
    try {
      f(*sql);
      return core::sb_error::none;
    } catch (...) {
      bool lost = false;
      return core::code_of(map_db_exception(std::current_exception(), sql.get(), lost));
    }
  }
};

core::notification_config sms_config(int64_t account, const std::string& phone = "+250788123456") {
  core::notification_config c;
  c.chatwoot_account_id = account;
  c.chatwoot_portal_slug = "acme-help";
  c.notify_via = "sms";
  c.notify_phone = phone;
  return c;
}

core::notification_config telegram_config(int64_t account, int64_t chat) {
  core::notification_config c;
  c.chatwoot_account_id = account;
  c.chatwoot_portal_slug = "acme";
  c.notify_via = "telegram";
  c.telegram_chat_id = chat;
  return c;
}

} // namespace

TEST_CASE("notification config: created, read back, replaced as a whole", "[providers]") {
  migrated_db m;
  auto p = create_provider(*m.sql, "Acme").provider;
  CHECK_FALSE(find_notification_config(*m.sql, p.id));

  auto first = put_notification_config(*m.sql, p.id, sms_config(7));
  CHECK(first.provider_id == p.id);
  CHECK(first.config.notify_phone == std::optional<std::string>{"+250788123456"});
  CHECK_FALSE(first.config.telegram_chat_id);
  auto found = find_notification_config(*m.sql, p.id);
  REQUIRE(found);
  CHECK(core::to_json(found->config) == core::to_json(sms_config(7)));
  CHECK(found->created_at == first.created_at);

  // PUT semantics: the phone is cleared when the new config leaves it out.
  auto second = put_notification_config(*m.sql, p.id, telegram_config(8, -1001234567890));
  CHECK(second.config.telegram_chat_id == std::optional<int64_t>{-1001234567890});
  CHECK_FALSE(second.config.notify_phone);
  CHECK(second.created_at == first.created_at);
  CHECK(second.updated_at >= first.updated_at);
  CHECK(m.count("SELECT count(*) FROM provider_notification_config") == 1);
  CHECK(m.count("SELECT count(*) FROM provider_notification_config WHERE notify_phone IS NULL "
                "AND chatwoot_account_id = 8")
        == 1);

  auto by_account = find_notification_config_by_account(*m.sql, 8);
  REQUIRE(by_account);
  CHECK(by_account->provider_id == p.id);
  CHECK_FALSE(find_notification_config_by_account(*m.sql, 7));
}

TEST_CASE("notification config: the database refuses what validation would", "[providers]") {
  migrated_db m;
  auto id = std::to_string(create_provider(*m.sql, "Acme").provider.id);
  auto insert = [&](const std::string& columns, const std::string& values) {
    return m.failure_of("INSERT INTO provider_notification_config (provider_id, "
                        "chatwoot_account_id, chatwoot_portal_slug, notify_via"
                        + columns + ") VALUES (" + id + ", 1, 'acme', " + values + ")");
  };
  // notify_via outside telegram|sms|email.
  CHECK(insert("", "'pigeon'") == "23514");
  // The field notify_via needs is missing.
  CHECK(insert("", "'telegram'") == "23514");
  CHECK(insert("", "'sms'") == "23514");
  CHECK(insert("", "'email'") == "23514");
  CHECK(insert(", notify_phone", "'sms', '0788123456'") == "23514");
  CHECK(insert(", notify_email", "'email', 'not an address'") == "23514");
  // An unknown provider.
  CHECK(m.failure_of("INSERT INTO provider_notification_config (provider_id, chatwoot_account_id, "
                     "chatwoot_portal_slug, notify_via, notify_phone) VALUES (999999, 1, 'acme', "
                     "'sms', '+250788123456')")
        == "23503");
  CHECK(insert(", notify_phone", "'sms', '+250788123456'") == "");

  // Through the repository: the same refusals map to invalid_argument.
  auto pid = std::stoll(id);
  auto no_chat = telegram_config(2, 1);
  no_chat.telegram_chat_id.reset();
  CHECK(m.error_of([&](soci::session& sql) { put_notification_config(sql, pid, no_chat); })
        == core::sb_error::invalid_argument);
  auto bad_via = sms_config(2);
  bad_via.notify_via = "fax";
  CHECK(m.error_of([&](soci::session& sql) { put_notification_config(sql, pid, bad_via); })
        == core::sb_error::invalid_argument);
  CHECK(m.error_of([&](soci::session& sql) { put_notification_config(sql, 424242, sms_config(3)); })
        == core::sb_error::invalid_argument);
  try {
    put_notification_config(*m.sql, 424242, sms_config(3));
    FAIL("an unknown provider was accepted");
  } catch (const std::exception& e) {
    CHECK(sqlstate_of(e) == "23503");
  }
}

TEST_CASE("a Chatwoot account belongs to exactly one provider", "[providers]") {
  migrated_db m;
  auto a = create_provider(*m.sql, "A").provider.id;
  auto b = create_provider(*m.sql, "B").provider.id;
  put_notification_config(*m.sql, a, sms_config(42));
  CHECK(m.error_of([&](soci::session& sql) { put_notification_config(sql, b, sms_config(42)); })
        == core::sb_error::conflict);
  // The constraint itself, for writers that skip the repository's check.
  CHECK(m.failure_of("INSERT INTO provider_notification_config (provider_id, chatwoot_account_id, "
                     "chatwoot_portal_slug, notify_via, notify_phone) VALUES ("
                     + std::to_string(b) + ", 42, 'b', 'sms', '+250788123456')")
        == "23505");
  // The owner may store its account again; once it moves, the account is free.
  CHECK(put_notification_config(*m.sql, a, sms_config(42, "+250788000111")).provider_id == a);
  put_notification_config(*m.sql, a, sms_config(43));
  CHECK(put_notification_config(*m.sql, b, sms_config(42)).provider_id == b);
  CHECK(find_notification_config_by_account(*m.sql, 42)->provider_id == b);
}

TEST_CASE("API keys are stored only as a prefix and a SHA-256 hash", "[providers]") {
  migrated_db m;
  auto issued = create_provider(*m.sql, "Acme Plumbing");
  const auto& key = issued.key;
  REQUIRE(core::api_key_prefix(key));
  CHECK(issued.provider.key_prefix == *core::api_key_prefix(key));
  CHECK(issued.provider.key_active);
  CHECK(issued.provider.key_created_at);

  std::string prefix;
  std::string hash;
  *m.sql << "SELECT api_key_prefix, api_key_hash FROM providers", soci::into(prefix),
      soci::into(hash);
  CHECK(prefix == issued.provider.key_prefix);
  CHECK(hash == core::to_hex(core::sha256(key)));
  // Neither the key nor its secret part appears anywhere in the row.
  auto secret = key.substr(prefix.size() + 1);
  for (const auto& needle : {key, secret, secret.substr(0, 16), secret.substr(40)}) {
    int found = -1;
    std::string like = "%" + needle + "%";
    *m.sql << "SELECT count(*) FROM providers p WHERE row_to_json(p)::text LIKE :n",
        soci::use(like), soci::into(found);
    CHECK(found == 0);
  }

  CHECK(authenticate_provider(*m.sql, key) == std::optional<int64_t>{issued.provider.id});
  auto wrong = key;
  wrong.back() = wrong.back() == '0' ? '1' : '0'; // same prefix, another key
  CHECK_FALSE(authenticate_provider(*m.sql, wrong));
  CHECK_FALSE(authenticate_provider(*m.sql, ""));
  CHECK_FALSE(authenticate_provider(*m.sql, prefix));
  CHECK_FALSE(authenticate_provider(*m.sql, core::generate_api_key().key));

  CHECK(m.error_of([](soci::session& sql) { create_provider(sql, ""); })
        == core::sb_error::invalid_argument);
  CHECK(m.failure_of("INSERT INTO providers (name) VALUES ('')") == "23514");
  CHECK(m.failure_of("INSERT INTO providers (name, api_key_prefix) VALUES ('x', 'sbk_00000000')")
        == "23514");
}

TEST_CASE("rotation and revocation take effect at once", "[providers]") {
  migrated_db m;
  auto issued = create_provider(*m.sql, "Acme");
  auto id = issued.provider.id;
  auto other = create_provider(*m.sql, "Other");

  auto rotated = rotate_provider_key(*m.sql, id);
  CHECK(rotated.key != issued.key);
  CHECK(rotated.provider.key_prefix != issued.provider.key_prefix);
  CHECK_FALSE(authenticate_provider(*m.sql, issued.key));
  CHECK(authenticate_provider(*m.sql, rotated.key) == std::optional<int64_t>{id});
  CHECK(authenticate_provider(*m.sql, other.key) == std::optional<int64_t>{other.provider.id});

  CHECK(revoke_provider_key(*m.sql, id));
  CHECK_FALSE(authenticate_provider(*m.sql, rotated.key));
  CHECK_FALSE(revoke_provider_key(*m.sql, id)); // nothing left to revoke
  auto listed = list_providers(*m.sql);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].id == id);
  CHECK_FALSE(listed[0].key_active);
  CHECK(listed[0].key_prefix.empty());
  CHECK_FALSE(listed[0].key_created_at);
  CHECK(listed[1].key_active);
  CHECK(listed[1].key_prefix == other.provider.key_prefix);
  CHECK(m.count("SELECT count(*) FROM providers WHERE api_key_hash IS NULL AND "
                "api_key_prefix IS NULL")
        == 1);

  // A revoked provider can be given a key again.
  auto again = rotate_provider_key(*m.sql, id);
  CHECK(authenticate_provider(*m.sql, again.key) == std::optional<int64_t>{id});

  CHECK(m.error_of([](soci::session& sql) { rotate_provider_key(sql, 999999); })
        == core::sb_error::not_found);
  CHECK(m.error_of([](soci::session& sql) { revoke_provider_key(sql, 999999); })
        == core::sb_error::not_found);
  CHECK_FALSE(find_provider(*m.sql, 999999));
}

TEST_CASE("a write authenticated with lock holds off a concurrent revocation", "[providers]") {
  migrated_db m;
  auto issued = create_provider(*m.sql, "Acme");
  auto writer = m.db.connect();
  exec_script(*writer, "BEGIN");
  REQUIRE(authenticate_provider(*writer, issued.key, true));

  std::atomic<bool> revoked{false};
  std::thread revoker{[&] {
    auto sql = m.db.connect();
    exec_script(*sql, "BEGIN");
    revoke_provider_key(*sql, issued.provider.id);
    exec_script(*sql, "COMMIT");
    revoked = true;
  }};
  // The revocation waits on the writer's row lock...
  auto waiting = [&] {
    return m.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND wait_event_type = 'Lock'")
           == 1;
  };
  bool blocked = false;
  for (int i = 0; i < 500 && !blocked; ++i) {
    blocked = waiting();
    if (!blocked)
      std::this_thread::sleep_for(10ms);
  }
  CHECK(blocked);
  CHECK_FALSE(revoked);
  put_notification_config(*writer, issued.provider.id, sms_config(5));
  exec_script(*writer, "COMMIT");
  // ...and goes through once the write committed.
  revoker.join();
  CHECK(revoked);
  CHECK_FALSE(authenticate_provider(*m.sql, issued.key));
  CHECK(find_notification_config(*m.sql, issued.provider.id));
}
