#include "sim/provider.hpp"

#include <algorithm>
#include <regex>

#include "core/crypto.hpp"
#include "core/form.hpp"

namespace switchboard::sim {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos)
      j = path.size();
    out.push_back(core::url_decode(path.substr(i, j - i)));
    i = j;
  }
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string digits_only(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c >= '0' && c <= '9')
      out += c;
  return out;
}

std::string to_text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json parse_json(std::string_view body) {
  if (body.empty())
    return json(json::value_t::discarded);
  return json::parse(body.begin(), body.end(), nullptr, false);
}

std::string text_of(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key))
    return {};
  auto& v = obj[key];
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_number_integer())
    return std::to_string(v.get<int64_t>());
  if (v.is_number())
    return v.dump();
  if (v.is_boolean())
    return v.get<bool>() ? "true" : "false";
  return {};
}

std::string bearer_of(const http::request& req) {
  auto auth = req.headers.get("Authorization");
  if (auth.size() > 7 && lower(auth.substr(0, 7)) == "bearer ")
    return trim(auth.substr(7));
  return {};
}

std::optional<std::pair<std::string, std::string>> basic_of(const http::request& req) {
  auto auth = req.headers.get("Authorization");
  if (auth.size() <= 6 || lower(auth.substr(0, 6)) != "basic ")
    return std::nullopt;
  auto decoded = core::base64_decode(trim(auth.substr(6)));
  if (!decoded)
    return std::nullopt;
  auto colon = decoded->find(':');
  if (colon == std::string::npos)
    return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

bool accepted(const std::string& configured, std::string_view presented) {
  return configured.empty() || core::constant_time_equal(configured, presented);
}

std::string uuid4() {
  auto h = core::random_hex(16);
  h[12] = '4';
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-"
         + h.substr(20);
}

http::response reply(int status, const json& body, std::string content_type) {
  return http::response::make(status, to_text(body), std::move(content_type));
}

std::string target_url(const sim_core& sim, const json& body, const std::string& default_path) {
  auto url = text_of(body, "url");
  if (!url.empty())
    return url;
  auto path = text_of(body, "path");
  if (path.empty())
    path = default_path;
  auto base = sim.server_url();
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  if (!path.empty() && path.front() != '/')
    path.insert(path.begin(), '/');
  return base + path;
}

milliseconds timeout_of(const json& body) {
  auto ms = body.is_object() ? body.value("timeout_ms", int64_t{10000}) : int64_t{10000};
  return milliseconds{std::max<int64_t>(ms, 1)};
}

void deliver_and_answer(sim_core& sim, std::vector<outbound> reqs, const json& body,
                        http::responder respond) {
  bool async = body.is_object() && body.value("async", false);
  if (async) {
    json urls = json::array();
    for (auto& r : reqs)
      urls.push_back(r.url);
    sim.deliver(std::move(reqs));
    respond(json_response(202, {{"queued", true}, {"urls", std::move(urls)}}));
    return;
  }
  auto sent = reqs;
  sim.deliver(std::move(reqs), [respond, sent](std::vector<outbound_result> results) {
    json list = json::array();
    for (std::size_t i = 0; i < results.size(); ++i) {
      auto& r = results[i];
      auto& s = sent[i];
      json headers = json::object();
      for (auto& [k, v] : s.headers)
        headers[k] = v;
      list.push_back({{"delivery_id", r.id},
                      {"delivered", r.error.empty()},
                      {"url", s.url},
                      {"status", r.status},
                      {"response_body", r.body},
                      {"error", r.error},
                      {"request", {{"headers", std::move(headers)}, {"body", s.body}}}});
    }
    if (list.size() == 1)
      respond(json_response(200, list[0]));
    else
      respond(json_response(200, {{"deliveries", std::move(list)}}));
  });
}

std::string secret_of(const json& body, const std::string& configured) {
  if (body.contains("secret") && body["secret"].is_string())
    return body["secret"].get<std::string>();
  return configured;
}

void bad_request(http::responder& respond, std::string reason) {
  respond(http::response::error(400, "bad_request", std::move(reason)));
}

control_route post_json(std::string path, json_control fn) {
  return {"POST", std::move(path),
          [fn](sim_core& sim, const http::request& req, http::responder& respond) {
            auto body = trim(req.body).empty() ? json::object() : parse_json(req.body);
            if (!body.is_object())
              return bad_request(respond, "body must be a JSON object");
            try {
              fn(sim, body, respond);
            } catch (const json::exception& e) {
              bad_request(respond, std::string{"invalid parameter: "} + e.what());
            }
          }};
}

std::string service_for_path(std::string_view path) {
  if (path == "/v1/chat/completions" || path == "/chat/completions")
    return "openai";
  if (starts_with(path, "/2010-04-01/"))
    return "twilio";
  if (starts_with(path, "/v1/oauth/access_token") || starts_with(path, "/v3/sms/"))
    return "mtn";
  if (starts_with(path, "/bot"))
    return "telegram";
  if (starts_with(path, "/api/v1/accounts/"))
    return "chatwoot";
  auto seg = split_path(path);
  static const std::regex version{R"(v\d+\.\d+)"};
  if (!seg.empty() && seg.back() == "messages"
      && (seg.size() == 2 || (seg.size() == 3 && std::regex_match(seg[0], version))))
    return "whatsapp";
  return {};
}

handled handle_provider(sim_core& sim, const std::string& service, const http::request& req) {
  if (service == "whatsapp")
    return whatsapp_send(sim, req);
  if (service == "twilio")
    return twilio_messages(sim, req);
  if (service == "mtn")
    return mtn_call(sim, req);
  if (service == "telegram")
    return telegram_call(sim, req);
  if (service == "chatwoot")
    return chatwoot_call(sim, req);
  if (service == "openai")
    return openai_chat(sim, req);
  handled h;
  h.res = http::response::error(404, "not_found", "unknown service");
  return h;
}

http::response provider_error(const std::string& service, int status, int retry_after,
                              const http::request& req) {
  http::response res;
  if (service == "whatsapp")
    res = reply(status, whatsapp_error_body(status));
  else if (service == "twilio")
    res = reply(status, twilio_error_body(status));
  else if (service == "mtn")
    res = reply(status, mtn_error_body(status, req));
  else if (service == "telegram")
    res = reply(status, telegram_error_body(status, retry_after), "application/json");
  else if (service == "chatwoot")
    res = reply(status, chatwoot_error_body(status));
  else if (service == "openai")
    res = reply(status, openai_error_body(status));
  else
    res = http::response::error(status, "fault", "injected failure");
  if (status == 429 || status == 503)
    res.headers.add("Retry-After", std::to_string(std::max(retry_after, 0)));
  return res;
}

void reset_provider_state(provider_state& state, const options& opts) {
  state = provider_state{};
  state.whatsapp_status_url = opts.whatsapp_status_url;
  state.telegram_secret_token = opts.creds.telegram_webhook_secret;
}

std::vector<control_route> provider_control_routes() {
  std::vector<control_route> out;
  for (auto routes : {whatsapp_control_routes, twilio_control_routes, mtn_control_routes,
                      telegram_control_routes, chatwoot_control_routes, openai_control_routes})
    for (auto& r : routes())
      out.push_back(std::move(r));
  return out;
}

} // namespace switchboard::sim
