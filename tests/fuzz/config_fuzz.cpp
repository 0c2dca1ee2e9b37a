// The TOML config loader over arbitrary text (the secrets in the environment): no exception escapes
// (TOML syntax errors are reported, not thrown), the report is deterministic, and a configuration
// that loads without errors has every bounded number within its documented range.

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "config/settings.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

/// The environment of a deployment: every secret (and the DSN) set, so that the fuzzed text is
/// what decides whether the configuration loads.
std::optional<std::string> secrets_env(const char* name) {
  static const auto names = [] {
    std::set<std::string> out;
    for (auto& key : config::known_keys())
      if (key.secret || key.path == "database.dsn")
        out.insert(key.env);
    return out;
  }();
  if (names.count(name))
    return std::string{"fuzz-secret_1"};
  return std::nullopt;
}

/// `path = value` lines of config::describe, by path.
std::map<std::string, std::string> described(const config::settings& s) {
  std::map<std::string, std::string> out;
  std::istringstream in{config::describe(s)};
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find(" = ");
    if (eq != std::string::npos)
      out[line.substr(0, eq)] = line.substr(eq + 3);
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string text{fuzz::text_of(data, size)};

  auto report = config::check_settings_text(text, secrets_env, "fuzz", "/nonexistent");
  auto again = config::check_settings_text(text, secrets_env, "fuzz", "/nonexistent");
  SB_FUZZ_CHECK(report.errors == again.errors && report.warnings == again.warnings);
  for (auto& e : report.errors)
    SB_FUZZ_CHECK(!e.empty());

  auto loaded = config::load_settings_text(text, secrets_env, "fuzz", "/nonexistent");
  SB_FUZZ_CHECK(loaded.engaged() == report.errors.empty());
  if (!loaded) {
    auto code = core::code_of(loaded.error());
    SB_FUZZ_CHECK(code == core::sb_error::malformed || code == core::sb_error::invalid_argument);
    return 0;
  }
  static const auto keys = config::known_keys();
  auto values = described(*loaded);
  for (auto& key : keys) {
    if (key.min > key.max)
      continue;
    auto it = values.find(key.path);
    SB_FUZZ_CHECK(it != values.end());
    if (it->second.rfind("[", 0) == 0)
      continue; // a list: each element is checked by the loader itself
    double v = std::strtod(it->second.c_str(), nullptr);
    SB_FUZZ_CHECK(v >= key.min && v <= key.max);
  }
  return 0;
}
