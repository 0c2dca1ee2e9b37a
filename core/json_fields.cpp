#include "core/json_fields.hpp"

#include <algorithm>

namespace switchboard::core::json_fields {

const json* find(const json& obj, const char* key) {
  if (!obj.is_object())
    return nullptr;
  auto i = obj.find(key);
  if (i == obj.end() || i->is_null())
    return nullptr;
  return &*i;
}

std::string path_of(std::string_view prefix, const char* key) {
  return prefix.empty() ? std::string{key} : std::string{prefix} + "." + key;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string> text_field(const json& obj, const char* key) {
  if (!obj.is_object())
    return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end())
    return std::nullopt;
  if (it->is_string())
    return it->get<std::string>();
  if (it->is_number_integer())
    return std::to_string(it->get<int64_t>());
  return std::nullopt;
}

std::string text_or_empty(const json& obj, const char* key) {
  return text_field(obj, key).value_or(std::string{});
}

std::string opt_string(const json& obj, const char* key, std::string_view prefix) {
  const json* v = find(obj, key);
  if (v == nullptr)
    return {};
  if (!v->is_string())
    throw field_error{path_of(prefix, key) + ": expected a string"};
  return v->get<std::string>();
}

const json& object_or_empty(const json& obj, const char* key) {
  static const json empty = json::object();
  if (!obj.is_object())
    return empty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? *it : empty;
}

const json& array_or_empty(const json& obj, const char* key) {
  static const json empty = json::array();
  if (!obj.is_object())
    return empty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_array() ? *it : empty;
}

} // namespace switchboard::core::json_fields

namespace switchboard::core {

std::optional<std::string> json_body_problem(std::string_view body) {
  if (json_depth(body) > max_json_depth)
    return "body: JSON nested deeper than " + std::to_string(max_json_depth) + " levels";
  if (body.find('\0') != std::string_view::npos) // nlohmann would stop reading at it
    return std::string{"body: invalid JSON: a raw NUL byte"};
  return std::nullopt;
}

std::size_t json_depth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i; // the escaped character cannot end the string
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit)
        return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

nlohmann::json parse_untrusted_json(std::string_view text, std::string* why) {
  if (json_depth(text) > max_json_depth) {
    if (why)
      *why = "JSON nested deeper than " + std::to_string(max_json_depth) + " levels";
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  // nlohmann's parser takes a NUL byte for the end of the input and would accept `{...}\0junk`;
  // JSON allows no raw NUL anywhere (in strings it is the escape \u0000).
  if (text.find('\0') != std::string_view::npos) {
    if (why)
      *why = "not valid JSON (a raw NUL byte)";
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() && why)
    *why = "not valid JSON";
  return j;
}

} // namespace switchboard::core
