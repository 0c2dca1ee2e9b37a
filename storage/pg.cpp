#include "storage/pg.hpp"

#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include "storage/db.hpp"

namespace switchboard::storage {

namespace {

/// Which statements each live connection has prepared. A connection is known by its PGconn and
/// its backend's pid, so a new connection that reuses a freed PGconn's address starts empty.
class prepared_registry {
public:
  bool has(PGconn* conn, const char* name) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = by_conn_.find(key(conn));
    return it != by_conn_.end() && it->second.count(name) > 0;
  }

  void add(PGconn* conn, const char* name) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (by_conn_.size() > 4096)
      by_conn_.clear(); // only tests open that many connections; they re-prepare
    by_conn_[key(conn)].insert(name);
  }

  void forget(PGconn* conn, const char* name) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = by_conn_.find(key(conn));
    if (it != by_conn_.end())
      it->second.erase(name);
  }

private:
  static std::pair<PGconn*, int> key(PGconn* conn) { return {conn, PQbackendPID(conn)}; }

  std::mutex mtx_;
  std::map<std::pair<PGconn*, int>, std::set<std::string>> by_conn_;
};

prepared_registry& registry() {
  static prepared_registry r;
  return r;
}

[[noreturn]] void throw_result(PGresult* res, PGconn* conn) {
  std::string msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : (PQstatus(conn) == CONNECTION_OK ? "XX000" : "08006");
  if (res)
    PQclear(res);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
    msg.pop_back();
  throw soci::postgresql_soci_error(msg, sqlstate.size() == 5 ? sqlstate.c_str() : "XX000");
}

bool ok(PGresult* res) {
  auto s = PQresultStatus(res);
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

std::string sqlstate_of(PGresult* res) {
  const char* s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  return s ? s : "";
}

void prepare(PGconn* conn, const pg_statement& st) {
  PGresult* res = PQprepare(conn, st.name, st.text, 0, nullptr);
  if (!ok(res))
    throw_result(res, conn);
  PQclear(res);
  registry().add(conn, st.name);
}

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
}

} // namespace

pg_rows::~pg_rows() {
  if (r_)
    PQclear(r_);
}

pg_rows& pg_rows::operator=(pg_rows&& o) noexcept {
  if (this != &o) {
    if (r_)
      PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

int pg_rows::size() const {
  return r_ ? PQntuples(r_) : 0;
}

long pg_rows::affected() const {
  if (!r_)
    return 0;
  const char* n = PQcmdTuples(r_);
  return n && *n ? std::strtol(n, nullptr, 10) : 0;
}

bool pg_rows::null(int row, int col) const {
  return PQgetisnull(r_, row, col) != 0;
}

std::string_view pg_rows::text(int row, int col) const {
  if (PQgetisnull(r_, row, col))
    return {};
  return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
}

int64_t pg_rows::int64(int row, int col) const {
  if (PQgetisnull(r_, row, col))
    return 0;
  return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
}

bool pg_rows::boolean(int row, int col) const {
  return !PQgetisnull(r_, row, col) && PQgetvalue(r_, row, col)[0] == 't';
}

pg_rows pg_exec(soci::session& sql, const pg_statement& st, const std::vector<pg_param>& params) {
  auto conn = native_connection(sql);
  if (conn == nullptr)
    throw soci::postgresql_soci_error("no database connection", "08003");
  if (!registry().has(conn, st.name))
    prepare(conn, st);
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    values[i] = params[i] ? params[i]->c_str() : nullptr;
    lengths[i] = params[i] ? static_cast<int>(params[i]->size()) : 0;
  }
  PGresult* res = PQexecPrepared(conn, st.name, static_cast<int>(params.size()), values.data(),
                                 lengths.data(), nullptr, 0);
  if (!ok(res)) {
    if (sqlstate_of(res) == "26000")
      registry().forget(conn, st.name); // dropped by the server (DISCARD ALL): prepare again
    throw_result(res, conn);
  }
  return pg_rows{res};
}

std::string pg_text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i)
      out += ',';
    append_quoted(out, items[i]);
  }
  out += '}';
  return out;
}

std::string pg_text_array(const std::vector<std::optional<std::string>>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i)
      out += ',';
    if (items[i])
      append_quoted(out, *items[i]);
    else
      out += "NULL";
  }
  out += '}';
  return out;
}

std::string pg_int_array(const std::vector<int64_t>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i)
      out += ',';
    out += std::to_string(items[i]);
  }
  out += '}';
  return out;
}

std::string pg_bool_array(const std::vector<bool>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i)
      out += ',';
    out += items[i] ? 't' : 'f';
  }
  out += '}';
  return out;
}

std::vector<std::string> parse_pg_text_array(std::string_view text) {
  std::vector<std::string> out;
  if (text.size() < 2 || text.front() != '{' || text.back() != '}')
    return out;
  std::size_t i = 1, end = text.size() - 1;
  while (i < end) {
    std::string item;
    if (text[i] == '"') {
      ++i;
      while (i < end && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < end)
          ++i;
        item += text[i++];
      }
      ++i; // closing quote
    } else {
      while (i < end && text[i] != ',')
        item += text[i++];
    }
    out.push_back(std::move(item));
    if (i < end && text[i] == ',')
      ++i;
  }
  return out;
}

} // namespace switchboard::storage
