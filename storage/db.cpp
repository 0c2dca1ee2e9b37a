#include "storage/db.hpp"

#include <thread>

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include "core/log.hpp"

namespace switchboard::storage {

using core::sb_error;

namespace {

void drop_notice(void*, const char*) {
  // Server NOTICEs ("relation already exists, skipping") are not errors; keep them off stderr.
}

} // namespace

std::unique_ptr<soci::session> open_session(const std::string& dsn) {
  auto sql = std::make_unique<soci::session>(soci::postgresql, dsn);
  if (auto conn = native_connection(*sql)) {
    PQsetNoticeProcessor(conn, drop_notice, nullptr);
    // Prepared statements keep their parse, but are planned for the arrays they get: a generic
    // plan made while a table was small (a fresh database) would scan it whole forever after,
    // and a set-based statement's planning is shared by the whole batch.
    PGresult* res = PQexec(conn, "SET plan_cache_mode = force_custom_plan");
    PQclear(res);
  }
  return sql;
}

std::unique_ptr<soci::session> open_session_patiently(const std::string& dsn,
                                                      std::chrono::milliseconds patience,
                                                      std::string& error) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    try {
      return open_session(dsn);
    } catch (const std::exception& e) {
      // libpq's message spans lines; a start-up failure is reported on one.
      error.clear();
      bool gap = false;
      for (char c : std::string{e.what()}) {
        if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
          gap = !error.empty();
          continue;
        }
        if (gap)
          error += ' ';
        gap = false;
        error += c;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return nullptr;
    std::this_thread::sleep_for(std::chrono::milliseconds{250});
  }
}

PGconn* native_connection(soci::session& sql) {
  auto backend = static_cast<soci::postgresql_session_backend*>(sql.get_backend());
  return backend ? backend->conn_ : nullptr;
}

bool connection_ok(soci::session& sql) {
  auto conn = native_connection(sql);
  return conn != nullptr && PQstatus(conn) == CONNECTION_OK;
}

void exec_script(soci::session& sql, const std::string& script) {
  auto conn = native_connection(sql);
  if (conn == nullptr)
    throw soci::soci_error("no database connection");
  PGresult* res = PQexec(conn, script.c_str());
  auto status = PQresultStatus(res);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
    std::string msg = PQresultErrorMessage(res);
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    std::string sqlstate = state ? state : "";
    PQclear(res);
    if (!msg.empty() && msg.back() == '\n')
      msg.pop_back();
    throw soci::postgresql_soci_error(msg, sqlstate.size() == 5 ? sqlstate.c_str() : "XX000");
  }
  PQclear(res);
}

std::string sqlstate_of(const std::exception& e) {
  if (auto pe = dynamic_cast<const soci::postgresql_soci_error*>(&e))
    return pe->sqlstate();
  return {};
}

caf::error map_db_exception(std::exception_ptr ex, soci::session* sql, bool& connection_lost) {
  connection_lost = false;
  try {
    std::rethrow_exception(ex);
  } catch (const domain_error& e) {
    return caf::make_error(e.code(), std::string{e.what()});
  } catch (const soci::soci_error& e) {
    auto state = sqlstate_of(e);
    bool lost = (sql != nullptr && !connection_ok(*sql))
                || e.get_error_category() == soci::soci_error::connection_error
                || state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02"
                || state == "57P03";
    if (lost) {
      connection_lost = true;
      return caf::make_error(sb_error::unavailable, std::string{"database unavailable"});
    }
    // The database's own text goes to the log only: error reasons reach response bodies.
    std::string message = e.get_error_message();
    core::log(core::log_level::warn, "database statement failed",
              {{"sqlstate", state}, {"message", message}});
    if (state == "23505")
      return caf::make_error(sb_error::conflict, std::string{"duplicate (SQLSTATE 23505)"});
    if (state.rfind("23", 0) == 0 || state.rfind("22", 0) == 0)
      return caf::make_error(sb_error::invalid_argument,
                             "the database refused a value (SQLSTATE " + state + ")");
    if (state == "40001" || state == "40P01")
      return caf::make_error(sb_error::conflict, std::string{"serialization failure, retry"});
    return caf::make_error(sb_error::internal, "database error (SQLSTATE " + state + ")");
  } catch (const std::exception& e) {
    return caf::make_error(sb_error::internal, std::string{e.what()});
  } catch (...) {
    return caf::make_error(sb_error::internal, std::string{"unknown exception"});
  }
}

} // namespace switchboard::storage

namespace switchboard::storage {

std::vector<std::pair<std::string, int64_t>> table_sizes(soci::session& sql) {
  std::vector<std::pair<std::string, int64_t>> out;
  soci::rowset<soci::row> rows
      = (sql.prepare << "SELECT c.relname::text, pg_total_relation_size(c.oid)::bigint FROM "
                        "pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
                        "n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1");
  for (auto& r : rows)
    out.emplace_back(r.get<std::string>(0), static_cast<int64_t>(r.get<long long>(1)));
  return out;
}

} // namespace switchboard::storage
