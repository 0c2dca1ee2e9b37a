// The simulated OpenAI-compatible chat completions endpoint: scripted answers from
// /_sim/openai/script, else the default rules of help_text() (grounded answers come from
// pick_grounded_answer in answer.cpp).

#include "sim/provider.hpp"

#include <algorithm>
#include <mutex>
#include <regex>
#include <unordered_map>

#include "core/crypto.hpp"
#include "core/text/text.hpp"
#include "core/text/utf8.hpp"
#include "sim/answer.hpp"

namespace switchboard::sim {

namespace {

json openai_error(std::string message, std::string type, json param = nullptr,
                  json code = nullptr) {
  return {{"error",
           {{"message", std::move(message)},
            {"type", std::move(type)},
            {"param", std::move(param)},
            {"code", std::move(code)}}}};
}

/// Text of a message's content: a string, or the text parts of an array.
std::string content_text(const json& msg) {
  if (!msg.is_object() || !msg.contains("content"))
    return {};
  auto& c = msg["content"];
  if (c.is_string())
    return c.get<std::string>();
  std::string out;
  if (c.is_array())
    for (auto& part : c)
      if (part.is_object() && part.value("type", std::string{}) == "text")
        out += (out.empty() ? "" : "\n") + part.value("text", std::string{});
  return out;
}

int token_estimate(std::string_view text) {
  return static_cast<int>(std::max<std::size_t>(1, (text.size() + 3) / 4));
}

json completion(sim_core& sim, const std::string& model, json message, std::string finish,
                int prompt_tokens) {
  auto completion_tokens = token_estimate(
      message["content"].is_string() ? message["content"].get<std::string>() : to_text(message));
  if (!message.contains("refusal"))
    message["refusal"] = nullptr;
  if (!message.contains("annotations"))
    message["annotations"] = json::array();
  auto id = "chatcmpl-" + upper(core::random_hex(10)) + std::to_string(sim.next_id());
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", now_unix()},
          {"model", model},
          {"choices", json::array({{{"index", 0},
                                    {"message", std::move(message)},
                                    {"logprobs", nullptr},
                                    {"finish_reason", std::move(finish)}}})},
          {"usage",
           {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", 0}, {"audio_tokens", 0}}},
            {"completion_tokens_details",
             {{"reasoning_tokens", 0},
              {"audio_tokens", 0},
              {"accepted_prediction_tokens", 0},
              {"rejected_prediction_tokens", 0}}}}},
          {"service_tier", "default"},
          {"system_fingerprint", nullptr}};
}

json text_completion(sim_core& sim, const std::string& model, std::string text, int prompt_tokens) {
  return completion(sim, model, {{"role", "assistant"}, {"content", std::move(text)}}, "stop",
                    prompt_tokens);
}

json tool_completion(sim_core& sim, const std::string& model, const json& calls,
                     int prompt_tokens) {
  json tool_calls = json::array();
  for (auto& c : calls) {
    auto args = c.contains("arguments") ? c["arguments"] : json::object();
    tool_calls.push_back(
        {{"id", c.value("id", "call_" + core::random_hex(12))},
         {"type", "function"},
         {"function",
          {{"name", c.value("name", std::string{})},
           {"arguments", args.is_string() ? args.get<std::string>() : to_text(args)}}}});
  }
  return completion(sim, model,
                    {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", tool_calls}},
                    "tool_calls", prompt_tokens);
}

/// Articles in a JSON value: an array of objects with title/content, or {"articles": [...]}.
void collect_json_articles(const json& j, std::vector<article_text>& out) {
  const json* arr = &j;
  if (j.is_object() && j.contains("articles"))
    arr = &j["articles"];
  if (!arr->is_array())
    return;
  for (auto& a : *arr) {
    if (!a.is_object() || !(a.contains("title") || a.contains("content")))
      continue;
    article_text t;
    t.id = a.contains("id") ? a["id"] : json(nullptr);
    t.title = text_of(a, "title");
    t.text = text_of(a, "content") + " " + text_of(a, "description") + " " + text_of(a, "body");
    out.push_back(std::move(t));
  }
}

/// Articles given in the prompt, as JSON or as text blocks with headers such as
/// "[12] Title", "[article id=12]", "Article 12: Title", "### Title" and "id: 12" / "title: ..."
/// lines.
std::vector<article_text> prompt_articles(const std::vector<std::string>& texts) {
  std::vector<article_text> out;
  for (auto& t : texts) {
    auto s = trim(t);
    if (!s.empty() && (s[0] == '[' || s[0] == '{')) {
      auto j = parse_json(s);
      if (!j.is_discarded())
        collect_json_articles(j, out);
    }
  }
  if (!out.empty())
    return out;
  using std::regex;
  static const regex numbered{
      R"(^\s*(?:#{1,6}\s*)?(?:\*\*)?(?:article|source|doc|document)\s*(?:id\s*)?#?\s*([A-Za-z0-9_-]+)\s*(?:\*\*)?\s*[:.)\]-]\s*(.*)$)",
      regex::icase};
  static const regex bracket{
      R"(^\s*[-*]?\s*\[\s*(?:(?:article\s+id|article|id|source)\s*[:=#]?\s*)?([A-Za-z0-9_-]+)\s*\]\s*(.*)$)",
      regex::icase};
  static const regex id_line{
      R"(^\s*[-*]?\s*(?:article[_ ]?)?id\s*[:=]\s*([A-Za-z0-9_-]+)\s*[,;]?\s*(.*)$)", regex::icase};
  static const regex title_line{R"(^\s*[-*]?\s*title\s*[:=]\s*(.*)$)", regex::icase};
  static const regex heading{R"(^\s*#{1,6}\s+(.*)$)"};
  static const regex end_marker{
      R"(^\s*(?:(?:question|customer|user|conversation)\s*:.*|\[\s*end of [^\]]*\])\s*$)",
      regex::icase};
  auto make_id = [](const std::string& s) {
    return all_digits(s) && s.size() < 16 ? json(std::stoll(s)) : json(s);
  };
  for (auto& t : texts) {
    article_text* cur = nullptr;
    std::size_t pos = 0;
    while (pos <= t.size()) {
      auto nl = t.find('\n', pos);
      auto line = t.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? t.size() + 1 : nl + 1;
      std::smatch m;
      if (std::regex_match(line, m, numbered) || std::regex_match(line, m, bracket)) {
        out.push_back({make_id(m[1].str()), trim(m[2].str()), {}});
        cur = &out.back();
      } else if (std::regex_match(line, m, id_line)) {
        if (!cur || !cur->id.is_null() || !trim(cur->text).empty()) {
          out.push_back({nullptr, {}, {}});
          cur = &out.back();
        }
        cur->id = make_id(m[1].str());
        auto tail = trim(m[2].str());
        std::smatch tm;
        if (std::regex_match(tail, tm, title_line))
          cur->title = trim(tm[1].str());
      } else if (std::regex_match(line, m, title_line) && cur && cur->title.empty()) {
        cur->title = trim(m[1].str());
      } else if (!cur && std::regex_match(line, m, heading)) {
        // A heading starts an article only outside one (Markdown content has headings too).
        out.push_back({nullptr, trim(m[1].str()), {}});
        cur = &out.back();
      } else if (std::regex_match(line, end_marker)) {
        cur = nullptr;
      } else if (cur) {
        cur->text += line + "\n";
      }
    }
  }
  out.erase(
      std::remove_if(out.begin(), out.end(),
                     [](const article_text& a) { return a.title.empty() && trim(a.text).empty(); }),
      out.end());
  return out;
}

/// The grounded support answer: {answer, sources, confidence} (see pick_grounded_answer).
json compute_grounded_answer(const std::vector<std::string>& context,
                             const std::string& last_user) {
  auto question = last_user;
  static const std::regex question_line{R"((?:^|\n)\s*question\s*:\s*([^\n]+))", std::regex::icase};
  std::smatch qm;
  if (std::regex_search(last_user, qm, question_line))
    question = trim(qm[1].str());
  return pick_grounded_answer(question, prompt_articles(context));
}

/// The same, remembered: the answer is a pure function of the prompt, and reading the prompt's
/// articles with regular expressions cost more CPU than the server's whole bot pipeline in the
/// bot_pipeline benchmark (the simulator at 89 % of a core, the server at 62 %, on 2 cores shared
/// by both). Keyed by the whole prompt (no hash collisions), at most 4096 prompts or 64 MiB,
/// then forgotten at once.
json grounded_answer(const std::vector<std::string>& context, const std::string& last_user) {
  static std::mutex mtx;
  static std::unordered_map<std::string, json> memo;
  static std::size_t memo_bytes = 0;
  std::string key = last_user;
  for (auto& c : context) {
    key += '\x1f';
    key += c;
  }
  {
    std::lock_guard<std::mutex> guard{mtx};
    auto it = memo.find(key);
    if (it != memo.end())
      return it->second;
  }
  auto answer = compute_grounded_answer(context, last_user);
  std::lock_guard<std::mutex> guard{mtx};
  if (memo.size() >= 4096 || memo_bytes + key.size() > (std::size_t{64} << 20)) {
    memo.clear();
    memo_bytes = 0;
  }
  memo_bytes += key.size();
  memo.emplace(std::move(key), answer);
  return answer;
}

/// The default (unscripted) answer; see help_text() for the rules.
json default_completion(sim_core& sim, const json& body, const std::string& model,
                        int prompt_tokens) {
  const auto& messages = body["messages"];
  const auto& last = messages.back();
  auto last_role = last.value("role", std::string{});
  std::string last_user;
  std::string system;
  std::vector<std::string> context;
  for (auto& m : messages) {
    auto role = m.value("role", std::string{});
    auto text = content_text(m);
    if (role == "system" || role == "developer")
      system += text + "\n";
    if (role == "user")
      last_user = text;
    if (role == "system" || role == "developer" || role == "user")
      context.push_back(text);
  }
  if (last_role == "tool")
    return text_completion(sim, model, "Done. I have updated that for you.", prompt_tokens);
  bool has_tools = body.contains("tools") && body["tools"].is_array() && !body["tools"].empty();
  if (has_tools && last_role == "user") {
    static const std::regex change{
        R"((?:^|[^A-Za-z])(?:change|set|update)\s+(?:the\s+|my\s+|our\s+)?([A-Za-z][A-Za-z0-9 _-]{0,40}?)\s+to\s+([^\n]+))",
        std::regex::icase};
    std::smatch m;
    auto text = content_text(last);
    if (std::regex_search(text, m, change)) {
      std::string field;
      for (char c : trim(m[1].str()))
        field += std::isalnum(static_cast<unsigned char>(c))
                     ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                     : '_';
      auto value = trim(m[2].str());
      while (!value.empty()
             && std::string_view{".!?,;"}.find(value.back()) != std::string_view::npos)
        value.pop_back();
      if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')
          && value.back() == value.front())
        value = value.substr(1, value.size() - 2);
      std::string tool_name = "session_add_context";
      bool offered = false;
      for (auto& t : body["tools"])
        if (t.is_object() && t.contains("function")
            && t["function"].value("name", std::string{}) == tool_name)
          offered = true;
      if (!offered && body["tools"][0].is_object() && body["tools"][0].contains("function"))
        tool_name = body["tools"][0]["function"].value("name", tool_name);
      json args = json::object();
      static const std::regex phone{R"(\+?\d[\d ().-]{6,}\d)"};
      std::smatch pm;
      if (std::regex_search(system, pm, phone)) {
        auto raw = pm.str();
        args["phone_number"] = (raw[0] == '+' ? "+" : "") + digits_only(raw);
      }
      args["context"] = {{field, value}};
      return tool_completion(sim, model, json::array({{{"name", tool_name}, {"arguments", args}}}),
                             prompt_tokens);
    }
  }
  auto format = body.contains("response_format") && body["response_format"].is_object()
                    ? body["response_format"].value("type", std::string{})
                    : std::string{};
  if (format == "json_object" || format == "json_schema")
    return text_completion(sim, model, to_text(grounded_answer(context, last_user)), prompt_tokens);
  if (last_user.empty())
    return text_completion(sim, model, "Hello! How can I help you today?", prompt_tokens);
  auto quoted = last_user.size() > 200 ? last_user.substr(0, 200) + "..." : last_user;
  return text_completion(sim, model, "You said: \"" + quoted + "\"", prompt_tokens);
}

void control_openai_script(sim_core& sim, const json& body, http::responder& respond) {
  json entries = json::array();
  if (body.contains("responses") && body["responses"].is_array())
    entries = body["responses"];
  else
    entries.push_back(body);
  std::lock_guard<std::mutex> guard{sim.mtx};
  for (auto& e : entries) {
    if (!e.is_object())
      return bad_request(respond, "each scripted response must be an object");
    auto spec = e;
    auto repeat = spec.value("repeat", int64_t{1});
    spec.erase("repeat");
    sim.state.llm_script.push_back({std::move(spec), std::max<int64_t>(repeat, 1)});
  }
  respond(json_response(200, {{"queued", sim.state.llm_script.size()}}));
}

} // namespace

