#include "core/llm_trace.hpp"

namespace switchboard::core {

using nlohmann::json;

json llm_round_detail(int round, const std::string& model, int64_t latency_ms,
                      const llm_response& res) {
  return {{"round", round},
          {"model", res.model.empty() ? model : res.model},
          {"latency_ms", latency_ms},
          {"prompt_tokens", res.usage.prompt_tokens},
          {"completion_tokens", res.usage.completion_tokens},
          {"finish_reason", res.finish_reason},
          {"tool_calls", res.tool_calls.size()}};
}

json llm_round_failed_detail(int round, const std::string& model, int64_t latency_ms,
                             const std::string& error) {
  return {{"round", round}, {"model", model}, {"latency_ms", latency_ms}, {"error", error}};
}

json tool_call_detail(const llm_tool_call& call, bool ok, int64_t latency_ms,
                      const std::string& error) {
  auto keys = json::array();
  auto args = json::parse(call.arguments, nullptr, false);
  if (args.is_object())
    for (auto it = args.begin(); it != args.end(); ++it) // nlohmann's objects are sorted
      keys.push_back(it.key());
  json out{{"tool", call.name}, {"ok", ok}, {"latency_ms", latency_ms}, {"argument_keys", keys}};
  if (!ok)
    out["error"] = error;
  return out;
}

std::string llm_step_title(const std::string& kind, const json& d) {
  auto ms = " (" + std::to_string(d.value("latency_ms", int64_t{0})) + " ms)";
  if (kind == "llm_round") {
    auto head = "LLM round " + std::to_string(d.value("round", 0));
    if (d.contains("error"))
      return head + " failed: " + d.value("error", std::string{});
    return head + ": " + d.value("model", std::string{}) + ", "
           + d.value("finish_reason", std::string{}) + ms;
  }
  auto head = "Tool call " + d.value("tool", std::string{});
  if (!d.value("ok", false))
    return head + " failed: " + d.value("error", std::string{});
  return head + ": ok" + ms;
}

} // namespace switchboard::core
