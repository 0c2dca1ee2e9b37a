#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::core {

/// Ordered name/value pairs; duplicates are kept (form bodies and query strings allow them).
using form_params = std::vector<std::pair<std::string, std::string>>;

/// Percent-decodes a form component ('+' is a space); invalid escapes are kept literally.
std::string url_decode(std::string_view text);

/// Percent-encodes everything but RFC 3986 unreserved characters (space as %20).
std::string url_encode(std::string_view text);

/// Parses application/x-www-form-urlencoded text (also query strings).
form_params parse_form(std::string_view body);

/// Encodes pairs as application/x-www-form-urlencoded text.
std::string encode_form(const form_params& params);

/// First value for `name`, or empty.
std::string_view form_value(const form_params& params, std::string_view name);

} // namespace switchboard::core
