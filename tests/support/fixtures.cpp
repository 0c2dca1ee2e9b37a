#include "tests/support/fixtures.hpp"

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

} // namespace switchboard::test
