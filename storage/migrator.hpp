#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"

namespace soci {
class session;
}

namespace switchboard::storage {

/// One forward-only migration: `NNNN_name.sql` and its SQL text.
struct migration {
  std::string name;
  std::string sql;
};

/// The migrations compiled into the binary from migrations/*.sql, in order.
const std::vector<migration>& embedded_migrations();

/// What a migration run did.
struct migration_report {
  std::vector<std::string> applied; ///< names applied by this run
  std::size_t already_applied = 0;  ///< names found applied before
  std::vector<std::string> unknown; ///< versions in the database this binary does not know
};

/// Applies pending migrations, each in its own transaction, under a PostgreSQL advisory lock so
/// several nodes may start at once. Refuses (sb_error::conflict) when an applied migration's
/// checksum differs from the file's; fails (sb_error::invalid_argument) on a bad file name.
core::expected<migration_report> migrate(soci::session& sql, const std::vector<migration>& all);

/// Whether every given migration is applied (and unchanged); false when schema_migrations does
/// not exist yet.
bool migrations_applied(soci::session& sql, const std::vector<migration>& all);

/// Version number from a migration file name ("0007_x.sql" -> 7), or -1 when malformed.
int migration_version(const std::string& name);

} // namespace switchboard::storage