json openai_error_body(int status) {
  switch (status) {
  case 400:
    return openai_error("Invalid request.", "invalid_request_error");
  case 401:
    return openai_error("Incorrect API key provided. You can find your API key at "
                        "https://platform.openai.com/account/api-keys.",
                        "invalid_request_error", nullptr, "invalid_api_key");
  case 404:
    return openai_error("The model does not exist or you do not have access to it.",
                        "invalid_request_error", nullptr, "model_not_found");
  case 429:
    return openai_error("Rate limit reached for requests. Please try again later.", "requests",
                        nullptr, "rate_limit_exceeded");
  case 503:
    return openai_error("The engine is currently overloaded, please try again later.",
                        "server_error");
  default:
    return openai_error("The server had an error while processing your request. Sorry about that!",
                        "server_error");
  }
}

handled openai_chat(sim_core& sim, const http::request& req) {
  handled h;
  auto key = bearer_of(req);
  if (key.empty()) {
    h.res = reply(401, openai_error("You didn't provide an API key. You need to provide your API "
                                    "key in an Authorization header using Bearer auth (i.e. "
                                    "Authorization: Bearer YOUR_KEY).",
                                    "invalid_request_error"));
    return h;
  }
  if (!accepted(sim.opts().creds.llm_api_key, key)) {
    h.res = reply(401, openai_error_body(401));
    return h;
  }
  if (req.method != "POST") {
    h.res = reply(405, openai_error("Invalid method for URL (" + req.method + " " + req.path + ")",
                                    "invalid_request_error"));
    return h;
  }
  auto body = parse_json(req.body);
  if (!body.is_object()) {
    h.res = reply(400, openai_error("We could not parse the JSON body of your request.",
                                    "invalid_request_error"));
    return h;
  }
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    h.res = reply(400,
                  openai_error("Missing required parameter: 'messages'.", "invalid_request_error",
                               "messages", "missing_required_parameter"));
    return h;
  }
  auto model = body.value("model", std::string{"sim-gpt"});
  int prompt_tokens = 0;
  for (auto& m : body["messages"])
    prompt_tokens += token_estimate(content_text(m)) + 4;
  std::optional<json> scripted;
  {
    std::lock_guard<std::mutex> guard{sim.mtx};
    ++sim.state.llm_counter;
    auto& script = sim.state.llm_script;
    if (!script.empty()) {
      scripted = script.front().spec;
      if (--script.front().remaining <= 0)
        script.pop_front();
    }
  }
  if (scripted) {
    auto& s = *scripted;
    auto status = s.value("status", 200);
    if (s.contains("body")) {
      h.res = s["body"].is_string() ? http::response::make(status, s["body"].get<std::string>())
                                    : reply(status, s["body"]);
    } else if (status >= 400) {
      h.res = reply(status, openai_error_body(status));
    } else if (s.contains("tool_calls")) {
      h.res = reply(status, tool_completion(sim, model, s["tool_calls"], prompt_tokens));
    } else {
      auto content = s.contains("content") && !s["content"].is_string()
                         ? to_text(s["content"])
                         : s.value("content", std::string{});
      h.res = reply(status, text_completion(sim, model, content, prompt_tokens));
    }
    if (status == 429 && !h.res.headers.has("Retry-After"))
      h.res.headers.add("Retry-After", std::to_string(s.value("retry_after", 1)));
    if (s.contains("headers") && s["headers"].is_object())
      for (auto& [k, v] : s["headers"].items())
        h.res.headers.add(k, v.is_string() ? v.get<std::string>() : to_text(v));
    return h;
  }
  h.res = reply(200, default_completion(sim, body, model, prompt_tokens));
  return h;
}

std::vector<control_route> openai_control_routes() {
  return {
      {"GET", "/_sim/openai/script",
       [](sim_core& sim, const http::request&, http::responder& respond) {
         json out = json::array();
         std::lock_guard<std::mutex> guard{sim.mtx};
         for (auto& e : sim.state.llm_script)
           out.push_back({{"spec", e.spec}, {"remaining", e.remaining}});
         respond(
             json_response(200, {{"script", std::move(out)}, {"calls", sim.state.llm_counter}}));
       }},
      post_json("/_sim/openai/script", control_openai_script),
      {"DELETE", "/_sim/openai/script",
       [](sim_core& sim, const http::request&, http::responder& respond) {
         std::lock_guard<std::mutex> guard{sim.mtx};
         sim.state.llm_script.clear();
         respond(json_response(200, {{"cleared", true}}));
       }},
  };
}

} // namespace switchboard::sim
