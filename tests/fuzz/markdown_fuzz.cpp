// Help Center article Markdown (untrusted: whatever Chatwoot stores) through cmark and the
// Snowball stemmers: every line is trimmed, non-empty, well-formed UTF-8 (cmark replaces invalid
// bytes), and analysing it in English or French never fails.

#include "core/markdown.hpp"
#include "core/text/text.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto text = fuzz::text_of(data, size);
  for (const auto& line : core::markdown_lines(text)) {
    SB_FUZZ_CHECK(!line.text.empty());
    SB_FUZZ_CHECK(core::trim_space(line.text).size() == line.text.size());
    SB_FUZZ_CHECK(core::is_well_formed_utf8(line.text));
    for (auto language : {"english", "fr"})
      for (const auto& term : core::analyze_text(line.text, language))
        SB_FUZZ_CHECK(!term.empty());
  }
  return 0;
}
