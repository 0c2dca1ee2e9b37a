#include "tests/support/pg.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include <soci/soci.h>

#include "core/crypto.hpp"
#include "storage/db.hpp"
#include "storage/migrator.hpp"
#include "storage/outbox.hpp"

namespace switchboard::test {

std::string cluster_dsn() {
  auto v = std::getenv("SWITCHBOARD_TEST_DSN");
  if (v == nullptr || *v == '\0')
    throw std::runtime_error("SWITCHBOARD_TEST_DSN is not set: run the pg tier through "
                             "scripts/test (it starts a private PostgreSQL)");
  return v;
}

std::string dsn_with_database(const std::string& dsn, const std::string& name) {
  auto scheme = dsn.find("://");
  auto slash = dsn.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || slash == std::string::npos)
    throw std::runtime_error("test DSN must be a postgresql:// URI with a database");
  auto q = dsn.find('?', slash);
  return dsn.substr(0, slash + 1) + name + (q == std::string::npos ? "" : dsn.substr(q));
}

scratch_db::scratch_db() : name_("sbtest_" + core::random_hex(6)) {
  admin("CREATE DATABASE " + name_);
  dsn_ = dsn_with_database(cluster_dsn(), name_);
}

scratch_db::~scratch_db() {
  try {
    admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
    // Leftover databases are harmless in a private cluster.
  }
}

std::unique_ptr<soci::session> scratch_db::connect() const {
  return storage::open_session(dsn_);
}

void scratch_db::admin(const std::string& sql) const {
  auto s = storage::open_session(dsn_with_database(cluster_dsn(), "postgres"));
  storage::exec_script(*s, sql);
}

void scratch_db::set_available(bool available) const {
  if (available) {
    admin("ALTER DATABASE " + name_ + " ALLOW_CONNECTIONS true");
  } else {
    admin("ALTER DATABASE " + name_ + " ALLOW_CONNECTIONS false");
    admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name_
          + "' AND pid <> pg_backend_pid()");
  }
}

migrated_db::migrated_db() : sql(db.connect()) {
  auto r = storage::migrate(*sql, storage::embedded_migrations());
  if (!r)
    throw std::runtime_error("migrations failed: " + core::reason_of(r.error()));
}

migrated_db::~migrated_db() = default;

int migrated_db::count(const std::string& query) {
  int n = -1;
  *sql << query, soci::into(n);
  return n;
}

void migrated_db::begin() {
  storage::exec_script(*sql, "BEGIN");
}

void migrated_db::commit() {
  storage::exec_script(*sql, "COMMIT");
}

void migrated_db::rollback() {
  storage::exec_script(*sql, "ROLLBACK");
}

bool begin_attempt(soci::session& sql, int64_t id, const std::string& token,
                   std::chrono::milliseconds lease, storage::outbox box) {
  storage::attempt_claim claim{id, token, box};
  return storage::begin_attempts(sql, {&claim}, lease).at(0);
}

storage::delivery_row record_sent(soci::session& sql, int64_t id, const std::string& external_id) {
  storage::sent_record rec;
  rec.id = id;
  rec.external_id = external_id;
  storage::record_sends(sql, core::channel_policy{}, {&rec});
  auto row = storage::find_delivery(sql, id);
  if (!row)
    throw std::runtime_error("delivery " + std::to_string(id) + " not found");
  return *row;
}

void record_retry(soci::session& sql, int64_t id, const std::string& error,
                  std::chrono::system_clock::time_point retry_at) {
  auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(
      retry_at - std::chrono::system_clock::now());
  storage::reschedule_row(sql, id, storage::outbox::deliveries, error,
                          std::max(delay, std::chrono::milliseconds{0}));
}

std::string apply_status(soci::session& sql, const std::string& provider,
                         const std::string& external_id, const std::string& status,
                         const std::string& error) {
  core::status_update s;
  s.provider = provider;
  s.external_id = external_id;
  s.status = status;
  s.error = error;
  return storage::apply_status_update(sql, core::channel_policy{}, s).status;
}

} // namespace switchboard::test
