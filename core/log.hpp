#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace switchboard::core {

/// Log severity.
enum class log_level { debug = 0, info = 1, warn = 2, error = 3 };

/// Parses "debug|info|warn|error" (info when unknown).
log_level parse_log_level(std::string_view text);

/// "debug", "info", "warn" or "error".
const char* log_level_name(log_level level);

/// The minimum level written (process-wide).
log_level current_log_level();

/// Sets the minimum level written (process-wide).
void set_log_level(log_level level);

/// Whether a line at `level` would be written.
bool log_enabled(log_level level);

/// The value of a log field, typed as it is written: text as a JSON string (invalid UTF-8
/// replaced by U+FFFD), integers and finite doubles as JSON numbers, booleans as true/false.
/// It does not own text: it lives as long as the log call's full expression.
class log_value {
public:
  enum class kind : std::uint8_t { text, signed_integer, unsigned_integer, real, boolean };

  log_value(std::string_view text) : kind_{kind::text}, text_{text} {}
  log_value(const char* text) : kind_{kind::text}, text_{text ? text : ""} {}
  log_value(const std::string& text) : kind_{kind::text}, text_{text} {}
  log_value(bool b) : kind_{kind::boolean}, u_{b ? 1u : 0u} {}
  log_value(double d) : kind_{kind::real}, d_{d} {}
  template <
      class T,
      std::enable_if_t<
          std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>, int> = 0>
  log_value(T v) {
    if constexpr (std::is_signed_v<T>) {
      kind_ = kind::signed_integer;
      i_ = static_cast<std::int64_t>(v);
    } else {
      kind_ = kind::unsigned_integer;
      u_ = static_cast<std::uint64_t>(v);
    }
  }

  kind type() const { return kind_; }
  /// Appends the value as JSON.
  void write(std::string& out) const;

private:
  kind kind_{kind::text};
  std::string_view text_;
  union {
    std::int64_t i_;
    std::uint64_t u_{0};
    double d_;
  };
};

/// A key/value field of a log line. Callers mask PII (mask_phone, mask_text in
/// core/phone.hpp) before putting it in a field.
using log_field = std::pair<std::string_view, log_value>;

/// One log line as written (without the newline), for tests: {"ts","level","msg", fields...}.
std::string format_log_line(log_level level, std::string_view msg,
                            const std::vector<log_field>& fields);

/// Writes one JSON line to stderr: {"ts","level","msg", fields...}. Thread-safe.
void log(log_level level, std::string_view msg, std::initializer_list<log_field> fields = {});

/// The same with fields built at run time.
void log(log_level level, std::string_view msg, const std::vector<log_field>& fields);

/// UTC ISO 8601 with milliseconds ("2026-11-21T06:40:23.758Z").
std::string iso8601_utc(std::chrono::system_clock::time_point t);

/// Escapes text for a JSON string (without the quotes); invalid UTF-8 becomes U+FFFD, so the
/// result is always valid JSON string content.
std::string json_escape(std::string_view text);

} // namespace switchboard::core
