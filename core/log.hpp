#pragma once

#include <atomic>
#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::core {

/// Log severity.
enum class log_level { debug = 0, info = 1, warn = 2, error = 3 };

/// Parses "debug|info|warn|error" (info when unknown).
log_level parse_log_level(std::string_view text);

/// Sets the minimum level written (process-wide).
void set_log_level(log_level level);

/// Whether a line at `level` would be written.
bool log_enabled(log_level level);

/// A key/value field of a log line. Values are written as JSON strings; callers mask PII
/// (mask_phone, mask_text in core/phone.hpp) before putting it in a field.
using log_field = std::pair<std::string_view, std::string_view>;

/// Writes one JSON line to stderr: {"ts","level","msg", fields...}. Thread-safe.
void log(log_level level, std::string_view msg, std::initializer_list<log_field> fields = {});

/// The same with fields built at run time.
void log(log_level level, std::string_view msg, const std::vector<log_field>& fields);

/// UTC ISO 8601 with milliseconds ("2026-11-21T06:40:23.758Z").
std::string iso8601_utc(std::chrono::system_clock::time_point t);

/// Escapes text for a JSON string (without the quotes).
std::string json_escape(std::string_view text);

} // namespace switchboard::core
