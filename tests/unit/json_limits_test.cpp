#include <catch2/catch.hpp>

#include <string>

#include "core/json_fields.hpp"

using namespace switchboard::core;

TEST_CASE("untrusted JSON: nesting is limited before parsing, strings do not count",
          "[json]") {
  CHECK(json_depth("{}") == 1);
  CHECK(json_depth(R"({"a":[1,{"b":[]}]})") == 4);
  CHECK(json_depth(R"({"a":"[[[[{{{{"})") == 1);         // brackets inside a string
  CHECK(json_depth(R"({"a":"\"[[[[","b":[]})") == 2);     // an escaped quote keeps the string open
  CHECK(json_depth(R"(["\\",[[]]])") == 3);               // an escaped backslash ends before the quote
  CHECK(json_depth("42") == 0);

  auto nested = [](std::size_t n) {
    return std::string(n, '[') + std::string(n, ']');
  };
  CHECK_FALSE(parse_untrusted_json(nested(max_json_depth)).is_discarded());
  std::string why;
  CHECK(parse_untrusted_json(nested(max_json_depth + 1), &why).is_discarded());
  CHECK(why.find("deeper than 32") != std::string::npos);
  // 10,000 and 1,000,000 levels are refused without recursion (and quickly).
  CHECK(parse_untrusted_json(nested(10000)).is_discarded());
  CHECK(json_depth(std::string(1000000, '{'), max_json_depth) == max_json_depth + 1);
  why.clear();
  CHECK(parse_untrusted_json("{", &why).is_discarded());
  CHECK(why == "not valid JSON");
}
