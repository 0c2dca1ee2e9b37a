#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>

#include "core/error.hpp"

namespace soci {
class session;
}

typedef struct pg_conn PGconn;

namespace switchboard::storage {

/// A failure a repository reports on purpose (a rule of the data, not a database fault).
class domain_error : public std::runtime_error {
public:
  domain_error(core::sb_error code, const std::string& reason)
      : std::runtime_error(reason), code_(code) {}
  /// The error code the caller receives.
  core::sb_error code() const { return code_; }

private:
  core::sb_error code_;
};

/// Opens a SOCI PostgreSQL session; throws soci::soci_error when the database is unreachable.
std::unique_ptr<soci::session> open_session(const std::string& dsn);

/// Opens a session, retrying for up to `patience` (a database still starting); nullptr when it
/// stays unreachable, with libpq's message (on one line) in `error`.
std::unique_ptr<soci::session> open_session_patiently(const std::string& dsn,
                                                      std::chrono::milliseconds patience,
                                                      std::string& error);

/// The native libpq connection behind a SOCI PostgreSQL session (for COPY, multi-statement
/// scripts and multi-row INSERTs).
PGconn* native_connection(soci::session& sql);

/// Whether the session's connection is still usable.
bool connection_ok(soci::session& sql);

/// Runs one or more SQL statements through libpq (no parameters); throws soci::soci_error with
/// the SQLSTATE on failure.
void exec_script(soci::session& sql, const std::string& script);

/// Maps an exception thrown by a repository or SOCI to a project error: a lost connection ->
/// unavailable, unique/foreign-key/check violation -> conflict or invalid_argument, domain_error
/// -> its code, anything else -> internal. `connection_lost` is set when the session is unusable.
caf::error map_db_exception(std::exception_ptr ex, soci::session* sql, bool& connection_lost);

/// SQLSTATE of a SOCI PostgreSQL error, or empty.
std::string sqlstate_of(const std::exception& e);

/// The on-disk size of each table of the schema (data, indexes and TOAST), in bytes, by name.
/// 1 round trip.
std::vector<std::pair<std::string, int64_t>> table_sizes(soci::session& sql);

} // namespace switchboard::storage
