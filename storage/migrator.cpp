#include "storage/migrator.hpp"

#include <map>
#include <regex>

#include <soci/soci.h>

#include "core/crypto.hpp"
#include "storage/db.hpp"

namespace switchboard::storage {

using core::sb_error;

namespace {

/// Advisory lock key held while migrating ("switchbd" as a 64-bit integer).
constexpr const char* lock_sql = "SELECT pg_advisory_lock(8319111467398570596)";
constexpr const char* unlock_sql = "SELECT pg_advisory_unlock(8319111467398570596)";

constexpr const char* create_table_sql = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version     integer PRIMARY KEY,
  name        text NOT NULL,
  checksum    text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
))sql";

constexpr const char* select_applied_sql
    = "SELECT version, name, checksum FROM schema_migrations ORDER BY version";

constexpr const char* insert_applied_sql
    = "INSERT INTO schema_migrations (version, name, checksum) VALUES (:v, :n, :c)";

struct applied_row {
  std::string name;
  std::string checksum;
};

std::map<int, applied_row> read_applied(soci::session& sql) {
  std::map<int, applied_row> out;
  soci::rowset<soci::row> rows = (sql.prepare << select_applied_sql);
  for (auto& r : rows)
    out[r.get<int>(0)] = {r.get<std::string>(1), r.get<std::string>(2)};
  return out;
}

std::string checksum(const migration& m) {
  return core::to_hex(core::sha256(m.sql));
}

/// Holds the migration advisory lock for its lifetime.
class lock_guard {
public:
  explicit lock_guard(soci::session& sql) : sql_(sql) { exec_script(sql_, lock_sql); }
  ~lock_guard() {
    try {
      exec_script(sql_, unlock_sql);
    } catch (...) {
      // The lock is released with the session anyway.
    }
  }

private:
  soci::session& sql_;
};

} // namespace

int migration_version(const std::string& name) {
  static const std::regex pattern{R"(^(\d{4})_[a-z0-9_]+\.sql$)"};
  std::smatch m;
  if (!std::regex_match(name, m, pattern))
    return -1;
  return std::stoi(m[1].str());
}

core::expected<migration_report> migrate(soci::session& sql, const std::vector<migration>& all) {
  migration_report report;
  std::map<int, const migration*> wanted;
  for (auto& m : all) {
    auto v = migration_version(m.name);
    if (v < 0)
      return caf::make_error(sb_error::invalid_argument,
                             "migration file name '" + m.name + "' is not NNNN_name.sql");
    if (!wanted.emplace(v, &m).second)
      return caf::make_error(sb_error::invalid_argument,
                             "two migrations share version " + std::to_string(v));
  }
  try {
    lock_guard lock{sql};
    exec_script(sql, create_table_sql);
    auto applied = read_applied(sql);
    for (auto& [version, row] : applied) {
      auto it = wanted.find(version);
      if (it == wanted.end()) {
        report.unknown.push_back(row.name);
        continue;
      }
      if (row.checksum != checksum(*it->second))
        return caf::make_error(sb_error::conflict, "migration " + it->second->name
                                                       + " was changed after it was applied "
                                                         "(checksum differs); add a new migration "
                                                         "instead");
      ++report.already_applied;
    }
    for (auto& [version, m] : wanted) {
      if (applied.count(version))
        continue;
      try {
        exec_script(sql, "BEGIN");
        exec_script(sql, m->sql);
        int v = version;
        std::string name = m->name;
        std::string sum = checksum(*m);
        sql << insert_applied_sql, soci::use(v), soci::use(name), soci::use(sum);
        exec_script(sql, "COMMIT");
      } catch (const std::exception& e) {
        try {
          exec_script(sql, "ROLLBACK");
        } catch (...) {
        }
        return caf::make_error(sb_error::internal,
                               "migration " + m->name + " failed: " + std::string{e.what()});
      }
      report.applied.push_back(m->name);
    }
  } catch (...) {
    bool lost = false;
    return map_db_exception(std::current_exception(), &sql, lost);
  }
  return report;
}

bool migrations_applied(soci::session& sql, const std::vector<migration>& all) {
  int exists = 0;
  sql << "SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations' AND schemaname = "
         "current_schema()",
      soci::into(exists);
  if (exists == 0)
    return false;
  auto applied = read_applied(sql);
  for (auto& m : all) {
    auto it = applied.find(migration_version(m.name));
    if (it == applied.end() || it->second.checksum != checksum(m))
      return false;
  }
  return true;
}

} // namespace switchboard::storage
