#include "core/signatures.hpp"

#include <algorithm>
#include <cctype>

#include "core/crypto.hpp"

namespace switchboard::core {

namespace {

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

} // namespace

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string ascii_lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool hex_digest_equal(std::string_view expected_lower, std::string_view presented) {
  if (presented.size() != expected_lower.size())
    return false;
  if (!std::all_of(presented.begin(), presented.end(), is_hex_digit))
    return false;
  return constant_time_equal(expected_lower, ascii_lower(presented));
}

bool verify_secret_token(std::string_view expected, std::string_view presented) {
  if (expected.empty())
    return false;
  // Compare digests so the comparison takes the same time whatever the presented length.
  return constant_time_equal(sha256(expected), sha256(presented));
}

} // namespace switchboard::core
