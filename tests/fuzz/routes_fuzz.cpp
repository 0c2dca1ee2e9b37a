// The HTTP router over hostile request lines (no sockets: the table the server dispatches
// through, with the app's route patterns): a match names the method and fills exactly the
// pattern's parameters; an unmatched path is a 404 when no method matches, else a 405.

#include <algorithm>
#include <array>

#include "http/routes.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace switchboard::http {

// server.cpp (Beast) defines this; the router only needs an error response to hand back.
response response::error(int status, std::string_view code, std::string_view reason) {
  return make(status, std::string{code} + ": " + std::string{reason});
}

} // namespace switchboard::http

namespace {

constexpr std::array<std::pair<const char*, const char*>, 19> app_routes{{
    {"GET", "/healthz"},
    {"GET", "/readyz"},
    {"GET", "/metrics"},
    {"GET", "/openapi.json"},
    {"GET", "/webhooks/whatsapp"},
    {"POST", "/webhooks/whatsapp"},
    {"POST", "/webhooks/sms/mtn"},
    {"POST", "/webhooks/sms/twilio"},
    {"POST", "/webhooks/sms/twilio/status"},
    {"POST", "/webhooks/telegram"},
    {"POST", "/webhooks/chatwoot"},
    {"POST", "/webhooks/voice/call-ended"},
    {"GET", "/api/v1/tools"},
    {"POST", "/api/v1/tools/{name}"},
    {"GET", "/api/v1/sessions/{session_id}/deliveries"},
    {"GET", "/api/v1/providers/me/notification-config"},
    {"PUT", "/api/v1/providers/me/notification-config"},
    {"GET", "/bench/static"},
    {"POST", "/bench/signed-noop"},
}};

const http::route_table& table() {
  static const http::route_table t = [] {
    http::route_table out;
    std::size_t limit = 0;
    for (auto [method, pattern] : app_routes)
      out.add({method, pattern, pattern, limit++ % 3 * 1024,
               [](http::request&&, const http::path_params&, http::responder respond) {
                 respond(http::response::make(200, "{}"));
               }});
    return out;
  }();
  return t;
}

std::vector<std::string> pattern_names(const std::string& pattern) {
  std::vector<std::string> out;
  for (auto pos = pattern.find('{'); pos != std::string::npos; pos = pattern.find('{', pos + 1))
    out.push_back(pattern.substr(pos + 1, pattern.find('}', pos) - pos - 1));
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto text = fuzz::text_of(data, size);
  auto space = text.find(' ');
  std::string method{space == std::string_view::npos ? std::string_view{"GET"}
                                                     : text.substr(0, space)};
  std::string target{space == std::string_view::npos ? text : text.substr(space + 1)};
  auto q = target.find('?');
  std::string path = q == std::string::npos ? target : target.substr(0, q);

  auto& t = table();
  http::path_params params;
  auto* r = t.match(method, path, params);
  auto allowed = t.allowed(path);
  if (r) {
    SB_FUZZ_CHECK(r->method == method || (method == "HEAD" && r->method == "GET"));
    auto names = pattern_names(r->pattern);
    SB_FUZZ_CHECK(params.size() == names.size());
    for (auto& name : names)
      SB_FUZZ_CHECK(params.count(name) == 1 && !params.at(name).empty());
    SB_FUZZ_CHECK(std::find(allowed.begin(), allowed.end(), r->method) != allowed.end());
    SB_FUZZ_CHECK(t.body_limit(method, path, 7) == (r->body_limit ? r->body_limit : 7));
  } else {
    SB_FUZZ_CHECK(std::find(allowed.begin(), allowed.end(), method) == allowed.end());
    SB_FUZZ_CHECK(t.body_limit(method, path, 7) == 7);
  }
  // Empty segments are ignored: a doubled slash matches like a single one.
  http::path_params doubled;
  SB_FUZZ_CHECK((t.match(method, "/" + path, doubled) == nullptr) == (r == nullptr));

  int status = 0;
  http::request req;
  req.method = method;
  req.target = target;
  req.path = path;
  t.make_handler()(std::move(req), [&status](http::response res) { status = res.status; });
  SB_FUZZ_CHECK(status == (r ? 200 : allowed.empty() ? 404 : 405));
  return 0;
}
