#pragma once

// Field access helpers shared by the provider codecs (untrusted JSON: absent, null and
// wrongly-typed fields are expected, never exceptions).

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace switchboard::core {

/// How deep untrusted JSON may nest (arrays and objects): every provider payload and API body
/// is under 12; a deeper one is refused before it is parsed, so a hostile document can neither
/// exhaust the stack nor be stored and echoed into every prompt.
constexpr std::size_t max_json_depth = 32;

/// The nesting depth of a JSON text (strings skipped), counting at most to `limit + 1`.
std::size_t json_depth(std::string_view text, std::size_t limit = max_json_depth);

/// Why an untrusted JSON body is refused before it is parsed ("body: JSON nested deeper than 32
/// levels", "body: invalid JSON: a raw NUL byte"), or nullopt when it may be parsed.
std::optional<std::string> json_body_problem(std::string_view body);

/// Parses untrusted JSON: a discarded value (is_discarded()) when it is not JSON (a raw NUL byte
/// included, which nlohmann would take for the end of the text) or nests deeper than
/// max_json_depth; `why`, when given, says which.
nlohmann::json parse_untrusted_json(std::string_view text, std::string* why = nullptr);

} // namespace switchboard::core

namespace switchboard::core::json_fields {

using json = nlohmann::json;

/// Thrown inside a codec only; converted to sb_error::malformed at its parse boundary.
struct field_error {
  std::string reason;
};

/// The member `key` of an object, or null when `obj` is no object or the member is absent/null.
const json* find(const json& obj, const char* key);

/// "prefix.key" (or "key"), for error reasons that name the field.
std::string path_of(std::string_view prefix, const char* key);

/// Compact JSON text; invalid UTF-8 is replaced rather than thrown.
std::string dump(const json& j);

/// A string member, or an integer rendered as text; nullopt when absent or of another type
/// (a fractional number is no id or timestamp).
std::optional<std::string> text_field(const json& obj, const char* key);

/// text_field, or empty.
std::string text_or_empty(const json& obj, const char* key);

/// A string member, or empty when absent or null; another type throws field_error naming
/// "prefix.key" (a codec's strict read of an optional text field).
std::string opt_string(const json& obj, const char* key, std::string_view prefix = {});

/// The object member `key`, or an empty object.
const json& object_or_empty(const json& obj, const char* key);

/// The array member `key`, or an empty array.
const json& array_or_empty(const json& obj, const char* key);

/// A codec's boundary for an untrusted body: refused as sb_error::malformed when
/// json_body_problem says so, when it is no JSON ("invalid JSON: ..."), when `object` is set and
/// it is no JSON object ("body: expected a JSON object"), or when `read(root)` throws a
/// field_error (its reason); else what `read` returns (an expected<T>).
template <class T, class Read>
expected<T> parse_json_body(std::string_view body, bool object, Read&& read) {
  auto fail = [](std::string reason) { return caf::make_error(sb_error::malformed, reason); };
  if (auto why = json_body_problem(body))
    return fail(*why);
  try {
    auto root = json::parse(body);
    if (object && !root.is_object())
      return fail("body: expected a JSON object");
    return read(root);
  } catch (const field_error& e) {
    return fail(e.reason);
  } catch (const json::exception& e) {
    return fail(std::string{"invalid JSON: "} + e.what());
  }
}

} // namespace switchboard::core::json_fields
