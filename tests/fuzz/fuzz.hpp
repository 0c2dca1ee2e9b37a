#pragma once

// Shared by the libFuzzer targets: an invariant check that survives NDEBUG and names the
// failed condition, and the input as text. An exception escaping a target is a finding too
// (libFuzzer reports the abort from std::terminate): the parsers return errors, never throw.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace switchboard::fuzz {

/// Prints the failed invariant and aborts, so libFuzzer keeps the input as a crash.
[[noreturn]] inline void fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
  std::abort();
}

/// The fuzzer's bytes as text.
inline std::string_view text_of(const uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Whether `s` is a phone number in E.164 as core::normalize_phone makes them ("+", 8-15 digits,
/// the first not 0).
inline bool is_e164(const std::string& s) {
  return s.size() >= 9 && s.size() <= 16 && s[0] == '+' && s[1] != '0'
         && s.find_first_not_of("0123456789", 1) == std::string::npos;
}

/// Whether an error is one a codec may answer untrusted input with: one of the project's codes,
/// neither none nor internal (which would be a bug or an escaped library error).
inline bool is_codec_error(const caf::error& err) {
  auto code = core::code_of(err);
  return code != core::sb_error::none && code != core::sb_error::internal;
}

} // namespace switchboard::fuzz

/// Aborts with the condition's text when it is false (unlike assert, also under NDEBUG).
#define SB_FUZZ_CHECK(cond)                                                                        \
  ((cond) ? (void)0 : ::switchboard::fuzz::fail(#cond, __FILE__, __LINE__))
