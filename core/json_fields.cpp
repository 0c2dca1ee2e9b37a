#include "core/json_fields.hpp"

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
