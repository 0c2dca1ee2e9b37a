#pragma once

// Thin libpq layer for the hot paths: named statements prepared once per connection, executed
// with text parameters (arrays for set-based statements), one round trip each. SOCI stays the
// API for everything else; both run on the same connection (storage/db.hpp native_connection).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace soci {
class session;
}

typedef struct pg_result PGresult;

namespace switchboard::storage {

/// A named SQL statement with $1..$n parameters, prepared on first use on each connection.
struct pg_statement {
  const char* name; ///< unique per statement ("sb_inbox_insert")
  const char* text;
};

/// The rows of a statement's answer (owns the PGresult).
class pg_rows {
public:
  explicit pg_rows(PGresult* r = nullptr) : r_(r) {}
  ~pg_rows();
  pg_rows(pg_rows&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  pg_rows& operator=(pg_rows&& o) noexcept;
  pg_rows(const pg_rows&) = delete;
  pg_rows& operator=(const pg_rows&) = delete;

  /// Number of rows returned.
  int size() const;
  /// Rows affected by an INSERT/UPDATE/DELETE (without RETURNING: the command tag's count).
  long affected() const;
  /// Whether a column of a row is NULL.
  bool null(int row, int col) const;
  /// A column as text (empty for NULL).
  std::string_view text(int row, int col) const;
  /// A column as an integer (0 for NULL).
  int64_t int64(int row, int col) const;
  /// A boolean column ('t'/'f').
  bool boolean(int row, int col) const;

private:
  PGresult* r_;
};

/// A parameter: text, or NULL when empty optional.
using pg_param = std::optional<std::string>;

/// Executes a prepared statement (preparing it first on this connection when needed): one round
/// trip. Throws soci::postgresql_soci_error with the SQLSTATE on failure, so map_db_exception
/// treats it like any SOCI error.
pg_rows pg_exec(soci::session& sql, const pg_statement& st, const std::vector<pg_param>& params);

/// PostgreSQL text form of a text[] array ("{"a","b\"c"}"); nullopt elements become NULL.
std::string pg_text_array(const std::vector<std::string>& items);
std::string pg_text_array(const std::vector<std::optional<std::string>>& items);

/// PostgreSQL text form of a bigint[] array.
std::string pg_int_array(const std::vector<int64_t>& items);

/// PostgreSQL text form of a boolean[] array.
std::string pg_bool_array(const std::vector<bool>& items);

/// Parses the text form of a one-dimensional text[] column (as pg_rows::text returns it).
std::vector<std::string> parse_pg_text_array(std::string_view text);

} // namespace switchboard::storage
