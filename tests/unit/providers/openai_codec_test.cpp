#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/llm.hpp"
#include "core/omni/tools.hpp"
#include "providers/openai/codec.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;
using json = nlohmann::json;
using switchboard::test::fixture_json;
using switchboard::test::read_fixture;

namespace {

llm_response parse_ok(const std::string& body) {
  auto r = parse_llm_response(body);
  if (!r)
    FAIL(reason_of(r.error()));
  return *r;
}

std::string reason_for(const std::string& body) {
  auto r = parse_llm_response(body);
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == sb_error::malformed);
  return reason_of(r.error());
}

json tool_call_response(const std::string& arguments) {
  auto j = fixture_json("openai/chat_completion_response_tool_calls.json");
  j["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = arguments;
  return j;
}

} // namespace

TEST_CASE("request builder reproduces the spec's example requests", "[openai]") {
  SECTION("plain text") {
    llm_request req;
    req.model = "VAR_chat_model_id";
    req.messages = {llm_message{"developer", std::string{"You are a helpful assistant."}, {}, {}},
                    user_message("Hello!")};
    CHECK(json::parse(encode_llm_request(req))
          == fixture_json("openai/chat_completion_request_text.json"));
  }
  SECTION("with tools and tool_choice auto") {
    auto fixture = fixture_json("openai/chat_completion_request_tools.json");
    llm_request req;
    req.model = "gpt-5.4";
    req.messages = {user_message("What is the weather like in Boston today?")};
    CHECK(json::parse(encode_llm_request(req, fixture["tools"])) == fixture);
  }
}

TEST_CASE("request builder encodes options, tool calls and tool results", "[openai]") {
  llm_request req;
  req.model = "gpt-4o-mini";
  req.temperature = 0.2;
  req.max_tokens = 300;
  req.json_object = true;
  req.messages.push_back(system_message("Be brief."));
  req.messages.push_back(user_message("Text +4915112345678 that we are open."));
  req.messages.push_back(
      assistant_tool_calls({{"call_abc123", "messaging_send_sms",
                             R"({"phone_number":"+4915112345678","message":"We are open"})"}}));
  req.messages.push_back(tool_result("call_abc123", R"({"status":"queued"})"));
  auto j = json::parse(encode_llm_request(req, tool_definitions()));
  CHECK(j["model"] == "gpt-4o-mini");
  CHECK(j["temperature"] == 0.2);
  CHECK(j["max_tokens"] == 300);
  CHECK(j["response_format"] == json{{"type", "json_object"}});
  CHECK(j["tool_choice"] == "auto");
  CHECK(j["tools"] == tool_definitions());
  REQUIRE(j["messages"].size() == 4);
  CHECK(j["messages"][0] == json{{"role", "system"}, {"content", "Be brief."}});
  const auto& assistant = j["messages"][2];
  CHECK(assistant["role"] == "assistant");
  CHECK(assistant["content"].is_null());
  CHECK(assistant["tool_calls"]
        == json::array(
            {{{"id", "call_abc123"},
              {"type", "function"},
              {"function",
               {{"name", "messaging_send_sms"},
                {"arguments", R"({"phone_number":"+4915112345678","message":"We are open"})"}}}}}));
  CHECK(j["messages"][3]
        == json{{"role", "tool"},
                {"tool_call_id", "call_abc123"},
                {"content", R"({"status":"queued"})"}});
  // No tools: neither tools nor tool_choice.
  auto bare = json::parse(encode_llm_request(req, json::array()));
  CHECK_FALSE(bare.contains("tools"));
  CHECK_FALSE(bare.contains("tool_choice"));
}

TEST_CASE("every JSON response example of the spec parses", "[openai]") {
  auto examples = fixture_json("openai/chat_completions_examples_from_openapi.json")["examples"];
  std::size_t parsed = 0;
  for (auto& ex : examples) {
    if (ex["response_kind"] != "json")
      continue;
    INFO(ex["title"].get<std::string>());
    const auto& want = ex["response"];
    auto r = parse_ok(want.dump());
    ++parsed;
    const auto& msg = want["choices"][0]["message"];
    CHECK(r.id == want["id"].get<std::string>());
    CHECK(r.model == want["model"].get<std::string>());
    CHECK(r.finish_reason == want["choices"][0]["finish_reason"].get<std::string>());
    CHECK(r.usage.total_tokens == want["usage"]["total_tokens"].get<int64_t>());
    CHECK(r.usage.prompt_tokens + r.usage.completion_tokens == r.usage.total_tokens);
    if (msg["content"].is_string())
      CHECK(r.content == msg["content"].get<std::string>());
    else
      CHECK_FALSE(r.content);
    CHECK(r.tool_calls.size() == (msg.contains("tool_calls") ? msg["tool_calls"].size() : 0));
    CHECK_FALSE(r.refusal);
  }
  CHECK(parsed == 4);
}

TEST_CASE("plain and tool-call responses", "[openai]") {
  auto text = parse_ok(read_fixture("openai/chat_completion_response_text.json"));
  CHECK(text.content == "Hello! How can I assist you today?");
  CHECK(text.finish_reason == "stop");
  CHECK(text.tool_calls.empty());
  CHECK(text.usage.prompt_tokens == 19);
  CHECK(text.usage.completion_tokens == 10);

  auto tools = parse_ok(read_fixture("openai/chat_completion_response_tool_calls.json"));
  CHECK_FALSE(tools.content);
  CHECK(tools.finish_reason == "tool_calls");
  REQUIRE(tools.tool_calls.size() == 1);
  const auto& call = tools.tool_calls[0];
  CHECK(call.id == "call_abc123");
  CHECK(call.name == "get_current_weather");
  CHECK(call.arguments == "{\n\"location\": \"Boston, MA\"\n}"); // kept verbatim to echo back
  auto args = tool_call_arguments(call);
  REQUIRE(args);
  CHECK(*args == json{{"location", "Boston, MA"}});
}

