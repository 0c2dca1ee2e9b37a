// The untrusted-JSON gate every codec and API body goes through: the depth limit holds (no
// parse of anything deeper than max_json_depth, so no stack exhaustion later), the depth scan
// agrees with the parsed document, and what is accepted serialises and parses back unchanged.

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/json_fields.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

std::size_t depth_of(const nlohmann::json& j) {
  if (!j.is_structured())
    return 0;
  std::size_t deepest = 0;
  for (auto& child : j)
    deepest = std::max(deepest, depth_of(child));
  return deepest + 1;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto text = fuzz::text_of(data, size);

  auto depth = core::json_depth(text, size);
  for (std::size_t limit : {std::size_t{0}, std::size_t{1}, std::size_t{5}, core::max_json_depth})
    SB_FUZZ_CHECK(core::json_depth(text, limit) == std::min(depth, limit + 1));

  std::string why;
  auto j = core::parse_untrusted_json(text, &why);
  if (j.is_discarded()) {
    SB_FUZZ_CHECK(!why.empty());
    SB_FUZZ_CHECK(depth > core::max_json_depth || text.find('\0') != std::string_view::npos
                  || !nlohmann::json::accept(text));
    return 0;
  }
  SB_FUZZ_CHECK(why.empty());
  SB_FUZZ_CHECK(depth <= core::max_json_depth);
  SB_FUZZ_CHECK(depth_of(j) == depth);

  auto compact = core::json_fields::dump(j);
  auto again = core::parse_untrusted_json(compact);
  SB_FUZZ_CHECK(!again.is_discarded() && again == j);
  SB_FUZZ_CHECK(core::json_fields::dump(again) == compact);
  SB_FUZZ_CHECK(core::json_depth(compact) == depth);

  // The field helpers never throw on whatever shape arrived.
  for (const char* key : {"id", "type", "messages", "entry"}) {
    (void)core::json_fields::find(j, key);
    (void)core::json_fields::text_field(j, key);
    (void)core::json_fields::object_or_empty(j, key);
    (void)core::json_fields::array_or_empty(j, key);
  }
  return 0;
}
