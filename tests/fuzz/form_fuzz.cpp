// application/x-www-form-urlencoded bodies and query strings (Twilio webhooks, Meta's
// verification GET): decode -> encode -> decode is exact, and encoding then decoding any bytes
// gives them back.

#include "core/form.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto body = fuzz::text_of(data, size);

  auto params = core::parse_form(body);
  SB_FUZZ_CHECK(params.size() <= body.size());
  auto encoded = core::encode_form(params);
  SB_FUZZ_CHECK(core::parse_form(encoded) == params);
  SB_FUZZ_CHECK(core::encode_form(core::parse_form(encoded)) == encoded);
  for (auto& [name, value] : params) {
    auto first = core::form_value(params, name);
    SB_FUZZ_CHECK(first.data() != nullptr);
  }

  auto escaped = core::url_encode(body);
  SB_FUZZ_CHECK(core::url_decode(escaped) == body);
  SB_FUZZ_CHECK(escaped.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789-_.~%")
                == std::string::npos);
  SB_FUZZ_CHECK(core::url_decode(body).size() <= body.size());
  return 0;
}