TEST_CASE("tool call arguments must be a JSON object string", "[openai]") {
  const std::string prefix = "choices[0].message.tool_calls[0].function.arguments: ";
  CHECK(reason_for(tool_call_response("{\"location\": ").dump())
        == prefix + "not a JSON object (tool get_current_weather)");
  CHECK(reason_for(tool_call_response("[1, 2]").dump())
        == prefix + "not a JSON object (tool get_current_weather)");
  CHECK(reason_for(tool_call_response("\"Boston\"").dump())
        == prefix + "not a JSON object (tool get_current_weather)");
  CHECK(parse_ok(tool_call_response("{}").dump()).tool_calls.size() == 1);
  // arguments given as an object instead of a string is a protocol violation.
  auto j = fixture_json("openai/chat_completion_response_tool_calls.json");
  j["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = json{{"location", "x"}};
  CHECK(reason_for(j.dump())
        == "choices[0].message.tool_calls[0].function.arguments: expected a string");
  j["choices"][0]["message"]["tool_calls"][0]["function"].erase("arguments");
  CHECK(reason_for(j.dump()) == "choices[0].message.tool_calls[0].function.arguments: missing");
  j["choices"][0]["message"]["tool_calls"][0]["function"].erase("name");
  CHECK(reason_for(j.dump()) == "choices[0].message.tool_calls[0].function.name: missing");
  j["choices"][0]["message"]["tool_calls"][0]["type"] = "code_interpreter";
  CHECK_THAT(reason_for(j.dump()), Catch::Contains("unsupported tool call type"));
  llm_tool_call bad{"id", "x", "nope"};
  auto parsed = tool_call_arguments(bad);
  REQUIRE_FALSE(parsed);
  CHECK(code_of(parsed.error()) == sb_error::malformed);
}

TEST_CASE("malformed completions", "[openai]") {
  CHECK_THAT(reason_for("<html>"), Catch::StartsWith("invalid JSON"));
  CHECK(reason_for("[]") == "body: expected a JSON object");
  CHECK(reason_for(R"({"id": "x", "choices": []})") == "choices: missing or empty");
  CHECK(reason_for(R"({"id": "x"})") == "choices: missing or empty");
  CHECK(reason_for(R"({"choices": [{"index": 0}]})") == "choices[0].message: missing");
  CHECK(reason_for(R"({"choices": [{"message": {"content": 5}}]})")
        == "choices[0].message.content: expected a string");
  CHECK(reason_for(R"({"choices": [{"message": {"tool_calls": {}}}]})")
        == "choices[0].message.tool_calls: expected an array");
  CHECK(reason_for(
            fixture_json("openai/error_responses_reconstructed.json")["500_server_error"].dump())
        == "body: is an error response");
  auto refusal = parse_ok(
      R"({"choices": [{"message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}, "finish_reason": "stop"}]})");
  CHECK(refusal.refusal == "I can't help with that.");
  CHECK_FALSE(refusal.content);
  CHECK(refusal.usage.total_tokens == 0);
}

TEST_CASE("error responses map to transient or rejected", "[openai]") {
  auto errors = fixture_json("openai/error_responses_reconstructed.json");
  struct {
    const char* name;
    int status;
    sb_error code;
    const char* reason;
  } cases[] = {
      {"401_invalid_api_key", 401, sb_error::provider_rejected,
       "invalid_api_key: Incorrect API key provided: sk-test***. You can find your API key at "
       "https://platform.openai.com/account/api-keys."},
      {"429_rate_limit", 429, sb_error::provider_transient,
       "rate_limit_exceeded: Rate limit reached for requests. Please try again in 20s."},
      {"400_bad_tool_schema", 400, sb_error::provider_rejected,
       "invalid_function_parameters: Invalid schema for function 'get_current_weather'."},
      {"500_server_error", 500, sb_error::provider_transient,
       "The server had an error while processing your request. Sorry about that!"},
  };
  for (auto& c : cases) {
    INFO(c.name);
    auto err = llm_error(c.status, errors[c.name].dump());
    CHECK(code_of(err) == c.code);
    CHECK(reason_of(err) == c.reason);
  }
  CHECK(code_of(llm_error(403, errors["401_invalid_api_key"].dump()))
        == sb_error::provider_rejected);
  CHECK(
      code_of(llm_error(
          404,
          R"({"error": {"message": "The model `x` does not exist", "type": "invalid_request_error", "param": null, "code": "model_not_found"}})"))
      == sb_error::provider_rejected);
  CHECK(code_of(llm_error(503, "upstream connect error")) == sb_error::provider_transient);
  CHECK(reason_of(llm_error(503, "upstream connect error")) == "HTTP 503");
  CHECK(reason_of(llm_error(502, "")) == "HTTP 502");
  // A 429 for an exhausted quota will not succeed on retry.
  auto quota = llm_error(
      429,
      R"({"error": {"message": "You exceeded your current quota.", "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}})");
  CHECK(code_of(quota) == sb_error::provider_rejected);
  CHECK(reason_of(quota) == "insufficient_quota: You exceeded your current quota.");
}
