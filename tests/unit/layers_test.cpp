// The layer graph of ../shared/STYLE.md as a test: http -> actors -> storage -> core, everybody
// may use core and config, nobody includes upward, and the heavy headers stay where they are
// cheap. It reads the sources, so a new include crossing a layer fails here, not in review.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;

namespace {

/// Which project folders each layer may include from (itself included).
const std::map<std::string, std::set<std::string>>& allowed_layers() {
  static const std::map<std::string, std::set<std::string>> rules = {
      {"core", {"core"}},
      {"config", {"config", "core"}},
      {"providers", {"providers", "core", "config"}},
      {"storage", {"storage", "core", "config"}},
      {"actors", {"actors", "storage", "providers", "core", "config"}},
      {"http", {"http", "actors", "providers", "core", "config"}},
      {"sim", {"sim", "http", "providers", "core", "config"}},
  };
  return rules;
}

/// The only CAF headers pure layers may use: the error/expected vocabulary, no actors.
bool light_caf_header(const std::string& path) {
  static const std::set<std::string> ok = {"caf/error.hpp", "caf/expected.hpp", "caf/message.hpp",
                                           "caf/sec.hpp", "caf/meta/type_name.hpp"};
  return ok.count(path) > 0;
}

struct include_line {
  std::string file;
  int line = 0;
  std::string path;
  bool quoted = false;
};

std::vector<include_line> includes_of(const fs::path& file, const std::string& shown) {
  static const std::regex include_re{R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])"};
  std::vector<include_line> out;
  std::ifstream in{file};
  std::string text;
  int n = 0;
  while (std::getline(in, text)) {
    ++n;
    std::smatch m;
    if (std::regex_search(text, m, include_re))
      out.push_back({shown, n, m[2].str(), m[1].str() == "\""});
  }
  return out;
}

std::string first_segment(const std::string& path) {
  auto slash = path.find('/');
  return slash == std::string::npos ? std::string{} : path.substr(0, slash);
}

/// Every problem of the tree at `root`, one line each.
std::vector<std::string> layer_problems(const fs::path& root) {
  std::vector<std::string> problems;
  for (const auto& [layer, may] : allowed_layers()) {
    auto dir = root / layer;
    if (!fs::exists(dir))
      continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      auto ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".hpp" && ext != ".cpp"))
        continue;
      auto shown = fs::relative(entry.path(), root).string();
      bool header = ext == ".hpp";
      for (const auto& inc : includes_of(entry.path(), shown)) {
        auto where = inc.file + ":" + std::to_string(inc.line) + " includes " + inc.path;
        auto first = problems.size(); // one problem per include line: the first rule it breaks
        auto top = first_segment(inc.path);
        if (inc.quoted && allowed_layers().count(top) && !may.count(top))
          problems.push_back(where + ": " + layer + " may not include " + top);
        bool pure
            = layer == "core" || layer == "config" || layer == "providers" || layer == "storage";
        if (pure && top == "caf" && !light_caf_header(inc.path))
          problems.push_back(where + ": " + layer + " knows no actor (only CAF's error types)");
        if ((layer == "core" || layer == "config" || layer == "providers")
            && (top == "soci" || top == "curl" || top == "boost"))
          problems.push_back(where + ": " + layer + " is pure: no SOCI, curl or asio");
        if (layer == "storage" && (top == "boost" || top == "curl"))
          problems.push_back(where + ": storage is SQL only");
        if ((layer == "actors" || layer == "storage")
            && (inc.path.rfind("boost/beast", 0) == 0 || inc.path.rfind("boost/asio", 0) == 0))
          problems.push_back(where + ": " + layer + " knows no Beast or asio type");
        if (layer == "http" && (top == "soci" || top == "storage"))
          problems.push_back(where + ": http reaches the database only through actors");
        // Widely included headers stay cheap: caf/all.hpp only in actors' private header, Beast
        // and asio only in .cpp files (and the simulator's private header).
        if (header && inc.path == "caf/all.hpp" && shown != "actors/common.hpp")
          problems.push_back(where + ": caf/all.hpp in a header outside actors/common.hpp");
        if (header && layer != "sim"
            && (inc.path.rfind("boost/beast", 0) == 0 || inc.path.rfind("boost/asio", 0) == 0))
          problems.push_back(where + ": Beast/asio in a header");
        if (problems.size() > first + 1)
          problems.resize(first + 1);
      }
    }
  }
  return problems;
}

} // namespace

TEST_CASE("no include crosses the layer graph", "[layers]") {
  auto problems = layer_problems(SB_SOURCE_DIR);
  std::string all;
  for (const auto& p : problems)
    all += p + "\n";
  INFO(all);
  CHECK(problems.empty());
}

TEST_CASE("the layer check sees a crossing include", "[layers]") {
  // A scratch tree with one file per kind of crossing: each must be reported.
  auto root = fs::temp_directory_path() / ("sb-layers-" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto put = [&](const std::string& file, const std::string& text) {
    fs::create_directories((root / file).parent_path());
    std::ofstream{root / file} << text;
  };
  put("core/a.cpp", "#include \"actors/runtime.hpp\"\n#include <caf/all.hpp>\n#include "
                    "<caf/error.hpp>\n");
  put("storage/b.cpp", "#include \"http/server.hpp\"\n#include <boost/asio.hpp>\n");
  put("http/c.cpp", "#include \"storage/db.hpp\"\n#include <soci/soci.h>\n#include "
                    "\"actors/runtime.hpp\"\n");
  put("actors/d.hpp", "#include <caf/all.hpp>\n");
  put("providers/e.cpp", "#include \"storage/db.hpp\"\n#include <curl/curl.h>\n");
  auto problems = layer_problems(root);
  fs::remove_all(root);
  std::string all;
  for (const auto& p : problems)
    all += p + "\n";
  INFO(all);
  auto reported = [&](const std::string& fragment) {
    for (const auto& p : problems)
      if (p.find(fragment) != std::string::npos)
        return true;
    return false;
  };
  CHECK(reported("core/a.cpp:1 includes actors/runtime.hpp"));
  CHECK(reported("core/a.cpp:2 includes caf/all.hpp"));
  CHECK_FALSE(reported("core/a.cpp:3"));
  CHECK(reported("storage/b.cpp:1 includes http/server.hpp"));
  CHECK(reported("storage/b.cpp:2 includes boost/asio.hpp"));
  CHECK(reported("http/c.cpp:1 includes storage/db.hpp"));
  CHECK(reported("http/c.cpp:2 includes soci/soci.h"));
  CHECK_FALSE(reported("http/c.cpp:3"));
  CHECK(reported("actors/d.hpp:1 includes caf/all.hpp"));
  CHECK(reported("providers/e.cpp:1 includes storage/db.hpp"));
  CHECK(reported("providers/e.cpp:2 includes curl/curl.h"));
  CHECK(problems.size() == 9);
}
