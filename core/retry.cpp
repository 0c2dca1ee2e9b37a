#include "core/retry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

namespace switchboard::core {

namespace {

/// Delta-seconds larger than this (about 31 years) are clamped; the horizon rejects them anyway.
constexpr int64_t max_delta_seconds = 1'000'000'000;

constexpr const char* month_names[]
    = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr const char* short_days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr const char* long_days[]
    = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

int month_index(const char* name) {
  for (int i = 0; i < 12; ++i)
    if (std::strcmp(name, month_names[i]) == 0)
      return i + 1;
  return 0;
}

template <std::size_t N> bool one_of(const char* name, const char* const (&names)[N]) {
  return std::any_of(std::begin(names), std::end(names),
                     [name](const char* x) { return std::strcmp(name, x) == 0; });
}

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct civil_time {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

bool valid(const civil_time& t) {
  return t.year >= 1900 && t.year <= 9999 && t.month >= 1 && t.month <= 12 && t.day >= 1
         && t.day <= days_in_month(t.year, t.month) && t.hour >= 0 && t.hour <= 23 && t.minute >= 0
         && t.minute <= 59 && t.second >= 0 && t.second <= 60;
}

/// The three HTTP-date forms of RFC 9110 section 5.6.7.
std::optional<civil_time> parse_http_date(const std::string& s) {
  civil_time t;
  char wday[16] = {};
  char mon[4] = {};
  int consumed = 0;
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
  if (std::sscanf(s.c_str(), "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wday, &t.day, mon,
                  &t.year, &t.hour, &t.minute, &t.second, &consumed)
          == 7
      && static_cast<std::size_t>(consumed) == s.size() && one_of(wday, short_days)) {
    t.month = month_index(mon);
    return valid(t) ? std::optional{t} : std::nullopt;
  }
  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit years below 70 are 20xx)
  consumed = 0;
  if (std::sscanf(s.c_str(), "%9[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", wday, &t.day, mon,
                  &t.year, &t.hour, &t.minute, &t.second, &consumed)
          == 7
      && static_cast<std::size_t>(consumed) == s.size() && one_of(wday, long_days)) {
    t.month = month_index(mon);
    t.year += t.year < 70 ? 2000 : 1900;
    return valid(t) ? std::optional{t} : std::nullopt;
  }
  // asctime: Sun Nov  6 08:49:37 1994
  consumed = 0;
  if (std::sscanf(s.c_str(), "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wday, mon, &t.day,
                  &t.hour, &t.minute, &t.second, &t.year, &consumed)
          == 7
      && static_cast<std::size_t>(consumed) == s.size() && one_of(wday, short_days)) {
    t.month = month_index(mon);
    return valid(t) ? std::optional{t} : std::nullopt;
  }
  return std::nullopt;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace

jitter_source default_jitter() {
  return [] {
    thread_local std::mt19937_64 gen{std::random_device{}()};
    return std::uniform_real_distribution<double>{0.0, 1.0}(gen);
  };
}

std::optional<std::chrono::milliseconds>
next_retry_delay(const backoff_policy& policy, int attempts, std::chrono::milliseconds elapsed,
                 std::optional<std::chrono::milliseconds> retry_after,
                 const jitter_source& jitter) {
  using std::chrono::milliseconds;
  attempts = std::max(attempts, 1);
  if (attempts >= policy.max_attempts)
    return std::nullopt;
  // Computed in double so that large attempt counts saturate instead of overflowing.
  auto exp = std::ldexp(static_cast<double>(policy.base.count()), std::min(attempts - 1, 1000));
  auto cap = std::min(exp, static_cast<double>(policy.max_delay.count()));
  auto r = jitter ? jitter() : 1.0;
  if (!(r >= 0.0)) // also catches NaN
    r = 0.0;
  r = std::min(r, 1.0);
  auto delay = milliseconds{static_cast<int64_t>(std::floor(r * std::max(cap, 0.0)))};
  if (retry_after && *retry_after > delay)
    delay = *retry_after;
  if (elapsed + delay > policy.horizon)
    return std::nullopt;
  return delay;
}

std::chrono::milliseconds horizon_for(const outbox_schedule& schedule,
                                      std::string_view message_type) {
  if (message_type == "summary")
    return schedule.summary_horizon;
  if (message_type == "reply")
    return schedule.reply_horizon;
  return schedule.default_horizon;
}

std::optional<std::chrono::milliseconds>
next_outbox_attempt(const outbox_schedule& schedule, std::chrono::milliseconds horizon,
                    int attempts, std::chrono::milliseconds age,
                    std::optional<std::chrono::milliseconds> retry_after, double r) {
  using std::chrono::milliseconds;
  if (age >= horizon)
    return std::nullopt;
  auto left = horizon - age;
  milliseconds step{1000};
  if (!schedule.delays.empty()) {
    auto i = static_cast<std::size_t>(std::max(attempts, 1) - 1);
    step = schedule.delays[std::min(i, schedule.delays.size() - 1)];
  }
  if (!(r >= 0.0)) // also catches NaN
    r = 0.0;
  r = std::min(r, 1.0);
  auto delay = milliseconds{
      static_cast<int64_t>(std::floor(static_cast<double>(step.count()) * (1.0 - 0.25 * r)))};
  if (retry_after && *retry_after > delay) {
    if (*retry_after > left)
      return std::nullopt;
    delay = *retry_after;
  }
  return std::min(delay, left);
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view header,
                                                      std::chrono::system_clock::time_point now) {
  auto text = trim(header);
  if (text.empty())
    return std::nullopt;
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t value = 0;
    for (char c : text) {
      value = value * 10 + (c - '0');
      if (value > max_delta_seconds) {
        value = max_delta_seconds;
        break;
      }
    }
    return std::chrono::seconds{value};
  }
  auto t = parse_http_date(std::string{text});
  if (!t)
    return std::nullopt;
  auto days
      = days_from_civil(t->year, static_cast<unsigned>(t->month), static_cast<unsigned>(t->day));
  auto secs = days * 86400 + t->hour * 3600 + t->minute * 60 + t->second;
  auto when = std::chrono::system_clock::time_point{std::chrono::seconds{secs}};
  if (when <= now)
    return std::chrono::seconds{0};
  return std::chrono::ceil<std::chrono::seconds>(when - now);
}

bool is_transient_http_status(int status) {
  return status == 408 || status == 425 || status == 429 || (status >= 500 && status <= 599);
}

} // namespace switchboard::core
