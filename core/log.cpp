#include "core/log.hpp"

#include "core/text/utf8.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace switchboard::core {

namespace {

std::atomic<int> min_level{static_cast<int>(log_level::info)};
std::mutex write_mutex;

} // namespace

const char* log_level_name(log_level l) {
  switch (l) {
  case log_level::debug:
    return "debug";
  case log_level::info:
    return "info";
  case log_level::warn:
    return "warn";
  case log_level::error:
    return "error";
  }
  return "info";
}

log_level current_log_level() {
  return static_cast<log_level>(min_level.load(std::memory_order_relaxed));
}

log_level parse_log_level(std::string_view text) {
  if (text == "debug")
    return log_level::debug;
  if (text == "warn")
    return log_level::warn;
  if (text == "error")
    return log_level::error;
  return log_level::info;
}

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  auto ms_total
      = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  auto secs = static_cast<std::time_t>(ms_total / 1000);
  auto ms = static_cast<int>(((ms_total % 1000) + 1000) % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

void set_log_level(log_level level) {
  min_level = static_cast<int>(level);
}

bool log_enabled(log_level level) {
  return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed);
}

std::string json_escape(std::string_view text) {
  // The common case is plain ASCII; only text with a byte >= 0x80 is checked for UTF-8.
  std::string sanitized;
  std::string_view s = text;
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      if (!is_valid_utf8(text)) {
        sanitized = sanitize_utf8(text);
        s = sanitized;
      }
      break;
    }
  }
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
        out += buf;
      } else {
        out += c;
      }
    }
  }
  return out;
}

void log(log_level level, std::string_view msg, std::initializer_list<log_field> fields) {
  log(level, msg, std::vector<log_field>{fields});
}

void log_value::write(std::string& out) const {
  switch (kind_) {
  case kind::text:
    out += '"';
    out += json_escape(text_);
    out += '"';
    return;
  case kind::signed_integer:
    out += std::to_string(i_);
    return;
  case kind::unsigned_integer:
    out += std::to_string(u_);
    return;
  case kind::boolean:
    out += u_ ? "true" : "false";
    return;
  case kind::real: {
    if (!std::isfinite(d_)) {
      out += "null";
      return;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.15g", d_);
    out += buf;
    return;
  }
  }
}

std::string format_log_line(log_level level, std::string_view msg,
                            const std::vector<log_field>& fields) {
  std::string line;
  line.reserve(128);
  line += "{\"ts\":\"";
  line += iso8601_utc(std::chrono::system_clock::now());
  line += "\",\"level\":\"";
  line += log_level_name(level);
  line += "\",\"msg\":\"";
  line += json_escape(msg);
  line += '"';
  for (auto& [k, v] : fields) {
    line += ",\"";
    line += json_escape(k);
    line += "\":";
    v.write(line);
  }
  line += '}';
  return line;
}

void log(log_level level, std::string_view msg, const std::vector<log_field>& fields) {
  if (!log_enabled(level))
    return;
  auto line = format_log_line(level, msg, fields);
  line += '\n';
  std::lock_guard<std::mutex> guard{write_mutex};
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

} // namespace switchboard::core
