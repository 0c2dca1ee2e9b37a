#include "tests/support/metrics.hpp"

#include <cstdlib>
#include <functional>
#include <map>

namespace switchboard::test {

namespace {

/// Parses `{a="x",b="y"}` starting at `pos` (just after the name); false when malformed.
bool parse_labels(std::string_view line, std::size_t& pos,
                  std::map<std::string, std::string, std::less<>>& out) {
  if (pos >= line.size() || line[pos] != '{')
    return true;
  ++pos;
  while (pos < line.size() && line[pos] != '}') {
    auto eq = line.find('=', pos);
    if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
      return false;
    std::string key{line.substr(pos, eq - pos)};
    std::string value;
    pos = eq + 2;
    while (pos < line.size() && line[pos] != '"') {
      if (line[pos] == '\\' && pos + 1 < line.size()) {
        ++pos;
        value += line[pos] == 'n' ? '\n' : line[pos];
      } else {
        value += line[pos];
      }
      ++pos;
    }
    if (pos >= line.size())
      return false;
    ++pos; // closing quote
    out.emplace(std::move(key), std::move(value));
    if (pos < line.size() && line[pos] == ',')
      ++pos;
  }
  if (pos >= line.size())
    return false;
  ++pos; // closing brace
  return true;
}

} // namespace

std::optional<double> metric_value(std::string_view text, std::string_view name,
                                   const std::vector<std::pair<std::string, std::string>>& labels) {
  std::optional<double> sum;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos)
      end = text.size();
    auto line = text.substr(start, end - start);
    start = end + 1;
    if (line.size() <= name.size() || line.compare(0, name.size(), name) != 0)
      continue;
    auto pos = name.size();
    if (line[pos] != '{' && line[pos] != ' ')
      continue;
    std::map<std::string, std::string, std::less<>> found;
    if (!parse_labels(line, pos, found))
      continue;
    bool match = true;
    for (auto& [k, v] : labels) {
      auto it = found.find(k);
      if (it == found.end() || it->second != v) {
        match = false;
        break;
      }
    }
    if (!match)
      continue;
    std::string value{line.substr(pos)};
    char* stop = nullptr;
    double d = std::strtod(value.c_str(), &stop);
    if (stop == value.c_str())
      continue;
    sum = sum.value_or(0) + d;
  }
  return sum;
}

} // namespace switchboard::test
