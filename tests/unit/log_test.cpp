#include "core/log.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>

using namespace switchboard::core;

TEST_CASE("a log line is one JSON object whatever its text holds", "[log]") {
  // Invalid UTF-8 (a lone continuation byte, a truncated sequence, an overlong '/'), control
  // characters, quotes and backslashes, in the message, a key and a value.
  std::string hostile = std::string{"/p\x80th\xE2\x82"} + "\xC0\xAF" + "\"\\\n\t" + '\0' + "\x1F";
  auto line = format_log_line(log_level::warn, hostile, {{hostile, hostile}, {"path", hostile}});
  INFO(line);
  REQUIRE(line.find('\n') == std::string::npos);
  auto j = nlohmann::json::parse(line); // throws on invalid JSON or invalid UTF-8
  CHECK(j["level"] == "warn");
  auto path = j["path"].get<std::string>();
  CHECK(path.rfind("/p\xEF\xBF\xBDth", 0) == 0); // U+FFFD for the stray byte
  CHECK(path.find("\"\\\n\t") != std::string::npos);
  CHECK(path.find('\0') != std::string::npos);
  // Valid UTF-8 passes through unchanged.
  auto ok = nlohmann::json::parse(
      format_log_line(log_level::info, "m", {{"k", "caf\xC3\xA9 \xE2\x82\xAC"}}));
  CHECK(ok["k"] == "caf\xC3\xA9 \xE2\x82\xAC");
}

TEST_CASE("log fields keep their types: numbers and booleans are not strings", "[log]") {
  std::string owned = "text";
  auto line = format_log_line(log_level::info, "m",
                              {{"status", 503},
                               {"bytes", std::uint64_t{18446744073709551615ull}},
                               {"delta", std::int64_t{-42}},
                               {"ratio", 0.25},
                               {"inf", std::numeric_limits<double>::infinity()},
                               {"retry", true},
                               {"cached", false},
                               {"s", owned},
                               {"c", "literal"},
                               {"v", std::string_view{"view"}}});
  INFO(line);
  auto j = nlohmann::json::parse(line);
  CHECK(j["status"].is_number_integer());
  CHECK(j["status"] == 503);
  CHECK(j["bytes"] == 18446744073709551615ull);
  CHECK(j["delta"] == -42);
  CHECK(j["ratio"] == 0.25);
  CHECK(j["inf"].is_null()); // JSON has no infinity
  CHECK(j["retry"] == true);
  CHECK(j["cached"] == false);
  CHECK(j["s"] == "text");
  CHECK(j["c"] == "literal");
  CHECK(j["v"] == "view");
  CHECK(j["ts"].is_string());
  CHECK(j["msg"] == "m");
}
