// The OpenAI chat-completions codec: the response parser (tool call arguments checked to be JSON
// objects at the boundary), the error mapping, and requests built from what was parsed encoding
// to JSON that carries it unchanged.

#include <array>

#include <nlohmann/json.hpp>

#include "core/json_fields.hpp"
#include "core/llm.hpp"
#include "providers/openai/codec.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto body = fuzz::text_of(data, size);

  auto r = providers::parse_llm_response(body);
  if (!r) {
    SB_FUZZ_CHECK(core::code_of(r.error()) == core::sb_error::malformed);
  } else {
    // It accepts only what the JSON gate of every other codec accepts.
    SB_FUZZ_CHECK(!core::parse_untrusted_json(body).is_discarded());
    for (auto& call : r->tool_calls) {
      SB_FUZZ_CHECK(!call.name.empty());
      auto args = core::tool_call_arguments(call);
      SB_FUZZ_CHECK(args.engaged() && args->is_object());
    }
    // What the model said goes back into the next request unchanged (the tool loop).
    core::llm_request req;
    req.model = r->model;
    req.messages.push_back(core::system_message(r->id));
    req.messages.push_back(core::assistant_tool_calls(r->tool_calls, r->content));
    for (auto& call : r->tool_calls)
      req.messages.push_back(core::tool_result(call.id, call.arguments));
    auto tools = nlohmann::json::array({{{"type", "function"}}});
    auto j = nlohmann::json::parse(
        providers::encode_llm_request(req, size % 2 ? tools : nlohmann::json{}));
    SB_FUZZ_CHECK(j.at("model").get<std::string>() == r->model);
    auto& msgs = j.at("messages");
    SB_FUZZ_CHECK(msgs.size() == 2 + r->tool_calls.size());
    SB_FUZZ_CHECK(msgs[0].at("content").get<std::string>() == r->id);
    if (r->content)
      SB_FUZZ_CHECK(msgs[1].at("content").get<std::string>() == *r->content);
    for (std::size_t i = 0; i < r->tool_calls.size(); ++i) {
      auto& call = r->tool_calls[i];
      auto& out = msgs[1].at("tool_calls").at(i);
      SB_FUZZ_CHECK(out.at("function").at("name").get<std::string>() == call.name);
      SB_FUZZ_CHECK(out.at("function").at("arguments").get<std::string>() == call.arguments);
      SB_FUZZ_CHECK(msgs[2 + i].at("tool_call_id").get<std::string>() == call.id);
    }
    SB_FUZZ_CHECK(j.contains("tool_choice") == (size % 2 == 1));
  }

  static constexpr std::array<int, 6> statuses{400, 401, 404, 429, 500, 503};
  int status = statuses[size % statuses.size()];
  auto err = providers::llm_error(status, body);
  auto code = core::code_of(err);
  bool quota = core::reason_of(err).rfind("insufficient_quota: ", 0) == 0;
  bool transient = (status == 429 || status >= 500) && !quota;
  SB_FUZZ_CHECK(
      code == (transient ? core::sb_error::provider_transient : core::sb_error::provider_rejected));
  return 0;
}
