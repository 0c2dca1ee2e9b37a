#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace switchboard::test {

/// Absolute path of a file under ../shared/provider-fixtures/.
std::string fixture_path(const std::string& relative);

/// Raw bytes of a fixture file (signatures are computed over raw bytes).
std::string read_fixture(const std::string& relative);

/// A fixture file parsed as JSON.
nlohmann::json fixture_json(const std::string& relative);

/// Raw bytes of any file.
std::string read_file(const std::string& path);

} // namespace switchboard::test
