#include <catch2/catch.hpp>

#include "core/llm_trace.hpp"

using namespace switchboard::core;
using nlohmann::json;

TEST_CASE("an LLM round's story detail: model, latency, tokens, finish reason", "[llm]") {
  llm_response res;
  res.model = "gpt-4o-mini-2024-07-18";
  res.finish_reason = "tool_calls";
  res.usage.prompt_tokens = 812;
  res.usage.completion_tokens = 17;
  res.tool_calls.push_back({"call_1", "get_session_context", "{}"});
  auto d = llm_round_detail(1, "gpt-4o-mini", 340, res);
  CHECK(d
        == json{{"round", 1},
                {"model", "gpt-4o-mini-2024-07-18"},
                {"latency_ms", 340},
                {"prompt_tokens", 812},
                {"completion_tokens", 17},
                {"finish_reason", "tool_calls"},
                {"tool_calls", 1}});
  res.model.clear();
  CHECK(llm_round_detail(2, "gpt-4o-mini", 1, res)["model"] == "gpt-4o-mini");
  CHECK(llm_step_title("llm_round", d)
        == "LLM round 1: gpt-4o-mini-2024-07-18, tool_calls (340 ms)");
  auto failed = llm_round_failed_detail(2, "gpt-4o-mini", 10000, "timeout");
  CHECK(failed["error"] == "timeout");
  CHECK(llm_step_title("llm_round", failed) == "LLM round 2 failed: timeout");
}

TEST_CASE("a tool call's story detail names the argument keys, never their values", "[llm]") {
  llm_tool_call call{"call_2", "update_session_context",
                     R"({"phone_number": "+250788123456", "patch": {"note": "secret"}})"};
  auto d = tool_call_detail(call, true, 4);
  CHECK(d
        == json{{"tool", "update_session_context"},
                {"ok", true},
                {"latency_ms", 4},
                {"argument_keys", {"patch", "phone_number"}}});
  CHECK(d.dump().find("+250788123456") == std::string::npos);
  CHECK(d.dump().find("secret") == std::string::npos);
  CHECK(llm_step_title("tool_call", d) == "Tool call update_session_context: ok (4 ms)");
  auto bad = tool_call_detail({"call_3", "send_message", "not json"}, false, 0, "malformed");
  CHECK(bad["argument_keys"].empty());
  CHECK(bad["error"] == "malformed");
  CHECK(llm_step_title("tool_call", bad) == "Tool call send_message failed: malformed");
}
