#pragma once

#include <set>
#include <string>
#include <utility>

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

/// The (METHOD, path) of every operation of an OpenAPI document.
std::set<std::pair<std::string, std::string>> openapi_operations(const nlohmann::json& doc);

} // namespace switchboard::test
