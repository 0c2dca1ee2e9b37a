#include "tests/support/fixtures.hpp"

#include <cctype>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace switchboard::test {

std::string fixture_path(const std::string& relative) {
  return std::string{SB_FIXTURES_DIR} + "/" + relative;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_fixture(const std::string& relative) {
  return read_file(fixture_path(relative));
}

nlohmann::json fixture_json(const std::string& relative) {
  return nlohmann::json::parse(read_fixture(relative));
}

std::set<std::pair<std::string, std::string>> openapi_operations(const nlohmann::json& doc) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& [path, item] : doc.at("paths").items())
    for (const auto& [method, op] : item.items()) {
      std::string m = method;
      for (auto& c : m)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.emplace(m, path);
    }
  return out;
}

} // namespace switchboard::test
