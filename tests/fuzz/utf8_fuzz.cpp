// UTF-8 decoding and encoding of untrusted text (core/utf8 and core/text's own decoder): the
// two agree on what is valid and on the length, sanitising is idempotent and yields valid text,
// and encoding arbitrary code points gives valid UTF-8 that decodes back.

#include <cstring>

#include "core/text/text.hpp"
#include "core/text/utf8.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

bool is_scalar(char32_t c) {
  return c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto text = fuzz::text_of(data, size);

  auto cps = core::decode_utf8(text);
  SB_FUZZ_CHECK(cps.size() <= text.size());
  for (auto c : cps)
    SB_FUZZ_CHECK(is_scalar(c));
  bool valid = core::is_valid_utf8(text);
  SB_FUZZ_CHECK(valid == core::is_well_formed_utf8(text));
  SB_FUZZ_CHECK(core::count_code_points(text) == cps.size());
  SB_FUZZ_CHECK(core::utf8_length(text) == cps.size());

  auto clean = core::sanitize_utf8(text);
  SB_FUZZ_CHECK(core::is_valid_utf8(clean));
  SB_FUZZ_CHECK(core::sanitize_utf8(clean) == clean);
  SB_FUZZ_CHECK((clean == text) == valid);
  SB_FUZZ_CHECK(core::decode_utf8(clean) == cps);

  // Any 32-bit values as code points: invalid ones become U+FFFD, the rest survive.
  std::u32string raw(size / 4, U'\0');
  if (!raw.empty())
    std::memcpy(raw.data(), data, raw.size() * 4);
  auto encoded = core::encode_utf8(raw);
  SB_FUZZ_CHECK(core::is_valid_utf8(encoded));
  auto back = core::decode_utf8(encoded);
  SB_FUZZ_CHECK(back.size() == raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i)
    SB_FUZZ_CHECK(back[i] == (is_scalar(raw[i]) ? raw[i] : char32_t{0xFFFD}));

  // The search and formatting helpers built on it keep their output valid.
  SB_FUZZ_CHECK(core::is_valid_utf8(core::fold_text(text)));
  for (auto& token : core::tokenize_text(text))
    SB_FUZZ_CHECK(!token.empty() && core::is_valid_utf8(token));
  for (auto& sentence : core::split_sentences(text))
    SB_FUZZ_CHECK(core::is_valid_utf8(sentence));
  return 0;
}
