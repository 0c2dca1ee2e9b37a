// SMS segmentation of untrusted text: the segment count agrees with the split, each segment
// stays within the capacity of the encoding, the encoding is GSM-7 exactly when no character
// forces UCS-2, and fit_sms always fits its budget.

#include <array>

#include "core/text/sms.hpp"
#include "core/text/utf8.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

std::size_t units_of(std::u32string_view cps, core::sms_encoding enc, std::string_view country) {
  std::size_t n = 0;
  for (auto c : cps)
    n += enc == core::sms_encoding::gsm7 ? core::gsm7_septets(c, country) : (c > 0xFFFF ? 2 : 1);
  return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto text = fuzz::text_of(data, size);
  static constexpr std::array<std::string_view, 3> countries{"", "MY", "RW"};
  auto country = countries[size % countries.size()];

  auto cps = core::decode_utf8(text);
  auto info = core::analyze_sms(text, country);
  bool gsm = info.encoding == core::sms_encoding::gsm7;
  SB_FUZZ_CHECK(info.code_points == cps.size());
  SB_FUZZ_CHECK(info.units == units_of(cps, info.encoding, country));
  SB_FUZZ_CHECK(info.message_size_bits == info.units * (gsm ? 7 : 16));
  SB_FUZZ_CHECK(gsm == core::non_gsm_characters(text, country).empty());
  SB_FUZZ_CHECK(core::sms_segment_count(text, country) == info.segments);
  std::size_t single = gsm ? 160 : 70;
  std::size_t multi = gsm ? 153 : 67;
  SB_FUZZ_CHECK((info.segments == 1) == (info.units <= single));
  if (info.segments > 1) {
    SB_FUZZ_CHECK(info.segments >= (info.units + multi - 1) / multi);
    SB_FUZZ_CHECK(info.total_size_bits == info.message_size_bits + 48 * info.segments);
  }

  auto parts = core::split_sms(text, country);
  SB_FUZZ_CHECK(parts.size() == info.segments);
  std::string joined;
  for (auto& part : parts) {
    SB_FUZZ_CHECK(core::is_valid_utf8(part));
    auto units = units_of(core::decode_utf8(part), info.encoding, country);
    SB_FUZZ_CHECK(units <= (parts.size() == 1 ? single : multi));
    SB_FUZZ_CHECK(parts.size() == 1 || !part.empty());
    joined += part;
  }
  SB_FUZZ_CHECK(joined == core::encode_utf8(cps));

  auto smart = core::smart_encode(text);
  SB_FUZZ_CHECK(core::is_valid_utf8(smart));
  SB_FUZZ_CHECK(core::smart_encode(smart) == smart);

  auto budget = 1 + size % 4;
  auto fitted = core::fit_sms(text, budget, country);
  SB_FUZZ_CHECK(core::is_valid_utf8(fitted));
  SB_FUZZ_CHECK(core::analyze_sms(fitted, country).segments <= budget);
  if (info.segments <= budget)
    SB_FUZZ_CHECK(fitted == core::encode_utf8(cps));
  else
    SB_FUZZ_CHECK(fitted.size() < core::encode_utf8(cps).size() + 4);
  SB_FUZZ_CHECK(core::fit_sms(text, 0, country).empty());
  return 0;
}
