#include "providers/openai/codec.hpp"

#include "core/json_fields.hpp"

#include <nlohmann/json.hpp>

namespace switchboard::providers {

using namespace core;

namespace {

using namespace json_fields;

using json = nlohmann::json;

std::optional<std::string> opt_string(const json& obj, const char* key, const std::string& path) {
  const json* v = find(obj, key);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_string())
    throw field_error{path + "." + key + ": expected a string"};
  return v->get<std::string>();
}

int64_t opt_count(const json& obj, const char* key) {
  const json* v = find(obj, key);
  return v != nullptr && v->is_number_integer() ? v->get<int64_t>() : 0;
}

caf::error fail(sb_error code, std::string reason) {
  return caf::make_error(code, std::move(reason));
}

json encode_message(const llm_message& m) {
  json j = {{"role", m.role}};
  if (m.content)
    j["content"] = *m.content;
  else if (m.role == "assistant")
    j["content"] = nullptr;
  if (!m.tool_calls.empty()) {
    json calls = json::array();
    for (const auto& c : m.tool_calls)
      calls.push_back({{"id", c.id},
                       {"type", "function"},
                       {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    j["tool_calls"] = std::move(calls);
  }
  if (m.role == "tool")
    j["tool_call_id"] = m.tool_call_id;
  return j;
}

json encode_base(const llm_request& req) {
  json messages = json::array();
  for (const auto& m : req.messages)
    messages.push_back(encode_message(m));
  json j = {{"model", req.model}, {"messages", std::move(messages)}};
  if (req.temperature)
    j["temperature"] = *req.temperature;
  if (req.max_tokens)
    j["max_tokens"] = *req.max_tokens;
  if (req.json_object)
    j["response_format"] = {{"type", "json_object"}};
  return j;
}

llm_tool_call read_tool_call(const json& call, const std::string& path) {
  if (!call.is_object())
    throw field_error{path + ": expected an object"};
  llm_tool_call tc;
  tc.id = opt_string(call, "id", path).value_or("");
  auto type = opt_string(call, "type", path).value_or("function");
  if (type != "function")
    throw field_error{path + ".type: unsupported tool call type '" + type + "'"};
  const json* fn = find(call, "function");
  if (fn == nullptr || !fn->is_object())
    throw field_error{path + ".function: missing"};
  auto fn_path = path + ".function";
  auto name = opt_string(*fn, "name", fn_path);
  if (!name || name->empty())
    throw field_error{fn_path + ".name: missing"};
  tc.name = std::move(*name);
  auto args = opt_string(*fn, "arguments", fn_path);
  if (!args)
    throw field_error{fn_path + ".arguments: missing"};
  // The model does not always produce valid JSON: check it here, at the boundary.
  json parsed = parse_untrusted_json(*args);
  if (parsed.is_discarded() || !parsed.is_object())
    throw field_error{fn_path + ".arguments: not a JSON object (tool " + tc.name + ")"};
  tc.arguments = std::move(*args);
  return tc;
}

} // namespace

std::string encode_llm_request(const llm_request& req) {
  return dump(encode_base(req));
}

std::string encode_llm_request(const llm_request& req, const nlohmann::json& tools) {
  json j = encode_base(req);
  if (tools.is_array() && !tools.empty()) {
    j["tools"] = tools;
    j["tool_choice"] = "auto";
  }
  return dump(j);
}

expected<llm_response> parse_llm_response(std::string_view body) {
  return parse_json_body<llm_response>(body, true, [&](const json& root) -> expected<llm_response> {
    if (find(root, "error") != nullptr)
      return fail(sb_error::malformed, "body: is an error response");
    llm_response r;
    r.id = opt_string(root, "id", "body").value_or("");
    r.model = opt_string(root, "model", "body").value_or("");
    const json* choices = find(root, "choices");
    if (choices == nullptr || !choices->is_array() || choices->empty())
      return fail(sb_error::malformed, "choices: missing or empty");
    const json& choice = (*choices)[0];
    const json* msg = find(choice, "message");
    if (msg == nullptr || !msg->is_object())
      return fail(sb_error::malformed, "choices[0].message: missing");
    const std::string path = "choices[0].message";
    r.content = opt_string(*msg, "content", path);
    r.refusal = opt_string(*msg, "refusal", path);
    if (const json* calls = find(*msg, "tool_calls")) {
      if (!calls->is_array())
        return fail(sb_error::malformed, path + ".tool_calls: expected an array");
      for (std::size_t i = 0; i < calls->size(); ++i)
        r.tool_calls.push_back(
            read_tool_call((*calls)[i], path + ".tool_calls[" + std::to_string(i) + "]"));
    }
    r.finish_reason = opt_string(choice, "finish_reason", "choices[0]").value_or("");
    if (const json* usage = find(root, "usage"); usage != nullptr && usage->is_object()) {
      r.usage.prompt_tokens = opt_count(*usage, "prompt_tokens");
      r.usage.completion_tokens = opt_count(*usage, "completion_tokens");
      r.usage.total_tokens = opt_count(*usage, "total_tokens");
    }
    return r;
  });
}

caf::error llm_error(int http_status, std::string_view body) {
  std::string message;
  std::string code;
  json root = parse_untrusted_json(body);
  if (!root.is_discarded()) {
    if (const json* err = find(root, "error"); err != nullptr && err->is_object()) {
      if (const json* m = find(*err, "message"); m != nullptr && m->is_string())
        message = m->get<std::string>();
      if (const json* c = find(*err, "code"); c != nullptr && c->is_string())
        code = c->get<std::string>();
    }
  }
  std::string reason = message.empty() ? "HTTP " + std::to_string(http_status) : message;
  if (!code.empty())
    reason = code + ": " + reason;
  bool transient = http_status == 429 || http_status >= 500;
  if (code == "insufficient_quota")
    transient = false;
  return fail(transient ? sb_error::provider_transient : sb_error::provider_rejected,
              std::move(reason));
}

} // namespace switchboard::providers
